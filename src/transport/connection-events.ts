/**
 * The types a `WebSocketConnection` is described by: its events, what it is created from, and
 * the direct receiver of its events a layer above may set (the Wynd API does).
 *
 * @module
 */

import type { UpgradeRequest } from "../protocol/handshake.js";
import type { Role } from "../protocol/protocol.js";
import type { DeflateSetup } from "./deflate.js";
import type { ConnectionOptions, ResolvedConnectionOptions } from "./options.js";

/** The events of a {@link WebSocketConnection}, with their arguments. */
export interface ConnectionEvents {
  /** A complete message. Text messages are valid UTF-8 (`isBinary` false). */
  message: [data: Buffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** Emitted once after a send returned false, when the buffered bytes have been written. */
  drain: [];
  /**
   * A protocol violation, a socket error or a backpressure overflow. Emitted only when a listener
   * is attached (an unobserved error never throws); `close` always follows.
   */
  error: [error: Error];
  /**
   * Exactly once, when the connection is over. `code` is the peer's close code, 1005 when its
   * Close frame had none, 1006 when no Close frame arrived. `wasClean` is true when both Close
   * frames were exchanged.
   */
  close: [code: number, reason: string, wasClean: boolean];
}

/** What a server or client knows about a connection when it creates it. */
export interface ConnectionInit {
  readonly role: Role;
  /** The negotiated subprotocol ("" for none). */
  readonly protocol?: string;
  /** The negotiated extensions header value ("" for none). */
  readonly extensions?: string;
  /** The upgrade request (server side). */
  readonly request?: UpgradeRequest | undefined;
  /** Bytes that arrived with the handshake: the first frames. */
  readonly head?: Buffer;
  readonly options?: ConnectionOptions | ResolvedConnectionOptions;
  /** permessage-deflate, when negotiated (RFC 7692). */
  readonly deflate?: DeflateSetup | undefined;
}

/** Keys of the {@link ConnectionSink} methods (symbols keep them off the receiver's public surface). @internal */
export const SINK_MESSAGE: unique symbol = Symbol("wynd.sink.message");
/** @internal */
export const SINK_PING: unique symbol = Symbol("wynd.sink.ping");
/** @internal */
export const SINK_PONG: unique symbol = Symbol("wynd.sink.pong");
/** @internal */
export const SINK_ERROR: unique symbol = Symbol("wynd.sink.error");
/** @internal */
export const SINK_DRAIN: unique symbol = Symbol("wynd.sink.drain");
/** @internal */
export const SINK_CLOSE: unique symbol = Symbol("wynd.sink.close");

/**
 * A direct receiver of a connection's events, for a layer built on the engine (the Wynd API):
 * methods of one object instead of a listener closure per event, and no `emit` per message.
 * While one is set, `message`, `ping` and `pong` go to it only (they are not emitted);
 * `error`, `drain` and `close` are emitted as before and also given to it (`close` after the
 * listeners, so the server has forgotten the connection first, as with a listener added later).
 * @internal
 */
export interface ConnectionSink {
  [SINK_MESSAGE](data: Buffer, isBinary: boolean): void;
  [SINK_PING](data: Buffer): void;
  [SINK_PONG](data: Buffer): void;
  [SINK_ERROR](error: Error): void;
  [SINK_DRAIN](): void;
  [SINK_CLOSE](code: number, reason: string, wasClean: boolean): void;
}
