// Robustness: one regression test per published denial-of-service advisory of `ws` (named after
// it), and the size limits an attacker leans on: many tiny fragments, huge declared lengths.
// Everything runs over real sockets on 127.0.0.1 against a live server (or client).
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { connect, HandshakeError, WebSocketServer, type ServerOptions } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { wsEcho, wsOpened } from "../helpers/interop.js";
import { RecordingPeer, SAMPLE_KEY, acceptFor, parseFrames, upgradePeer, upgradeRequest, type ReceivedFrame } from "../helpers/recording-peer.js";

/** Waits for a Close frame from the peer and returns its code (1005 when it has none) and reason. */
async function closeFrom(peer: RecordingPeer): Promise<{ code: number; reason: string }> {
  let close: ReceivedFrame | undefined;
  await peer.until(() => (close = parseFrames(peer.received).frames.find((f) => f.opcode === 8)) !== undefined, "a Close frame");
  const payload = close!.payload;
  return payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.toString("utf8", 2) } : { code: 1005, reason: "" };
}

/** Waits for a Close frame from the peer and returns its code (1005 when it has none). */
async function closeCodeFrom(peer: RecordingPeer): Promise<number> {
  return (await closeFrom(peer)).code;
}

const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78]);

/** A masked client frame with an arbitrary declared length (a bigint for the 64-bit form). */
function frameHeader(b0: number, length: number | bigint, masked = true): Buffer {
  const m = masked ? 0x80 : 0;
  const big = BigInt(length);
  let head: Buffer;
  if (big < 126n) head = Buffer.from([b0, m | Number(big)]);
  else if (big < 65536n) {
    head = Buffer.from([b0, m | 126, 0, 0]);
    head.writeUInt16BE(Number(big), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(big, 2);
  }
  return masked ? Buffer.concat([head, MASK]) : head;
}

function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ MASK[i % 4]!;
  return Buffer.concat([frameHeader((fin ? 0x80 : 0) | opcode, payload.length), masked]);
}

/** `bytes` as a message of one-byte fragments (text or binary), in one buffer. */
function oneByteFragments(bytes: Buffer, opcode: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) {
    frames.push(clientFrame(i === 0 ? opcode : 0, bytes.subarray(i, i + 1), i === bytes.length - 1));
  }
  return Buffer.concat(frames);
}

/**
 * `bytes` as a binary message of one-byte fragments followed by `empty` empty ones (the last
 * frame final), masked with {@link MASK}, written straight into one buffer: a million frames
 * as a million Buffers would cost the test more than the server.
 */
function finestFragments(bytes: Buffer, empty: number): Buffer {
  const count = bytes.length + empty;
  const out = Buffer.alloc(bytes.length * 7 + empty * 6);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const hasByte = i < bytes.length;
    out[at++] = (i === count - 1 ? 0x80 : 0) | (i === 0 ? 0x02 : 0x00);
    out[at++] = 0x80 | (hasByte ? 1 : 0);
    MASK.copy(out, at);
    at += 4;
    if (hasByte) out[at++] = bytes[i]! ^ MASK[0]!;
  }
  return out;
}

// ----- the server under test -----

interface Target {
  readonly port: number;
  readonly server: WebSocketServer;
  connectionFor(path: string): Promise<WebSocketConnection>;
  /** A round trip of a well-behaved ws client: the server is alive and serving. */
  probe(): Promise<void>;
}

