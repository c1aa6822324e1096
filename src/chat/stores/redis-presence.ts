/**
 * Who is online, shared by every node through Redis (the scripts and keys: presence-scripts.ts).
 * A name is claimed atomically for the whole chat. Each node refreshes its heartbeat every
 * `ttlMs / 3`, and every node, as often, reaps the nodes whose heartbeat expired: the reap is one
 * script, so exactly one node gets a dead node's users and announces that they left, at most
 * about `ttlMs × 4/3` after the node died.
 *
 * When Redis cannot be reached, the node goes on with what it knows (its own users: names unique
 * among them, `/users` lists them) and, once Redis is back, makes Redis hold exactly its users
 * again (a user whose name someone elsewhere took meanwhile is told: `onConflict`; one that was
 * reaped meanwhile comes back: `onRestored`).
 *
 * @module
 */

import { nameKey } from "../names.js";
import { CLAIM, HEARTBEAT, LEAVE, REAP, RELEASE, SYNC, UPDATE } from "./presence-scripts.js";
import type { Redis } from "./redis-commands.js";
import { onlineUser, type OnlineUser, type PresenceStore } from "./types.js";

/** Default time a node stays online without a heartbeat, in milliseconds. */
export const DEFAULT_PRESENCE_TTL_MS = 15_000;

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  readonly redis: Redis;
  /** Prefix of the keys (in braces, so both keys share a hash slot). */
  readonly prefix: string;
  /** This node's id, unique in the chat. */
  readonly nodeId: string;
  /** How long a silent node's users stay online. */
  readonly ttlMs: number;
}

/** One of this node's users. */
interface Local {
  readonly key: string;
  readonly name: string;
  room: string;
  readonly session: string | undefined;
  /** When it arrived (this node's clock): `/users` lists by arrival. */
  readonly since: number;
}

/** A user as stored in Redis. */
interface Stored extends OnlineUser {
  readonly node: string;
  readonly owner: string;
  readonly since: number;
}

function parseStored(value: unknown): Stored | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const v = JSON.parse(value) as Partial<Stored>;
    if (typeof v.name !== "string" || typeof v.room !== "string" || typeof v.node !== "string" || typeof v.owner !== "string") return undefined;
    const session = typeof v.session === "string" ? v.session : undefined;
    return { name: v.name, room: v.room, node: v.node, owner: v.owner, since: typeof v.since === "number" ? v.since : 0, session };
  } catch {
    return undefined;
  }
}

