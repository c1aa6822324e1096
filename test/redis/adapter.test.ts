// The Redis adapter with a real redis-server and several Wynd nodes in this process: broadcasts
// and rooms reach every node once, `except`/`includeSelf` name local handles, subscriptions
// follow membership, node messages reach the other nodes only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidStateError, Wynd, WyndError } from "../../src/index.js";
import { createRedisAdapter } from "../../src/redis/index.js";
import type { Peer } from "../helpers/api-peer.js";
import { cleanups, freshPrefix, join, publishMarker, roomSubscriptions, startNode, tick, useRedis, type TestNode } from "./helpers.js";

/** Waits until `peer` has nothing pending after every node's publications settled. */
async function quiet(nodes: readonly TestNode[]): Promise<void> {
  for (const node of nodes) await node.adapter.flush();
  await tick(50);
}

test("a room broadcast reaches the room's members on every node exactly once, and no one else", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const nodes = [await startNode(redis, prefix), await startNode(redis, prefix), await startNode(redis, prefix)];
  const members: Peer[] = [];
  const outsiders: Peer[] = [];
  for (const [i, node] of nodes.entries()) {
    members.push(await join(node, `m${i}`, ["r"]));
    outsiders.push(await join(node, `o${i}`, ["other"]));
  }
  // The number is the local recipients: node 0 has one member of "r".
  assert.equal(nodes[0]!.wynd.to("r").broadcast("hello r"), 1);
  await nodes[0]!.adapter.flush();
  // A marker published through Redis after node 0's message reached it, by a publisher that is
  // no node: every node receives it after "hello r", so a duplicate of "hello r" (node 0's own
  // publication coming back) would arrive before it.
  await publishMarker(nodes[0]!, prefix, "r", "end");
  for (const peer of members) {
    assert.equal(await peer.next(), "hello r");
    assert.equal(await peer.next(), "end");
  }
  await quiet(nodes);
  for (const peer of [...members, ...outsiders]) assert.deepEqual(peer.pending, []);
  for (const node of nodes) assert.deepEqual(node.errors, []);
});

test("wynd.broadcast and handle.broadcast reach the clients of every node, text and binary", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1");
  const a2 = await join(a, "a2");
  const b1 = await join(b, "b1");
  assert.equal(a.wynd.broadcast(Uint8Array.of(1, 2, 3)), 2);
  for (const peer of [a1, a2, b1]) assert.deepEqual(await peer.next(), Buffer.from([1, 2, 3]));
  // handle.broadcast skips the sender (a local handle) only.
  assert.equal(a.handles.get("a1")!.broadcast("from a1"), 1);
  assert.equal(await a2.next(), "from a1");
  assert.equal(await b1.next(), "from a1");
  // includeSelf adds the sender, once.
  assert.equal(b.handles.get("b1")!.broadcast("from b1", { includeSelf: true }), 1);
  for (const peer of [a1, a2, b1]) assert.equal(await peer.next(), "from b1");
  // except names a local handle: it skips a2 on node a, nobody elsewhere.
  assert.equal(a.wynd.broadcast("not a2", { except: a.handles.get("a2")! }), 1);
  assert.equal(await a1.next(), "not a2");
  assert.equal(await b1.next(), "not a2");
  await quiet([a, b]);
  for (const peer of [a1, a2, b1]) assert.deepEqual(peer.pending, []);
});

test("handle.to(room) skips the sender unless includeSelf, and except skips a local member only", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1", ["r"]);
  const a2 = await join(a, "a2", ["r"]);
  const b1 = await join(b, "b1", ["r"]);
  const b2 = await join(b, "b2", []);
  const sender = a.handles.get("a1")!;
  assert.equal(sender.to("r").broadcast("one"), 1);
  assert.equal(await a2.next(), "one");
  assert.equal(await b1.next(), "one");
  assert.equal(sender.to("r").broadcast("two", { includeSelf: true }), 2);
  assert.equal(sender.to("r").broadcast("three", { except: a.handles.get("a2")! }), 0);
  assert.equal(await a1.next(), "two");
  assert.equal(await a2.next(), "two");
  assert.equal(await b1.next(), "two");
  assert.equal(await b1.next(), "three");
  await quiet([a, b]);
  for (const peer of [a1, a2, b1, b2]) assert.deepEqual(peer.pending, []);
});

