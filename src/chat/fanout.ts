/**
 * How the chat reaches its clients: through Wynd rooms, so that with an adapter (Redis) the
 * same calls reach the members on every node. Each chat room is a few Wynd rooms: one per
 * protocol (an event is rendered and framed once per protocol, then written to every member)
 * and one with everybody (for files: identical bytes for all); each named user is in one more,
 * per protocol, where its private messages are sent, wherever it is connected.
 *
 * @module
 */

import type { Handle, Wynd } from "../index.js";
import type { ChatData } from "./core.js";
import type { Audience, ChatEvent, ChatProtocol } from "./events.js";
import { nameKey } from "./names.js";

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

  /** Sends `event` to one connection. A send that fails means the peer is gone: nothing to do. */
  send(to: Listener, event: ChatEvent, audience: Audience = "self", ts = this.#clock()): void {
    const frame = to.protocol.render(event, audience, ts);
    if (frame !== undefined) void to.handle.sendText(frame);
  }

  /**
   * Makes sure this node receives the traffic of `room` (and of `name`'s private messages) before
   * `listener` reads what was stored: with an adapter, the channels are subscribed and the
   * subscriptions confirmed. Then nothing stored after the read can miss `listener` once it
   * listens (what was stored just before the read, but published after, may come twice: the
   * same id). Without an adapter, nothing to wait for.
   */
  ready(listener: Listener, room: string, name?: string): Promise<void> | undefined {
    if (!this.#shared) return undefined;
    const adapter = this.#wynd.adapter;
    adapter.subscribe(everyoneIn(room));
    adapter.subscribe(protocolRoom(listener.protocol, room));
    if (name !== undefined) adapter.subscribe(userRoom(listener.protocol, name));
    return adapter.flush();
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
   * the room on this node) gets the `self` rendering, everyone else the `others` one.
   */
  toRoom(room: string, event: ChatEvent, self?: Listener, ts = this.#clock()): void {
    for (const protocol of this.#protocols) {
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

  /** Sends `event` (rendered for `others`) to the user called `name`, on whichever node it is. */
  toUser(name: string, event: ChatEvent, ts = this.#clock()): void {
    for (const protocol of this.#protocols) {
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
