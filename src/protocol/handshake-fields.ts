/**
 * The header fields both sides of the opening handshake (RFC 6455 §4) compute or check: the
 * accept key, the syntax of a key, of a host and of subprotocol lists, and writing extra header
 * lines without injection. Shared by the server side (`./handshake.ts`) and the client side
 * (`./handshake-client.ts`), so that both apply the same grammar.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { GUID } from "./constants.js";
import { isToken } from "./http-headers.js";

/**
 * RFC 6455 §4.2.2 item 5.4: `Sec-WebSocket-Accept` is the base64-encoded SHA-1 of the key
 * concatenated with the {@link GUID}. `computeAccept("dGhlIHNhbXBsZSBub25jZQ==")` is
 * `"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="` (RFC 6455 §1.3).
 */
export function computeAccept(key: string): string {
  return createHash("sha1").update(key + GUID, "latin1").digest("base64");
}

/**
 * RFC 6455 §4.2.1 item 5: the key "when decoded, is 16 bytes in length". 16 bytes are 22 base64
 * characters and "==", and the 22nd character carries only 2 data bits, so its 4 low bits are
 * zero: it is one of A, Q, g, w. Fixed length, anchored: no backtracking.
 */
const KEY_PATTERN = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/** Whether `key` is a syntactically valid `Sec-WebSocket-Key` (see KEY_PATTERN). */
export function isValidKey(key: string): boolean {
  return key.length === 24 && KEY_PATTERN.test(key);
}

/** Whether `tokens` holds `lowerCaseToken`, ASCII-case-insensitively (RFC 6455 §4.1-4.2 token lists). */
export function containsToken(tokens: readonly string[], lowerCaseToken: string): boolean {
  return tokens.some((t) => t.toLowerCase() === lowerCaseToken);
}

/** Whether `protocols` is a valid subprotocol list: non-empty, unique tokens (RFC 6455 §4.1 item 10). */
export function isProtocolList(protocols: readonly string[]): boolean {
  return protocols.length > 0 && protocols.every(isToken) && new Set(protocols).size === protocols.length;
}

/**
 * RFC 3986 §3.2.2-3.2.3: `host [":" port]` uses unreserved, pct-encoded, sub-delims, ":" and
 * the brackets of IP literals. The WebSocket URI always has a host, so it is not empty.
 */
export function isValidHost(host: string): boolean {
  if (host.length === 0) return false;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && !"-._~%!$&'()*+,;=:[]".includes(host.charAt(i))) return false;
  }
  return true;
}

/** Throws a TypeError unless `name: value` can be written into a head without injection. */
export function assertHeader(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  assertHeaderValue(name, value);
}

/**
 * RFC 9110 §5.5: CR, LF and NUL in a field value "are invalid and dangerous" (header injection,
 * response splitting). Characters above U+00FF cannot be written as latin1 without corruption.
 */
export function assertHeaderValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00 || c > 0xff) {
      throw new TypeError(`invalid character in the value of header ${JSON.stringify(name)}`);
    }
  }
}

/** Appends `name: value` lines for `headers`, checked by {@link assertHeader}. */
export function writeHeaders(lines: string[], headers: ReadonlyArray<readonly [string, string]> | undefined): void {
  for (const [name, value] of headers ?? []) {
    assertHeader(name, value);
    lines.push(`${name}: ${value}\r\n`);
  }
}

/**
 * Ends a handshake head both sides write alike: the `Sec-WebSocket-Extensions` line when
 * `extensions` is not empty, the extra headers in order, the blank line; encoded as latin1
 * (RFC 9110 §5.5: field values are octets). Throws a TypeError for an injectable value.
 */
export function endHead(
  lines: string[],
  extensions: string | undefined,
  headers: ReadonlyArray<readonly [string, string]> | undefined,
): Buffer {
  if (extensions !== undefined && extensions !== "") {
    assertHeaderValue("Sec-WebSocket-Extensions", extensions);
    lines.push(`Sec-WebSocket-Extensions: ${extensions}\r\n`);
  }
  writeHeaders(lines, headers);
  lines.push("\r\n");
  return Buffer.from(lines.join(""), "latin1");
}
