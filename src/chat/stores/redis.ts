/**
 * The chat on Redis: connects the Redis adapter (`wynd/redis`, loaded only here and only when
 * asked for, so `wynd/chat` without Redis loads nothing of it) and builds the Redis stores on its
 * client. Keys: `wynd:chat:history:<room>` (streams), `{wynd:chat}:nodes` and
 * `{wynd:chat}:users` (presence).
 *
 * @module
 */

import type { Adapter } from "../../index.js";
import { DEFAULT_REDIS_TIMEOUT_MS, OutageReporter, Redis, type RedisCommands } from "./redis-commands.js";
import { RedisMessages } from "./redis-messages.js";
import { RedisPresence } from "./redis-presence.js";
import { RedisSessions } from "./sessions-redis.js";

/** The prefix of the chat's keys. */
export const CHAT_KEY_PREFIX = "wynd:chat";

/** Options of {@link connectRedisChat}. */
export interface RedisChatOptions {
  readonly url: string;
  readonly historySize: number;
  readonly presenceTtlMs: number;
  readonly sessionGraceMs: number;
  readonly onError: (error: Error) => void;
  readonly onWarning: (message: string) => void;
}

/** What {@link connectRedisChat} gives: the adapter for `new Wynd({ adapter })`, and the stores. */
export interface RedisChat {
  readonly adapter: Adapter & { close(): Promise<void> };
  readonly messages: RedisMessages;
  readonly presence: RedisPresence;
  readonly sessions: RedisSessions;
}

/** Connects to Redis at `url`; rejects with a clear error when it cannot (or `@redis/client` is missing). */
export async function connectRedisChat(options: RedisChatOptions): Promise<RedisChat> {
  const { createRedisAdapter } = await import("../../redis/index.js");
  const adapter = await createRedisAdapter({ url: options.url });
  const reporter = new OutageReporter(options.onError, options.onWarning);
  // The stores need one method of the client: they stay independent of @redis/client's types.
  const redis = new Redis(adapter.client as unknown as RedisCommands, DEFAULT_REDIS_TIMEOUT_MS, reporter);
  return {
    adapter,
    messages: new RedisMessages({ redis, size: options.historySize, prefix: `${CHAT_KEY_PREFIX}:` }),
    presence: new RedisPresence({ redis, prefix: CHAT_KEY_PREFIX, nodeId: adapter.nodeId, ttlMs: options.presenceTtlMs }),
    sessions: new RedisSessions(redis, `${CHAT_KEY_PREFIX}:`, options.sessionGraceMs),
  };
}
