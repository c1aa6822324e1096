// The Redis adapter when Redis goes away: a real redis-server per test, killed with SIGKILL and
// restarted on the same port while several Wynd nodes run. Each node keeps serving its own
// clients, reports each outage once, queues nothing, and on recovery holds exactly the
// subscriptions its rooms need.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test, type TestContext } from "node:test";
import { EnvelopeCodec, Kind } from "../../src/redis/envelope.js";
import type { Peer } from "../helpers/api-peer.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { cleanups, freshPrefix, join, publishMarker, roomSubscriptions, startNode, tick, until, type TestNode } from "./helpers.js";

/** A redis-server of the test's own (it gets killed), stopped after the test. */
async function privateRedis(t: TestContext): Promise<RedisServer | undefined> {
  const redis = await startRedisServer(t);
  if (redis !== undefined) cleanups.unshift(() => redis.stop());
  return redis;
}

/** Takes messages from `peer` up to and including `last`; returns those before it. */
async function takeUntil(peer: Peer, last: string): Promise<Array<string | Buffer>> {
  const seen: Array<string | Buffer> = [];
  for (;;) {
    const message = await peer.next();
    if (message === last) return seen;
    seen.push(message);
  }
}

/** Kills Redis and waits until every node says "down". */
async function outage(redis: RedisServer, nodes: readonly TestNode[]): Promise<void> {
  await redis.kill();
  await until("every node to go down", () => nodes.every((node) => node.adapter.state === "down"));
}

/** Restarts Redis on the same port and waits until every node says "up". */
async function recovery(redis: RedisServer, nodes: readonly TestNode[]): Promise<void> {
  await redis.restart();
  await until("every node to come back up", () => nodes.every((node) => node.adapter.state === "up"));
  for (const node of nodes) await node.adapter.flush();
}

/** The listeners the adapter put on its two connections (and the client library's own). */
function listenerCounts(node: TestNode): number[] {
  return [node.adapter.client, node.adapter.subscriber].flatMap((connection) =>
    ["error", "ready", "terminated", "end", "reconnecting"].map((event) => connection.listenerCount(event)),
  );
}

test("Redis killed and restarted twice: every node reports each outage once, serves its own clients meanwhile, queues nothing and resumes", { timeout: 60_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const nodes = [await startNode(redis, prefix), await startNode(redis, prefix), await startNode(redis, prefix)];
  const members: Peer[] = [];
  for (const [i, node] of nodes.entries()) members.push(await join(node, `m${i}`, ["r"]));
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  const [ma, mb, mc] = members as [Peer, Peer, Peer];
  const listenersBefore = nodes.map(listenerCounts);

  for (let round = 1; round <= 2; round++) {
    await outage(redis, nodes);
    // Local delivery goes on: a's member gets a's broadcasts, the other nodes do not.
    assert.equal(a.wynd.to("r").broadcast(`local ${round}`), 1);
    assert.equal(await ma.next(), `local ${round}`);
    assert.equal(b.wynd.broadcast(`everyone local ${round}`), 1);
    assert.equal(await mb.next(), `everyone local ${round}`);
    // Many publications during the outage: each dropped and counted, none in flight, none queued.
    const dropped = a.adapter.droppedPublications;
    const payload = "x".repeat(1_000);
    for (let i = 0; i < 20_000; i++) a.wynd.to("r").broadcast(payload, { except: a.handles.get("m0")! });
    assert.equal(a.adapter.droppedPublications - dropped, 20_000);
    assert.equal(a.adapter.pendingPublishBytes, 0);
    // The clients retry while Redis is away (an "error" each time): still one report.
    await tick(700);
    await recovery(redis, nodes);
    // Nothing published during the outage arrives late: the marker comes first.
    a.wynd.to("r").broadcast(`after ${round}`);
    await a.adapter.flush();
    await publishMarker(a, prefix, "r", `end ${round}`);
    assert.deepEqual(await takeUntil(mb, `end ${round}`), [`after ${round}`]);
    assert.deepEqual(await takeUntil(mc, `end ${round}`), [`after ${round}`]);
    assert.deepEqual(await takeUntil(ma, `end ${round}`), [`after ${round}`]);
    // Every direction works again, node messages included.
    c.wynd.to("r").broadcast(`from c ${round}`);
    for (const peer of members) assert.equal(await peer.next(), `from c ${round}`);
    const heard: string[] = [];
    a.wynd.onNodeMessage((message) => void heard.push(message));
    b.wynd.publishToNodes(`node ${round}`);
    await until("a node message after the recovery", () => heard.includes(`node ${round}`));
  }
  for (const [i, node] of nodes.entries()) {
    assert.deepEqual(node.states, ["down", "up", "down", "up"], `node ${i}'s states`);
    assert.equal(node.errors.length, 2, `node ${i} reports each outage once: ${node.errors.map((e) => e.message).join(" | ")}`);
    // No listener was added per outage or per reconnection attempt.
    assert.deepEqual(listenerCounts(node), listenersBefore[i]);
    assert.equal(node.adapter.pendingPublishBytes, 0);
  }
  const subscriptions = await roomSubscriptions(a.adapter, prefix);
  assert.deepEqual([...subscriptions], [["r", 3]]);
});

