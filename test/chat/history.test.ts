// History: an append-only JSON-lines file per data directory, replayed when entering a room,
// surviving restarts, torn lines and failing disks.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HistoryStore, MAX_HISTORY_ROOMS } from "../../src/chat/history.js";
import { HISTORY_FILE } from "../../src/chat/index.js";
import { assertNothingMore, jsonClient, startChat, tempDir, textClient } from "./helpers.js";

/** A clock that ticks one second per reading, from a fixed time. */
function fakeClock(start = Date.UTC(2026, 10, 26, 1, 0, 0)): () => number {
  let now = start;
  return () => (now += 1000);
}

function record(room: string, from: string, text: string, ts: number): string {
  return JSON.stringify({ room, from, text, ts });
}

describe("chat: history", () => {
  it("persists every room's messages, replays the last N after a restart on the same data directory", async (t) => {
    const dataDir = tempDir(t);
    const first = await startChat(t, { dataDir, historySize: 2, clock: fakeClock() });
    const alice = await jsonClient(t, first.ws, "alice");
    for (const text of ["one", "two", "three"]) {
      alice.sendJson({ type: "message", text });
      await alice.event("message");
    }
    alice.sendJson({ type: "join", room: "dev" });
    await alice.event("room");
    await alice.event("history");
    await alice.event("join");
    alice.sendJson({ type: "message", text: "in dev" });
    await alice.event("message");
    await first.chat.close();

    const lines = readFileSync(join(dataDir, HISTORY_FILE), "utf8").split("\n");
    assert.equal(lines.pop(), "", "the file ends with a newline");
    const records = lines.map((line) => JSON.parse(line) as { room: string; from: string; text: string; ts: number });
    assert.deepEqual(
      records.map(({ room, from, text }) => ({ room, from, text })),
      [
        { room: "lobby", from: "alice", text: "one" },
        { room: "lobby", from: "alice", text: "two" },
        { room: "lobby", from: "alice", text: "three" },
        { room: "dev", from: "alice", text: "in dev" },
      ],
    );
    // The fake clock's readings, in order: the timestamps are the server's clock, as sent live.
    const start = Date.UTC(2026, 10, 26, 1, 0, 0);
    assert.ok(records.every((r, i) => r.ts > start && r.ts < start + 60_000 && (i === 0 || r.ts > records[i - 1]!.ts)));

    // close() released the port: the restart takes the same one.
    const second = await startChat(t, { dataDir, historySize: 2 }, Number(new URL(first.ws).port));
    assert.equal(second.ws, first.ws);
    const bob = await textClient(t, second.ws);
    bob.send("/name bob");
    await bob.expect("You are now known as bob");
    const replay = (await bob.text()).split("\n");
    assert.equal(replay.length, 4);
    assert.equal(replay[0], "--- History of room lobby: the last 2 messages ---");
    assert.match(replay[1]!, /^\[2026-11-26T01:00:\d\dZ\] alice: two$/);
    assert.match(replay[2]!, /^\[2026-11-26T01:00:\d\dZ\] alice: three$/);
    assert.equal(replay[3], "--- End of history ---");
    bob.send("/join dev");
    await bob.expect("You are now in room dev");
    assert.match(await bob.text(), /^--- History of room dev: the last 1 message ---\n\[.*\] alice: in dev\n--- End of history ---$/);
    assert.deepEqual(second.reports, { errors: [], warnings: [] });
  });

  it("gives a plain-text client nothing before its name, then its room's history", async (t) => {
    const { ws } = await startChat(t);
    const alice = await textClient(t, ws, "alice");
    const lurker = await textClient(t, ws);
    alice.send("before the name");
    alice.send("/users"); // a barrier: the message above has been handled
    await alice.expect("Online users: alice");
    assert.equal(lurker.pending, 0);
    lurker.send("/name bob");
    await lurker.expect("You are now known as bob");
    assert.match(await lurker.text(), /^--- History of room lobby: the last 1 message ---\n\[.*\] alice: before the name\n--- End of history ---$/);
    await alice.expect("bob joined the chat");
    await assertNothingMore(lurker);
  });

  it("skips a torn last line with a warning, cuts it off, and appends cleanly after it", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    writeFileSync(file, `${record("lobby", "a", "first", 1)}\n${record("lobby", "b", "second", 2)}\n{"room":"lobby","from":"c","te`);
    const first = await startChat(t, { dataDir });
    assert.equal(first.reports.warnings.length, 1);
    assert.match(first.reports.warnings[0]!, /line 3 of .*history\.jsonl was torn/);
    const alice = await jsonClient(t, first.ws);
    alice.sendJson({ type: "name", name: "alice" });
    alice.sendJson({ type: "message", text: "third" });
    await alice.event("name");
    await alice.event("join");
    await alice.event("message");
    await first.chat.close();
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { text: string }).text), ["first", "second", "third"]);

    const second = await startChat(t, { dataDir });
    assert.deepEqual(second.reports, { errors: [], warnings: [] });
    const carol = await textClient(t, second.ws, "carol");
    assert.match(await carol.text(), /the last 3 messages ---\n.* a: first\n.* b: second\n.* alice: third\n/);
  });

  it("skips invalid lines anywhere with a warning, and ends a valid unterminated last line", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    writeFileSync(file, [record("lobby", "a", "one", 1), "not json", '{"room":"lobby"}', "", record("lobby", "b", "two", 2)].join("\n"));
    const { ws, reports, chat } = await startChat(t, { dataDir });
    assert.equal(reports.warnings.length, 2);
    assert.match(reports.warnings[0]!, /skipped line 2 of /);
    assert.match(reports.warnings[1]!, /skipped line 3 of /);
    const alice = await textClient(t, ws, "alice");
    assert.match(await alice.text(), /the last 2 messages ---\n.* a: one\n.* b: two\n/);
    alice.send("three");
    alice.send("/users");
    await alice.expect("Online users: alice");
    await chat.close();
    const written = /"text":"two","ts":2}\n\{"room":"lobby","id":"(\d+)-0","from":"alice","text":"three","ts":(\d+)}\n$/.exec(readFileSync(file, "utf8"));
    assert.ok(written !== null, "the new line follows the old ones, with its id");
    assert.equal(written[1], written[2], "the id of a message sent after older ones is <ts>-0");
  });

  it("reports a failing disk and goes on with history in memory", async (t) => {
    const dataDir = tempDir(t);
    mkdirSync(join(dataDir, HISTORY_FILE)); // a directory where the file should be
    const { ws, reports } = await startChat(t, { dataDir });
    assert.equal(reports.errors.length, 1);
    assert.match(reports.errors[0]!.message, /history: .*history\.jsonl.*kept in memory only/);
    const alice = await jsonClient(t, ws, "alice");
    alice.sendJson({ type: "message", text: "still works" });
    await alice.event("message");
    const bob = await textClient(t, ws, "bob");
    assert.match(await bob.text(), /alice: still works/);
  });
});

describe("chat: history store", () => {
  it("keeps at most MAX_HISTORY_ROOMS rooms in memory, forgetting the one written to longest ago", () => {
    const store = new HistoryStore({ size: 2, onError: (error) => assert.fail(error), onWarning: (message) => assert.fail(message) });
    for (let i = 0; i < MAX_HISTORY_ROOMS; i++) store.append({ room: `r${i}`, from: "a", text: "x", ts: i });
    store.append({ room: "r0", from: "a", text: "y", ts: 1 }); // r0 is now the most recent
    store.append({ room: "new", from: "a", text: "z", ts: 2 });
    assert.equal(store.recent("r1").length, 0, "the oldest room was forgotten");
    assert.deepEqual(store.recent("r0").map((m) => m.text), ["x", "y"]);
    assert.deepEqual(store.recent("new").map((m) => m.text), ["z"]);
    store.append({ room: "r0", from: "a", text: "w", ts: 3 });
    assert.deepEqual(store.recent("r0").map((m) => m.text), ["y", "w"], "the last `size` messages");
  });
});
