/**
 * The client side of the opening handshake (RFC 6455 §4.1), sans I/O: a fresh key, the request
 * to send, and the validation of the server's response. Split from the server side
 * (`./handshake.ts`, which re-exports all of this) because the two share only the field grammar
 * in `./handshake-fields.ts`: a client never validates a request, a server never builds one.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { HandshakeError } from "../errors.js";
import { WEBSOCKET_VERSION } from "./constants.js";
import { computeAccept, containsToken, isProtocolList, isValidHost, isValidKey, assertHeaderValue, endHead } from "./handshake-fields.js";
import { isToken, type HttpHeaders } from "./http-headers.js";
import type { HttpResponseHead } from "./http-parser.js";

/**
 * RFC 6455 §4.1: a new `Sec-WebSocket-Key`, "a randomly selected 16-byte value that has been
 * base64-encoded", chosen fresh for each connection.
 */
export function generateKey(): string {
  return randomBytes(16).toString("base64");
}

/** Options of {@link buildClientRequest}. */
export interface ClientRequestOptions {
  /** `host[:port]` exactly as it goes in the Host header (port omitted when default). */
  readonly host: string;
  /** Path and query, e.g. `"/chat?room=1"`, percent-encoded. */
  readonly path: string;
  /** A fresh key from {@link generateKey}. */
  readonly key: string;
  /** Subprotocols to offer, in order of preference. */
  readonly protocols?: readonly string[];
  /** The `Sec-WebSocket-Extensions` offer. */
  readonly extensions?: string;
  /** The Origin header (RFC 6455 §4.1 item 8: browsers send it; other clients MAY). */
  readonly origin?: string;
  /** Extra headers, written last, in order. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/**
 * The client's opening handshake (RFC 6455 §4.1): `GET <path> HTTP/1.1`, Host, `Upgrade:
 * websocket`, `Connection: Upgrade`, Sec-WebSocket-Key, `Sec-WebSocket-Version: 13`, then
 * Origin, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions and the extra headers when given.
 * Throws a TypeError for an invalid path, host, key or subprotocol, or an injectable header.
 */
export function buildClientRequest(options: ClientRequestOptions): Buffer {
  const { host, path, key, protocols = [], extensions, origin } = options;
  // RFC 6455 §4.1 item 3: the request-target is the /resource name/: an absolute path and
  // query, no fragment; RFC 9112 §3.2: no whitespace or controls.
  if (path.charCodeAt(0) !== 0x2f || !isVisibleAscii(path) || path.includes("#")) {
    throw new TypeError(`invalid request path ${JSON.stringify(path)}`);
  }
  if (!isValidHost(host)) throw new TypeError(`invalid host ${JSON.stringify(host)}`);
  if (!isValidKey(key)) throw new TypeError(`invalid Sec-WebSocket-Key ${JSON.stringify(key)}`);
  if (protocols.length > 0 && !isProtocolList(protocols)) {
    throw new TypeError("subprotocols must be unique tokens");
  }
  const lines = [
    `GET ${path} HTTP/1.1\r\n`,
    `Host: ${host}\r\n`,
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    `Sec-WebSocket-Key: ${key}\r\n`,
    `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}\r\n`,
  ];
  if (origin !== undefined) {
    assertHeaderValue("Origin", origin);
    lines.push(`Origin: ${origin}\r\n`);
  }
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n`);
  return endHead(lines, extensions, options.headers);
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** What {@link validateServerResponse} returns for an accepted handshake. */
export interface AcceptedResponse {
  /** The subprotocol the server selected; `""` when none. */
  readonly protocol: string;
  /** The raw `Sec-WebSocket-Extensions` value the server accepted; `""` when none. */
  readonly extensions: string;
  /** Every header of the response. */
  readonly headers: HttpHeaders;
}

/**
 * Validates the server's response per RFC 6455 §4.1 (client side), where each defect means the
 * client "MUST _Fail the WebSocket Connection_". Throws a {@link HandshakeError} whose status is
 * the response's status:
 *
 * - `ERR_UNEXPECTED_STATUS`: the status is not 101;
 * - `ERR_UNSUPPORTED_HTTP_VERSION`: not HTTP/1.1 or a later 1.x;
 * - `ERR_INVALID_UPGRADE`: Upgrade is not exactly `websocket` (case-insensitive);
 * - `ERR_INVALID_CONNECTION`: Connection does not list `upgrade`;
 * - `ERR_INVALID_ACCEPT`: not exactly one `Sec-WebSocket-Accept` equal to computeAccept(key);
 * - `ERR_INVALID_PROTOCOL`: a Sec-WebSocket-Protocol that is not exactly one of those offered;
 * - `ERR_UNEXPECTED_EXTENSIONS`: Sec-WebSocket-Extensions while none were offered.
 */
export function validateServerResponse(
  head: HttpResponseHead,
  expected: { key: string; protocols: readonly string[]; extensionsOffered: boolean },
): AcceptedResponse {
  const { status, headers } = head;
  const fail = (code: string, message: string): HandshakeError => new HandshakeError(code, status, message);
  // RFC 6455 §4.1: "If the status code received from the server is not 101, the client
  // handles the response per HTTP [RFC2616] procedures." Redirects etc. are the caller's call.
  if (status !== 101) throw fail("ERR_UNEXPECTED_STATUS", `expected status 101, got ${status}`);
  if (head.versionMajor !== 1 || head.versionMinor < 1) {
    throw fail("ERR_UNSUPPORTED_HTTP_VERSION", "the WebSocket handshake requires HTTP/1.1");
  }
  // RFC 6455 §4.1 item 2: if the |Upgrade| header field "contains a value that is not an ASCII
  // case-insensitive match for the value "websocket"", fail.
  const upgrade = headers.tokens("upgrade");
  if (upgrade.length !== 1 || upgrade[0]?.toLowerCase() !== "websocket") {
    throw fail("ERR_INVALID_UPGRADE", "the Upgrade header must be websocket");
  }
  // RFC 6455 §4.1 item 3: |Connection| must contain a token matching "Upgrade".
  if (!containsToken(headers.tokens("connection"), "upgrade")) {
    throw fail("ERR_INVALID_CONNECTION", "the Connection header must include upgrade");
  }
  // RFC 6455 §4.1 item 4: |Sec-WebSocket-Accept| must be the base64 SHA-1 of key + GUID.
  const accepts = headers.getAll("sec-websocket-accept");
  if (accepts.length !== 1 || accepts[0] !== computeAccept(expected.key)) {
    throw fail("ERR_INVALID_ACCEPT", "Sec-WebSocket-Accept does not match the key");
  }
  // RFC 6455 §4.1 item 6: a subprotocol "that was not present in the client's handshake" fails;
  // RFC 6455 §4.3: Sec-WebSocket-Protocol-Server = token (exactly one).
  let protocol = "";
  if (headers.has("sec-websocket-protocol")) {
    const lines = headers.getAll("sec-websocket-protocol");
    const value = lines[0] ?? "";
    if (lines.length !== 1 || !isToken(value) || !expected.protocols.includes(value)) {
      throw fail("ERR_INVALID_PROTOCOL", "the server selected a subprotocol that was not offered");
    }
    protocol = value;
  }
  // RFC 6455 §4.1 item 5: an extension "that was not present in the client's handshake" fails.
  // Which extensions were accepted, and with which parameters, is checked by the negotiation.
  const extensions = headers.get("sec-websocket-extensions");
  if (extensions !== undefined && !expected.extensionsOffered) {
    throw fail("ERR_UNEXPECTED_EXTENSIONS", "the server accepted extensions that were not offered");
  }
  return { protocol, extensions: extensions ?? "", headers };
}
