/**
 * Nodes for the Redis adapter tests: several `Wynd`s in this process, each with its own Redis
 * adapter (its own two connections), against one real redis-server started for the test file.
 *
 * @module
 */

import { after, afterEach, type TestContext } from "node:test";
import { Wynd, type AdapterState, type Handle } from "../../src/index.js";
import { EnvelopeCodec, Kind } from "../../src/redis/envelope.js";
import { createRedisAdapter, type RedisAdapter } from "../../src/redis/index.js";
import { openPeer, type Peer } from "../helpers/api-peer.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";

/** Whatever a test opened is closed after it, even when an assertion failed half-way. */
export const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let server: Promise<RedisServer | undefined> | undefined;
after(async () => {
  await (await server)?.stop();
});

/** The file's redis-server, started by the first test that asks (undefined: the test is skipped). */
export async function useRedis(t: TestContext): Promise<RedisServer | undefined> {
  const running = await (server ??= startRedisServer(t));
  // A later test of a file whose server could not start skips too.
  if (running === undefined) t.skip("redis-server is not available");
  return running;
}

let prefixes = 0;
/** A channel prefix of its own for each test, so that tests sharing the server never meet. */
export function freshPrefix(): string {
  return `wynd-test-${process.pid}-${++prefixes}`;
}

/** One node: a Wynd with its Redis adapter, and the server-side handles of its clients by name. */
export interface TestNode {
  readonly wynd: Wynd;
  readonly adapter: RedisAdapter;
  readonly port: number;
  readonly handles: Map<string, Handle>;
  /** The errors its `onError` handlers received. */
  readonly errors: Error[];
  /** The states its `onAdapterState` handlers were told, in order. */
  readonly states: AdapterState[];
}

/**
 * Starts a node: a client connecting to `/?name=N&room=A&room=B` joins rooms A and B and is
 * recorded as `handles.get(N)`.
 */
export async function startNode(redis: RedisServer, channelPrefix: string, options: { maxPendingPublishBytes?: number } = {}): Promise<TestNode> {
  const adapter = await createRedisAdapter({ url: redis.url, channelPrefix, ...options });
  const wynd = new Wynd({ adapter });
  // Both orders are safe; the documented one is the Wynd first.
  cleanups.push(() => adapter.close());
  cleanups.push(() => wynd.close());
  const errors: Error[] = [];
  wynd.onError((error) => {
    errors.push(error);
  });
  const states: AdapterState[] = [];
  wynd.onAdapterState((state) => {
    states.push(state);
  });
  const handles = new Map<string, Handle>();
  wynd.onConnection((_connection, handle) => {
    for (const room of handle.query.getAll("room")) handle.join(room);
    handles.set(handle.query.get("name") ?? "", handle);
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  return { wynd, adapter, port, handles, errors, states };
}

/**
 * Connects client `name` to `node`, member of `rooms`, and resolves once it is a client of the
 * node and the node's subscriptions are live in Redis.
 */
export async function join(node: TestNode, name: string, rooms: readonly string[] = []): Promise<Peer> {
  const query = new URLSearchParams([["name", name], ...rooms.map((room) => ["room", room] as [string, string])]);
  const peer = await openPeer(node.port, cleanups, `/?${query}`);
  for (;;) {
    const handle = node.handles.get(name);
    if (handle !== undefined && node.wynd.clients().includes(handle)) break;
    await tick(2);
  }
  await node.adapter.flush();
  return peer;
}

/** Waits until `condition()` holds, polling; rejects with `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await tick(10);
  }
}

export function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The room channels Redis has subscribers for, under `prefix`, with their subscriber counts. */
export async function roomSubscriptions(adapter: RedisAdapter, prefix: string): Promise<Map<string, number>> {
  const channels = (await adapter.client.sendCommand(["PUBSUB", "CHANNELS", `${prefix}:room:*`])) as Array<string | Buffer>;
  const counts = new Map<string, number>();
  for (const channel of channels) {
    const name = String(channel);
    const reply = (await adapter.client.sendCommand(["PUBSUB", "NUMSUB", name])) as Array<string | Buffer | number>;
    counts.set(name.slice(`${prefix}:room:`.length), Number(reply[1]));
  }
  return counts;
}

/**
 * Publishes text `text` to `room` through `via`'s client, as a publisher that is none of the
 * test's nodes: every node receives it after whatever reached Redis before it.
 */
export async function publishMarker(via: TestNode, prefix: string, room: string, text: string): Promise<void> {
  const envelope = new EnvelopeCodec("marker").encode(Kind.ROOM, text);
  await via.adapter.client.sendCommand(["PUBLISH", `${prefix}:room:${room}`, envelope]);
}
