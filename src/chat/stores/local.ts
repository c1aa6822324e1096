/**
 * The single-process stores: presence in a Map, history in the {@link HistoryStore} (memory and
 * the history file). Today's behaviour, no server needed: the default of `createChatServer`.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";
import type { HistoryStore } from "../history.js";
import { nameKey } from "../names.js";
import type { MessageStore, NewMessage, OnlineUser, PresenceStore } from "./types.js";

interface Entry {
  readonly owner: string;
  readonly name: string;
  room: string;
}

/** Presence in this process only. */
export class LocalPresence implements PresenceStore {
  readonly shared = false;
  /** By name key, in the order of arrival (a rename keeps its place only if the key is the same). */
  readonly #byKey = new Map<string, Entry>();
  readonly #keyOf = new Map<string, string>();

  claim(owner: string, name: string, room: string): Promise<boolean> {
    const key = nameKey(name);
    const holder = this.#byKey.get(key);
    if (holder !== undefined && holder.owner !== owner) return Promise.resolve(false);
    const previous = this.#keyOf.get(owner);
    if (previous !== undefined && previous !== key) this.#byKey.delete(previous);
    this.#byKey.set(key, { owner, name, room });
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

  find(name: string): Promise<string | undefined> {
    return Promise.resolve(this.#byKey.get(nameKey(name))?.name);
  }

  users(): Promise<OnlineUser[]> {
    return Promise.resolve([...this.#byKey.values()].map(({ name, room }) => ({ name, room })));
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

  append(message: NewMessage): Promise<string> {
    return Promise.resolve(this.#store.append(message));
  }

  recent(room: string): HistoryMessage[] {
    return this.#store.recent(room);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