async function target(t: TestContext, options: ServerOptions = {}): Promise<Target> {
  const server = new WebSocketServer(options);
  const byPath = new Map<string, WebSocketConnection>();
  const waiters = new Map<string, (c: WebSocketConnection) => void>();
  server.on("connection", (connection, request) => {
    connection.on("error", () => {}); // observed through connection.error
    connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
    byPath.set(request.path, connection);
    waiters.get(request.path)?.(connection);
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const clients: WebSocket[] = [];
  t.after(async () => {
    for (const ws of clients) ws.terminate();
    await server.close({ timeoutMs: 2000 });
  });
  let probes = 0;
  return {
    port,
    server,
    connectionFor(path) {
      const known = byPath.get(path);
      return known !== undefined ? Promise.resolve(known) : new Promise((resolve) => waiters.set(path, resolve));
    },
    async probe() {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/probe`);
      clients.push(ws);
      await wsOpened(ws);
      const text = `probe ${probes++}`;
      assert.equal(await wsEcho(ws, text), text, "the server stopped serving");
      ws.terminate();
    },
  };
}

describe("robustness: regressions for ws denial-of-service advisories", () => {
  it("CVE-2024-37890: a request with thousands of headers gets 431 and the server stays alive", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    const statuses: number[] = [];
    s.server.on("handshakeError", (error) => statuses.push(error.status));
    const flood = Array.from({ length: 5000 }, (_, i) => `X-Flood-${i}: v`);
    // Headers past the limit in count (100 by default)...
    const peer = new RecordingPeer(s.port);
    await peer.write(upgradeRequest("/flood", flood));
    assert.match(await peer.head(), /^HTTP\/1\.1 431 /);
    await peer.whenClosed;
    // ...and fewer, but past the limit in bytes (16 KiB by default).
    const big = new RecordingPeer(s.port);
    await big.write(upgradeRequest("/big", Array.from({ length: 90 }, (_, i) => `X-Big-${i}: ${"v".repeat(300)}`)));
    assert.match(await big.head(), /^HTTP\/1\.1 431 /);
    await big.whenClosed;
    assert.deepEqual(statuses, [431, 431]);
    await s.probe();
  });

  it("CVE-2024-37890: behind node:http (attach), headers past maxHeadersCount get a 4xx, not a crash", { timeout: 30_000 }, async (t) => {
    const http = createHttpServer((_req, res) => res.writeHead(404).end());
    const server = new WebSocketServer();
    server.attach(http);
    server.on("connection", (connection) => connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary)));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      await server.close({ timeoutMs: 2000 });
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
    const { port } = http.address() as AddressInfo;
    // The ws exploit: node:http keeps the first 2000 header lines (maxHeadersCount) but still
    // sees an upgrade, so the WebSocket headers placed last are missing from the request.
    const filler = Array.from({ length: 2100 }, () => "a: b");
    const request = [
      "GET / HTTP/1.1",
      "Host: 127.0.0.1",
      "Upgrade: websocket",
      "Connection: Upgrade",
      ...filler,
      `Sec-WebSocket-Key: ${SAMPLE_KEY}`,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n");
    const peer = new RecordingPeer(port);
    await peer.write(request);
    assert.match(await peer.head(), /^HTTP\/1\.1 4\d\d /);
    await peer.whenClosed;
    // The server still accepts a well-formed upgrade on the same HTTP server.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    t.after(() => ws.terminate());
    await wsOpened(ws);
    assert.equal(await wsEcho(ws, "still here"), "still here");
  });

  it("CVE-2021-32640: a Sec-WebSocket-Protocol with a long run of spaces completes the handshake promptly", { timeout: 30_000 }, async (t) => {
    // 1,000,000 spaces: a backtracking (quadratic) parser would not finish within the test timeout.
    const spaces = " ".repeat(1_000_000);
    const s = await target(t, { maxHeaderBytes: 4 * 1024 * 1024, selectProtocol: (offered) => offered[offered.length - 1] });
    const cases: Array<[value: string, expected: RegExp]> = [
      [`a,${spaces},b`, /^HTTP\/1\.1 101 [^]*\r\nSec-WebSocket-Protocol: b\r\n/i],
      [`${spaces}chat${spaces}`, /^HTTP\/1\.1 101 [^]*\r\nSec-WebSocket-Protocol: chat\r\n/i],
      [`b${spaces}x`, /^HTTP\/1\.1 400 /], // not a token: refused, not hung
    ];
    for (const [i, [value, expected]] of cases.entries()) {
      const peer = new RecordingPeer(s.port);
      await peer.write(upgradeRequest(`/spaces-${i}`, [`Sec-WebSocket-Protocol: ${value}`]));
      assert.match(await peer.head(), expected);
      peer.socket.destroy();
    }
    await s.probe();
  });

  it("CVE-2021-32640: our client refuses a response whose Sec-WebSocket-Protocol is a long run of spaces, promptly", { timeout: 30_000 }, async (t) => {
    const spaces = " ".repeat(1_000_000);
    const raw = createNetServer((socket) => {
      let head = "";
      socket.on("data", (chunk) => {
        head += chunk.toString("latin1");
        const match = /Sec-WebSocket-Key: (\S+)\r\n/i.exec(head);
        if (!head.includes("\r\n\r\n") || match === null) return;
        const accept = acceptFor(match[1]!);
        socket.end(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: a${spaces}b\r\n\r\n`,
        );
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => raw.close(resolve)));
    const { port } = raw.address() as AddressInfo;
    await assert.rejects(
      connect(`ws://127.0.0.1:${port}/`, { protocols: ["a", "b"], maxHeaderBytes: 4 * 1024 * 1024 }),
      (error: unknown) => error instanceof HandshakeError && error.code === "ERR_INVALID_PROTOCOL",
    );
  });

  it("CVE-2016-10542: a frame announcing a huge payload gets 1009 from its header alone, nothing buffered", { timeout: 30_000 }, async (t) => {
    const s = await target(t, { maxMessageBytes: 1000 });
    const announcements: Array<[what: string, header: Buffer]> = [
      ["1001 bytes, 16-bit length", frameHeader(0x82, 1001)],
      ["4 GiB, 64-bit length", frameHeader(0x82, 2n ** 32n)],
      ["1 TiB text", frameHeader(0x81, 2n ** 40n)],
      ["a 1001-byte first fragment", frameHeader(0x02, 1001)],
    ];
    for (const [i, [what, header]] of announcements.entries()) {
      const path = `/huge-${i}`;
      const peer = await upgradePeer(s.port, path);
      const connection = await s.connectionFor(path);
      // Only the header: the server must decide without waiting for (or buffering) a payload.
      await peer.write(header);
      assert.deepEqual(await closeFrom(peer), { code: 1009, reason: "message too big (limit 1000 bytes)" }, what);
      await peer.until(() => peer.ended, "the server's FIN");
      // Payload bytes sent now are discarded, not assembled.
      await peer.write(Buffer.alloc(256 * 1024));
      peer.socket.end();
      await peer.whenClosed;
      assert.equal((await connection.closed()).code, 1006);
      assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_FRAME_TOO_BIG", what);
    }
    // Fragments that are each small but add up past the limit: 1009 at the header that crosses it.
    const peer = await upgradePeer(s.port, "/sum");
    const connection = await s.connectionFor("/sum");
    await peer.write(Buffer.concat([clientFrame(2, Buffer.alloc(600), false), frameHeader(0x00, 401)]));
    assert.deepEqual(await closeFrom(peer), { code: 1009, reason: "message too big (limit 1000 bytes)" });
    assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_MESSAGE_TOO_BIG");
    peer.socket.end();
    await peer.whenClosed;
    await s.probe();
  });

  it("CVE-2016-10542: our client answers a server's huge announced payload with 1009, nothing buffered", { timeout: 30_000 }, async (t) => {
    const peers: Socket[] = [];
    const received: Buffer[] = [];
    const raw = createNetServer((socket) => {
      peers.push(socket);
      let head = "";
      const onData = (chunk: Buffer) => {
        head += chunk.toString("latin1");
        const match = /Sec-WebSocket-Key: (\S+)\r\n/i.exec(head);
        if (!head.includes("\r\n\r\n") || match === null) return;
        socket.off("data", onData);
        socket.on("data", (frames: Buffer) => received.push(frames));
        const accept = acceptFor(match[1]!);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        socket.write(frameHeader(0x82, 2n ** 50n, false)); // unmasked, as from a server
      };
      socket.on("data", onData);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of peers) socket.destroy();
      return new Promise((resolve) => raw.close(resolve));
    });
    const { port } = raw.address() as AddressInfo;
    const client = await connect(`ws://127.0.0.1:${port}/`);
    client.on("error", () => {});
    const closed = client.closed();
    // The client sent its Close frame, so it waits for the server to close TCP: do so.
    const peer = peers[0]!;
    await new Promise<void>((resolve) => {
      const check = () => {
        const close = parseFrames(Buffer.concat(received)).frames.find((f) => f.opcode === 8);
        if (close === undefined) return;
        peer.off("data", check);
        assert.equal(close.masked, true);
        assert.equal(close.payload.readUInt16BE(0), 1009);
        assert.equal(close.payload.toString("utf8", 2), `message too big (limit ${1024 * 1024} bytes)`);
        resolve();
      };
      peer.on("data", check);
      check();
    });
    peer.end();
    assert.equal((await closed).code, 1006);
    assert.equal((client.error as { code?: string } | undefined)?.code, "ERR_FRAME_TOO_BIG");
  });
});

