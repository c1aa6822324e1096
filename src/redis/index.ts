/**
 * `wynd/redis`: the Redis adapter, so that one wynd application runs on several processes and
 * machines as one (see {@link createRedisAdapter}). It is built on the official client
 * `@redis/client`, an optional peer dependency loaded only when `createRedisAdapter()` runs:
 * importing this module loads no package.
 *
 * ```ts
 * import { Wynd } from "wynd";
 * import { createRedisAdapter } from "wynd/redis";
 *
 * const adapter = await createRedisAdapter({ url: "redis://127.0.0.1:6379" });
 * const wynd = new Wynd({ adapter });
 * // ... wynd.to("room").broadcast("hi") reaches the room's members on every node
 * await wynd.close();
 * await adapter.close(); // Wynd never closes the adapter it was given
 * ```
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { WyndError } from "../index.js";
import { DEFAULT_MAX_PENDING_PUBLISH_BYTES, RedisAdapter, type AnyRedisClient } from "./adapter.js";
import { loadRedisClient, REDIS_CLIENT_PACKAGE } from "./load.js";

export { DEFAULT_MAX_PENDING_PUBLISH_BYTES, RedisAdapter, type AnyRedisClient } from "./adapter.js";
export { loadRedisClient, REDIS_CLIENT_PACKAGE, type RedisClientModule } from "./load.js";

/** Options of {@link createRedisAdapter}. */
export interface RedisAdapterOptions {
  /**
   * Where Redis is, e.g. `redis://127.0.0.1:6379` (`redis://user:password@host:port/db`,
   * `rediss://` for TLS). Default: `redis://127.0.0.1:6379`. Ignored when `client` is given.
   */
  readonly url?: string;
  /**
   * A `@redis/client` client the application already has, connected or not (it is connected
   * when it is not). The adapter publishes with it and subscribes with a duplicate of it; its
   * `close()` closes only that duplicate, never this client.
   */
  readonly client?: AnyRedisClient;
  /**
   * The prefix of every channel name (`<prefix>:room:<name>`, `<prefix>:all`, `<prefix>:nodes`):
   * applications sharing one Redis keep apart with different prefixes. Default: `"wynd"`.
   */
  readonly channelPrefix?: string;
  /** This node's id (1 to 255 ASCII bytes, unique in the cluster). Default: 16 random hex digits. */
  readonly nodeId?: string;
  /**
   * The most bytes of publications written to Redis and not yet acknowledged (a positive
   * integer); past it a publication is dropped and counted in `droppedPublications` rather than
   * queued, so a Redis that stops answering without closing the connection cannot grow the
   * node's memory. One publication is always let through, however large. Default: 32 MiB
   * (Redis' own default hard limit for a subscriber's output buffer).
   */
  readonly maxPendingPublishBytes?: number;
}

/** The default Redis address. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
/** The default channel prefix. */
export const DEFAULT_CHANNEL_PREFIX = "wynd";

/**
 * Connects to Redis and resolves with an adapter for `new Wynd({ adapter })`, subscribed to the
 * channels every node listens to. Rejects with a `WyndError`: `ERR_REDIS_CLIENT_MISSING` when
 * `@redis/client` is not installed (the message says `npm install @redis/client`),
 * `ERR_REDIS_CONNECT` when Redis cannot be reached at first (no retry: a typo in the URL is
 * reported at once; after a successful start, lost connections are retried for ever).
 * Throws TypeError or RangeError for bad options.
 */
export async function createRedisAdapter(options: RedisAdapterOptions = {}): Promise<RedisAdapter> {
  const {
    url,
    client: given,
    channelPrefix = DEFAULT_CHANNEL_PREFIX,
    nodeId = randomBytes(8).toString("hex"),
    maxPendingPublishBytes = DEFAULT_MAX_PENDING_PUBLISH_BYTES,
  } = options;
  if (typeof channelPrefix !== "string" || channelPrefix === "") throw new TypeError("channelPrefix is a non-empty string");
  if (typeof nodeId !== "string" || !/^[\x21-\x7e]{1,255}$/.test(nodeId)) {
    throw new RangeError("nodeId takes 1 to 255 printable ASCII characters");
  }
  if (url !== undefined && typeof url !== "string") throw new TypeError("url is a string");
  if (!Number.isSafeInteger(maxPendingPublishBytes) || maxPendingPublishBytes < 1) {
    throw new RangeError("maxPendingPublishBytes is a positive integer");
  }
  const redis = await loadRedisClient(REDIS_CLIENT_PACKAGE);
  let started = false;
  // Before the first connection, fail at once (a wrong URL must not hang); afterwards, retry
  // with a backoff capped at 2 s while the adapter reports itself down.
  const reconnectStrategy = (retries: number, cause: Error): number | Error =>
    started ? Math.min(50 * 2 ** Math.min(retries, 6), 2_000) : cause;
  const client: AnyRedisClient =
    given ?? (redis.createClient({ url: url ?? DEFAULT_REDIS_URL, socket: { reconnectStrategy } }) as AnyRedisClient);
  const where = given === undefined ? (url ?? DEFAULT_REDIS_URL) : "the given client's address";
  let subscriber: AnyRedisClient | undefined;
  const failed: Error[] = [];
  const onEarlyError = (error: Error): void => {
    failed.push(error);
  };
  try {
    client.on("error", onEarlyError);
    if (!client.isOpen) await client.connect();
    // Same address, options and (for a client made here) reconnect strategy.
    subscriber = client.duplicate();
    subscriber.on("error", onEarlyError);
    await subscriber.connect();
    const adapter = new RedisAdapter({
      client,
      subscriber,
      ownsClient: given === undefined,
      nodeId,
      channelPrefix,
      maxPendingPublishBytes,
    });
    await adapter.start();
    started = true;
    return adapter;
  } catch (error) {
    subscriber?.destroy();
    if (given === undefined && client.isOpen) client.destroy();
    const cause = error instanceof Error ? error : (failed[0] ?? new Error(String(error)));
    throw new WyndError("ERR_REDIS_CONNECT", `cannot connect to Redis at ${where}: ${cause.message}`, { cause });
  } finally {
    client.off("error", onEarlyError);
    subscriber?.off("error", onEarlyError);
  }
}
