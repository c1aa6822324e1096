// The Redis adapter under concurrency, seeded: many senders on several nodes (every receiver on
// every node checks per-sender order and the total), rooms created and deleted as members come
// and go (the channels a node holds return to zero), and room names that have no UTF-8 form.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Peer } from "../helpers/api-peer.js";
import { pickSeed, randomIntBetween, withSeed } from "../helpers/random.js";
import { freshPrefix, join, roomSubscriptions, startNode, tick, until, useRedis, type TestNode } from "./helpers.js";

const NODES = 3;
const SENDERS_PER_NODE = 3;
const RECEIVERS_PER_NODE = 2;
const MESSAGES_PER_SENDER = 300;

test("per-sender order under concurrency: every client on every node gets every other sender's messages once, in order (seeded)", { timeout: 90_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const seed = pickSeed();
  await withSeed(seed, "per-sender order", async (rng) => {
    const prefix = freshPrefix();
    const nodes: TestNode[] = [];
    for (let n = 0; n < NODES; n++) {
      const node = await startNode(redis, prefix);
      // A sender's text goes to the room's other members, on every node.
      node.wynd.onConnection((connection) => connection.onText((message, handle) => void handle.to("order").broadcast(message.data)));
      nodes.push(node);
    }
    const senders: Array<{ name: string; peer: Peer }> = [];
    const everyone: Array<{ name: string; peer: Peer }> = [];
    for (const [n, node] of nodes.entries()) {
      for (let s = 0; s < SENDERS_PER_NODE; s++) {
        const name = `s${n}.${s}`;
        const client = { name, peer: await join(node, name, ["order"]) };
        senders.push(client);
        everyone.push(client);
      }
      for (let r = 0; r < RECEIVERS_PER_NODE; r++) {
        const name = `r${n}.${r}`;
        everyone.push({ name, peer: await join(node, name, ["order"]) });
      }
    }
    // Every sender sends in seeded bursts with seeded pauses, all at once.
    await Promise.all(
      senders.map(async ({ name, peer }) => {
        const bursts: number[] = [];
        for (let left = MESSAGES_PER_SENDER; left > 0; ) {
          const burst = Math.min(left, randomIntBetween(rng, 1, 25));
          bursts.push(burst);
          left -= burst;
        }
        const pauses = bursts.map(() => randomIntBetween(rng, 0, 4));
        let seq = 0;
        for (const [i, burst] of bursts.entries()) {
          for (let k = 0; k < burst; k++) peer.ws.sendText(`${name}:${seq++}`);
          await tick(pauses[i]);
        }
      }),
    );
    const total = senders.length * MESSAGES_PER_SENDER;
    const expected = (name: string): number => (name.startsWith("s") ? total - MESSAGES_PER_SENDER : total);
    await until("every client to receive every message", () => everyone.every(({ name, peer }) => peer.pending.length >= expected(name)), 60_000);
    for (const node of nodes) await node.adapter.flush();
    await tick(100);
    for (const { name, peer } of everyone) {
      assert.equal(peer.pending.length, expected(name), `${name} received a duplicate`);
      const next = new Map<string, number>();
      for (const message of peer.pending) {
        const text = String(message);
        const [sender, seqText] = text.split(":") as [string, string];
        assert.notEqual(sender, name, `${name} received its own message`);
        const want = next.get(sender) ?? 0;
        assert.equal(Number(seqText), want, `${name} received ${text} when ${sender}:${want} was next`);
        next.set(sender, want + 1);
      }
      assert.equal(next.size, name.startsWith("s") ? senders.length - 1 : senders.length);
    }
    for (const node of nodes) assert.deepEqual(node.errors, []);
  });
});

