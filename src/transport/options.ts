/**
 * Options of the transport layer (timeouts, backpressure, heartbeat) with their safe defaults.
 * The protocol core's size limits live in `src/protocol/limits.ts`; both are listed in
 * docs/limits.md.
 *
 * @module
 */

import type { PerMessageDeflateOptions } from "./deflate.js";
import {
  assertPositiveInteger,
  isResolved,
  markResolved,
  resolveMessageLimits,
  type MessageLimits,
} from "../protocol/limits.js";

/** What happens when a connection's outbound buffer would grow past `maxBufferedBytes`. */
export type BackpressurePolicy = "close" | "drop";

/** Options every connection takes, server or client side. */
export interface ConnectionOptions extends Partial<MessageLimits> {
  /**
   * How long to wait for the closing handshake to finish (the peer's Close frame, then the TCP
   * close) before the socket is destroyed. Default 10 000 ms.
   */
  readonly closeTimeoutMs?: number;
  /**
   * Send a ping every this many milliseconds, and close the connection with 1011 when nothing at
   * all arrived from the peer during a whole interval after a ping. 0 (the default) turns the
   * heartbeat off.
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * A send returns false once this many bytes wait to be written (and 'drain' follows when they
   * have been). Default 64 KiB.
   */
  readonly highWaterMarkBytes?: number;
  /**
   * The most bytes that may wait to be written to one peer. A send that would go past it
   * triggers `backpressurePolicy` — unless nothing is waiting at all: a single message larger
   * than the limit is still sent. Default 16 MiB.
   */
  readonly maxBufferedBytes?: number;
  /**
   * `"close"` (the default): a send that overflows `maxBufferedBytes` destroys the connection
   * (close code 1006 locally, error `ERR_BUFFER_OVERFLOW`): a peer that does not read cannot make
   * the server hold unbounded memory. `"drop"`: the message is not queued, the send returns
   * false and `droppedMessages` counts it; the connection stays open.
   */
  readonly backpressurePolicy?: BackpressurePolicy;
  /**
   * Answer pings automatically (default true). While the outbound buffer is above
   * `highWaterMarkBytes`, only the most recent ping is remembered and answered on drain
   * (RFC 6455 §5.5.3 allows answering only the most recent one), so a ping flood cannot grow
   * memory.
   */
  readonly autoPong?: boolean;
  /**
   * permessage-deflate (RFC 7692; see docs/deflate.md): `false`, `true` (the defaults below) or
   * options. Off by default on a server, on by default on a client (`connect`).
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** {@link ConnectionOptions} with every default filled in. */
export interface ResolvedConnectionOptions extends MessageLimits {
  readonly closeTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly highWaterMarkBytes: number;
  readonly maxBufferedBytes: number;
  readonly backpressurePolicy: BackpressurePolicy;
  readonly autoPong: boolean;
}

/** The transport defaults. */
export const DEFAULT_CONNECTION_OPTIONS = Object.freeze({
  closeTimeoutMs: 10_000,
  heartbeatIntervalMs: 0,
  highWaterMarkBytes: 64 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  backpressurePolicy: "close" as BackpressurePolicy,
  autoPong: true,
});

/** Default time allowed for the opening handshake, server and client side. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The longest delay a Node.js timer honours (2^31 - 1 ms, about 24.8 days): a longer one fires
 * after 1 ms instead (with a TimeoutOverflowWarning), so "a very long timeout" would become an
 * immediate one.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Throws a RangeError unless `value` is a positive integer a timer can wait for. */
export function assertTimerMs(name: string, value: unknown): void {
  assertPositiveInteger(name, value);
  if ((value as number) > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be at most ${MAX_TIMER_MS} ms, got ${String(value)}`);
  }
}

/** Fills in defaults and checks every value; throws RangeError/TypeError on misuse. */
export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  // A server's options, resolved once, are passed to each of its connections as they are.
  if (isResolved(options)) return options as ResolvedConnectionOptions;
  const resolved: ResolvedConnectionOptions = {
    ...resolveMessageLimits(options),
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.closeTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_CONNECTION_OPTIONS.heartbeatIntervalMs,
    highWaterMarkBytes: options.highWaterMarkBytes ?? DEFAULT_CONNECTION_OPTIONS.highWaterMarkBytes,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_CONNECTION_OPTIONS.maxBufferedBytes,
    backpressurePolicy: options.backpressurePolicy ?? DEFAULT_CONNECTION_OPTIONS.backpressurePolicy,
    autoPong: options.autoPong ?? DEFAULT_CONNECTION_OPTIONS.autoPong,
  };
  assertTimerMs("closeTimeoutMs", resolved.closeTimeoutMs);
  assertPositiveInteger("highWaterMarkBytes", resolved.highWaterMarkBytes);
  assertPositiveInteger("maxBufferedBytes", resolved.maxBufferedBytes);
  if (resolved.heartbeatIntervalMs !== 0) {
    assertTimerMs("heartbeatIntervalMs", resolved.heartbeatIntervalMs);
  }
  if (resolved.backpressurePolicy !== "close" && resolved.backpressurePolicy !== "drop") {
    throw new TypeError(`backpressurePolicy must be "close" or "drop"`);
  }
  return markResolved(resolved);
}
