/**
 * The server side of the WebSocket opening handshake (RFC 6455 §4.2), sans I/O: validating a
 * parsed upgrade request and building the server's answer (101 or a refusal). Heads are parsed
 * by `./http-parser.ts`; the client side is `./handshake-client.ts` and the field grammar both
 * share is `./handshake-fields.ts`, both re-exported from here (this module remains the one entry
 * for the whole handshake).
 *
 * Refusals are {@link HandshakeError}s with the HTTP status to answer (server side) or the
 * status received (client side). Values the caller asks us to write into a head are checked for
 * header injection; misuse throws a TypeError or RangeError.
 *
 * @module
 */

import { HandshakeError } from "../errors.js";
import { WEBSOCKET_VERSION } from "./constants.js";
import { computeAccept, endHead, containsToken, isProtocolList, isValidHost, isValidKey, writeHeaders } from "./handshake-fields.js";
import { isToken, parseHeaderBlock, type HttpHeaders, type HttpRequestHead } from "./http-parser.js";

// The client side and the shared accept key live in their own modules; re-exported here so that
// `./handshake.js` keeps offering the whole handshake, as it did before the split.
export { computeAccept } from "./handshake-fields.js";
export {
  buildClientRequest,
  generateKey,
  validateServerResponse,
  type AcceptedResponse,
  type ClientRequestOptions,
} from "./handshake-client.js";

/** A validated upgrade request (server side). */
export interface UpgradeRequest {
  /** Always `"GET"`. */
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  /** The path part of the target (origin-form, or the path of an absolute-form target). */
  readonly path: string;
  /** What follows the first `?`, without it; `""` when none. */
  readonly query: string;
  /** The Host header, or the authority of an absolute-form target (RFC 9112 §3.2.2). */
  readonly host: string;
  /** The Origin header (RFC 6455 §4.2.1 item 7), sent by browsers; undefined when absent. */
  readonly origin: string | undefined;
  /** The validated `Sec-WebSocket-Key`. */
  readonly key: string;
  /** The subprotocols offered, in order of preference; empty when none. */
  readonly protocols: readonly string[];
  /** The raw `Sec-WebSocket-Extensions` value (lines joined with ", "); undefined when none. */
  readonly extensions: string | undefined;
  /** Every header of the request. */
  readonly headers: HttpHeaders;
}

/**
 * Validates an upgrade request per RFC 6455 §4.2.1 (and RFC 9110/9112 where they apply).
 * Throws a {@link HandshakeError} to answer with {@link rejectResponseFor}:
 *
 * - 405 `ERR_METHOD_NOT_ALLOWED` (with `Allow: GET`): the method is not GET;
 * - 400 `ERR_UNSUPPORTED_HTTP_VERSION`: HTTP/1.0 (RFC 6455 §4.2.1 asks for HTTP/1.1 or higher);
 * - 505 `ERR_UNSUPPORTED_HTTP_VERSION`: a major version other than 1 (RFC 9110 §15.6.6);
 * - 400 `ERR_INVALID_HOST`: Host missing, repeated or not a host[:port];
 * - 400 `ERR_INVALID_TARGET`: not origin-form or absolute-form, or has a fragment;
 * - 400 `ERR_UNEXPECTED_BODY`: Transfer-Encoding, or a Content-Length other than 0 (the bytes
 *   after the head must be frames: a body would be read as frames, a smuggling vector);
 * - 400 `ERR_INVALID_UPGRADE`: Upgrade does not list `websocket`. (400, not 426: a 426 MUST
 *   carry `Upgrade` and hence `Connection: upgrade`, which contradicts `Connection: close`.)
 * - 400 `ERR_INVALID_CONNECTION`: Connection does not list `upgrade`;
 * - 426 `ERR_UNSUPPORTED_WEBSOCKET_VERSION` (with `Sec-WebSocket-Version: 13`): the version is
 *   missing, repeated or not 13;
 * - 400 `ERR_INVALID_KEY`: the key is missing, repeated or does not decode to 16 bytes;
 * - 400 `ERR_INVALID_PROTOCOL`: Sec-WebSocket-Protocol is empty, or has a non-token or a
 *   duplicate.
 */