test("a node publishes to a room it has no member in: the members on other nodes get it", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const b1 = await join(b, "b1", ["lobby"]);
  assert.equal(a.wynd.rooms().length, 0);
  assert.equal(a.wynd.to("lobby").broadcast("from nowhere"), 0);
  assert.equal(await b1.next(), "from nowhere");
  // Node a did not subscribe the room for publishing to it.
  assert.deepEqual(a.adapter.subscribedRooms(), []);
});

test("encodePublication: bytes the application publishes itself (here in a Lua script) reach the room on every node, its own too", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1", ["r"]);
  const b1 = await join(b, "b1", ["r"]);
  const outsider = await join(b, "b2", ["other"]);
  const { channel, message } = a.adapter.encodePublication("r", "n=#MARK# ✓");
  assert.equal(channel, `${prefix}:room:r`);
  // Cut around a mark and put together again by a script, with what only the script knows.
  const at = message.indexOf("#MARK#");
  const script = "local n = redis.call('INCR', KEYS[1]) redis.call('PUBLISH', ARGV[1], ARGV[2] .. n .. ARGV[3]) return n";
  const args = [channel, message.subarray(0, at), message.subarray(at + 6)];
  assert.equal(await a.adapter.client.sendCommand(["EVAL", script, "1", `${prefix}:counter`, ...args]), 1);
  assert.equal(await a.adapter.client.sendCommand(["EVAL", script, "1", `${prefix}:counter`, ...args]), 2);
  for (const peer of [a1, b1]) {
    assert.equal(await peer.next(), "n=1 ✓");
    assert.equal(await peer.next(), "n=2 ✓");
  }
  const binary = b.adapter.encodePublication("r", Uint8Array.of(0, 255));
  await b.adapter.client.publish(binary.channel, binary.message);
  for (const peer of [a1, b1]) assert.deepEqual(await peer.next(), Buffer.from([0, 255]));
  await quiet([a, b]);
  for (const peer of [a1, b1, outsider]) assert.deepEqual(peer.pending, []);
});

test("a node subscribes a room on its first local member and unsubscribes on its last: no channel is left", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const rooms = Array.from({ length: 20 }, (_, i) => `room-${i}`);
  await join(a, "a1", rooms);
  await join(a, "a2", rooms.slice(0, 10));
  await join(b, "b1", rooms.slice(5, 15));
  let subscriptions = await roomSubscriptions(a.adapter, prefix);
  assert.equal(subscriptions.size, 20);
  for (const [i, room] of rooms.entries()) {
    // One subscription per node that has members, whatever their number.
    assert.equal(subscriptions.get(room), i >= 5 && i < 15 ? 2 : 1, room);
  }
  // Leaving rooms one member at a time: a room stays subscribed while a local member remains.
  const a1 = a.handles.get("a1")!;
  for (const room of rooms) a1.leave(room);
  await a.adapter.flush();
  assert.deepEqual(a.adapter.subscribedRooms().sort(), rooms.slice(0, 10).sort());
  // Closing the connections empties every room.
  await a.handles.get("a2")!.close();
  await b.handles.get("b1")!.close();
  for (let i = 0; i < 100 && (a.adapter.subscribedRooms().length > 0 || b.adapter.subscribedRooms().length > 0); i++) await tick(5);
  await a.adapter.flush();
  await b.adapter.flush();
  assert.deepEqual(a.adapter.subscribedRooms(), []);
  assert.deepEqual(b.adapter.subscribedRooms(), []);
  subscriptions = await roomSubscriptions(a.adapter, prefix);
  assert.equal(subscriptions.size, 0, `channels left: ${[...subscriptions.keys()].join(", ")}`);
});

