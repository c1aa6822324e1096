/**
 * Every limit of the protocol core, with its safe default, in one place. The transport adds its
 * own timing limits (see `src/transport/options.ts`); docs/limits.md lists them all.
 *
 * @module
 */

/** Limits applied while parsing the HTTP/1.1 opening handshake. */
export interface HandshakeLimits {
  /**
   * Maximum size of the whole request (or response) head, request line and headers included.
   * Exceeding it answers 431 Request Header Fields Too Large. Default 16 KiB.
   */
  readonly maxHeaderBytes: number;
  /** Maximum number of header lines. Exceeding it answers 431. Default 100. */
  readonly maxHeaderCount: number;
  /** Maximum length of the request line (or status line). Exceeding it answers 414. Default 8 KiB. */
  readonly maxRequestLineBytes: number;
}

/** Limits applied to incoming frames and messages. */
export interface MessageLimits {
  /**
   * Maximum size of an assembled message in bytes. A frame whose header announces a message
   * over this size fails the connection with 1009 before any payload is buffered.
   * Default 1 MiB (the same safe default as python-websockets).
   */
  readonly maxMessageBytes: number;
  /** Maximum payload size of a single frame. Default: the same as `maxMessageBytes`. */
  readonly maxFrameBytes: number;
  /**
   * Maximum number of frames one fragmented message may span. Fragments are copied into one
   * growing buffer, so they cost no memory beyond the message itself; this bounds the per-frame
   * work a peer can cause per message. Default 65 536 (a 4 MiB message in 64-byte fragments, the
   * largest fragmented case of the Autobahn testsuite). Exceeding it fails the connection with
   * 1009.
   */
  readonly maxFragmentsPerMessage: number;
}

/** The default handshake limits. */
export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxRequestLineBytes: 8 * 1024,
});

/** The default message limits. */
export const DEFAULT_MESSAGE_LIMITS: MessageLimits = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxFrameBytes: 1024 * 1024,
  maxFragmentsPerMessage: 65_536,
});

/**
 * Objects returned by the resolve functions (frozen, so they stay valid): resolving one again
 * returns it as it is. A server resolves its options once; each connection, protocol, frame
 * parser and HTTP parser it creates would otherwise resolve and validate them again (5-7% of the
 * server's CPU in the connect benchmark, for `resolveConnectionOptions` and these).
 */
const resolved = new WeakSet<object>();

/**
 * Marks `value`, frozen, as already resolved and validated (for the transport's own resolved
 * option objects) and returns it.
 * @internal
 */
export function markResolved<T extends object>(value: T): T {
  resolved.add(Object.freeze(value));
  return value;
}

/** Whether `value` came out of a resolve function (see {@link markResolved}). @internal */
export function isResolved(value: object): boolean {
  return resolved.has(value);
}

/**
 * Fills in defaults for a partial set of message limits. `maxFrameBytes` defaults to
 * `maxMessageBytes` when only the latter is given.
 */
export function resolveMessageLimits(partial: Partial<MessageLimits> = {}): MessageLimits {
  if (resolved.has(partial)) return partial as MessageLimits;
  const maxMessageBytes = partial.maxMessageBytes ?? DEFAULT_MESSAGE_LIMITS.maxMessageBytes;
  const limits: MessageLimits = {
    maxMessageBytes,
    maxFrameBytes: partial.maxFrameBytes ?? maxMessageBytes,
    maxFragmentsPerMessage:
      partial.maxFragmentsPerMessage ?? DEFAULT_MESSAGE_LIMITS.maxFragmentsPerMessage,
  };
  for (const [name, value] of Object.entries(limits)) assertPositiveInteger(name, value);
  return markResolved(limits);
}

/** Fills in defaults for a partial set of handshake limits. */
export function resolveHandshakeLimits(partial: Partial<HandshakeLimits> = {}): HandshakeLimits {
  if (resolved.has(partial)) return partial as HandshakeLimits;
  const limits: HandshakeLimits = { ...DEFAULT_HANDSHAKE_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) assertPositiveInteger(name, value);
  return markResolved(limits);
}

/** Throws a RangeError unless `value` is a positive safe integer. */
export function assertPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}
