/**
 * The handle: what a handler uses to talk to its peer (send, ping, close), to learn about it (id,
 * address, upgrade request, per-connection data) and to reach others (broadcast, rooms).
 *
 * Sends return a promise so that `await handle.sendText(…)` applies backpressure naturally: it
 * resolves at once while the outbound buffer is below the engine's `highWaterMarkBytes`, and
 * waits for the engine's `drain` above it. On the fast path every call returns the same resolved
 * promise: sending allocates nothing beyond the frame itself.
 *
 * @module
 */

import { ConnectionClosedError, WyndError } from "../errors.js";
import type { UpgradeRequest } from "../protocol/handshake.js";
import { payloadOf, type PreparedMessage } from "../protocol/prepared-message.js";
import { ReadyState } from "../protocol/protocol.js";
import type { WebSocketConnection } from "../transport/connection.js";
import { utf8Of } from "./decoded-text.js";
import type { DefaultData } from "./events.js";
import { broadcastTo, Room, SEND_PREPARED, type BroadcastOptions, type Hub } from "./rooms.js";

/**
 * The one promise every send below the backpressure limit returns (see the module comment). The
 * connection's loop knows it is settled: a handler that returns it (`(msg, handle) =>
 * handle.sendText(…)`) is treated as one that returned nothing, with no wait for a microtask.
 * @internal
 */
export const RESOLVED: Promise<void> = Promise.resolve();

function ignore(): void {
  // Marks a promise as handled: see handledRejection().
}

/**
 * A rejected promise that does not count as an unhandled rejection. A caller that awaits it gets
 * the error; a caller that fires and forgets (`handle.sendText(x)` in a loop) does not crash the
 * process when one peer has gone away — under Node's default `--unhandled-rejections=throw`, an
 * ordinary rejected promise nobody awaits would.
 */
function handledRejection(error: Error): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(ignore);
  return promise;
}

/** Broadcasts held back by `holdBroadcasts()`, and their bytes on the wire. */
interface HeldBroadcasts {
  readonly messages: PreparedMessage[];
  bytes: number;
}

/**
 * Key of the method a `Handle` calls on its owner when the application starts the closing
 * handshake (the owner stops delivering messages). @internal
 */
export const CLOSE_REQUESTED: unique symbol = Symbol("wynd.closeRequested");
/** The `data` of a handle whose default `{}` was not made yet. @internal */
export const NO_DATA: unique symbol = Symbol("wynd.noData");
/** Key of the method its connection calls when the engine drained. @internal */
export const DRAINED: unique symbol = Symbol("wynd.drained");
/** Key of the method its connection calls when the engine connection closed. @internal */
export const ENDED: unique symbol = Symbol("wynd.ended");

/** Key of the hub (clients and rooms) a handle's owner belongs to. @internal */
export const OWNER_HUB: unique symbol = Symbol("wynd.ownerHub");

/**
 * What owns a `Handle`: told when the application closes the connection, and where the handle
 * finds its hub (a field fewer per handle). @internal
 */
export interface HandleOwner<Data = DefaultData> {
  [CLOSE_REQUESTED](): void;
  readonly [OWNER_HUB]: Hub<Data>;
}

/**
 * One connection, from a handler's point of view. The same object is passed to every handler of
 * the connection, so it may be used as a key (`Map<Handle, …>`) or compared with `===`.
 */
export class Handle<Data = DefaultData> {

  /** The peer's IP address, captured when the connection opened ("" if the socket had none). */
  readonly remoteAddress: string;



  // The request is the engine's and the hub the owner's: fields of a handle are memory per
  // connection.
  readonly #engine: WebSocketConnection;
  readonly #owner: HandleOwner<Data>;
  /** NO_DATA until read or set: the default `{}` is made on first use (most servers never do). */
  #data: Data | typeof NO_DATA;
  /** What few handles use while idle (see {@link HandleUncommon}): made on first use. */
  #uncommon: HandleUncommon | undefined;

