/**
 * One error hierarchy shared by every layer. Each error carries a stable `code` string that
 * callers can switch on; the message is for humans and may change.
 *
 * @module
 */

/** Base class of every error wynd raises or reports. */
export class WyndError extends Error {
  /** A stable, machine-readable identifier such as `"ERR_INVALID_UTF8"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The peer broke RFC 6455 (or a configured limit). The connection is failed with
 * {@link ProtocolError.closeCode}.
 */
export class ProtocolError extends WyndError {
  /** The close code sent to the peer (1002, 1007, 1009, ...). */
  readonly closeCode: number;

  constructor(code: string, closeCode: number, message: string) {
    super(code, message);
    this.closeCode = closeCode;
  }
}

/** An opening handshake was refused or is invalid. */
export class HandshakeError extends WyndError {
  /** The HTTP status sent to (server side) or received from (client side) the peer. */
  readonly status: number;
  /** Extra response headers to send with the refusal, e.g. `Sec-WebSocket-Version: 13`. */
  readonly headers: ReadonlyArray<readonly [string, string]>;

  constructor(
    code: string,
    status: number,
    message: string,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(code, message);
    this.status = status;
    this.headers = headers;
  }
}

/** An operation was attempted in a state that does not allow it (caller misuse). */
export class InvalidStateError extends WyndError {
  constructor(message: string) {
    super("ERR_INVALID_STATE", message);
  }
}

/** The connection is closed (or closing): the operation cannot complete. */
export class ConnectionClosedError extends WyndError {
  /** The close code the connection ended with, if known. */
  readonly closeCode: number | undefined;

  constructor(message = "connection is closed", closeCode?: number) {
    super("ERR_CONNECTION_CLOSED", message);
    this.closeCode = closeCode;
  }
}

/** A timeout elapsed (handshake, close handshake or heartbeat). */
export class TimeoutError extends WyndError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}