test("rooms come and go with their members (seeded): each node holds a channel exactly for the rooms it has members in, and none at the end", { timeout: 60_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const seed = pickSeed();
  await withSeed(seed, "random joins and leaves", async (rng) => {
    const prefix = freshPrefix();
    const nodes = [await startNode(redis, prefix), await startNode(redis, prefix)];
    const rooms = Array.from({ length: 12 }, (_, i) => `room-${i}`);
    const clients: Array<{ node: number; name: string }> = [];
    for (const [n, node] of nodes.entries()) {
      for (let c = 0; c < 3; c++) {
        const name = `c${n}.${c}`;
        await join(node, name);
        clients.push({ node: n, name });
      }
    }
    /** The model: the rooms of each client. */
    const membership = new Map(clients.map(({ name }) => [name, new Set<string>()]));
    const check = async (step: number): Promise<void> => {
      for (const node of nodes) await node.adapter.flush();
      const wanted = new Map<string, number>();
      for (const [n, node] of nodes.entries()) {
        const local = new Set(clients.filter((c) => c.node === n).flatMap((c) => [...membership.get(c.name)!]));
        assert.deepEqual(node.adapter.subscribedRooms().sort(), [...local].sort(), `node ${n} at step ${step}`);
        for (const room of local) wanted.set(room, (wanted.get(room) ?? 0) + 1);
      }
      const held = await roomSubscriptions(nodes[0]!.adapter, prefix);
      assert.deepEqual([...held].sort(), [...wanted].sort(), `Redis' channels at step ${step}`);
    };
    for (let step = 1; step <= 400; step++) {
      const client = clients[randomIntBetween(rng, 0, clients.length - 1)]!;
      const room = rooms[randomIntBetween(rng, 0, rooms.length - 1)]!;
      const handle = nodes[client.node]!.handles.get(client.name)!;
      if (rng() % 2 === 0) {
        handle.join(room);
        membership.get(client.name)!.add(room);
      } else {
        handle.leave(room);
        membership.get(client.name)!.delete(room);
      }
      if (step % 50 === 0) await check(step);
    }
    // Everybody goes, some by leaving their rooms, the others by closing the connection.
    for (const { node, name } of clients) {
      const handle = nodes[node]!.handles.get(name)!;
      if (rng() % 2 === 0) for (const room of membership.get(name)!) handle.leave(room);
      else await handle.close();
      membership.get(name)!.clear();
    }
    await until("every node to leave every room", () => nodes.every((node) => node.adapter.subscribedRooms().length === 0));
    await check(401);
    assert.equal((await roomSubscriptions(nodes[0]!.adapter, prefix)).size, 0);
    for (const node of nodes) assert.deepEqual(node.errors, []);
  });
});

test("room names with a lone surrogate get channels of their own: no two rooms share one, and each room's members get its messages only", { timeout: 30_000 }, async (t) => {
  const redis = await useRedis(t);
  if (redis === undefined) return;
  const prefix = freshPrefix();
  const [a, b] = [await startNode(redis, prefix), await startNode(redis, prefix)];
  // Redis would get "\uFFFD" for each of the first two as UTF-8: the same channel as the third.
  const rooms = ["\uD800", "\uDC00", "\uFFFD", "x\uD83D\uDE00", "x\uD83D"];
  // Joined on the server side: a query string cannot carry a lone surrogate.
  const members: Peer[] = [];
  for (const [i, room] of rooms.entries()) {
    members.push(await join(b, `b${i}`));
    b.handles.get(`b${i}`)!.join(room);
  }
  const onA = await join(a, "a0");
  a.handles.get("a0")!.join("\uD800");
  for (const node of [a, b]) await node.adapter.flush();
  for (const [i, room] of rooms.entries()) a.wynd.to(room).broadcast(`to ${i}`);
  for (const [i, peer] of members.entries()) assert.equal(await peer.next(), `to ${i}`, `room ${i}`);
  // And back: a's member of "\uD800" gets what b publishes there (b's own member too, locally).
  b.wynd.to("\uD800").broadcast("from b");
  assert.equal(await onA.next(), "to 0", "a's own broadcast, locally");
  assert.equal(await onA.next(), "from b");
  assert.equal(await members[0]!.next(), "from b");
  for (const node of [a, b]) await node.adapter.flush();
  await tick(100);
  for (const peer of [...members, onA]) assert.deepEqual(peer.pending, []);
  // The well-formed names keep their readable channels; the others are spelled in UTF-16 hex.
  const channels = ((await a.adapter.client.sendCommand(["PUBSUB", "CHANNELS", `${prefix}:room*`])) as Buffer[]).map(String).sort();
  assert.deepEqual(channels, [
    `${prefix}:room16:0078d83d`,
    `${prefix}:room16:d800`,
    `${prefix}:room16:dc00`,
    `${prefix}:room:x\uD83D\uDE00`,
    `${prefix}:room:\uFFFD`,
  ].sort());
  assert.deepEqual(b.adapter.subscribedRooms().sort(), [...rooms].sort());
  assert.deepEqual([...a.errors, ...b.errors], []);
});
