/**
 * Sessions and private inboxes in this process's memory (one node: a session lives as long as
 * the process). See {@link SessionStore}.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import { compareIds, isId, nextId } from "./ids.js";
import type { PrivateMessage, Session, SessionStore } from "./types.js";

/** Default grace period of a session after its connection ended: 2 minutes. */
export const DEFAULT_SESSION_GRACE_MS = 120_000;

/** Private messages an inbox keeps (the oldest go first). */
export const INBOX_SIZE = 200;

/** Random bytes of a token: 144 bits, 24 base64url characters. */
const TOKEN_BYTES = 18;
const TOKEN = /^[A-Za-z0-9_-]{24}$/;

/** A new session token. */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

/** The id a token's session is stored under (the token itself is never stored); undefined for a malformed token. */
export function sessionId(token: string): string | undefined {
  if (!TOKEN.test(token)) return undefined;
  return createHash("sha256").update(token).digest("base64url").slice(0, 32);
}

/** Whether `after` asks for a replay from a point (an id), or from the start. */
export function replayFrom(after: string | undefined): string | undefined {
  return after !== undefined && isId(after) ? after : undefined;
}

interface Record {
  name: string | null;
  room: string;
  epoch: number;
  /** When a detached session expires; undefined while a connection holds it. */
  expiresAt: number | undefined;
}

interface Inbox {
  last: string | undefined;
  readonly messages: PrivateMessage[];
}

/** Sessions in memory (see the module comment). */
export class LocalSessions implements SessionStore {
  readonly graceMs: number;
  readonly #sessions = new Map<string, Record>();
  readonly #inboxes = new Map<string, Inbox>();
  readonly #now: () => number;
  #sweptAt = 0;

  constructor(graceMs: number, now: () => number = Date.now) {
    this.graceMs = graceMs;
    this.#now = now;
  }

  create(room: string): Promise<{ token: string; session: Session }> {
    this.#sweep();
    const token = newToken();
    const id = sessionId(token)!;
    this.#sessions.set(id, { name: null, room, epoch: 1, expiresAt: undefined });
    return Promise.resolve({ token, session: { id, name: null, room, epoch: 1 } });
  }

  resume(token: string): Promise<Session | undefined> {
    const id = sessionId(token);
    const record = id === undefined ? undefined : this.#live(id);
    if (id === undefined || record === undefined) return Promise.resolve(undefined);
    record.epoch++;
    record.expiresAt = undefined;
    return Promise.resolve({ id, name: record.name, room: record.room, epoch: record.epoch });
  }

  save(session: Session): Promise<void> {
    const record = this.#sessions.get(session.id);
    if (record !== undefined && record.epoch === session.epoch) {
      record.name = session.name;
      record.room = session.room;
    }
    return Promise.resolve();
  }

  detach(session: Session): Promise<boolean> {
    const record = this.#sessions.get(session.id);
    if (record === undefined || record.epoch !== session.epoch) return Promise.resolve(false);
    record.expiresAt = this.#now() + this.graceMs;
    return Promise.resolve(true);
  }

  expire(session: Session): Promise<boolean> {
    const record = this.#sessions.get(session.id);
    if (record === undefined || record.epoch !== session.epoch || record.expiresAt === undefined) return Promise.resolve(false);
    this.#forget(session.id);
    return Promise.resolve(true);
  }

  end(session: Session): Promise<void> {
    if (this.#sessions.get(session.id)?.epoch === session.epoch) this.#forget(session.id);
    return Promise.resolve();
  }

  // One process: a session's connection cannot die with another node.
  orphan(): Promise<void> {
    return Promise.resolve();
  }

  deliver(id: string, message: Omit<PrivateMessage, "id">): string {
    let inbox = this.#inboxes.get(id);
    if (inbox === undefined) this.#inboxes.set(id, (inbox = { last: undefined, messages: [] }));
    const stored = { ...message, id: nextId(inbox.last, message.ts) };
    inbox.last = stored.id;
    inbox.messages.push(stored);
    if (inbox.messages.length > INBOX_SIZE) inbox.messages.shift();
    return stored.id;
  }

  inbox(id: string, after: string | undefined): PrivateMessage[] {
    const messages = this.#inboxes.get(id)?.messages ?? [];
    const from = replayFrom(after);
    return from === undefined ? [...messages] : messages.filter((message) => compareIds(message.id, from) > 0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #live(id: string): Record | undefined {
    const record = this.#sessions.get(id);
    if (record?.expiresAt !== undefined && record.expiresAt <= this.#now()) {
      this.#forget(id);
      return undefined;
    }
    return record;
  }

  /** Forgets expired sessions whose expiry nobody ran (a timer cleared by a shutdown). */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#sweptAt < 10_000) return; // a scan now and then, not one per connection
    this.#sweptAt = now;
    for (const [id, record] of this.#sessions) if (record.expiresAt !== undefined && record.expiresAt <= now) this.#forget(id);
  }

  #forget(id: string): void {
    this.#sessions.delete(id);
    this.#inboxes.delete(id);
  }
}
