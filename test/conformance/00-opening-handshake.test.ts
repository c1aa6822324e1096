// The opening handshake over raw sockets (RFC 6455 §4.2): a valid request gets a 101 with the
// right Sec-WebSocket-Accept, and frames that arrive with the request are not lost; invalid
// requests are refused with the right HTTP status, a consistent response and a clean TCP close.
import assert from "node:assert/strict";
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  assertAccepted,
  closePayload,
  conformanceCase,
  connectRaw,
  encodeFrame,
  handshake,
  handshakeRequest,
  header,
  makeKey,
  type HandshakeResult,
  type RequestOptions,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

/** Sends `request` and expects a refusal with `status`: framed body, Connection: close, FIN. */
async function expectRefusal(request: string | Buffer, status: number | readonly number[]): Promise<HandshakeResult> {
  const result = await handshake(echo.port, { request });
  const statuses = typeof status === "number" ? [status] : status;
  assert.ok(statuses.includes(result.response.status), `expected ${statuses.join(" or ")}, got:\n${result.response.raw}`);
  assert.equal(result.client, undefined);
  assert.equal(header(result.response, "upgrade"), undefined, "a refusal does not upgrade");
  assert.equal(header(result.response, "sec-websocket-accept"), undefined);
  assert.equal(header(result.response, "connection")?.toLowerCase(), "close");
  assert.equal(Number(header(result.response, "content-length")), result.body.length, "Content-Length frames the body");
  assert.ok(result.cleanEnd, "the server closes TCP cleanly after a refusal");
  return result;
}

const request = (options: RequestOptions = {}) => handshakeRequest({ key: "dGhlIHNhbXBsZSBub25jZQ==", ...options });

// Accepted handshakes.

conformanceCase("H.1 a valid request gets 101 with the right Sec-WebSocket-Accept and no extension or subprotocol", async ({ rng }) => {
  const key = makeKey(rng);
  const result = await handshake(echo.port, { rng, request: handshakeRequest({ key }) });
  assertAccepted(result, key);
  assert.match(result.response.raw, /^HTTP\/1\.1 101 /);
  assert.equal(header(result.response, "sec-websocket-extensions"), undefined);
  assert.equal(header(result.response, "sec-websocket-protocol"), undefined);
  await result.client.close(1000);
});

conformanceCase("H.2 the RFC 6455 §1.3 sample key gets the sample accept value", async ({ rng }) => {
  const result = await handshake(echo.port, { rng, request: request() });
  assert.equal(header(result.response, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  await result.client!.close(1000);
});

conformanceCase("H.3 frames in the same TCP chunk as the request are echoed in order", async ({ rng }) => {
  const key = makeKey(rng);
  const frames = [
    encodeFrame({ opcode: OP.TEXT, payload: "first" }, Buffer.of(1, 2, 3, 4)),
    encodeFrame({ opcode: OP.PING, payload: "ping" }, Buffer.of(5, 6, 7, 8)),
    encodeFrame({ opcode: OP.BINARY, payload: Buffer.of(0, 255) }, Buffer.of(9, 9, 9, 9)),
  ];
  const result = await handshake(echo.port, { rng, request: Buffer.concat([Buffer.from(handshakeRequest({ key })), ...frames]) });
  assertAccepted(result, key);
  await result.client.expectFrame({ opcode: OP.TEXT, payload: "first" });
  await result.client.expectFrame({ opcode: OP.PONG, payload: "ping" });
  await result.client.expectFrame({ opcode: OP.BINARY, payload: Buffer.of(0, 255) });
  result.client.sendClose(1000);
  await result.client.expectClose(1000);
});

conformanceCase("H.4 a request and a close frame in one TCP chunk: the close is echoed and TCP ends", async ({ rng }) => {
  const key = makeKey(rng);
  const close = encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }, Buffer.of(1, 2, 3, 4));
  const result = await handshake(echo.port, { rng, request: Buffer.concat([Buffer.from(handshakeRequest({ key })), close]) });
  assertAccepted(result, key);
  await result.client.expectClose(1000);
});

