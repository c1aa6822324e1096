/**
 * How the chat reaches its clients: through Wynd rooms, so that with an adapter (Redis) the
 * same calls reach the members on every node. Each chat room is a few Wynd rooms: one per
 * protocol (an event is rendered and framed once per protocol, then written to every member)
 * and one with everybody (for files: identical bytes for all); each named user is in one more,
 * per protocol, where its private messages are sent, wherever it is connected.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import type { Handle, Wynd } from "../index.js";
import type { ChatData } from "./core.js";
import type { Audience, ChatEvent, ChatProtocol } from "./events.js";
import { nameKey } from "./names.js";
import { compareIds, isId } from "./stores/ids.js";
import type { Stamped } from "./stores/types.js";

/** Who an event may be rendered for, as {@link Fanout} needs to know. */
export interface Listener {
  readonly handle: Handle<ChatData>;
  readonly protocol: ChatProtocol;
}

function everyoneIn(room: string): string {
  return `r:${room}`;
}

function protocolRoom(protocol: ChatProtocol, room: string): string {
  return `p:${protocol.name}:${room}`;
}

function userRoom(protocol: ChatProtocol, name: string): string {
  return `u:${protocol.name}:${nameKey(name)}`;
}

/**
 * The publications of a stored message for the protocols that show ids, for its store to make
 * with the id it gives (see `Stamped`), and which protocols they cover: the event goes to the
 * others as usual.
 */
export interface Stamping {
  readonly publications: readonly Stamped[];
  readonly covered: ReadonlySet<ChatProtocol>;
}

/** What a connection catching up has been sent: the last ids of `room`'s messages and of its private ones. */
export interface CaughtUp {
  readonly room: string;
  readonly message?: string | undefined;
  readonly privates?: string | undefined;
}

/** Sends chat events to rooms, users and single connections (see the module comment). */
export class Fanout {
  readonly #wynd: Wynd<ChatData>;
  readonly #protocols: readonly ChatProtocol[];
  readonly #shared: boolean;
  readonly #clock: () => number;

  /**
   * `shared`: other nodes have members too, so a room with no local member is still sent to
   * (the adapter carries it); without it, such a send is skipped before rendering.
   */
  constructor(wynd: Wynd<ChatData>, protocols: readonly ChatProtocol[], shared: boolean, clock: () => number) {
    this.#wynd = wynd;
    this.#protocols = protocols;
    this.#shared = shared;
    this.#clock = clock;
  }

  /**
   * With an adapter whose broker the stores share (Redis: see `Adapter.encodePublication`), the
   * publications of the stored message `event(id)` to `room`'s members, for its store to make in
   * the step that stores it: then every node, this one included, hears a room's messages in the
   * order of their ids, which is what lets a client resume after the last id it saw. Undefined
   * without such an adapter (one node: the message is sent as soon as it is stored).
   */
  stampForRoom(room: string, event: (id: string) => ChatEvent, ts: number): Stamping | undefined {
    return this.#stamp((protocol) => protocolRoom(protocol, room), event, ts);
  }

  /** As {@link stampForRoom}, for a private message to the user called `name`. */
  stampForUser(name: string, event: (id: string) => ChatEvent, ts: number): Stamping | undefined {
    return this.#stamp((protocol) => userRoom(protocol, name), event, ts);
  }

  #stamp(roomOf: (protocol: ChatProtocol) => string, event: (id: string) => ChatEvent, ts: number): Stamping | undefined {
    const adapter = this.#wynd.adapter;
    if (!this.#shared || adapter.encodePublication === undefined) return undefined;
    // A mark no text can hold by chance, where the store writes the id in.
    const mark = `#${randomBytes(12).toString("hex")}#`;
    const publications: Stamped[] = [];
    const covered = new Set<ChatProtocol>();
    for (const protocol of this.#protocols) {
      if (protocol.storedIn === undefined) continue;
      const frame = protocol.render(event(mark), "others", ts);
      if (frame === undefined) continue;
      const { channel, message } = adapter.encodePublication(roomOf(protocol), frame);
      const at = message.indexOf(mark, 0, "latin1"); // the first: the id comes before the text
      if (at < 0) continue;
      publications.push({ channel, before: message.subarray(0, at), after: message.subarray(at + mark.length) });
      covered.add(protocol);
    }
    return { publications, covered };
  }

  /** Sends `event` to one connection. A send that fails means the peer is gone: nothing to do. */
  send(to: Listener, event: ChatEvent, audience: Audience = "self", ts = this.#clock()): void {
    const frame = to.protocol.render(event, audience, ts);
    if (frame !== undefined) void to.handle.sendText(frame);
  }

