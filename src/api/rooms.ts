/**
 * Broadcast and rooms: who is connected, who is in which room, and sending one message to many.
 *
 * A broadcast frames its message once (`prepareMessage`) and writes the same bytes to every
 * recipient with the engine's `sendPrepared`, which never waits: a slow or dead recipient only
 * fills its own outbound buffer (where its backpressure policy applies) and never delays the
 * others. Rooms exist while they have members; a connection leaves every room the moment it
 * closes, whatever handlers the application registered (the crate let a user close handler
 * replace this cleanup and kept ghost members).
 *
 * @module
 */

import { isUtf8 } from "node:buffer";
import { WyndError } from "../errors.js";
import { prepareMessage, type PreparedMessage } from "../protocol/prepared-message.js";
import type { Adapter } from "./adapter.js";
import { utf8Of } from "./decoded-text.js";
import type { DefaultData } from "./events.js";
import type { Handle } from "./handle.js";

/**
 * Sends an already framed message to one handle without waiting.
 * @internal Shared by `Handle` and the {@link Hub}; not part of the public API.
 */
export const SEND_PREPARED: unique symbol = Symbol("wynd.sendPrepared");

/** What the hub needs from a handle (kept structural so this module imports no class). */
interface Member {
  [SEND_PREPARED](message: PreparedMessage): boolean;
}

/** Options of the broadcast methods. */
export interface BroadcastOptions<Data = DefaultData> {
  /** A client not to send to (usually the sender, when broadcasting from the server side). */
  readonly except?: Handle<Data>;
  /**
   * For `handle.broadcast()` and `handle.to(room)`: also send to that handle, which is skipped by
   * default. Ignored by `wynd.broadcast()` and `wynd.to(room)`, which skip nobody but `except`.
   */
  readonly includeSelf?: boolean;
}

/**
 * The registry behind `Wynd`: the ready clients and the rooms.
 * @internal Users reach it through `Wynd`, `Handle` and `Room`.
 */
export class Hub<Data = DefaultData> {
  /**
   * The adapter that reaches the other nodes, or undefined for a single node (the default: then
   * a broadcast costs one field check more than before adapters existed).
   */
  readonly adapter: Adapter | undefined;
  readonly #clients = new Set<Handle<Data>>();
  readonly #rooms = new Map<string, Set<Handle<Data>>>();
  readonly #memberships = new Map<Handle<Data>, Set<string>>();

  constructor(adapter: Adapter | undefined) {
    this.adapter = adapter;
  }

  /** Makes `handle` a client: it is counted by `clients()` and reached by broadcasts. */
  addClient(handle: Handle<Data>): void {
    this.#clients.add(handle);
  }

  /** The connection is over: forget it everywhere, rooms included. */
  remove(handle: Handle<Data>): void {
    this.#clients.delete(handle);
    const joined = this.#memberships.get(handle);
    if (joined === undefined) return;
    this.#memberships.delete(handle);
    for (const room of joined) this.#removeMember(room, handle);
  }