conformanceCase("H.5 a request sent one byte at a time is accepted", async ({ rng }) => {
  const key = makeKey(rng);
  const result = await handshake(echo.port, { rng, request: handshakeRequest({ key }), chunkBytes: 1 });
  assertAccepted(result, key);
  result.client.sendFrame({ opcode: OP.TEXT, payload: "hi" });
  await result.client.expectFrame({ opcode: OP.TEXT, payload: "hi" });
  await result.client.close(1000);
});

conformanceCase("H.6 header names and the Upgrade/Connection tokens are matched case-insensitively, in lists", async ({ rng }) => {
  const key = makeKey(rng);
  const raw = [
    "GET /chat?x=1 HTTP/1.1",
    "host: 127.0.0.1:9001",
    "UPGRADE: WebSocket",
    "connection: keep-alive, Upgrade",
    `sec-websocket-key: ${key}`,
    "SEC-WEBSOCKET-VERSION: 13",
    "User-Agent: conformance",
    "",
    "",
  ].join("\r\n");
  const result = await handshake(echo.port, { rng, request: raw });
  assertAccepted(result, key);
  await result.client.close(1000);
});

conformanceCase("H.7 an offered permessage-deflate is declined, and RSV1 then fails with 1002", async ({ rng }) => {
  const key = makeKey(rng);
  const result = await handshake(echo.port, {
    rng,
    request: handshakeRequest({ key, headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" } }),
  });
  assertAccepted(result, key);
  assert.equal(header(result.response, "sec-websocket-extensions"), undefined, "no extension accepted");
  result.client.sendFrame({ opcode: OP.TEXT, payload: "compressed?", rsv: 4 });
  await result.client.expectClose(1002);
});

conformanceCase("H.8 offered subprotocols are not selected by the echo server", async ({ rng }) => {
  const key = makeKey(rng);
  const result = await handshake(echo.port, { rng, request: handshakeRequest({ key, headers: { "Sec-WebSocket-Protocol": "chat, superchat" } }) });
  assertAccepted(result, key);
  assert.equal(header(result.response, "sec-websocket-protocol"), undefined);
  await result.client.close(1000);
});

conformanceCase("H.9 an Origin header is accepted", async ({ rng }) => {
  const result = await handshake(echo.port, { rng, request: request({ headers: { Origin: "http://example.com" } }) });
  assert.equal(result.response.status, 101);
  await result.client!.close(1000);
});

conformanceCase("H.10 connectRaw's own checks pass against the server (status, Upgrade, Connection, accept)", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.close(1000);
});

// Refused handshakes.

conformanceCase("H.11 a request without Sec-WebSocket-Key is refused with 400", () =>
  expectRefusal(request({ headers: { "Sec-WebSocket-Key": null } }), 400),
);

for (const [i, key] of ["dGhlIHNhbXBsZQ==", "not base64 at all!!!!!!=", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR=="].entries()) {
  conformanceCase(`H.${12 + i} an invalid Sec-WebSocket-Key ${JSON.stringify(key)} is refused with 400`, () =>
    expectRefusal(request({ key }), 400),
  );
}

conformanceCase("H.16 two Sec-WebSocket-Key headers are refused with 400", () =>
  expectRefusal(request().replace("\r\n\r\n", "\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"), 400),
);

conformanceCase("H.17 Sec-WebSocket-Version 8 is refused with 426 and Sec-WebSocket-Version: 13", async () => {
  const result = await expectRefusal(request({ headers: { "Sec-WebSocket-Version": "8" } }), 426);
  assert.equal(header(result.response, "sec-websocket-version"), "13");
});

conformanceCase("H.18 a missing Sec-WebSocket-Version is refused with 426 and Sec-WebSocket-Version: 13", async () => {
  const result = await expectRefusal(request({ headers: { "Sec-WebSocket-Version": null } }), 426);
  assert.equal(header(result.response, "sec-websocket-version"), "13");
});

conformanceCase("H.19 a POST is refused with 405 and Allow: GET", async () => {
  const result = await expectRefusal(request({ method: "POST" }), 405);
  assert.equal(header(result.response, "allow"), "GET");
});

conformanceCase("H.20 a header section over 16 KiB is refused with 431", () =>
  expectRefusal(request({ headers: { "X-Padding": "a".repeat(17 * 1024) } }), 431),
);

conformanceCase("H.21 more than 100 header lines are refused with 431", () => {
  const headers: Record<string, string> = {};
  for (let i = 0; i < 101; i++) headers[`X-Header-${i}`] = "v";
  return expectRefusal(request({ headers }), 431);
});

conformanceCase("H.22 a request line over 8 KiB is refused with 414", () =>
  expectRefusal(request({ path: `/${"a".repeat(9000)}` }), 414),
);

conformanceCase("H.23 a request without Upgrade: websocket is refused with 400", () =>
  expectRefusal(request({ headers: { Upgrade: null } }), 400),
);

conformanceCase("H.24 a request whose Connection header lacks upgrade is refused with 400", () =>
  expectRefusal(request({ headers: { Connection: "keep-alive" } }), 400),
);

conformanceCase("H.25 a request without Host is refused with 400", () =>
  expectRefusal(request({ headers: { Host: null } }), 400),
);

conformanceCase("H.26 an HTTP/1.0 request is refused with 400, not 505 (the same major version); HTTP/2.0 with 505", async () => {
  // RFC 9110 §15.6.6: 505 is for a major version the server does not support; RFC 6455
  // §4.2.1 makes an HTTP/1.0 handshake a client error ("such as 400 Bad Request").
  const old = await expectRefusal(request({ httpVersion: "1.0" }), 400);
  assert.match(old.body.toString(), /HTTP\/1\.1/);
  await expectRefusal(request({ httpVersion: "2.0" }), 505);
});

conformanceCase("H.27 header lines ending with a bare LF are refused with 400", () =>
  expectRefusal(request().replace(/\r\n/g, "\n"), 400),
);

conformanceCase("H.28 a request announcing a body is refused with 400", () =>
  expectRefusal(request({ headers: { "Content-Length": "5" } }) + "hello", 400),
);

conformanceCase("H.29 frames sent after a refused request are never processed", async () => {
  const frames = encodeFrame({ opcode: OP.TEXT, payload: "ignored" }, Buffer.of(1, 2, 3, 4));
  const result = await expectRefusal(Buffer.concat([Buffer.from(request({ headers: { "Sec-WebSocket-Version": "8" } })), frames]), 426);
  assert.ok(!result.body.includes("ignored"), "nothing echoed");
});

conformanceCase("H.30 bytes that are not HTTP are refused with 400", () =>
  expectRefusal("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", 400),
);

conformanceCase("H.31 a frame split between the request's TCP chunk and later chunks is echoed", async ({ rng }) => {
  const key = makeKey(rng);
  const frame = encodeFrame({ opcode: OP.TEXT, payload: "split across the handshake" }, Buffer.of(7, 7, 7, 7));
  const result = await handshake(echo.port, { rng, request: Buffer.concat([Buffer.from(handshakeRequest({ key })), frame.subarray(0, 3)]) });
  assertAccepted(result, key);
  await result.client.sendInChunks(frame.subarray(3), 5, 1);
  await result.client.expectFrame({ opcode: OP.TEXT, payload: "split across the handshake" });
  result.client.sendClose(1000);
  await result.client.expectClose(1000);
});

conformanceCase("H.32 an absolute-form request target is accepted", async ({ rng }) => {
  const key = makeKey(rng);
  const result = await handshake(echo.port, { rng, request: handshakeRequest({ key, path: "ws://127.0.0.1/chat" }) });
  assertAccepted(result, key);
  await result.client.close(1000);
});