test("publishToNodes reaches every other node's onNodeMessage handlers, never its own", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const nodes = [await startNode(redis, prefix), await startNode(redis, prefix), await startNode(redis, prefix)];
  const received = nodes.map(() => [] as string[]);
  for (const [i, node] of nodes.entries()) node.wynd.onNodeMessage((message) => void received[i]!.push(message));
  nodes[0]!.wynd.publishToNodes("hello nodes ✓");
  await nodes[0]!.adapter.flush();
  nodes[1]!.wynd.publishToNodes("end");
  // Node 0 gets node 1's "end" after its own message would have come back.
  while (received[0]!.length < 1 || received[2]!.length < 2) await tick(5);
  assert.deepEqual(received[0], ["end"]);
  assert.deepEqual(received[1], ["hello nodes ✓"]);
  assert.deepEqual(received[2], ["hello nodes ✓", "end"]);
  assert.throws(() => nodes[0]!.wynd.publishToNodes(42 as never), TypeError);
});

test("a message on a wynd channel that is not an envelope, or not UTF-8 text, goes to onError", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const a = await startNode(redis, prefix);
  const a1 = await join(a, "a1", ["r"]);
  await a.adapter.client.sendCommand(["PUBLISH", `${prefix}:room:r`, "garbage"]);
  // A text envelope from another node id whose payload is not UTF-8.
  const bad = Buffer.concat([Buffer.from([1, 0, 1, 0, 1]), Buffer.from("x"), Buffer.from([0xff, 0xfe])]);
  await a.adapter.client.sendCommand(["PUBLISH", `${prefix}:room:r`, bad]);
  while (a.errors.length < 2) await tick(5);
  assert.deepEqual(
    a.errors.map((error) => (error as WyndError).code),
    ["ERR_ADAPTER_BAD_ENVELOPE", "ERR_ADAPTER_INVALID_UTF8"],
  );
  assert.deepEqual(a1.pending, []);
  // The node still works.
  assert.equal(a.wynd.to("r").broadcast("still here"), 1);
  assert.equal(await a1.next(), "still here");
});

test("closing the adapter before or after its Wynd is safe, and close() is idempotent", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const a = await startNode(redis, prefix);
  await join(a, "a1", ["r"]);
  await a.adapter.close();
  // Broadcasting, joining, leaving and closing after the adapter closed neither throw nor report.
  assert.equal(a.wynd.to("r").broadcast("local only"), 1);
  a.handles.get("a1")!.join("s").leave("r");
  a.wynd.publishToNodes("nobody");
  await a.wynd.close();
  await a.adapter.close();
  assert.equal(a.adapter.droppedPublications, 2);
  assert.deepEqual(a.errors, []);
  assert.throws(() => new Wynd({ adapter: a.adapter }), InvalidStateError);
});

test("an adapter given a client publishes with it and leaves it open when closed", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const { createClient } = await import("@redis/client");
  const client = createClient({ url: redis.url });
  client.on("error", () => {});
  cleanups.push(() => (client.isOpen ? client.close() : undefined));
  // Not connected yet: the adapter connects it.
  const adapter = await createRedisAdapter({ client, channelPrefix: freshPrefix() });
  assert.equal(adapter.client, client);
  assert.ok(client.isReady);
  assert.match(adapter.nodeId, /^[0-9a-f]{16}$/);
  const wynd = new Wynd({ adapter });
  assert.equal(wynd.adapter, adapter);
  assert.throws(() => new Wynd({ adapter }), InvalidStateError, "an adapter serves one Wynd");
  await wynd.close();
  await adapter.close();
  assert.ok(client.isOpen, "the application's client stays open");
  assert.equal(await client.sendCommand(["PING"]), "PONG");
});

test("createRedisAdapter rejects with ERR_REDIS_CONNECT when Redis cannot be reached", { timeout: 20_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  // A port nobody listens on: redis' own port after stopping a second server there.
  const { startRedisServer } = await import("../helpers/redis-server.js");
  const other = (await startRedisServer(t))!;
  await other.stop();
  await assert.rejects(createRedisAdapter({ url: other.url }), (error: WyndError) => {
    assert.equal(error.code, "ERR_REDIS_CONNECT");
    assert.match(error.message, new RegExp(`cannot connect to Redis at redis://127\\.0\\.0\\.1:${other.port}`));
    return true;
  });
  await assert.rejects(createRedisAdapter({ url: redis.url, nodeId: "" }), RangeError);
  await assert.rejects(createRedisAdapter({ url: redis.url, channelPrefix: "" }), TypeError);
});
