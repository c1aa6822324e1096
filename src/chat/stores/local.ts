/**
 * The single-process stores: presence in a Map, history in the {@link HistoryStore} (memory and
 * the history file). Today's behaviour, no server needed: the default of `createChatServer`.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";
import type { HistoryStore } from "../history.js";
import { nameKey } from "../names.js";
import { onlineUser, type MessageStore, type NewMessage, type OnlineUser, type PresenceStore, type Replay } from "./types.js";

interface Entry {
  readonly owner: string;
  readonly name: string;
  room: string;
  readonly session: string | undefined;
}

/** Presence in this process only. */
export class LocalPresence implements PresenceStore {
  readonly shared = false;
  /** By name key, in the order of arrival (a rename keeps its place only if the key is the same). */
  readonly #byKey = new Map<string, Entry>();
  readonly #keyOf = new Map<string, string>();

  claim(owner: string, name: string, room: string, session?: string): Promise<boolean> {
    const key = nameKey(name);
    const holder = this.#byKey.get(key);
    if (holder !== undefined && holder.owner !== owner && (session === undefined || holder.session !== session)) return Promise.resolve(false);
    if (holder !== undefined && holder.owner !== owner) this.#keyOf.delete(holder.owner); // a resumed session takes over
    const previous = this.#keyOf.get(owner);
    if (previous !== undefined && previous !== key) this.#byKey.delete(previous);
    this.#byKey.set(key, { owner, name, room, session });
    this.#keyOf.set(owner, key);
    return Promise.resolve(true);
  }

  move(owner: string, room: string): Promise<void> {
    const key = this.#keyOf.get(owner);
    const entry = key === undefined ? undefined : this.#byKey.get(key);
    if (entry !== undefined) entry.room = room;
    return Promise.resolve();
  }

  release(owner: string): Promise<void> {
    const key = this.#keyOf.get(owner);
    if (key === undefined) return Promise.resolve();
    this.#keyOf.delete(owner);
    if (this.#byKey.get(key)?.owner === owner) this.#byKey.delete(key);
    return Promise.resolve();
  }

  find(name: string): Promise<OnlineUser | undefined> {
    const entry = this.#byKey.get(nameKey(name));
    return Promise.resolve(entry === undefined ? undefined : onlineUser(entry.name, entry.room, entry.session));
  }

  users(): Promise<OnlineUser[]> {
    return Promise.resolve([...this.#byKey.values()].map(({ name, room, session }) => onlineUser(name, room, session)));
  }

  // One process: nobody leaves without its connection closing here.
  onDeparted(): void {}
  onConflict(): void {}
  onRestored(): void {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The history file's store behind the {@link MessageStore} interface. */
export class LocalMessages implements MessageStore {
  readonly #store: HistoryStore;

  constructor(store: HistoryStore) {
    this.#store = store;
  }

  load(): Promise<void> {
    return this.#store.load();
  }

  append(message: NewMessage): string {
    return this.#store.append(message);
  }

  recent(room: string): HistoryMessage[] {
    return this.#store.recent(room);
  }

  after(room: string, after: string): Replay {
    return this.#store.after(room, after);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
