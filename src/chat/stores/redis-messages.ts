/**
 * Each room's history in a Redis stream (`<prefix>history:<room>`): a message is added with
 * `XADD … MAXLEN ~ <size>` (Redis trims whole blocks, so a stream may hold somewhat more than
 * `size`; replay takes exactly the last `size`), and the stream entry's id is the message's id,
 * the same on every node. Redis 7.0 commands only.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";
import { parseId } from "./ids.js";
import { publishStamped, stampedArgs, type Redis } from "./redis-commands.js";
import { replayAfter } from "./replay.js";
import type { MessageStore, NewMessage, Replay, Stamped } from "./types.js";

/**
 * KEYS stream; ARGV count: how many entries were ever added, how many are held, and the last
 * `count` entries (newest first), in one step. (Trimming by MAXLEN leaves no trace but these
 * counts: `max-deleted-entry-id` only follows XDEL.)
 */
const REPLAY = `if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added, length = 0, 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = info[i + 1] elseif info[i] == 'length' then length = info[i + 1] end
end
return {added, length, redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])}`;

/**
 * KEYS stream; ARGV trim ('=' or '~'), size, from, text, ts, then the stamped publications:
 * the message's id, stored and announced in one step.
 */
const APPEND = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], ARGV[2], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5])
${publishStamped(6)}
return id`;

/** Entries fetched past `size` for a replay: MAXLEN ~ keeps up to a stream node (100 entries by default) more. */
const REPLAY_SLACK = 1000;

/** The id just before `id` (for the highest trimmed id, when Redis only says that some were). */
function before(id: string): string {
  const { ms, seq } = parseId(id)!;
  return seq > 0 ? `${ms}-${seq - 1}` : `${Math.max(0, ms - 1)}-999999999999999`;
}

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

  async append(message: NewMessage, publications?: readonly Stamped[]): Promise<string> {
    // Size 0 still numbers the room's messages (the stream keeps its last id) but keeps none.
    const [trim, size] = this.#size === 0 ? ["=", "0"] : ["~", String(this.#size)];
    const args = [trim, size, message.from, message.text, String(message.ts), ...stampedArgs(publications)];
    const id = await this.#redis.eval(APPEND, [this.key(message.room)], args);
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

  async after(room: string, after: string): Promise<Replay> {
    if (this.#size === 0) return { messages: [], complete: false }; // nothing is kept: a gap cannot be ruled out
    const [added, length, entries] = (await this.#redis.eval(REPLAY, [this.key(room)], [String(this.#size + REPLAY_SLACK)])) as [number, number, Entry[]];
    const held: HistoryMessage[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const message = toMessage(entries[i]!);
      if (message !== undefined) held.push(message);
    }
    const trimmed = Number(added) > held.length || Number(length) > held.length ? (held[0] === undefined ? undefined : before(held[0].id)) : undefined;
    return replayAfter(held, trimmed, after, this.#size);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
