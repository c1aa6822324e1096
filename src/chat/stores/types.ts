/**
 * The chat's state behind one small interface per concern, so that the core never knows where it
 * lives: {@link PresenceStore} (who is online, under which name, in which room) and
 * {@link MessageStore} (each room's history and its message ids). Each has a local
 * implementation (one process: memory and the history file) and a Redis one (many nodes, one
 * chat); `src/chat/server.ts` picks them.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";

/**
 * A store's answer: at once (the local stores) or later (Redis). The core waits only for a
 * promise: what a local store answers at once is used in the same step, so nothing can slip
 * between storing a message and sending it, or between reading history and listening.
 */
export type Answer<T> = T | Promise<T>;

/** Whether `answer` must be waited for. */
export function isPending<T>(answer: Answer<T>): answer is Promise<T> {
  return answer instanceof Promise;
}

/** A message to store: its room, author, text and time. */
export interface NewMessage {
  readonly room: string;
  readonly from: string;
  readonly text: string;
  /** Milliseconds since the epoch. */
  readonly ts: number;
}

/**
 * A publication a store makes in the same step as the write it announces, with the id the write
 * gave written between `before` and `after`: the bytes of an adapter publication on `channel`
 * (see `Adapter.encodePublication`), so that every node hears what was stored in the order it
 * was stored. Only stores that share their broker with the adapter (Redis) are given any.
 */
export interface Stamped {
  readonly channel: string;
  readonly before: Buffer;
  readonly after: Buffer;
}

/** Each room's history: messages get their ids here, and are replayed from here. */
export interface MessageStore {
  /** Reads what must be read before serving (the history file). Never rejects. */
  load(): Promise<void>;
  /**
   * Stores `message` and resolves with its id, increasing within its room, making the
   * `publications` in the same step (see {@link Stamped}). Rejects when the store is unreachable.
   */
  append(message: NewMessage, publications?: readonly Stamped[]): Answer<string>;
  /**
   * The last messages of `room`, oldest first. A store that can answer at once does (an array,
   * not a promise): then no message can slip between the history and the live traffic. Rejects
   * when the store is unreachable.
   */
  recent(room: string): HistoryMessage[] | Promise<HistoryMessage[]>;
  /**
   * The messages of `room` after the one with id `after`, oldest first (at most the history's
   * size), and whether they are all of them: `complete` is false when some were already trimmed
   * away, or when `after` is no id of this room's history (then the last messages are given).
   * Answers at once when it can, as {@link recent}.
   */
  after(room: string, after: string): Replay | Promise<Replay>;
  /** Flushes and lets go. Never rejects. */
  close(): Promise<void>;
}

/** What {@link MessageStore.after} gives. */
export interface Replay {
  readonly messages: HistoryMessage[];
  readonly complete: boolean;
}

/** Someone online: the name as they wrote it, and their room. */
export interface OnlineUser {
  readonly name: string;
  readonly room: string;
  /** The id of its session (see {@link SessionStore}), when it has one. */
  readonly session?: string | undefined;
}

/**
 * Who is online. An `owner` is a connection's id, unique within this process; a name belongs to
 * at most one owner in the whole chat (compared by `nameKey`), and the claim is atomic.
 */
export interface PresenceStore {
  /** Whether other processes share this presence (then rooms must be broadcast even with no local member). */
  readonly shared: boolean;
  /**
   * Claims `name` for `owner`, in `room`: false when someone else holds it (a holder with the
   * same `session` is no one else: a resumed session takes its name over). An owner that held
   * another name lets go of it in the same step (a rename).
   */
  claim(owner: string, name: string, room: string, session?: string): Promise<boolean>;
  /** `owner`'s user is now in `room`. */
  move(owner: string, room: string): Promise<void>;
  /** `owner` is gone: its name is free. */
  release(owner: string): Promise<void>;
  /** The name's holder (the name as it wrote it, its room and session), or undefined when nobody online has it. */
  find(name: string): Promise<OnlineUser | undefined>;
  /** Everyone online, in the order they arrived. */
  users(): Promise<OnlineUser[]>;
  /**
   * Users who left without saying so (their process died): called on exactly one process of
   * the chat, which announces their departure.
   */
  onDeparted(handler: (users: readonly OnlineUser[]) => void): void;
  /**
   * After an outage, `owner`'s name turned out to be held by someone elsewhere: it was not
   * given back, and the connection should be told.
   */
  onConflict(handler: (owner: string) => void): void;
  /**
   * After an outage, these owners' users, whom the other nodes had taken for gone (and
   * announced as having left), are online again: they should be announced as back.
   */
  onRestored(handler: (owners: readonly string[]) => void): void;
  /** Starts heartbeats and the like. */
  start(): Promise<void>;
  /** Stops them and lets go of this process's users. Never rejects. */
  close(): Promise<void>;
}

/** An {@link OnlineUser}, without a `session` field when it has none. */
export function onlineUser(name: string, room: string, session: string | undefined): OnlineUser {
  return session === undefined ? { name, room } : { name, room, session };
}

/** A private message as an inbox keeps it. */
export interface PrivateMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
}

/**
 * A session: what a JSON client gets back when it reconnects with its token within the grace
 * period. `id` names it in the stores (derived from the token, which is never stored); `epoch`
 * counts its connections, so that what an old connection does after a takeover is ignored.
 */
export interface Session {
  readonly id: string;
  name: string | null;
  room: string;
  readonly epoch: number;
}

/**
 * Sessions and their private inboxes. A session lives while a connection holds it, and for
 * `graceMs` after its last connection ended; its inbox keeps the private messages to and from
 * its user, numbered (ids increasing within the inbox), for a resume to replay.
 */
export interface SessionStore {
  /** How long a session outlives its connection, in milliseconds. */
  readonly graceMs: number;
  /** A new session (name null, in `room`) and its token (at least 128 random bits, base64url). */
  create(room: string): Promise<{ readonly token: string; readonly session: Session }>;
  /** The live session of `token`, now held by a new connection (its epoch moves on); undefined when unknown or expired. */
  resume(token: string): Promise<Session | undefined>;
  /** Keeps the session's name and room. */
  save(session: Session): Promise<void>;
  /** Its connection ended: it expires after the grace period. False when another connection took it over meanwhile. */
  detach(session: Session): Promise<boolean>;
  /** The grace period is over: deletes it unless it was resumed since. True when it was deleted (its user left). */
  expire(session: Session): Promise<boolean>;
  /** Deletes it now (the user quit). */
  end(session: Session): Promise<void>;
  /** The session's connection died with its node: it expires after the grace period unless resumed. */
  orphan(id: string): Promise<void>;
  /**
   * Stores a private message in the inbox of session `id`; resolves with its id there, making
   * the `publications` in the same step (see {@link Stamped}).
   */
  deliver(id: string, message: Omit<PrivateMessage, "id">, publications?: readonly Stamped[]): Answer<string>;
  /** The inbox's messages after `after` (all when undefined), oldest first. */
  inbox(id: string, after: string | undefined): Answer<PrivateMessage[]>;
  /** Stops timers. Never rejects. */
  close(): Promise<void>;
}
