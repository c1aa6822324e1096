// Message ids: the form shared by both stores, and the file store's ids (increasing per room,
// kept in the history file across restarts, the same in live events and in history).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HistoryStore } from "../../src/chat/history.js";
import { HISTORY_FILE } from "../../src/chat/index.js";
import { compareIds, isId, nextId, parseId } from "../../src/chat/stores/ids.js";
import { Client, jsonClient, startChat, tempDir } from "./helpers.js";

const quiet = { onError: (error: Error) => assert.fail(error), onWarning: (message: string) => assert.fail(message) };

describe("chat: message ids", () => {
  it("parses <ms>-<seq> only, and orders by milliseconds then sequence", () => {
    assert.deepEqual(parseId("1764120000000-3"), { ms: 1764120000000, seq: 3 });
    for (const bad of ["", "1", "1-", "-1", "a-1", "1-1-1", " 1-1", "1-1 ", "1.5-0", "1234567890123456-0", "0x1-0"]) {
      assert.equal(parseId(bad), undefined, bad);
      assert.equal(isId(bad), false, bad);
    }
    assert.equal(isId(5), false);
    assert.ok(compareIds("1-0", "2-0") < 0);
    assert.ok(compareIds("2-0", "1-9") > 0);
    assert.ok(compareIds("2-1", "2-10") < 0, "numbers, not strings");
    assert.equal(compareIds("7-7", "7-7"), 0);
  });

  it("gives the next id from the clock, or the next sequence when the clock did not move on", () => {
    assert.equal(nextId(undefined, 1000), "1000-0");
    assert.equal(nextId("999-5", 1000), "1000-0");
    assert.equal(nextId("1000-0", 1000), "1000-1", "same millisecond");
    assert.equal(nextId("1000-1", 10), "1000-2", "a clock that went back");
    assert.equal(nextId(undefined, -5), "0-0");
  });

  it("numbers each room on its own, increasing, also with history disabled (size 0)", () => {
    for (const size of [2, 0]) {
      const store = new HistoryStore({ size, ...quiet });
      const a1 = store.append({ room: "a", from: "x", text: "1", ts: 50 });
      const a2 = store.append({ room: "a", from: "x", text: "2", ts: 50 });
      const b1 = store.append({ room: "b", from: "x", text: "3", ts: 40 });
      const a3 = store.append({ room: "a", from: "x", text: "4", ts: 10 });
      assert.deepEqual([a1, a2, b1, a3], ["50-0", "50-1", "40-0", "50-2"]);
      assert.deepEqual(store.recent("a").map((m) => m.id), size === 0 ? [] : ["50-1", "50-2"]);
    }
  });

  it("keeps ids in the file, so they survive a restart; old lines without ids get ones from their ts", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    writeFileSync(
      file,
      [
        '{"room":"lobby","from":"a","text":"old","ts":100}',
        '{"room":"lobby","from":"a","text":"same ms","ts":100}',
        '{"room":"lobby","id":"100-7","from":"a","text":"with id","ts":90}',
        '{"room":"lobby","id":"5-0","from":"a","text":"id going back","ts":200}',
        "",
      ].join("\n"),
    );
    const first = new HistoryStore({ dataDir, size: 10, ...quiet });
    await first.load();
    assert.deepEqual(first.recent("lobby").map((m) => `${m.id} ${m.text}`), ["100-0 old", "100-1 same ms", "100-7 with id", "200-0 id going back"]);
    const id = first.append({ room: "lobby", from: "b", text: "new", ts: 150 });
    assert.equal(id, "200-1", "after the last id, although the clock says 150");
    await first.close();
    assert.match(readFileSync(file, "utf8"), /\{"room":"lobby","id":"200-1","from":"b","text":"new","ts":150}\n$/);

    const second = new HistoryStore({ dataDir, size: 10, ...quiet });
    await second.load();
    assert.deepEqual(second.recent("lobby").map((m) => m.id), ["100-0", "100-1", "100-7", "200-0", "200-1"]);
    assert.equal(second.append({ room: "lobby", from: "b", text: "next", ts: 150 }), "200-2");
    await second.close();
  });

  it("shows a message with the same id live and in the history a later client gets", async (t) => {
    const { ws } = await startChat(t, { dataDir: tempDir(t) });
    const alice = await jsonClient(t, ws, "alice");
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) {
      alice.sendJson({ type: "message", text });
      ids.push(String((await alice.event("message"))["id"]));
    }
    for (let i = 1; i < ids.length; i++) assert.ok(compareIds(ids[i - 1]!, ids[i]!) < 0, `${ids.join(" ")} increase`);
    const bob = await Client.open(t, ws, ["wynd-chat.v1"]);
    await bob.event("welcome");
    await bob.event("room");
    const history = await bob.event("history");
    assert.deepEqual(
      (history["messages"] as Array<{ id: string; text: string }>).map((m) => [m.id, m.text]),
      ids.map((id, i) => [id, ["one", "two", "three"][i]]),
    );
  });
});