  get #query(): URLSearchParams | undefined {
    return this.#uncommon?.query;
  }
  set #query(query: URLSearchParams | undefined) {
    (this.#uncommon ??= new HandleUncommon()).query = query;
  }
  get #headers(): Readonly<Record<string, string>> | undefined {
    return this.#uncommon?.headers;
  }
  set #headers(headers: Readonly<Record<string, string>> | undefined) {
    (this.#uncommon ??= new HandleUncommon()).headers = headers;
  }
  // One pending promise shared by every send that waits for the same drain.
  get #drain(): PendingDrain | undefined {
    return this.#uncommon?.drain;
  }
  set #drain(drain: PendingDrain | undefined) {
    (this.#uncommon ??= new HandleUncommon()).drain = drain;
  }
  get #closed(): Promise<void> | undefined {
    return this.#uncommon?.closed;
  }
  set #closed(closed: Promise<void> | undefined) {
    (this.#uncommon ??= new HandleUncommon()).closed = closed;
  }
  get #closeCode(): number | undefined {
    return this.#uncommon?.closeCode;
  }
  set #closeCode(code: number | undefined) {
    (this.#uncommon ??= new HandleUncommon()).closeCode = code;
  }
  /** The broadcasts held back since holdBroadcasts(), oldest first (undefined: not holding). */
  get #held(): HeldBroadcasts | undefined {
    return this.#uncommon?.held;
  }
  set #held(held: HeldBroadcasts | undefined) {
    (this.#uncommon ??= new HandleUncommon()).held = held;
  }

  /**
   * @internal Handles are created by `Wynd` for each accepted connection. The owner forwards
   * the engine's `drain` and `close` (see DRAINED and ENDED): no listener closures per handle.
   */
  constructor(engine: WebSocketConnection, data: Data | typeof NO_DATA, owner: HandleOwner<Data>) {
    this.#engine = engine;
    this.#owner = owner;
    this.remoteAddress = engine.remoteAddress ?? "";
    this.#data = data;
  }

  // id, path and protocol are read from the engine and the request (fields of a handle are
  // memory per connection).

  get #request(): UpgradeRequest {
    return this.#engine.request!; // a server connection's
  }

  get #hub(): Hub<Data> {
    return this.#owner[OWNER_HUB];
  }

  /** The connection's id: a process-unique integer, increasing (the engine connection's id). */
  get id(): number {
    return this.#engine.id;
  }

  /** The path of the upgrade request (without the query), e.g. `"/chat"`. */
  get path(): string {
    return this.#request.path;
  }

  /** The negotiated subprotocol (see the `selectProtocol` option), "" for none. */
  get protocol(): string {
    return this.#engine.protocol;
  }

  /**
   * Per-connection application state, typed by `Wynd<Data>`. Starts as the `createData` option's
   * result (or `{}`); handlers and middleware may change its fields or replace it.
   */
  get data(): Data {
    const data = this.#data;
    if (data !== NO_DATA) return data;
    return (this.#data = {} as Data);
  }

  set data(value: Data) {
    this.#data = value;
  }

  /** @internal The engine drained: sends waiting for it resolve. */
  [DRAINED](): void {
    this.#settleDrain(undefined);
  }

  /** @internal The engine connection closed with `code`: sends waiting for a drain reject. */
  [ENDED](code: number): void {
    this.#closeCode = code;
    if (this.#drain !== undefined) {
      this.#settleDrain(new ConnectionClosedError("the connection closed before the message was written", code));
    }
  }

  /** The query string of the upgrade request, parsed (empty when there was none). */
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#request.query));
  }

  /**
   * The headers of the upgrade request: names lower-cased, repeated headers joined with ", "
   * (as `IncomingMessage.headers` does).
   */
  get headers(): Readonly<Record<string, string>> {
    if (this.#headers === undefined) {
      const headers: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [name, value] of this.#request.headers.entries) {
        const key = name.toLowerCase();
        const previous = headers[key];
        headers[key] = previous === undefined ? value : `${previous}, ${value}`;
      }
      this.#headers = Object.freeze(headers);
    }
    return this.#headers;
  }

  /** `ReadyState.OPEN`, `CLOSING` (a Close frame was sent or received) or `CLOSED`. */
  get state(): ReadyState {
    return this.#engine.readyState;
  }

  /** Bytes queued for this peer but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#engine.bufferedAmount;
  }

  /**
   * Sends a text message. Resolves at once when it was queued below the backpressure limit,
   * after the next drain otherwise. Rejects with `ConnectionClosedError` when the connection is
   * not open (or closes before a waited-for drain), and with a `WyndError` `ERR_MESSAGE_DROPPED`
   * when the `"drop"` backpressure policy discarded it. Throws TypeError for a non-string.
   */
  sendText(text: string): Promise<void> {
    if (typeof text !== "string") throw new TypeError("sendText takes a string");
    const engine = this.#engine;
    if (engine.readyState !== ReadyState.OPEN) return this.#notOpen();
    const dropped = engine.droppedMessages;
    // The text message being handled, sent back or on: its received bytes are its UTF-8.
    const bytes = utf8Of(text);
    if (bytes !== undefined ? engine.sendMessage(bytes, false) : engine.sendText(text)) return RESOLVED;
    return this.#afterRefusal(dropped);
  }

  /** Sends a binary message; resolves and rejects as {@link sendText}. */
  sendBinary(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new TypeError("sendBinary takes a Uint8Array");
    const engine = this.#engine;
    if (engine.readyState !== ReadyState.OPEN) return this.#notOpen();
    const dropped = engine.droppedMessages;
    if (engine.sendBinary(data)) return RESOLVED;
    return this.#afterRefusal(dropped);
  }

  /**
   * Sends a ping with up to 125 bytes of payload (the engine throws RangeError beyond). The
   * peer's pong arrives at `onPong`. Resolves and rejects as {@link sendText}.
   */
  ping(data: Uint8Array | string = EMPTY): Promise<void> {
    const engine = this.#engine;
    if (engine.readyState !== ReadyState.OPEN) return this.#notOpen();
    if (engine.ping(data)) return RESOLVED;
    return this.#afterRefusal(engine.droppedMessages);
  }

  /**
   * Starts the closing handshake with `code` (default 1000, normal closure) and `reason` (at
   * most 123 UTF-8 bytes), and resolves once the connection is closed (the peer answered, or
   * `closeTimeoutMs` passed and the socket was destroyed). No message handler runs after it is
   * called; `onClose` handlers still run. Calling it again, or on a closed connection, resolves
   * when the connection is closed. Rejects with RangeError for a code that may not be sent
   * (1005, 1006, 1015, below 1000...) or a reason that is too long.
   */
  close(code = 1000, reason = ""): Promise<void> {
    const engine = this.#engine;
    if (engine.readyState === ReadyState.OPEN) {
      try {
        engine.close(code, reason);
      } catch (error) {
        return handledRejection(error as Error);
      }
      this.#owner[CLOSE_REQUESTED]();
    }
    return (this.#closed ??= engine.closed().then(ignore));
  }

  /** Joins room `room` (any string). Joining a room twice, or after the close, does nothing. */
  join(room: string): this {
    if (typeof room !== "string") throw new TypeError("a room name is a string");
    // A closed connection has already left every room: joining now would leave a ghost member.
    if (this.#engine.readyState !== ReadyState.CLOSED) this.#hub.join(room, this);
    return this;
  }

  /** Leaves room `room`; a room is deleted when its last member leaves. */
  leave(room: string): this {
    this.#hub.leave(room, this);
    return this;
  }

  /** The rooms this connection is in, in the order it joined them. */
  get rooms(): string[] {
    return this.#hub.roomsOf(this);
  }

  /** Room `room` as seen from this connection: its `broadcast` skips this handle by default. */
  to(room: string): Room<Data> {
    return new Room(this.#hub, room, this);
  }

  /**
   * Sends `data` (a string as text, bytes as binary) to every client but this one (unless
   * `options.includeSelf`), framed once, without waiting for any of them; with an adapter, to
   * every client of the other nodes too. Returns how many LOCAL clients it was queued for.
   */
  broadcast(data: string | Uint8Array, options: BroadcastOptions<Data> = {}): number {
    const self = options.includeSelf === true ? undefined : this;
    const hub = this.#hub;
    const sent = broadcastTo(hub.clientSet, data, options.except, self);
    if (hub.adapter !== undefined) hub.adapter.publish(null, data);
    return sent;
  }

  /**
   * Holds back the broadcasts that reach this connection (room and all-client broadcasts, from
   * this node or, with an adapter, from others) until {@link releaseBroadcasts}; direct sends
   * (`sendText`, `sendBinary`, `ping`) still go out at once. This is how a connection catches up
   * from a store before it hears live traffic, without a gap and without a duplicate: hold, join
   * the rooms, read the store, send what was read, then release, dropping what was already sent.
   * Held messages count as buffered bytes for `maxBufferedBytes` (the backpressure policy
   * applies as to a send); they are dropped if the connection closes. Holding twice holds once.
   */
  holdBroadcasts(): this {
    this.#held ??= { messages: [], bytes: 0 };
    return this;
  }

  /**
   * Sends the held broadcasts, in the order they arrived, and stops holding: each one for which
   * `keep` (given the message as a string for text, bytes for binary) returns true, or every one
   * without `keep`. Returns how many were queued. Does nothing (0) when not holding.
   */
  releaseBroadcasts(keep?: (data: string | Buffer) => boolean): number {
    const held = this.#held;
    if (held === undefined) return 0;
    this.#held = undefined;
    let sent = 0;
    for (const message of held.messages) {
      if (keep !== undefined && !keep(message.isBinary ? payloadOf(message) : payloadOf(message).toString("utf8"))) continue;
      if (this[SEND_PREPARED](message)) sent++;
    }
    return sent;
  }

  /** @internal The broadcast path: queue the shared frame bytes, never wait. */
  [SEND_PREPARED](message: PreparedMessage): boolean {
    const engine = this.#engine;
    if (engine.readyState !== ReadyState.OPEN) return false;
    const held = this.#held;
    if (held !== undefined) {
      if (!engine.admitHeld(message.byteLength, held.bytes)) return false;
      held.messages.push(message);
      held.bytes += message.byteLength;
      return true;
    }
    const dropped = engine.droppedMessages;
    engine.sendPrepared(message);
    // The engine answers false both for "queued, above the high-water mark" and for "not
    // queued"; only the latter (dropped, or closed by the overflow policy) is a miss.
    return engine.droppedMessages === dropped && engine.readyState === ReadyState.OPEN;
  }

  #notOpen(): Promise<never> {
    return handledRejection(new ConnectionClosedError("the connection is not open", this.#closeCode));
  }

  /** The engine did not accept the frame below the high-water mark: find out why. */
  #afterRefusal(droppedBefore: number): Promise<void> {
    const engine = this.#engine;
    // The "close" policy terminated a peer that does not read.
    if (engine.readyState !== ReadyState.OPEN) return this.#notOpen();
    if (engine.droppedMessages !== droppedBefore) {
      return handledRejection(
        new WyndError("ERR_MESSAGE_DROPPED", "the message was dropped: the peer's outbound buffer is full"),
      );
    }
    let drain = this.#drain;
    if (drain === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((resolveDrain, rejectDrain) => {
        resolve = resolveDrain;
        reject = rejectDrain;
      });
      promise.catch(ignore);
      drain = this.#drain = { promise, resolve, reject };
    }
    return drain.promise;
  }

  #settleDrain(error: Error | undefined): void {
    const drain = this.#drain;
    if (drain === undefined) return;
    this.#drain = undefined;
    if (error === undefined) drain.resolve();
    else drain.reject(error);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The state of a handle that an idle one does not use: the parsed query and headers (made when
 * read), the promise of a send waiting for a drain, the close promise and code. One object made
 * on first use instead of five fields per handle (32 B less for an idle one).
 */
class HandleUncommon {
  query: URLSearchParams | undefined = undefined;
  headers: Readonly<Record<string, string>> | undefined = undefined;
  drain: PendingDrain | undefined = undefined;
  closed: Promise<void> | undefined = undefined;
  closeCode: number | undefined = undefined;
  held: HeldBroadcasts | undefined = undefined;
}

/** The promise every send waiting for the same drain shares, with its callbacks. */
interface PendingDrain {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}
