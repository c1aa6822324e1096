/**
 * What `Wynd` and its connections share: the context `Wynd` gives each `Connection`, the keys
 * of the connection methods only `Wynd` calls, and the conversion of thrown values to errors.
 *
 * @module
 */

import { WyndError } from "../errors.js";
import type { UpgradeRequest } from "../protocol/handshake.js";
import type { Connection } from "./connection.js";
import type { Handle } from "./handle.js";
import type { Hub } from "./rooms.js";

/** What `Wynd` gives each connection. @internal */
export interface ConnectionContext<Data> {
  readonly hub: Hub<Data>;
  /**
   * Runs the middleware and the `onConnection` handlers. May throw or reject: the error is
   * reported and the connection closed with 1011.
   */
  readonly setup: (connection: Connection<Data>, handle: Handle<Data>, request: UpgradeRequest) => unknown;
  /**
   * Reports a handler failure to the server level. `handled` tells whether the connection had
   * `onError` handlers of its own (to decide whether to print it when nobody listens).
   */
  readonly report: (error: Error, handle: Handle<Data>, handled: boolean) => void;
  /** Called once per connection, when its close handlers have run. */
  readonly finished: (connection: Connection<Data>) => void;
}

/**
 * Key of the method `Wynd.close()` calls on each connection: stop delivering messages and read
 * again so the closing handshake can complete. A symbol keeps it off the public surface.
 * @internal
 */
export const BEGIN_SHUTDOWN: unique symbol = Symbol("wynd.beginShutdown");
/**
 * Key of the promise that resolves once a connection's close handlers have run, which
 * `Wynd.close()` waits for before the server's own `onClose`.
 * @internal
 */
export const FINISHED: unique symbol = Symbol("wynd.finished");

/** Handlers may throw anything; error handlers receive an `Error`. @internal */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new WyndError("ERR_HANDLER_THREW", `a handler threw a non-Error value: ${String(value)}`, { cause: value });
}
