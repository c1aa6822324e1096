/**
 * A sans-I/O, incremental parser for the head of an HTTP/1.1 message (RFC 9112): the request
 * line or status line and the header lines, up to the blank line. Bodies are not parsed: after
 * an opening handshake the bytes that follow the head are WebSocket frames, and they are handed
 * back untouched as `rest`.
 *
 * Design:
 * - Bytes may arrive split anywhere. Each byte is scanned once: the parser remembers where it
 *   stopped and searches for the next LF from there (`Buffer#indexOf`, native), so feeding a head
 *   one byte at a time is linear, not quadratic.
 * - Fast path: a head that arrives whole in the first chunk is decoded straight from that chunk,
 *   which is never copied; `rest` is a `subarray` view of it.
 * - Otherwise the head is accumulated in one growing buffer that never holds more than
 *   `maxHeaderBytes + 1` bytes.
 * - Each line is validated as soon as it is complete, with plain loops over character codes (no
 *   regular expressions: see CVE-2021-32640 in `ws`, a ReDoS on long runs of spaces).
 * - Lines are decoded as latin1 (RFC 9110 §5.5: field values are octets; non-ASCII is obs-text).
 * - The parser never throws on input: it reports one error result and then keeps returning it.
 *
 * The header collection it builds, {@link HttpHeaders}, and the token grammar live in
 * `./http-headers.ts` (re-exported from here).
 *
 * Request errors carry the status to answer with (400, 414, 431). Response errors (client side)
 * carry status 0, meaning "no valid response was received", with the same codes.
 *
 * @module
 */

import { HandshakeError } from "../errors.js";
import { HTAB, HttpHeaders, isOws, isTokenRange, OWNED, SP } from "./http-headers.js";
import { resolveHandshakeLimits, type HandshakeLimits } from "./limits.js";

const LF = 0x0a;
const CR = 0x0d;
const DEL = 0x7f;

export { HttpHeaders, isToken } from "./http-headers.js";

/** A parsed request head: request line and headers. */
export interface HttpRequestHead {
  /** The method token, case-sensitive (RFC 9110 §9.1), e.g. `"GET"`. */
  readonly method: string;
  /** The request-target exactly as sent, e.g. `"/chat?room=1"`. */
  readonly target: string;
  /** The `x` of `HTTP/x.y`. */
  readonly versionMajor: number;
  /** The `y` of `HTTP/x.y`. */
  readonly versionMinor: number;
  /** The header lines. */
  readonly headers: HttpHeaders;
  /**
   * The whole head as received (latin1), when it was parsed from bytes: keeping this one string
   * instead of `headers` is how a connection remembers its request compactly (see
   * {@link parseHeaderBlock}).
   */
  readonly raw?: string;
}

/** A parsed response head: status line and headers. */
export interface HttpResponseHead {
  /** The status code, 100-599. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly statusText: string;
  /** The `x` of `HTTP/x.y`. */
  readonly versionMajor: number;
  /** The `y` of `HTTP/x.y`. */
  readonly versionMinor: number;
  /** The header lines. */
  readonly headers: HttpHeaders;
}

/**
 * What {@link HttpRequestParser.push} and {@link HttpResponseParser.push} return: more bytes
 * are needed, or the head is complete (with the bytes that followed it), or it is invalid.
 */
export type HeadParseResult<T> =
  | { readonly state: "incomplete" }
  | {
      readonly state: "complete";
      readonly head: T;
      /** The bytes after the blank line (WebSocket frames), possibly empty; never lost. */
      readonly rest: Buffer;
    }
  | { readonly state: "error"; readonly error: HandshakeError };

const INCOMPLETE = Object.freeze({ state: "incomplete" } as const);

type ErrorResult = { readonly state: "error"; readonly error: HandshakeError };

