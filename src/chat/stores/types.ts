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

/** A message to store: its room, author, text and time. */
export interface NewMessage {
  readonly room: string;
  readonly from: string;
  readonly text: string;
  /** Milliseconds since the epoch. */
  readonly ts: number;
}

/** Each room's history: messages get their ids here, and are replayed from here. */
export interface MessageStore {
  /** Reads what must be read before serving (the history file). Never rejects. */
  load(): Promise<void>;
  /** Stores `message` and resolves with its id, increasing within its room. Rejects when the store is unreachable. */
  append(message: NewMessage): Promise<string>;
  /**
   * The last messages of `room`, oldest first. A store that can answer at once does (an array,
   * not a promise): then no message can slip between the history and the live traffic. Rejects
   * when the store is unreachable.
   */
  recent(room: string): HistoryMessage[] | Promise<HistoryMessage[]>;
  /** Flushes and lets go. Never rejects. */
  close(): Promise<void>;
}

/** Someone online: the name as they wrote it, and their room. */
export interface OnlineUser {
  readonly name: string;
  readonly room: string;
}

/**
 * Who is online. An `owner` is a connection's id, unique within this process; a name belongs to
 * at most one owner in the whole chat (compared by `nameKey`), and the claim is atomic.
 */
export interface PresenceStore {
  /** Whether other processes share this presence (then rooms must be broadcast even with no local member). */
  readonly shared: boolean;
  /**
   * Claims `name` for `owner`, in `room`: false when someone else holds it. An owner that held
   * another name lets go of it in the same step (a rename).
   */
  claim(owner: string, name: string, room: string): Promise<boolean>;
  /** `owner`'s user is now in `room`. */
  move(owner: string, room: string): Promise<void>;
  /** `owner` is gone: its name is free. */
  release(owner: string): Promise<void>;
  /** The name as its holder wrote it, or undefined when nobody online has it. */
  find(name: string): Promise<string | undefined>;
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