describe("robustness: many tiny fragments", () => {
  it("assembles a message of 20,000 one-byte fragments with memory bounded by the message size", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    const messages: Array<{ data: Buffer; backing: number }> = [];
    s.server.on("connection", (connection) =>
      connection.on("message", (data) => messages.push({ data: Buffer.from(data), backing: data.buffer.byteLength })),
    );
    // Multibyte characters, so every code point is split across fragments.
    const text = Buffer.from("aé€🎉".repeat(2000), "utf8"); // 20,000 bytes
    const peer = await upgradePeer(s.port, "/tiny");
    await peer.write(oneByteFragments(text, 1)); // one write of 160,000 bytes
    await peer.until(() => parseFrames(peer.received).frames.length === 1, "the echo");
    const [echo] = parseFrames(peer.received).frames;
    assert.equal(echo!.opcode, 1);
    assert.ok(echo!.payload.equals(text));
    assert.equal(messages.length, 1);
    assert.ok(messages[0]!.data.equals(text));
    // The message is assembled in one owned buffer that grows by doubling: it does not keep the
    // 160 kB of frames (or one socket chunk per fragment) alive.
    assert.ok(
      messages[0]!.backing <= Math.max(2 * text.length, 8192),
      `a ${text.length}-byte message is backed by ${messages[0]!.backing} bytes`,
    );
    peer.socket.end();
    await peer.whenClosed;
  });

  it("accepts exactly maxFragmentsPerMessage fragments and fails one more with 1009 and its reason", { timeout: 30_000 }, async (t) => {
    const max = 100;
    const s = await target(t, { maxFragmentsPerMessage: max });
    const ok = await upgradePeer(s.port, "/ok");
    await ok.write(oneByteFragments(Buffer.alloc(max, 0x61), 2));
    await ok.until(() => parseFrames(ok.received).frames.length === 1, "the echo");
    assert.equal(parseFrames(ok.received).frames[0]!.payload.length, max);
    ok.socket.end();
    await ok.whenClosed;

    const over = await upgradePeer(s.port, "/over");
    const connection = await s.connectionFor("/over");
    await over.write(oneByteFragments(Buffer.alloc(max + 1, 0x61), 2));
    assert.deepEqual(await closeFrom(over), { code: 1009, reason: `message too fragmented (limit ${max} frames)` });
    assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_TOO_MANY_FRAGMENTS");
    await over.until(() => over.ended, "the server's FIN");
    over.socket.end();
    await over.whenClosed;
    await s.probe();
  });

  it("by default takes maxMessageBytes one-byte fragments plus an empty final frame, and fails one more empty frame with 1009", { timeout: 60_000 }, async (t) => {
    // The default bound is maxMessageBytes + 1 frames: every message the byte limit admits, in
    // the finest fragments, with the empty final frame Autobahn's fragmenter adds (9.3.1: 4 MiB
    // in 64-byte fragments = 65,537 frames, one over the old fixed default of 65,536). Only
    // empty frames can reach it; the default 1 MiB runs too (7.3 MB of 1,048,578 frames).
    for (const maxMessageBytes of [100, 1024 * 1024]) {
      const s = await target(t, maxMessageBytes === 1024 * 1024 ? {} : { maxMessageBytes });
      const data = Buffer.alloc(maxMessageBytes, 0x62);
      const ok = await upgradePeer(s.port, "/ok");
      await ok.write(finestFragments(data, 1));
      await ok.until(() => parseFrames(ok.received).frames.length === 1, "the echo");
      assert.ok(parseFrames(ok.received).frames[0]!.payload.equals(data), `limit ${maxMessageBytes}`);
      ok.socket.end();
      await ok.whenClosed;

      const over = await upgradePeer(s.port, "/over");
      const connection = await s.connectionFor("/over");
      await over.write(finestFragments(data, 2));
      assert.deepEqual(await closeFrom(over), { code: 1009, reason: `message too fragmented (limit ${maxMessageBytes + 1} frames)` });
      assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_TOO_MANY_FRAGMENTS");
      await over.until(() => over.ended, "the server's FIN");
      over.socket.end();
      await over.whenClosed;
      await s.probe();
    }
  });
});

