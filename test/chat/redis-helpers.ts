// Shared by the chat's Redis tests: a real redis-server per test (test/helpers/redis-server.ts:
// skipped without one, failing under WYND_REQUIRE_REDIS=1), stopped after it; a plain client;
// chat nodes on it.
import type { TestContext } from "node:test";
import { createClient } from "@redis/client";
import type { ChatServerOptions } from "../../src/chat/index.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { startChat } from "./helpers.js";

/** What must close before a test's redis-server stops (node:test runs `after` hooks in order). */
const closers = new WeakMap<RedisServer, Array<() => Promise<unknown>>>();

/** A redis-server for this test, stopped after it (after the chat nodes on it); undefined when skipped. */
export async function redisFor(t: TestContext): Promise<RedisServer | undefined> {
  const server = await startRedisServer(t);
  if (server === undefined) return undefined;
  const before: Array<() => Promise<unknown>> = [];
  closers.set(server, before);
  t.after(async () => {
    await Promise.all(before.map((close) => close()));
    await server.stop();
  });
  return server;
}

/** Closes `close` before `redis` stops at the end of the test. */
export function closeBeforeRedis(redis: RedisServer, close: () => Promise<unknown>): void {
  closers.get(redis)?.push(close);
}

/** A connected @redis/client, closed after the test. */
export async function redisClient(t: TestContext, url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: () => 200 } });
  client.on("error", () => {});
  await client.connect();
  t.after(() => client.destroy());
  return client;
}

/** `count` chat servers on one Redis (each its own node), in this process. */
export async function chatNodes(t: TestContext, redis: RedisServer, count: number, options: ChatServerOptions = {}) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const node = await startChat(t, { redis: redis.url, ...options });
    closeBeforeRedis(redis, () => node.chat.close());
    nodes.push(node);
  }
  return nodes;
}
