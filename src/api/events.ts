/**
 * The events the Wynd API hands to handlers, and the handler signatures.
 *
 * Events are plain read-only objects (not classes): a handler may keep, spread or log them, and
 * creating one costs a single small allocation per message.
 *
 * @module
 */

import type { Handle } from "./handle.js";

/** A complete text message. `data` is the decoded text (the engine validated the UTF-8). */
export interface TextMessage {
  readonly data: string;
}

/**
 * A complete binary message. `data` is a view of the received bytes (a `Buffer` at run time);
 * it stays valid after the handler returns, so it may be kept or forwarded as is.
 */
export interface BinaryMessage {
  readonly data: Uint8Array;
}

/**
 * How a connection ended, reported exactly once per connection.
 *
 * `code` is the peer's close code; 1005 when its Close frame carried none; 1006 when the
 * connection ended without a Close frame (a reset, a timeout, a destroyed socket). `wasClean` is
 * true when both Close frames were exchanged.
 */
export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/**
 * The default type of `handle.data` when `Wynd` is not given one: an open record, so that
 * `handle.data.anything` is `unknown` and must be narrowed before use.
 */
export type DefaultData = Record<string, unknown>;

/**
 * A handler's return value: anything. When it is a promise (any thenable), the connection waits
 * for it before it runs the next handler, and a rejection goes to `onError`.
 */
export type HandlerResult = unknown;

/** Runs once the connection is open (see `Connection.onOpen`). */
export type OpenHandler<Data = DefaultData> = (handle: Handle<Data>) => HandlerResult;
/** Runs for each text message, in the order messages arrived. */
export type TextHandler<Data = DefaultData> = (message: TextMessage, handle: Handle<Data>) => HandlerResult;
/** Runs for each binary message, in the order messages arrived. */
export type BinaryHandler<Data = DefaultData> = (message: BinaryMessage, handle: Handle<Data>) => HandlerResult;
/** Runs once when the connection is over, however it ended. */
export type CloseHandler<Data = DefaultData> = (event: CloseEvent, handle: Handle<Data>) => HandlerResult;
/**
 * Runs for a connection-level error: a protocol violation by the peer, a socket error, a
 * backpressure overflow, a heartbeat timeout, or an exception thrown (or a promise rejected) by
 * one of this connection's handlers.
 */
export type ErrorHandler<Data = DefaultData> = (error: Error, handle: Handle<Data>) => HandlerResult;
/** Runs for each ping (already answered by the engine when `autoPong` is on) or pong. */
export type ControlHandler<Data = DefaultData> = (data: Uint8Array, handle: Handle<Data>) => HandlerResult;

/**
 * Runs for a server-level error: a listen failure, a refused opening handshake (a
 * `HandshakeError` with its HTTP status), an error of the listening socket, or an exception from
 * any handler (then `handle` is the connection it happened on).
 */
export type ServerErrorHandler<Data = DefaultData> = (error: Error, handle?: Handle<Data>) => HandlerResult;