export function validateUpgradeRequest(head: HttpRequestHead): UpgradeRequest {
  const { headers } = head;
  // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request". RFC 9110 §15.5.6: the origin
  // server MUST generate an Allow header field in a 405 response.
  if (head.method !== "GET") {
    throw new HandshakeError("ERR_METHOD_NOT_ALLOWED", 405, "the WebSocket handshake requires GET", [
      ["Allow", "GET"],
    ]);
  }
  // A major version other than 1 is not HTTP/1 framing at all (RFC 9112 §2.3): RFC 9110
  // §15.6.6, 505 means the server "does not support, or refuses to support, the major version
  // of HTTP that was used in the request message".
  if (head.versionMajor !== 1) {
    throw new HandshakeError("ERR_UNSUPPORTED_HTTP_VERSION", 505, "the WebSocket handshake requires HTTP/1.1");
  }
  // HTTP/1.0 is the supported major version, so not a 505: RFC 6455 §4.2.1 item 1 asks for "An
  // HTTP/1.1 or higher GET request", and a handshake that does not match it gets "an
  // appropriate error code (such as 400 Bad Request)". Not 426: RFC 9110 §7.8 has a server
  // ignore Upgrade in an HTTP/1.0 request, and a 426 MUST carry Upgrade (§15.5.22), which an
  // HTTP/1.0 client cannot act on over this connection.
  if (head.versionMinor < 1) {
    throw new HandshakeError("ERR_UNSUPPORTED_HTTP_VERSION", 400, "the WebSocket handshake requires HTTP/1.1, not HTTP/1.0");
  }
  // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
  // request message that lacks a Host header field and to any request message that contains
  // more than one Host header field line or a Host header field with an invalid field value."
  const hostLines = headers.getAll("host");
  const hostLine = hostLines[0];
  if (hostLines.length !== 1 || hostLine === undefined || !isValidHost(hostLine)) {
    throw new HandshakeError("ERR_INVALID_HOST", 400, "exactly one valid Host header is required");
  }
  const parts = splitTarget(head.target);
  if (parts === undefined) {
    throw new HandshakeError("ERR_INVALID_TARGET", 400, "invalid request target");
  }
  const contentLength = headers.getAll("content-length");
  if (headers.has("transfer-encoding") || contentLength.some((v) => v !== "0")) {
    throw new HandshakeError("ERR_UNEXPECTED_BODY", 400, "a WebSocket handshake request has no body");
  }
  // RFC 6455 §4.2.1 item 3: an |Upgrade| header field containing the value "websocket",
  // treated as an ASCII case-insensitive value.
  if (!containsToken(headers.tokens("upgrade"), "websocket")) {
    throw new HandshakeError("ERR_INVALID_UPGRADE", 400, "the Upgrade header must include websocket");
  }
  // RFC 6455 §4.2.1 item 4: a |Connection| header field that includes the token "Upgrade",
  // treated as an ASCII case-insensitive value.
  if (!containsToken(headers.tokens("connection"), "upgrade")) {
    throw new HandshakeError("ERR_INVALID_CONNECTION", 400, "the Connection header must include upgrade");
  }
  // RFC 6455 §4.2.1 item 6: |Sec-WebSocket-Version| with a value of 13. §4.4: otherwise the
  // server MUST send "an appropriate HTTP error code (such as 426 Upgrade Required) and a
  // |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of".
  const versions = headers.getAll("sec-websocket-version");
  if (versions.length !== 1 || versions[0] !== WEBSOCKET_VERSION) {
    throw new HandshakeError(
      "ERR_UNSUPPORTED_WEBSOCKET_VERSION",
      426,
      `Sec-WebSocket-Version must be ${WEBSOCKET_VERSION}`,
      [["Sec-WebSocket-Version", WEBSOCKET_VERSION]],
    );
  }
  // RFC 6455 §4.2.1 item 5: a |Sec-WebSocket-Key| header field with a base64-encoded value
  // that, when decoded, is 16 bytes in length. §11.3.1: it MUST NOT appear more than once.
  const keys = headers.getAll("sec-websocket-key");
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || !isValidKey(key)) {
    throw new HandshakeError("ERR_INVALID_KEY", 400, "invalid Sec-WebSocket-Key");
  }
  // RFC 6455 §4.1: the subprotocol values "MUST be non-empty strings with characters in the
  // range U+0021 to U+007E not including separator characters ... and MUST all be unique";
  // §4.3 Sec-WebSocket-Protocol-Client = 1#token.
  const protocols = headers.tokens("sec-websocket-protocol");
  if (headers.has("sec-websocket-protocol") && !isProtocolList(protocols)) {
    throw new HandshakeError("ERR_INVALID_PROTOCOL", 400, "invalid Sec-WebSocket-Protocol");
  }
  return new ValidatedRequest(fieldsOf(head.target, parts, parts.authority ?? hostLine, key, protocols, headers), head.raw, headers);
}

