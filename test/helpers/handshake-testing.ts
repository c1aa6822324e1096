/**
 * Shared by the handshake tests (server side and client side): the RFC 6455 §1.3 sample key,
 * parsing a response head with the real parser, and asserting a HandshakeError.
 *
 * @module
 */

import assert from "node:assert/strict";
import { HandshakeError } from "../../src/errors.js";
import { HttpResponseParser, type HttpResponseHead } from "../../src/protocol/http-parser.js";

/** RFC 6455 §1.3: the sample nonce. */
export const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
/** RFC 6455 §1.3: the accept value of {@link RFC_KEY}. */
export const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** Parses a complete response head (the real parser, not a mock); fails the test otherwise. */
export function responseHead(text: string): HttpResponseHead {
  const result = new HttpResponseParser().push(Buffer.from(text, "latin1"));
  assert.equal(result.state, "complete", text);
  if (result.state !== "complete") throw new Error("unreachable");
  return result.head;
}

/** Asserts that `fn` throws a HandshakeError with this code, status and headers. */
export function rejects(fn: () => unknown, code: string, status: number, headers: ReadonlyArray<readonly [string, string]> = []): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    assert.deepEqual(error.headers, headers);
    return true;
  });
}
