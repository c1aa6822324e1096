/**
 * Each room's history in a Redis stream (`<prefix>history:<room>`): a message is added with
 * `XADD … MAXLEN ~ <size>` (Redis trims whole blocks, so a stream may hold somewhat more than
 * `size`; replay takes exactly the last `size`), and the stream entry's id is the message's id,
 * the same on every node. Redis 7.0 commands only.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";
import type { Redis } from "./redis-commands.js";
import type { MessageStore, NewMessage } from "./types.js";

/** Options of {@link RedisMessages}. */
export interface RedisMessagesOptions {
  readonly redis: Redis;
  /** Messages replayed per room (and kept, roughly). 0: none replayed, none kept. */
  readonly size: number;
  /** Prefix of every key. */
  readonly prefix: string;
}

/** A stream entry as Redis replies it (RESP2): `[id, [field, value, …]]`. */
type Entry = [string, string[]];

function toMessage([id, fields]: Entry): HistoryMessage | undefined {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
  const from = values.get("from");
  const text = values.get("text");
  const ts = Number(values.get("ts"));
  // Someone else's entry in our key space: skipped rather than shown half.
  if (from === undefined || text === undefined || !Number.isFinite(ts)) return undefined;
  return { id, from, text, ts };
}

/** History in Redis streams (see the module comment). */
export class RedisMessages implements MessageStore {
  readonly #redis: Redis;
  readonly #size: number;
  readonly #prefix: string;

  constructor(options: RedisMessagesOptions) {
    if (!(Number.isInteger(options.size) && options.size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${options.size}`);
    this.#redis = options.redis;
    this.#size = options.size;
    this.#prefix = options.prefix;
  }

  /** The key of `room`'s stream. */
  key(room: string): string {
    return `${this.#prefix}history:${room}`;
  }

  load(): Promise<void> {
    return Promise.resolve();
  }

  async append(message: NewMessage): Promise<string> {
    // Size 0 still numbers the room's messages (the stream keeps its last id) but keeps none.
    const trim = this.#size === 0 ? ["MAXLEN", "0"] : ["MAXLEN", "~", String(this.#size)];
    const id = await this.#redis.send(["XADD", this.key(message.room), ...trim, "*", "from", message.from, "text", message.text, "ts", String(message.ts)]);
    if (typeof id !== "string") throw new Error(`XADD replied ${JSON.stringify(id)}, not an id`);
    return id;
  }

  async recent(room: string): Promise<HistoryMessage[]> {
    if (this.#size === 0) return [];
    const reply = (await this.#redis.send(["XREVRANGE", this.key(room), "+", "-", "COUNT", String(this.#size)])) as Entry[];
    const messages: HistoryMessage[] = [];
    for (let i = reply.length - 1; i >= 0; i--) {
      const message = toMessage(reply[i]!);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