test("rooms joined or left during an outage end up subscribed exactly as the node's members need", { timeout: 60_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1", ["kept", "left"]);
  const b1 = await join(b, "b1", ["kept", "left"]);
  await outage(redis, [a, b]);
  const h = a.handles.get("a1")!;
  h.join("joined").leave("left");
  // Many changes during the outage cost bookkeeping only: nothing is queued per change.
  for (let i = 0; i < 10_000; i++) h.join(`flap-${i % 7}`).leave(`flap-${i % 7}`);
  h.join("flap-3");
  assert.deepEqual(a.adapter.subscribedRooms().sort(), ["flap-3", "joined", "kept"]);
  await recovery(redis, [a, b]);
  const subscriptions = await roomSubscriptions(a.adapter, prefix);
  assert.deepEqual(
    [...subscriptions].sort(),
    [
      ["flap-3", 1],
      ["joined", 1],
      ["kept", 2],
      ["left", 1],
    ],
  );
  // Delivery follows: b's broadcasts to "joined" reach a1, those to "left" do not.
  b.wynd.to("left").broadcast("not for a1");
  b.wynd.to("joined").broadcast("for a1");
  b.wynd.to("kept").broadcast("kept for a1");
  await b.adapter.flush();
  await publishMarker(b, prefix, "kept", "end");
  assert.deepEqual(await takeUntil(a1, "end"), ["for a1", "kept for a1"]);
  assert.equal(await b1.next(), "not for a1");
  assert.deepEqual(a.states, ["down", "up"]);
  assert.equal(a.errors.length, 1);
});

test("a SUBSCRIBE or UNSUBSCRIBE in flight when Redis dies is redone right on recovery, which the client's own resubscribe does not", { timeout: 60_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1", ["old"]);
  // Redis stops answering: the commands below are written and wait for replies that never come.
  await a.adapter.client.sendCommand(["CLIENT", "PAUSE", "30000", "ALL"]);
  a.handles.get("a1")!.join("new").leave("old");
  await tick(100);
  await outage(redis, [a, b]);
  await recovery(redis, [a, b]);
  const subscriptions = await roomSubscriptions(a.adapter, prefix);
  assert.deepEqual([...subscriptions], [["new", 1]]);
  b.wynd.to("old").broadcast("old");
  b.wynd.to("new").broadcast("new");
  await b.adapter.flush();
  await publishMarker(b, prefix, "new", "end");
  assert.deepEqual(await takeUntil(a1, "end"), ["new"]);
  // The rejected in-flight commands were part of the outage, not errors of their own.
  assert.equal(a.errors.length, 1);
});

test("maxPendingPublishBytes bounds what waits for a Redis that stopped answering: past it publications are dropped and counted", { timeout: 60_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const limit = 100_000;
  const a = await startNode(redis, prefix, { maxPendingPublishBytes: limit });
  const b = await startNode(redis, prefix);
  const b1 = await join(b, "b1", ["r"]);
  const payload = "y".repeat(9_000);
  const envelopeBytes = new EnvelopeCodec(a.adapter.nodeId).encode(Kind.ROOM, payload).byteLength;
  // Redis keeps the connection but answers nothing for a while.
  await a.adapter.client.sendCommand(["CLIENT", "PAUSE", "1000", "ALL"]);
  for (let i = 0; i < 1_000; i++) a.wynd.to("r").broadcast(payload);
  const accepted = Math.floor(limit / envelopeBytes);
  assert.equal(a.adapter.pendingPublishBytes, accepted * envelopeBytes);
  assert.equal(a.adapter.droppedPublications, 1_000 - accepted);
  // When Redis answers again the accepted ones are delivered, in order, and the bytes released.
  for (let i = 0; i < accepted; i++) assert.equal(await b1.next(), payload);
  await a.adapter.flush();
  assert.equal(a.adapter.pendingPublishBytes, 0);
  // One publication larger than the limit still goes when nothing else waits.
  const large = "z".repeat(limit * 2);
  a.wynd.to("r").broadcast(large);
  assert.equal(await b1.next(), large);
  assert.equal(a.adapter.droppedPublications, 1_000 - accepted);
  assert.deepEqual(a.states, []);
  assert.deepEqual(a.errors, []);
});

