// The Redis stores against a real redis-server: history in streams (ids, trimming, replay),
// presence (atomic claims across nodes, heartbeats, a dead node reaped exactly once), and what
// a Redis outage does to them.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { compareIds } from "../../src/chat/stores/ids.js";
import { OutageReporter, Redis, type RedisCommands } from "../../src/chat/stores/redis-commands.js";
import { RedisMessages } from "../../src/chat/stores/redis-messages.js";
import { RedisPresence } from "../../src/chat/stores/redis-presence.js";
import type { OnlineUser } from "../../src/chat/stores/types.js";
import { redisClient, redisFor } from "./redis-helpers.js";

function reporter(): { reporter: OutageReporter; errors: Error[]; warnings: string[] } {
  const errors: Error[] = [];
  const warnings: string[] = [];
  return { reporter: new OutageReporter((e) => errors.push(e), (w) => warnings.push(w)), errors, warnings };
}

async function connect(t: TestContext): Promise<{ client: RedisCommands; url: string; stop: () => Promise<void> } | undefined> {
  const server = await redisFor(t);
  if (server === undefined) return undefined;
  const client = await redisClient(t, server.url);
  return { client: client as unknown as RedisCommands, url: server.url, stop: server.stop };
}

describe("chat: Redis history store", () => {
  it("stores each message in its room's stream, with the stream id, and replays exactly the last `size`", async (t) => {
    const server = await connect(t);
    if (server === undefined) return;
    const { reporter: r } = reporter();
    const store = new RedisMessages({ redis: new Redis(server.client, 2000, r), size: 3, prefix: "test:" });
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(await store.append({ room: "lobby", from: "alice", text: `m${i}`, ts: 1000 + i }));
    for (let i = 1; i < ids.length; i++) assert.ok(compareIds(ids[i - 1]!, ids[i]!) < 0);
    const recent = await store.recent("lobby");
    assert.deepEqual(recent, [247, 248, 249].map((i) => ({ id: ids[i], from: "alice", text: `m${i}`, ts: 1000 + i })));
    const length = Number(await server.client.sendCommand(["XLEN", "test:history:lobby"]));
    assert.ok(length >= 3 && length < 250, `XADD … MAXLEN ~ trimmed the stream (${length} entries left)`);
    assert.deepEqual(await store.recent("elsewhere"), []);
  });

  it("numbers but keeps nothing with size 0", async (t) => {
    const server = await connect(t);
    if (server === undefined) return;
    const store = new RedisMessages({ redis: new Redis(server.client, 2000, reporter().reporter), size: 0, prefix: "test:" });
    const a = await store.append({ room: "r", from: "a", text: "x", ts: 1 });
    const b = await store.append({ room: "r", from: "a", text: "y", ts: 2 });
    assert.ok(compareIds(a, b) < 0);
    assert.deepEqual(await store.recent("r"), []);
    assert.equal(Number(await server.client.sendCommand(["XLEN", "test:history:r"])), 0);
  });
});

function presence(client: RedisCommands, nodeId: string, ttlMs = 15_000, r = reporter().reporter): RedisPresence {
  // A generous timeout: the outages here are cut lines (failing at once), not slow commands.
  return new RedisPresence({ redis: new Redis(client, 5000, r), prefix: "test", nodeId, ttlMs });
}