  /** The ready clients, in the order they became ready. */
  clients(): Handle<Data>[] {
    return [...this.#clients];
  }

  /** The names of the rooms that have at least one member. */
  roomNames(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Adds `handle` to `room`, creating the room on its first member. */
  join(room: string, handle: Handle<Data>): void {
    let members = this.#rooms.get(room);
    if (members === undefined) {
      this.#rooms.set(room, (members = new Set()));
      // The room's first local member: this node must now hear the other nodes' publications.
      this.adapter?.subscribe(room);
    }
    members.add(handle);
    let joined = this.#memberships.get(handle);
    if (joined === undefined) this.#memberships.set(handle, (joined = new Set()));
    joined.add(room);
  }

  /** Removes `handle` from `room`; does nothing when it is not a member. */
  leave(room: string, handle: Handle<Data>): void {
    const joined = this.#memberships.get(handle);
    if (joined === undefined || !joined.delete(room)) return;
    if (joined.size === 0) this.#memberships.delete(handle);
    this.#removeMember(room, handle);
  }

  /** The rooms `handle` is in, in the order it joined them. */
  roomsOf(handle: Handle<Data>): string[] {
    const joined = this.#memberships.get(handle);
    return joined === undefined ? [] : [...joined];
  }

  /** The members of `room`, or undefined when it has none. */
  members(room: string): ReadonlySet<Handle<Data>> | undefined {
    return this.#rooms.get(room);
  }

  /** Every client (see {@link addClient}). */
  get clientSet(): ReadonlySet<Handle<Data>> {
    return this.#clients;
  }

  #removeMember(room: string, handle: Handle<Data>): void {
    const members = this.#rooms.get(room);
    if (members === undefined) return;
    members.delete(handle);
    // An empty room is deleted at once: room names are often per-user or per-document, and a
    // registry that only grows is a leak.
    if (members.size === 0) {
      this.#rooms.delete(room);
      this.adapter?.unsubscribe(room);
    }
  }

  /**
   * Delivers what another node published (see `AdapterListener.publication`) to the local
   * members of `room` (`null`: every client), framed once. Returns how many it was queued for.
   * A text payload that is not UTF-8 is refused (no client may receive an invalid text frame).
   */
  deliver(room: string | null, payload: Uint8Array, isBinary: boolean): number {
    const targets = room === null ? this.#clients : this.#rooms.get(room);
    if (targets === undefined || targets.size === 0) return 0;
    if (!isBinary && !isUtf8(payload)) {
      throw new WyndError("ERR_ADAPTER_INVALID_UTF8", "a text message from another node is not valid UTF-8");
    }
    const message = prepareMessage(payload, isBinary);
    let sent = 0;
    for (const handle of targets) if ((handle as unknown as Member)[SEND_PREPARED](message)) sent++;
    return sent;
  }
}

/**
 * Frames `data` once and queues the same bytes for every target but `skip1` and `skip2`.
 * Returns how many connections it was queued for (closed ones are skipped).
 * @internal
 */
export function broadcastTo<Data>(
  targets: ReadonlySet<Handle<Data>> | undefined,
  data: string | Uint8Array,
  skip1: Handle<Data> | undefined,
  skip2: Handle<Data> | undefined,
): number {
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new TypeError("a broadcast takes a string (text) or a Uint8Array (binary)");
  }
  if (targets === undefined) return 0;
  // Framed lazily: a broadcast that reaches nobody costs nothing.
  let message: PreparedMessage | undefined;
  let sent = 0;
  for (const handle of targets) {
    if (handle === skip1 || handle === skip2) continue;
    // A text message being handled, forwarded: frame its received bytes (see decoded-text.ts).
    message ??= typeof data === "string" ? prepareMessage(utf8Of(data) ?? data, false) : prepareMessage(data);
    if ((handle as unknown as Member)[SEND_PREPARED](message)) sent++;
  }
  return sent;
}

/**
 * A room, as seen from `wynd.to(name)` (sends to every member) or `handle.to(name)` (sends to
 * every member but that handle). Rooms are created by `handle.join(name)` and deleted when their
 * last member leaves; a `Room` object is a cheap view and may be kept.
 */
export class Room<Data = DefaultData> {
  /** The room's name (any string). */
  readonly name: string;
  readonly #hub: Hub<Data>;
  readonly #sender: Handle<Data> | undefined;

  /** @internal Use `wynd.to(name)` or `handle.to(name)`. */
  constructor(hub: Hub<Data>, name: string, sender?: Handle<Data>) {
    if (typeof name !== "string") throw new TypeError("a room name is a string");
    this.#hub = hub;
    this.name = name;
    this.#sender = sender;
  }

  /** How many connections are in the room now. */
  get size(): number {
    return this.#hub.members(this.name)?.size ?? 0;
  }

  /** The members, in the order they joined. */
  clients(): Handle<Data>[] {
    const members = this.#hub.members(this.name);
    return members === undefined ? [] : [...members];
  }

  /** Whether `handle` is in the room. */
  has(handle: Handle<Data>): boolean {
    return this.#hub.members(this.name)?.has(handle) ?? false;
  }

  /**
   * Sends `data` (a string as text, bytes as binary) to every member, framed once, without
   * waiting for any of them. Skips `options.except`, and the sender of `handle.to(room)` unless
   * `options.includeSelf` (both name local handles). With an adapter (`WyndOptions.adapter`) it
   * also reaches the room's members on every other node, even when this node has none.
   * Returns how many LOCAL members (of this node) it was queued for: members on other nodes are
   * not counted, they are reached asynchronously.
   */
  broadcast(data: string | Uint8Array, options: BroadcastOptions<Data> = {}): number {
    const sender = options.includeSelf === true ? undefined : this.#sender;
    const hub = this.#hub;
    const sent = broadcastTo(hub.members(this.name), data, options.except, sender);
    // `except` and the sender name local handles: the other nodes' members all receive it.
    if (hub.adapter !== undefined) hub.adapter.publish(this.name, data);
    return sent;
  }
}