/** Presence in Redis (see the module comment). */
export class RedisPresence implements PresenceStore {
  readonly shared = true;
  readonly #redis: Redis;
  readonly #nodes: string;
  readonly #users: string;
  readonly #reaped: string;
  readonly #node: string;
  readonly #ttlMs: number;
  /** This node's users, by owner: the truth while Redis is away, written back when it returns. */
  readonly #mine = new Map<string, Local>();
  readonly #departed: Array<(users: readonly OnlineUser[]) => void> = [];
  readonly #restored: Array<(owners: readonly string[]) => void> = [];
  readonly #conflicts: Array<(owner: string) => void> = [];
  /** Redis may not hold exactly {@link #mine}: write it back at the next heartbeat. */
  #dirty = true;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisPresenceOptions) {
    if (!(Number.isSafeInteger(options.ttlMs) && options.ttlMs >= 30)) throw new RangeError(`presenceTtlMs must be an integer >= 30, got ${options.ttlMs}`);
    this.#redis = options.redis;
    this.#nodes = `{${options.prefix}}:nodes`;
    this.#users = `{${options.prefix}}:users`;
    this.#reaped = `{${options.prefix}}:reaped`;
    this.#node = options.nodeId;
    this.#ttlMs = options.ttlMs;
  }

  onDeparted(handler: (users: readonly OnlineUser[]) => void): void {
    this.#departed.push(handler);
  }

  onConflict(handler: (owner: string) => void): void {
    this.#conflicts.push(handler);
  }

  /** Owners whose users had been reaped (while this node could not reach Redis) and are online again. */
  onRestored(handler: (owners: readonly string[]) => void): void {
    this.#restored.push(handler);
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), Math.floor(this.#ttlMs / 3));
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    try {
      await this.#redis.eval(LEAVE, [this.#nodes, this.#users], [this.#node]);
    } catch {
      // Redis is away: the other nodes reap this one's users when its heartbeat expires.
    }
  }

  async claim(owner: string, name: string, room: string, session?: string): Promise<boolean> {
    const key = nameKey(name);
    const previous = this.#mine.get(owner);
    const local: Local = { key, name, room, session, since: previous?.since ?? Date.now() };
    if (!this.#closed) {
      try {
        const args = [key, this.#value(owner, local), this.#owner(owner), previous?.key ?? "", this.#node, String(this.#ttlMs), session ?? ""];
        if ((await this.#redis.eval(CLAIM, [this.#nodes, this.#users], args)) !== 1) return false;
        this.#mine.set(owner, local);
        return true;
      } catch {
        this.#dirty = true;
      }
    }
    // Redis is away: unique among this node's users, made good when it is back.
    for (const [other, user] of this.#mine) if (other !== owner && user.key === key && (session === undefined || user.session !== session)) return false;
    this.#mine.set(owner, local);
    return true;
  }

  async move(owner: string, room: string): Promise<void> {
    const local = this.#mine.get(owner);
    if (local === undefined) return;
    local.room = room;
    await this.#try(UPDATE, [this.#users], [local.key, this.#value(owner, local), this.#owner(owner)]);
  }

  async release(owner: string): Promise<void> {
    const local = this.#mine.get(owner);
    if (local === undefined) return;
    this.#mine.delete(owner);
    await this.#try(RELEASE, [this.#users], [local.key, this.#owner(owner)]);
  }

  async find(name: string): Promise<OnlineUser | undefined> {
    const key = nameKey(name);
    try {
      const user = parseStored(await this.#redis.send(["HGET", this.#users, key]));
      return user === undefined ? undefined : onlineUser(user.name, user.room, user.session);
    } catch {
      for (const user of this.#mine.values()) if (user.key === key) return onlineUser(user.name, user.room, user.session);
      return undefined;
    }
  }

  async users(): Promise<OnlineUser[]> {
    let stored: Stored[] = [];
    try {
      const reply = (await this.#redis.send(["HVALS", this.#users])) as unknown[];
      stored = reply.map(parseStored).filter((user) => user !== undefined);
    } catch {
      stored = [...this.#mine.entries()].map(([owner, user]) => ({ ...user, node: this.#node, owner }));
    }
    stored.sort((a, b) => a.since - b.since || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return stored.map(({ name, room, session }) => onlineUser(name, room, session));
  }

  /** A script that changes this node's users: on failure, Redis is written back later. */
  async #try(script: string, keys: string[], args: string[]): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#redis.eval(script, keys, args);
    } catch {
      this.#dirty = true;
    }
  }

  #owner(owner: string): string {
    return `${this.#node}/${owner}`;
  }

  #value(owner: string, local: Local): string {
    return JSON.stringify({ name: local.name, room: local.room, node: this.#node, owner: this.#owner(owner), since: local.since, session: local.session });
  }

  /** One heartbeat (writing this node's users back when needed), then one reap. Never rejects. */
  #beat(): Promise<void> {
    if (this.#beating !== undefined || this.#closed) return this.#beating ?? Promise.resolve();
    this.#beating = (async () => {
      try {
        const known = this.#dirty ? 0 : await this.#redis.eval(HEARTBEAT, [this.#nodes], [this.#node, String(this.#ttlMs)]);
        if (known !== 1) await this.#sync();
        const gone = (await this.#redis.eval(REAP, [this.#nodes, this.#users, this.#reaped], [])) as unknown[];
        const users = gone.map(parseStored).filter((user) => user !== undefined);
        if (users.length > 0) for (const handler of this.#departed) handler(users.map(({ name, room, session }) => onlineUser(name, room, session)));
      } catch {
        this.#dirty = true; // reported by the Redis wrapper; written back once it answers again
      } finally {
        this.#beating = undefined;
      }
    })();
    return this.#beating;
  }

  /**
   * Makes Redis hold exactly this node's users; tells those who lost their name, and, when this
   * node had been reaped (its users announced as gone), those who are back.
   */
  async #sync(): Promise<void> {
    const args = [this.#node, String(this.#ttlMs)];
    for (const [owner, local] of this.#mine) args.push(local.key, this.#value(owner, local));
    const [reaped, ...taken] = (await this.#redis.eval(SYNC, [this.#nodes, this.#users, this.#reaped], args)) as unknown[];
    const conflicts = new Set(taken.map(String));
    this.#dirty = false;
    const lost: string[] = [];
    const back: string[] = [];
    for (const owner of this.#mine.keys()) {
      if (conflicts.has(this.#owner(owner))) lost.push(owner);
      else if (reaped === 1) back.push(owner);
    }
    for (const owner of lost) this.#mine.delete(owner);
    for (const owner of lost) for (const handler of this.#conflicts) handler(owner);
    if (back.length > 0) for (const handler of this.#restored) handler(back);
  }
}