/** A line-level defect, turned into a HandshakeError by the parser with the right status. */
interface Fault {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

function fault(code: string, status: number, message: string): Fault {
  return { code, status, message };
}

/** How one kind of head is read: its start line, then the typed head. */
interface HeadKind<S, T> {
  /** Parses the request or status line. */
  readonly parseStart: (line: string) => S | Fault;
  /** Builds the typed head once the blank line arrived (`head`: its bytes, as a view). */
  readonly build: (start: S, headers: HttpHeaders, head: Buffer) => T;
  /** Request parsers keep each fault's status; response parsers report status 0. */
  readonly isResponse: boolean;
}

/**
 * The shared incremental machinery of both parsers: finds lines, enforces limits, parses header
 * lines, and delegates the start line.
 */
class HeadScanner<S extends object, T> {
  readonly #limits: HandshakeLimits;
  readonly #kind: HeadKind<S, T>;
  /** The head bytes received so far (stream offsets 0..#length), once a push was incomplete. */
  #buffer: Buffer | undefined;
  #length = 0;
  /** Stream offset where the next LF search starts: every byte before it was scanned. */
  #scanned = 0;
  /** Stream offset of the first byte of the current (unfinished) line. */
  #lineStart = 0;
  #start: S | undefined;
  #entries: Array<readonly [string, string]> = [];
  #final: ErrorResult | undefined;
  /**
   * Set once the head is complete. The "parser finished" error is built only if push is called
   * again: building it eagerly (an Error capturing a stack trace) was 9.7% of the server's CPU in
   * the connect benchmark, and it stayed reachable for the connection's whole life.
   */
  #complete = false;

  constructor(limits: Partial<HandshakeLimits>, kind: HeadKind<S, T>) {
    this.#limits = resolveHandshakeLimits(limits);
    this.#kind = kind;
  }