const NO_PROTOCOLS: readonly string[] = Object.freeze([]);

/** The fields of an {@link UpgradeRequest} but its method and headers. */
interface RequestFields {
  readonly target: string;
  readonly path: string;
  readonly query: string;
  readonly host: string;
  readonly origin: string | undefined;
  readonly key: string;
  readonly protocols: readonly string[];
  readonly extensions: string | undefined;
}

function fieldsOf(
  target: string,
  parts: { readonly path: string; readonly query: string },
  host: string,
  key: string,
  protocols: readonly string[],
  headers: HttpHeaders,
): RequestFields {
  return {
    target,
    path: parts.path,
    query: parts.query,
    host,
    origin: headers.get("origin"),
    key,
    protocols: protocols.length === 0 ? NO_PROTOCOLS : protocols,
    extensions: headers.get("sec-websocket-extensions"),
  };
}

/**
 * The fields of a request that {@link validateUpgradeRequest} accepted, derived again from the
 * head's text (the same values: every check passed the first time).
 */
function fieldsFromRaw(raw: string, headers: HttpHeaders): RequestFields {
  let start = 0;
  while (raw.startsWith("\r\n", start)) start += 2; // RFC 9112 §2.2: empty lines before the request-line
  const line = raw.slice(start, raw.indexOf("\r\n", start));
  const target = line.slice(line.indexOf(" ") + 1, line.lastIndexOf(" "));
  const parts = splitTarget(target)!;
  const host = parts.authority ?? headers.get("host")!;
  return fieldsOf(target, parts, host, headers.get("sec-websocket-key")!, headers.tokens("sec-websocket-protocol"), headers);
}

/**
 * An {@link UpgradeRequest} that a connection can keep for its whole life at little cost. When
 * the head was parsed from bytes, the server calls {@link releaseRequestFields} once the
 * connection is set up: only the head's text stays, and the fields (and `headers`) are derived
 * from it again on first use. Keeping the `HttpHeaders` (a frozen pair, a lower-cased name and
 * two sliced strings per line) cost about 1 KiB per idle connection for a browser's request;
 * the fields, their strings and their object about 200 B more.
 */
class ValidatedRequest implements UpgradeRequest {
  #fields: RequestFields | undefined;
  #headers: HttpHeaders | undefined;
  readonly #raw: string | undefined;

  constructor(fields: RequestFields, raw: string | undefined, headers: HttpHeaders) {
    this.#fields = fields;
    this.#raw = raw;
    this.#headers = raw === undefined ? headers : undefined;
  }

  /** Always `"GET"` (validated). */
  get method(): string {
    return "GET";
  }

  get target(): string {
    return this.#get().target;
  }

  get path(): string {
    return this.#get().path;
  }

  get query(): string {
    return this.#get().query;
  }

  get host(): string {
    return this.#get().host;
  }

  get origin(): string | undefined {
    return this.#get().origin;
  }

  get key(): string {
    return this.#get().key;
  }

  get protocols(): readonly string[] {
    return this.#get().protocols;
  }

  get extensions(): string | undefined {
    return this.#get().extensions;
  }