describe("chat: Redis presence store", () => {
  it("makes a name unique across nodes (ignoring case), atomically, and lists users and rooms of every node", async (t) => {
    const server = await connect(t);
    if (server === undefined) return;
    const a = presence(server.client, "A");
    const b = presence(server.client, "B");
    await a.start();
    await b.start();
    t.after(() => Promise.all([a.close(), b.close()]));
    // Ten claims of one name at once from two nodes: exactly one wins.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).claim(String(i), i % 3 === 0 ? "Alice" : "alice", "lobby")));
    assert.equal(results.filter(Boolean).length, 1);
    assert.deepEqual(await b.find("ALICE"), (await a.find("alice")) ?? "missing");
    assert.equal((await b.find("ALICE"))?.room, "lobby");
    assert.equal(await b.claim("x", "bob", "dev"), true);
    assert.equal(await b.claim("x", "Bobby", "dev"), true, "a rename");
    await sleep(5); // /users lists by arrival time, in milliseconds
    assert.equal(await a.find("bob"), undefined, "the old name is free again");
    assert.equal(await a.claim("y", "bob", "lobby"), true);
    await a.move("y", "dev");
    const users: OnlineUser[] = await b.users();
    assert.equal(users.length, 3);
    assert.deepEqual(users.slice(1), [{ name: "Bobby", room: "dev" }, { name: "bob", room: "dev" }]);
    await a.release("y");
    assert.equal(await b.find("bob"), undefined);
    await a.close();
    assert.deepEqual(await b.users(), [{ name: "Bobby", room: "dev" }], "a node that closes takes its users along");
  });

  it("reaps a node whose heartbeat stopped: exactly one node gets its users, within the bound", async (t) => {
    const server = await connect(t);
    if (server === undefined) return;
    const ttlMs = 600;
    // The dying node talks to Redis through a line that can be cut: from then on, as for a
    // process killed with SIGKILL, nothing of it reaches Redis again.
    let cut = false;
    const line: RedisCommands = { sendCommand: (args) => (cut ? Promise.reject(new Error("cut")) : server.client.sendCommand(args)) };
    const dead = presence(line, "dead", ttlMs);
    await dead.start();
    t.after(() => dead.close());
    assert.equal(await dead.claim("1", "ghost", "dev"), true);
    assert.equal(await dead.claim("2", "spook", "lobby"), true);
    const live = [presence(server.client, "L1", ttlMs), presence(server.client, "L2", ttlMs), presence(server.client, "L3", ttlMs)];
    const seen: Array<{ node: number; users: readonly OnlineUser[]; at: number }> = [];
    for (const [i, node] of live.entries()) {
      node.onDeparted((users) => seen.push({ node: i, users, at: Date.now() }));
      await node.start();
    }
    t.after(() => Promise.all(live.map((node) => node.close())));
    assert.equal((await live[0]!.users()).length, 2);
    cut = true;
    const cutAt = Date.now();
    const deadline = cutAt + 10 * ttlMs;
    while (seen.length === 0 && Date.now() < deadline) await sleep(20);
    await sleep(ttlMs); // a second announcement would have come by now
    assert.equal(seen.length, 1, "exactly one node announces");
    assert.deepEqual([...seen[0]!.users].sort((x, y) => x.name.localeCompare(y.name)), [{ name: "ghost", room: "dev" }, { name: "spook", room: "lobby" }]);
    // The bound: the last heartbeat was at most ttl/3 before the cut, and the reap runs every ttl/3.
    assert.ok(seen[0]!.at - cutAt <= (ttlMs * 4) / 3 + 300, `announced ${seen[0]!.at - cutAt} ms after the cut`);
    assert.deepEqual(await live[0]!.users(), []);
    assert.equal(await live[1]!.claim("9", "ghost", "lobby"), true, "the name is free again");
  });

  it("keeps serving its own users through an outage, reports it once, and writes them back when Redis returns", async (t) => {
    const server = await connect(t);
    if (server === undefined) return;
    let cut = false;
    const line: RedisCommands = { sendCommand: (args) => (cut ? Promise.reject(new Error("cut")) : server.client.sendCommand(args)) };
    const reports = reporter();
    const a = presence(line, "A", 300, reports.reporter);
    const b = presence(server.client, "B", 300);
    const restored: string[] = [];
    const conflicts: string[] = [];
    const departed: string[] = [];
    a.onRestored((owners) => restored.push(...owners));
    a.onConflict((owner) => conflicts.push(owner));
    b.onDeparted((users) => departed.push(...users.map((u) => u.name)));
    await a.start();
    await b.start();
    t.after(() => Promise.all([a.close(), b.close()]));
    assert.equal(await a.claim("1", "alice", "lobby"), true);
    cut = true;
    assert.equal(await a.claim("2", "carol", "lobby"), true, "claimed locally during the outage");
    assert.equal(await a.claim("3", "Carol", "lobby"), false, "still unique among this node's users");
    assert.deepEqual((await a.users()).map((u) => u.name), ["alice", "carol"]);
    assert.equal((await a.find("carol"))?.name, "carol");
    assert.equal(reports.errors.length, 1, "reported once");
    assert.match(reports.errors[0]!.message, /Redis cannot be reached/);
    // Meanwhile node B reaps A (its heartbeat stopped) and someone on B takes "carol".
    const deadline = Date.now() + 5000;
    while (!departed.includes("alice") && Date.now() < deadline) await sleep(20);
    assert.deepEqual(departed, ["alice"]);
    assert.equal(await b.claim("x", "carol", "dev"), true);
    cut = false;
    while (restored.length + conflicts.length < 2 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(restored, ["1"], "alice is back");
    assert.deepEqual(conflicts, ["2"], "carol was taken elsewhere");
    assert.deepEqual((await b.users()).map((u) => u.name).sort(), ["alice", "carol"]);
    assert.equal(reports.errors.length, 1, "one outage, one report");
    assert.deepEqual(reports.warnings, ["chat store: Redis is reachable again"]);
  });
});