  push(chunk: Buffer): HeadParseResult<T> {
    if (this.#final !== undefined) return this.#final;
    if (this.#complete) return (this.#final = finishedError(this.#kind.isResponse));
    // Never hold more than maxHeaderBytes + 1 bytes: one byte over the limit is enough to know.
    const cap = this.#limits.maxHeaderBytes + 1;
    let view: Buffer;
    let chunkOffset: number; // stream offset of chunk[0]
    if (this.#length === 0) {
      // Fast path: nothing buffered, scan the caller's chunk in place.
      chunkOffset = 0;
      view = chunk.length > cap ? chunk.subarray(0, cap) : chunk;
    } else {
      chunkOffset = this.#length;
      this.#append(chunk, cap);
      view = (this.#buffer as Buffer).subarray(0, this.#length);
    }

    const outcome = this.#scan(view);
    if ("state" in outcome) {
      if (chunkOffset === 0 && view.length > 0) this.#append(view, cap);
      return INCOMPLETE;
    }
    this.#buffer = undefined;
    const { isResponse } = this.#kind;
    if ("code" in outcome) {
      const status = isResponse ? 0 : outcome.status;
      this.#final = { state: "error", error: new HandshakeError(outcome.code, status, outcome.message) };
      return this.#final;
    }
    this.#complete = true;
    const head = this.#kind.build(this.#start as S, new HttpHeaders(this.#entries, OWNED), view.subarray(0, outcome.end));
    this.#entries = [];
    return { state: "complete", head, rest: chunk.subarray(outcome.end - chunkOffset) };
  }

  /** Copies up to `cap - #length` bytes of `bytes` into the accumulation buffer. */
  #append(bytes: Buffer, cap: number): void {
    const take = Math.min(bytes.length, cap - this.#length);
    if (take <= 0) return;
    const needed = this.#length + take;
    if (this.#buffer === undefined || this.#buffer.length < needed) {
      // Doubling keeps the total copying linear in the head size.
      const size = Math.min(cap, Math.max(needed, 256, (this.#buffer?.length ?? 0) * 2));
      const grown = Buffer.allocUnsafe(size);
      if (this.#buffer !== undefined) this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    bytes.copy(this.#buffer, this.#length, 0, take);
    this.#length = needed;
  }

  /**
   * Scans `view` (stream offsets 0..view.length) from where the last scan stopped. Returns the
   * stream offset just past the blank line, a fault, or INCOMPLETE.
   */
  #scan(view: Buffer): { readonly end: number } | Fault | typeof INCOMPLETE {
    const { maxHeaderBytes, maxHeaderCount, maxRequestLineBytes } = this.#limits;
    let pos = this.#scanned;
    for (;;) {
      const lf = view.indexOf(LF, pos);
      if (lf === -1) break;
      const lineStart = this.#lineStart;
      pos = lf + 1;
      this.#lineStart = pos;
      // The same test runs on partial lines below, so the outcome never depends on chunking.
      if (this.#start === undefined && lf - lineStart - 1 > maxRequestLineBytes) {
        return tooLong(this.#kind.isResponse);
      }
      // RFC 9112 §2.2: lines end with CRLF. A bare LF is accepted by some parsers; we do not,
      // as the lenient reading is a classic request-smuggling vector.
      if (lf === lineStart || view[lf - 1] !== CR) {
        return fault("ERR_BARE_LF", 400, "header lines must end with CRLF, not a bare LF");
      }
      if (pos > maxHeaderBytes) return tooLarge();
      const lineEnd = lf - 1;
      if (this.#start === undefined) {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before the
        // request-line.
        if (lineEnd === lineStart) continue;
        const start = this.#kind.parseStart(view.toString("latin1", lineStart, lineEnd));
        if ("code" in start) return start;
        this.#start = start;
      } else if (lineEnd === lineStart) {
        return { end: pos };
      } else {
        if (this.#entries.length >= maxHeaderCount) {
          return fault("ERR_TOO_MANY_HEADERS", 431, `more than ${maxHeaderCount} header lines`);
        }
        const entry = parseHeaderLine(view.toString("latin1", lineStart, lineEnd));
        if ("code" in entry) return entry;
        this.#entries.push(entry);
      }
    }
    this.#scanned = view.length;
    if (this.#start === undefined && view.length - this.#lineStart - 1 > maxRequestLineBytes) {
      return tooLong(this.#kind.isResponse);
    }
    if (view.length > maxHeaderBytes) return tooLarge();
    return INCOMPLETE;
  }
}

/** The result of every push after the head was complete: later bytes are frames, not HTTP. */
function finishedError(isResponse: boolean): ErrorResult {
  const message = "the head was already parsed: later bytes belong to the WebSocket connection";
  return { state: "error", error: new HandshakeError("ERR_PARSER_FINISHED", isResponse ? 0 : 500, message) };
}

/**
 * The header lines of a head that {@link HttpRequestParser} already accepted (its `raw`): the
 * same {@link HttpHeaders} it built, parsed again from the one string. Lines that are not
 * headers (the start line, empty lines) are skipped.
 */
export function parseHeaderBlock(raw: string): HttpHeaders {
  const entries: Array<readonly [string, string]> = [];
  let start = 0;
  let seenStart = false;
  for (;;) {
    const end = raw.indexOf("\r\n", start);
    if (end === -1 || (end === start && seenStart)) break;
    if (end > start) {
      if (seenStart) {
        const entry = parseHeaderLine(raw.slice(start, end));
        if (!("code" in entry)) entries.push(entry);
      }
      seenStart = true;
    }
    start = end + 2;
  }
  return new HttpHeaders(entries, OWNED);
}

function tooLong(isResponse: boolean): Fault {
  return isResponse
    ? fault("ERR_STATUS_LINE_TOO_LONG", 414, "status line too long")
    : fault("ERR_REQUEST_LINE_TOO_LONG", 414, "request line too long");
}

function tooLarge(): Fault {
  return fault("ERR_HEADERS_TOO_LARGE", 431, "header section too large");
}

/**
 * Parses `name ":" OWS value OWS` (RFC 9112 §5). Returns the entry or a fault (always 400).
 */
function parseHeaderLine(line: string): readonly [string, string] | Fault {
  const first = line.charCodeAt(0);
  // RFC 9112 §5.2: a server that receives an obs-fold in a request message ... MUST either
  // reject the message by sending a 400 (Bad Request) ... or replace each received obs-fold
  // with one or more SP octets. We reject.
  if (first === SP || first === HTAB) {
    return fault("ERR_OBS_FOLD", 400, "obsolete line folding is not accepted");
  }
  const colon = line.indexOf(":");
  // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon ... a server
  // MUST reject, with a response status code of 400". The token check covers it.
  if (colon <= 0 || !isTokenRange(line, 0, colon)) {
    return fault("ERR_INVALID_HEADER_NAME", 400, "invalid header name");
  }
  let start = colon + 1;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start++;
  while (end > start && isOws(line.charCodeAt(end - 1))) end--;
  // RFC 9110 §5.5: field-vchar = VCHAR / obs-text, with SP / HTAB inside. CR, LF and NUL
  // "are invalid and dangerous"; we reject every other control character too.
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c === DEL) {
      return fault("ERR_INVALID_HEADER_VALUE", 400, "invalid character in a header value");
    }
  }
  return [line.slice(0, colon), line.slice(start, end)];
}

/**
 * Parses `"HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3, HTTP-name is case-sensitive) at
 * `line[from..from+8)`. Returns [major, minor] or undefined.
 */
function parseVersion(line: string, from: number): readonly [number, number] | undefined {
  if (!line.startsWith("HTTP/", from) || line.charCodeAt(from + 6) !== 0x2e) return undefined;
  const major = line.charCodeAt(from + 5) - 0x30;
  const minor = line.charCodeAt(from + 7) - 0x30;
  if (!(major >= 0 && major <= 9 && minor >= 0 && minor <= 9)) return undefined;
  return [major, minor];
}

interface RequestLine {
  readonly method: string;
  readonly target: string;
  readonly version: readonly [number, number];
}

/** RFC 9112 §3: request-line = method SP request-target SP HTTP-version. */
function parseRequestLine(line: string): RequestLine | Fault {
  const bad = fault("ERR_INVALID_REQUEST_LINE", 400, "malformed request line");
  const sp1 = line.indexOf(" ");
  if (sp1 <= 0 || !isTokenRange(line, 0, sp1)) return bad;
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp2 === -1 || sp2 === sp1 + 1) return bad;
  // The request-target has no whitespace or controls (RFC 9112 §3.2). Bytes >= 0x80 are
  // let through as llhttp does: they are the application's concern, not a framing hazard.
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = line.charCodeAt(i);
    if (c <= SP || c === DEL) return bad;
  }
  const version = parseVersion(line, sp2 + 1);
  if (version === undefined || line.length !== sp2 + 9) return bad;
  return { method: line.slice(0, sp1), target: line.slice(sp1 + 1, sp2), version };
}

interface StatusLine {
  readonly status: number;
  readonly statusText: string;
  readonly version: readonly [number, number];
}

/**
 * RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. A missing SP
 * after the code is tolerated (some servers omit it), the status is 100-599 (RFC 9110 §15).
 */
function parseStatusLine(line: string): StatusLine | Fault {
  const bad = fault("ERR_INVALID_STATUS_LINE", 400, "malformed status line");
  const version = parseVersion(line, 0);
  if (version === undefined || line.charCodeAt(8) !== SP) return bad;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = line.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return bad;
    status = status * 10 + d;
  }
  if (status < 100 || status > 599) return bad;
  if (line.length === 12) return { status, statusText: "", version };
  if (line.charCodeAt(12) !== SP) return bad;
  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
  for (let i = 13; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c === DEL) return bad;
  }
  return { status, statusText: line.slice(13), version };
}

const REQUEST: HeadKind<RequestLine, HttpRequestHead> = {
  parseStart: parseRequestLine,
  build: ({ method, target, version }, headers, head) =>
    ({ method, target, versionMajor: version[0], versionMinor: version[1], headers, raw: head.toString("latin1") }),
  isResponse: false,
};

const RESPONSE: HeadKind<StatusLine, HttpResponseHead> = {
  parseStart: parseStatusLine,
  build: ({ status, statusText, version }, headers) =>
    ({ status, statusText, versionMajor: version[0], versionMinor: version[1], headers }),
  isResponse: true,
};

/**
 * Incremental parser for a request head (server side). Feed it every chunk with
 * {@link HttpRequestParser.push} until the result is not `incomplete`.
 *
 * Errors carry the status to answer with: 400 (malformed), 414 (`ERR_REQUEST_LINE_TOO_LONG`),
 * 431 (`ERR_HEADERS_TOO_LARGE`, `ERR_TOO_MANY_HEADERS`). After an error every push returns the
 * same error; after `complete`, push returns an `ERR_PARSER_FINISHED` error (status 500), as the
 * later bytes belong to the frame parser.
 */
export class HttpRequestParser {
  readonly #scanner: HeadScanner<RequestLine, HttpRequestHead>;

  /** Limits default to {@link resolveHandshakeLimits}; throws a RangeError for invalid ones. */
  constructor(limits: Partial<HandshakeLimits> = {}) {
    this.#scanner = new HeadScanner(limits, REQUEST);
  }

  /** Feeds the next bytes; never throws on any input. */
  push(chunk: Buffer): HeadParseResult<HttpRequestHead> {
    return this.#scanner.push(chunk);
  }
}

/**
 * Incremental parser for a response head (client side). Same contract as
 * {@link HttpRequestParser}, but every error carries status 0 ("no valid response received";
 * the codes are the same, `ERR_STATUS_LINE_TOO_LONG` replacing `ERR_REQUEST_LINE_TOO_LONG`), and
 * `maxRequestLineBytes` bounds the status line.
 */
export class HttpResponseParser {
  readonly #scanner: HeadScanner<StatusLine, HttpResponseHead>;

  /** Limits default to {@link resolveHandshakeLimits}; throws a RangeError for invalid ones. */
  constructor(limits: Partial<HandshakeLimits> = {}) {
    this.#scanner = new HeadScanner(limits, RESPONSE);
  }

  /** Feeds the next bytes; never throws on any input. */
  push(chunk: Buffer): HeadParseResult<HttpResponseHead> {
    return this.#scanner.push(chunk);
  }
}
