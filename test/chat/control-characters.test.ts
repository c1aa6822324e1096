// One rule for control characters in chat text, whichever protocol a message came by, and for the
// history (stored, and read back from a file written before the rule).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cleanText } from "../../src/chat/control-characters.js";
import { HISTORY_FILE } from "../../src/chat/index.js";
import { Client, jsonClient, startChat, tempDir, textClient } from "./helpers.js";

const NASTY = "a\u0000b\u0007c\u001b[31md\u007fe\u0085f\u009bg\th\r\ni\rj\nk";
const CLEAN = "a\ufffdb\ufffdc\ufffd[31md\ufffde\ufffdf\ufffdg\th\ni\nj\nk";

describe("chat: control characters", () => {
  it("replaces C0 and C1 controls and DEL by U+FFFD, keeps tabs, and makes CR LF and CR line feeds", () => {
    assert.equal(cleanText(NASTY), CLEAN);
    for (let code = 0; code <= 0xa0; code++) {
      const char = String.fromCharCode(code);
      const kept = code === 0x09 || code === 0x0a || (code >= 0x20 && code < 0x7f) || code === 0xa0;
      assert.equal(cleanText(char), code === 0x0d ? "\n" : kept ? char : "\ufffd", `U+${code.toString(16)}`);
    }
    assert.equal(cleanText(CLEAN), CLEAN, "idempotent");
  });

  it("applies the rule to messages and private messages of JSON and text clients alike", async (t) => {
    const { ws } = await startChat(t);
    const json = await jsonClient(t, ws, "jason");
    const text = await textClient(t, ws, "tex");
    await json.event("join");
    json.sendJson({ type: "message", text: NASTY });
    assert.equal((await json.event("message"))["text"], CLEAN);
    await text.expect(`jason: ${CLEAN.replace(/\n/g, "\n  ")}`);
    // A text frame is one line of input: what reaches the JSON client is the cleaned text.
    text.send("x\u001b]0;title\u0007y");
    const { id, ...cleaned } = await json.event("message");
    assert.match(String(id), /^\d+-\d+$/);
    assert.deepEqual(cleaned, { type: "message", room: "lobby", from: "tex", text: "x\ufffd]0;title\ufffdy" });
    text.send("/msg jason \u0000\u009b2J");
    await text.expect("[private to jason] \ufffd\ufffd2J");
    assert.deepEqual(await json.event("private"), { type: "private", from: "tex", to: "jason", text: "\ufffd\ufffd2J" });
    json.sendJson({ type: "private", to: "tex", text: "p\u001bq" });
    assert.equal((await json.event("private"))["text"], "p\ufffdq");
    await text.expect("[private from jason] p\ufffdq");
  });

  it("stores cleaned text, and replays a file written before the rule under it, in both protocols", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    writeFileSync(file, `${JSON.stringify({ room: "lobby", from: "old", text: "before\u001b[2Jrule", ts: 1 })}\n`);
    const { ws, chat } = await startChat(t, { dataDir });
    const json = await jsonClient(t, ws, "jason");
    json.sendJson({ type: "message", text: "now\u0007here" });
    await json.event("message");
    const reader = await Client.open(t, ws, ["wynd-chat.v1"]);
    await reader.event("welcome");
    await reader.event("room");
    const history = await reader.event("history");
    assert.deepEqual(
      (history["messages"] as Array<{ from: string; text: string }>).map(({ from, text }) => ({ from, text })),
      [
        { from: "old", text: "before\ufffd[2Jrule" },
        { from: "jason", text: "now\ufffdhere" },
      ],
    );
    const text = await textClient(t, ws);
    text.send("/name tex");
    await text.expect("You are now known as tex");
    const replay = (await text.text()).split("\n");
    assert.match(replay[1]!, /\] old: before\ufffd\[2Jrule$/);
    assert.match(replay[2]!, /\] jason: now\ufffdhere$/);
    // What a new message wrote to the disk is the cleaned text (close() flushes the file).
    await chat.close();
    const stored = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { text: string });
    assert.equal(stored.at(-1)!.text, "now\ufffdhere");
  });

  it("answers a JSON type that is not a string with 'type must be a string', and a missing one with 'missing type'", async (t) => {
    const { ws } = await startChat(t);
    const client = await jsonClient(t, ws);
    for (const frame of ['{"type":123}', '{"type":null}', '{"type":["name"]}', '{"type":{}}']) {
      client.send(frame);
      assert.deepEqual(await client.event("error"), { type: "error", code: "bad-request", message: "type must be a string" }, frame);
    }
    client.send('{"name":"x"}');
    assert.deepEqual(await client.event("error"), { type: "error", code: "bad-request", message: "missing type" });
  });
});
