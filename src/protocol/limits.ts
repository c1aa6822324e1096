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
   * Maximum number of frames one fragmented message may span. Exceeding it fails the connection
   * with 1009. Default: `maxMessageBytes + 1` (one frame per byte of the largest message, plus a
   * final frame that may be empty, as Autobahn's fragmenter sends when the payload divides
   * evenly).
   *
   * A fragment costs no memory beyond its bytes: fragments are copied into one growing buffer
   * (amortized doubling, no object or array slot per fragment), so the byte limit already bounds
   * every fragment that carries data. Only empty fragments escape it; each costs the parsing of
   * a 2-byte header (6 from a client), the same work as a ping without the pong. Deriving the
   * bound from the byte limit keeps that work per message proportional to the byte limit too.
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
  maxFragmentsPerMessage: 1024 * 1024 + 1,
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
 * `maxMessageBytes` and `maxFragmentsPerMessage` to `maxMessageBytes + 1` when only the
 * former is given.
 */
export function resolveMessageLimits(partial: Partial<MessageLimits> = {}): MessageLimits {
  if (resolved.has(partial)) return partial as MessageLimits;
  const maxMessageBytes = partial.maxMessageBytes ?? DEFAULT_MESSAGE_LIMITS.maxMessageBytes;
  const limits: MessageLimits = {
    maxMessageBytes,
    maxFrameBytes: partial.maxFrameBytes ?? maxMessageBytes,
    maxFragmentsPerMessage: partial.maxFragmentsPerMessage ?? defaultMaxFragments(maxMessageBytes),
  };
  for (const [name, value] of Object.entries(limits)) assertPositiveInteger(name, value);
  return markResolved(limits);
}

/**
 * The default `maxFragmentsPerMessage` for a `maxMessageBytes`: one frame per byte plus a final
 * frame (see {@link MessageLimits.maxFragmentsPerMessage}). Past 2^53 - 1 the count saturates.
 */
function defaultMaxFragments(maxMessageBytes: number): number {
  return Math.min(maxMessageBytes + 1, Number.MAX_SAFE_INTEGER);
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