test("a subscriber that Redis disconnects past client-output-buffer-limit pubsub: down once, resubscribed, up", { timeout: 60_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  const a1 = await join(a, "a1", ["r"]);
  await join(a, "a2", ["flood"]);
  await join(b, "b1", ["r"]);
  await a.adapter.client.sendCommand(["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"]);
  // This process reads nothing while a child process publishes 1 MiB messages to room "flood",
  // which only node a subscribes, one at a time: the kernel's socket buffers fill, then Redis'
  // output buffer for a's subscriber passes the hard limit and Redis closes that connection;
  // the child stops at the first PUBLISH that reaches no subscriber (b's gets nothing of it).
  const script = `
    const net = require("node:net");
    const [port, channel, max] = process.argv.slice(1);
    const payload = Buffer.concat([Buffer.from([1, 0, 1, 0, 5]), Buffer.from("other"), Buffer.alloc(1 << 20, 0x61)]);
    const header = "*3\\r\\n$7\\r\\nPUBLISH\\r\\n$" + Buffer.byteLength(channel) + "\\r\\n" + channel + "\\r\\n$" + payload.length + "\\r\\n";
    let sent = 0;
    let input = "";
    const send = () => {
      sent++;
      socket.write(header);
      socket.write(payload);
      socket.write("\\r\\n");
    };
    const socket = net.connect(Number(port), "127.0.0.1", send);
    socket.on("data", (chunk) => {
      input += chunk.toString("latin1");
      for (let end; (end = input.indexOf("\\r\\n")) >= 0; ) {
        const line = input.slice(0, end);
        input = input.slice(end + 2);
        if (line === ":0") return void socket.end(() => console.log(sent));
        if (sent >= Number(max)) return void socket.end(() => (process.exitCode = 2));
        send();
      }
    });
  `;
  const child = spawnSync(process.execPath, ["-e", script, String(redis.port), `${prefix}:room:flood`, "256"], { timeout: 30_000 });
  assert.equal(child.status, 0, `the subscriber was never disconnected: ${child.stderr.toString()}`);
  t.diagnostic(`Redis disconnected the subscriber after ${child.stdout.toString().trim()} messages of 1 MiB`);
  await until("node a to go down and up again", () => a.states.length === 2);
  await a.adapter.flush();
  assert.deepEqual(a.states, ["down", "up"]);
  assert.equal(a.errors.length, 1);
  // b's subscriber read all along: it never went down.
  assert.deepEqual(b.states, []);
  b.wynd.to("r").broadcast("after the disconnection");
  assert.equal(await a1.next(), "after the disconnection");
});

test("closing the Wynd and its adapter during an outage resolves at once, reports nothing more, and stops reconnecting", { timeout: 30_000 }, async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const a = await startNode(redis, prefix);
  await join(a, "a1", ["r"]);
  await outage(redis, [a]);
  await a.wynd.close();
  await a.adapter.close();
  assert.equal(a.adapter.client.isOpen, false);
  assert.equal(a.adapter.subscriber.isOpen, false);
  // Redis coming back finds nobody reconnecting: no "up", no new error.
  await redis.restart();
  await tick(300);
  assert.deepEqual(a.states, ["down"]);
  assert.equal(a.errors.length, 1);
  const { createClient } = await import("@redis/client");
  const checker = await createClient({ url: redis.url }).connect();
  const clients = String(await checker.sendCommand(["CLIENT", "LIST"]));
  await checker.close();
  assert.equal(clients.trim().split("\n").length, 1, `only the checking client is connected:\n${clients}`);
});