  get headers(): HttpHeaders {
    return (this.#headers ??= parseHeaderBlock(this.#raw!));
  }

  #get(): RequestFields {
    // Headers parsed for this are not kept: only a reader of `headers` pays for them.
    return (this.#fields ??= fieldsFromRaw(this.#raw!, this.#headers ?? parseHeaderBlock(this.#raw!)));
  }

  /** Forgets the fields when they can be derived from the head's text again. */
  release(): void {
    if (this.#raw !== undefined) this.#fields = undefined;
  }
}

/**
 * Lets `request` (from {@link validateUpgradeRequest}) forget its parsed fields, which are
 * derived again from the head's text on first use: for a server, once the handshake is over.
 * @internal
 */
export function releaseRequestFields(request: UpgradeRequest): void {
  if (request instanceof ValidatedRequest) request.release();
}

/** Splits a request-target into path, query and (absolute-form only) authority. */
function splitTarget(target: string): { path: string; query: string; authority: string | undefined } | undefined {
  // RFC 6455 §3: fragment identifiers "MUST NOT be used on these URIs"; RFC 9112 §3.2 has no
  // fragment in a request-target either.
  if (target.includes("#")) return undefined;
  let authority: string | undefined;
  let pathAndQuery = target;
  if (target.charCodeAt(0) !== 0x2f /* "/" */) {
    // RFC 9112 §3.2.2: "A server MUST accept the absolute-form in requests", and then use its
    // authority instead of Host. Asterisk-form and authority-form have no meaning here.
    const sep = target.indexOf("://");
    const scheme = sep === -1 ? "" : target.slice(0, sep).toLowerCase();
    if (scheme !== "ws" && scheme !== "wss" && scheme !== "http" && scheme !== "https") return undefined;
    let end = sep + 3;
    while (end < target.length && target[end] !== "/" && target[end] !== "?") end++;
    authority = target.slice(sep + 3, end);
    if (!isValidHost(authority)) return undefined;
    pathAndQuery = target.slice(end);
    if (pathAndQuery.charCodeAt(0) !== 0x2f) pathAndQuery = `/${pathAndQuery}`;
  }
  const q = pathAndQuery.indexOf("?");
  return q === -1
    ? { path: pathAndQuery, query: "", authority }
    : { path: pathAndQuery.slice(0, q), query: pathAndQuery.slice(q + 1), authority };
}

/** Options of {@link buildAcceptResponse}. */
export interface AcceptOptions {
  /** The selected subprotocol, one of those offered; omitted when undefined or "". */
  readonly protocol?: string | undefined;
  /** The negotiated `Sec-WebSocket-Extensions` value; omitted when undefined or "". */
  readonly extensions?: string | undefined;
  /** Extra headers, written last, in order. */
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined;
}

/**
 * The server's 101 answer (RFC 6455 §4.2.2 item 5): status line, `Upgrade: websocket`,
 * `Connection: Upgrade`, `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol`,
 * `Sec-WebSocket-Extensions` and the extra headers when given. Throws a TypeError if the
 * protocol is not a token or a header would allow injection.
 */
export function buildAcceptResponse(key: string, options: AcceptOptions = {}): Buffer {
  const lines = [
    "HTTP/1.1 101 Switching Protocols\r\n",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n`,
  ];
  const { protocol, extensions } = options;
  if (protocol !== undefined && protocol !== "") {
    // RFC 6455 §4.2.2: the selected subprotocol is one of the tokens the client offered.
    if (!isToken(protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(protocol)}`);
    lines.push(`Sec-WebSocket-Protocol: ${protocol}\r\n`);
  }
  return endHead(lines, extensions, options.headers);
}

/** RFC 9110 §15 (and RFC 6585, RFC 7725) reason phrases of the statuses a refusal may use. */
const REASONS: Readonly<Record<number, string>> = {
  300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
  305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
  407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
  414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
  417: "Expectation Failed", 421: "Misdirected Request", 422: "Unprocessable Content",
  426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
  503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
  511: "Network Authentication Required",
};

/**
 * A refusal: `HTTP/1.1 <status> <reason>`, `Connection: close`, `Content-Type: text/plain;
 * charset=utf-8`, `Content-Length`, the extra headers, then the body (UTF-8; defaults to the
 * reason phrase, or the status number when it has no standard reason).
 *
 * Throws a RangeError unless `status` is an integer in 300-599 other than 304 (a refusal with a
 * body), and a TypeError for an injectable header or an extra `Content-Length` or
 * `Transfer-Encoding` (which would contradict the framing written here).
 */
export function buildRejectResponse(
  status: number,
  options: { headers?: ReadonlyArray<readonly [string, string]>; body?: string } = {},
): Buffer {
  if (!Number.isInteger(status) || status < 300 || status > 599 || status === 304) {
    throw new RangeError(`a refusal status must be 300-599 (not 304), got ${String(status)}`);
  }
  const reason = REASONS[status] ?? "";
  const body = options.body ?? (reason === "" ? String(status) : reason);
  const lines = [
    `HTTP/1.1 ${status} ${reason}\r\n`,
    "Connection: close\r\n",
    "Content-Type: text/plain; charset=utf-8\r\n",
    `Content-Length: ${Buffer.byteLength(body, "utf8")}\r\n`,
  ];
  for (const [name] of options.headers ?? []) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "transfer-encoding") {
      throw new TypeError(`${name} is set by buildRejectResponse`);
    }
  }
  writeHeaders(lines, options.headers);
  lines.push("\r\n");
  const head = Buffer.from(lines.join(""), "latin1");
  return body === "" ? head : Buffer.concat([head, Buffer.from(body, "utf8")]);
}

/**
 * The refusal for a server-side {@link HandshakeError} (from the parser or
 * {@link validateUpgradeRequest}): its status, its headers, its message as the body.
 */
export function rejectResponseFor(error: HandshakeError): Buffer {
  return buildRejectResponse(error.status, { headers: error.headers, body: error.message });
}
