/**
 * Sessions and private inboxes in Redis, so that a client resumes on any node, also after its
 * node died: a hash `wynd:chat:session:<id>` (name, room, epoch, detached) and a stream
 * `wynd:chat:inbox:<id>`. A session held by a connection lives a day at most (refreshed on
 * each resume); once detached — its connection ended, or its node died — it expires after the
 * grace period, Redis's TTL doing what a timer would. Every change is one script, checked
 * against the epoch, so an old connection cannot undo what a newer one did.
 *
 * @module
 */

import { isId } from "./ids.js";
import { publishStamped, stampedArgs, type Redis } from "./redis-commands.js";
import { INBOX_SIZE, newToken, sessionId } from "./sessions-local.js";
import type { PrivateMessage, Session, SessionStore, Stamped } from "./types.js";

/** How long a session held by a connection is kept at most (its node may die without a word). */
const HELD_TTL_MS = 24 * 3600 * 1000;

/** KEYS session, inbox; ARGV heldTtl: a new epoch, or nil when the session is gone. */
const RESUME = `if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'detached', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {epoch, redis.call('HGET', KEYS[1], 'name'), redis.call('HGET', KEYS[1], 'room')}`;

/** KEYS session; ARGV epoch, name ('' none), room. */
const SAVE = `if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'room', ARGV[3])
return 1`;

/** KEYS session, inbox; ARGV epoch, graceMs: 1 when detached, 0 when taken over. */
const DETACH = `if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'detached', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

/** KEYS session, inbox; ARGV epoch, detached only ('1') or not: deletes it when still that epoch. */
const EXPIRE = `if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
if ARGV[2] == '1' and redis.call('HGET', KEYS[1], 'detached') ~= '1' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/** KEYS session, inbox; ARGV graceMs: a held session whose node died expires after the grace period. */
const ORPHAN = `if redis.call('HGET', KEYS[1], 'detached') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'detached', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`;

/**
 * KEYS session, inbox; ARGV size, from, to, text, ts, graceMs, then the stamped publications: the
 * id, stored and announced in one step; the inbox lives as long as its session.
 */
const DELIVER = `local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[2], 'to', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PEXPIRE', KEYS[2], ARGV[6]) end
${publishStamped(7)}
return id`;

type Entry = [string, string[]];

function toPrivate([id, fields]: Entry): PrivateMessage | undefined {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
  const [from, to, text, ts] = [values.get("from"), values.get("to"), values.get("text"), Number(values.get("ts"))];
  if (from === undefined || to === undefined || text === undefined || !Number.isFinite(ts)) return undefined;
  return { id, from, to, text, ts };
}

/** Sessions in Redis (see the module comment). */
export class RedisSessions implements SessionStore {
  readonly graceMs: number;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string, graceMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.graceMs = graceMs;
  }

  async create(room: string): Promise<{ token: string; session: Session }> {
    const token = newToken();
    const id = sessionId(token)!;
    const [key] = this.#keys(id);
    await this.#redis.send(["HSET", key, "name", "", "room", room, "epoch", "1", "detached", "0"]);
    await this.#redis.send(["PEXPIRE", key, String(HELD_TTL_MS)]);
    return { token, session: { id, name: null, room, epoch: 1 } };
  }

  async resume(token: string): Promise<Session | undefined> {
    const id = sessionId(token);
    if (id === undefined) return undefined;
    const reply = (await this.#redis.eval(RESUME, this.#keys(id), [String(HELD_TTL_MS)])) as [number, string | null, string | null] | null;
    if (reply === null) return undefined;
    const [epoch, name, room] = reply;
    return { id, name: name === null || name === "" ? null : name, room: room ?? "lobby", epoch: Number(epoch) };
  }

  async save(session: Session): Promise<void> {
    await this.#redis.eval(SAVE, [this.#keys(session.id)[0]], [String(session.epoch), session.name ?? "", session.room]);
  }

  async detach(session: Session): Promise<boolean> {
    return (await this.#redis.eval(DETACH, this.#keys(session.id), [String(session.epoch), String(this.graceMs)])) === 1;
  }

  async expire(session: Session): Promise<boolean> {
    return (await this.#redis.eval(EXPIRE, this.#keys(session.id), [String(session.epoch), "1"])) === 1;
  }

  async end(session: Session): Promise<void> {
    await this.#redis.eval(EXPIRE, this.#keys(session.id), [String(session.epoch), "0"]);
  }

  async orphan(id: string): Promise<void> {
    await this.#redis.eval(ORPHAN, this.#keys(id), [String(this.graceMs)]);
  }

  async deliver(id: string, message: Omit<PrivateMessage, "id">, publications?: readonly Stamped[]): Promise<string> {
    const args = [String(INBOX_SIZE), message.from, message.to, message.text, String(message.ts), String(this.graceMs), ...stampedArgs(publications)];
    return String(await this.#redis.eval(DELIVER, this.#keys(id), args));
  }

  async inbox(id: string, after: string | undefined): Promise<PrivateMessage[]> {
    const start = after !== undefined && isId(after) ? `(${after}` : "-";
    const entries = (await this.#redis.send(["XRANGE", this.#keys(id)[1], start, "+"])) as Entry[];
    return entries.map(toPrivate).filter((message) => message !== undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #keys(id: string): [string, string] {
    return [`${this.#prefix}session:${id}`, `${this.#prefix}inbox:${id}`];
  }
}