describe("robustness: huge declared lengths", () => {
  it("fails 64-bit lengths with the top bit set with 1002, and 2^53-1 and beyond with 1009", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    const cases: Array<[length: bigint, code: number]> = [
      [2n ** 63n, 1002],
      [2n ** 64n - 1n, 1002],
      [2n ** 63n + 125n, 1002],
      [2n ** 53n - 1n, 1009],
      [2n ** 53n, 1009],
      [2n ** 53n + 1n, 1009],
      [2n ** 63n - 1n, 1009],
    ];
    for (const [i, [length, code]] of cases.entries()) {
      const path = `/length-${i}`;
      const peer = await upgradePeer(s.port, path);
      await peer.write(frameHeader(0x82, length));
      assert.equal(await closeCodeFrom(peer), code, `length ${length}`);
      await peer.until(() => peer.ended, "the server's FIN");
      peer.socket.end();
      await peer.whenClosed;
    }
    await s.probe();
  });

  it("allocates nothing from a declared length even when maxMessageBytes is Number.MAX_SAFE_INTEGER", { timeout: 30_000 }, async (t) => {
    const s = await target(t, { maxMessageBytes: Number.MAX_SAFE_INTEGER });
    // Announced but never sent: the server waits for the payload without reserving room for it.
    const peer = await upgradePeer(s.port, "/waiting");
    const connection = await s.connectionFor("/waiting");
    await peer.write(Buffer.concat([frameHeader(0x82, 2n ** 53n - 1n), Buffer.alloc(64 * 1024)]));
    await s.probe();
    // Past 2^53 the length is not exact any more, but it is over every limit: 1009.
    const beyond = await upgradePeer(s.port, "/beyond");
    await beyond.write(frameHeader(0x82, 2n ** 53n + 1n));
    assert.equal(await closeCodeFrom(beyond), 1009);
    beyond.socket.end();
    await beyond.whenClosed;
    // The waiting connection ends when its peer goes away: 1006, once.
    const events: number[] = [];
    connection.on("close", (code) => events.push(code));
    peer.socket.destroy();
    assert.equal((await connection.closed()).code, 1006);
    await s.server.close();
    assert.deepEqual(events, [1006]);
  });
});