  /**
   * Makes sure this node receives the traffic of `room` (and of `name`'s private messages) before
   * `listener` reads what was stored: with an adapter, the channels are subscribed and the
   * subscriptions confirmed. Then nothing stored after the read can miss `listener` once it
   * listens (before the read, holding: see {@link hold}). Without an adapter, nothing to wait for.
   */
  ready(listener: Listener, room: string, name?: string): Promise<void> | undefined {
    if (!this.#shared) return undefined;
    const adapter = this.#wynd.adapter;
    adapter.subscribe(everyoneIn(room));
    adapter.subscribe(protocolRoom(listener.protocol, room));
    if (name !== undefined) adapter.subscribe(userRoom(listener.protocol, name));
    return adapter.flush();
  }

  /**
   * Holds back the traffic that reaches `listener` (see `Handle.holdBroadcasts`) while it catches
   * up from the stores: start holding, listen, read the stores, send what was read, then
   * {@link release}. With an adapter, what is read and what is heard come over two connections
   * to Redis, in no fixed order; holding makes the order the one the client sees.
   */
  hold(listener: Listener): void {
    listener.handle.holdBroadcasts();
  }

  /**
   * Sends what was held back since {@link hold}, but for the stored messages `listener` has
   * already been sent: `room`'s messages up to the id `message`, and private messages up to the
   * id `privates` (ids increase: a message stored before the store was read is at or below the
   * last id read, even when it is heard only after). Protocols that show no ids keep everything.
   */
  release(listener: Listener, caughtUp: CaughtUp): void {
    const storedIn = listener.protocol.storedIn;
    const { room, message, privates } = caughtUp;
    if (storedIn === undefined || (message === undefined && privates === undefined)) {
      listener.handle.releaseBroadcasts();
      return;
    }
    listener.handle.releaseBroadcasts((frame) => {
      const stored = typeof frame === "string" ? storedIn(frame) : undefined;
      if (stored === undefined || !isId(stored.id)) return true;
      const upTo = stored.kind === "private" ? privates : stored.room === room ? message : undefined;
      return upTo === undefined || compareIds(stored.id, upTo) > 0;
    });
  }

  /** With an adapter: resolves once the subscriptions asked for so far are live in the broker. */
  subscribed(): Promise<void> | undefined {
    return this.#shared ? this.#wynd.adapter.flush() : undefined;
  }

  /** `listener` now receives `room`'s traffic. */
  listen(listener: Listener, room: string): void {
    listener.handle.join(everyoneIn(room)).join(protocolRoom(listener.protocol, room));
  }

  /** `listener` no longer receives `room`'s traffic. */
  unlisten(listener: Listener, room: string): void {
    listener.handle.leave(everyoneIn(room)).leave(protocolRoom(listener.protocol, room));
  }

  /** `listener` receives the private messages of `name` (undefined: of nobody any more). */
  addressAs(listener: Listener, name: string | undefined, previous: string | undefined): void {
    if (previous !== undefined) listener.handle.leave(userRoom(listener.protocol, previous));
    if (name !== undefined) listener.handle.join(userRoom(listener.protocol, name));
  }

  /**
   * Sends `event` to everyone in `room`, rendered once per protocol: `self` (when given and in
   * the room on this node) gets the `self` rendering, everyone else the `others` one; the
   * members of `covered` protocols are skipped (its store published it: see {@link stampForRoom}).
   */
  toRoom(room: string, event: ChatEvent, self?: Listener, ts = this.#clock(), covered?: ReadonlySet<ChatProtocol>): void {
    for (const protocol of this.#protocols) {
      if (covered?.has(protocol) === true) continue; // its store published it (see stampForRoom)
      const members = this.#wynd.to(protocolRoom(protocol, room));
      if (!this.#shared && members.size === 0) continue;
      const others = protocol.render(event, "others", ts);
      if (self === undefined || self.protocol !== protocol || !members.has(self.handle)) {
        if (others !== undefined) members.broadcast(others);
        continue;
      }
      const mine = protocol.render(event, "self", ts);
      if (others !== undefined && others === mine) {
        members.broadcast(others);
        continue;
      }
      if (others !== undefined) members.broadcast(others, { except: self.handle });
      if (mine !== undefined) void self.handle.sendText(mine);
    }
  }

  /**
   * Sends `event` (rendered for `others`) to the user called `name`, on whichever node it is,
   * but for the `covered` protocols (see {@link stampForUser}).
   */
  toUser(name: string, event: ChatEvent, ts = this.#clock(), covered?: ReadonlySet<ChatProtocol>): void {
    for (const protocol of this.#protocols) {
      if (covered?.has(protocol) === true) continue; // its store published it (see stampForUser)
      const target = this.#wynd.to(userRoom(protocol, name));
      if (!this.#shared && target.size === 0) continue;
      const frame = protocol.render(event, "others", ts);
      if (frame !== undefined) target.broadcast(frame);
    }
  }

  /** Sends a control message to the other nodes (nothing without an adapter). */
  toNodes(message: string): void {
    this.#wynd.publishToNodes(message);
  }

  /** Receives the other nodes' control messages. */
  onNodeMessage(handler: (message: string) => void): void {
    this.#wynd.onNodeMessage(handler);
  }

  /** Sends the same binary frame to everyone in `room`. */
  bytesToRoom(room: string, bytes: Uint8Array): void {
    this.#wynd.to(everyoneIn(room)).broadcast(bytes);
  }
}
