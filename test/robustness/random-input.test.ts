// Robustness: seeded random bytes after a valid handshake, and random garbage instead of an HTTP
// request, sent to a live server over 127.0.0.1. Nothing may crash it, every hostile connection
// must end (a Close frame with a legitimate code, or a TCP close), and a well-behaved ws client
// on the same server keeps getting its echoes throughout.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { WebSocketServer, WyndError, type ServerOptions } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { wsOpened } from "../helpers/interop.js";
import { pickSeed, randomBytes, seedFromEnvironment, withSeed } from "../helpers/random.js";
import { RecordingPeer, parseFrames, upgradePeer } from "../helpers/recording-peer.js";

/** Fixed seeds, so every run covers them, plus one fresh seed (or WYND_SEED). */
function seeds(): number[] {
  const replay = seedFromEnvironment();
  if (replay !== undefined) return [replay];
  return [1, 2, 3, 42, 1337, 0x5eed, pickSeed()];
}

// ----- frames -----

/** A masked client frame. */
function clientFrame(next: () => number, opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + extra + 4 + length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (extra === 0) out[1] = 0x80 | length;
  else if (extra === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const keyAt = 2 + extra;
  for (let i = 0; i < 4; i++) out[keyAt + i] = next() & 0xff;
  for (let i = 0; i < length; i++) out[keyAt + 4 + i] = payload[i]! ^ out[keyAt + (i % 4)]!;
  return out;
}

/** RFC 6455 §7.4: the codes an endpoint may put in a Close frame. */
function isLegitimateCloseCode(code: number): boolean {
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}

/** A frame the echo server is expected to send back. */
interface Expected {
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * A valid stream of 1-20 frames: text (multibyte, sometimes fragmented across code points),
 * binary, fragmented messages with pings and pongs between their fragments (RFC 6455 §5.4
 * allows control frames there), and maybe a close. `expected` is exactly what the echo server
 * must answer, in order: echoes as messages complete, a pong per ping, the Close echo; nothing
 * after a Close frame is processed.
 */
function validFrames(next: () => number): { frames: Buffer[]; expected: Expected[] } {
  const frames: Buffer[] = [];
  const expected: Expected[] = [];
  let closed = false;
  const push = (frame: Buffer, answer?: Expected) => {
    frames.push(frame);
    if (!closed && answer !== undefined) expected.push(answer);
  };
  const control = () => {
    const payload = randomBytes(next, next() % 126);
    if (next() % 2 === 0) push(clientFrame(next, 9, payload), { opcode: 10, payload });
    else push(clientFrame(next, 10, payload));
  };
  const count = 1 + (next() % 20);
  for (let i = 0; i < count; i++) {
    const kind = next() % 10;
    if (kind < 3) {
      const text = Buffer.from(`text ${next()} ✓ é 🎉`, "utf8");
      if (next() % 2 === 0) push(clientFrame(next, 1, text), { opcode: 1, payload: text });
      else {
        const cut = 1 + (next() % (text.length - 1)); // anywhere, inside a code point too
        push(clientFrame(next, 1, text.subarray(0, cut), false));
        if (next() % 2 === 0) control();
        push(clientFrame(next, 0, text.subarray(cut)), { opcode: 1, payload: text });
      }
    } else if (kind < 5) {
      const payload = randomBytes(next, next() % 300);
      push(clientFrame(next, 2, payload), { opcode: 2, payload });
    } else if (kind < 7) {
      const parts = Array.from({ length: 2 + (next() % 5) }, () => randomBytes(next, next() % 40));
      for (const [p, part] of parts.entries()) {
        const last = p === parts.length - 1;
        push(clientFrame(next, p === 0 ? 2 : 0, part, last), last ? { opcode: 2, payload: Buffer.concat(parts) } : undefined);
        if (!last && next() % 4 === 0) control();
      }
    } else if (kind < 9) {
      control();
    } else if (next() % 4 === 0) {
      const close = Buffer.alloc(2);
      close.writeUInt16BE([1000, 1001, 3000, 4999][next() % 4]!);
      push(clientFrame(next, 8, close), { opcode: 8, payload: close }); // echoed without the reason
      closed = true;
    }
  }
  return { frames, expected };
}

/**
 * Frames whose header fields are random but plausible (RSV clear, usually masked): random
 * FIN, opcode 0-15, and 7-bit, 16-bit or 64-bit lengths (any 64-bit value), each followed by
 * up to 300 payload bytes. This reaches the length, opcode and control-frame checks that plain
 * random bytes (RSV set 7 times in 8) rarely get past.
 */
function randomHeaders(next: () => number): Buffer {
  const parts: Buffer[] = [];
  const count = 1 + (next() % 8);
  for (let i = 0; i < count; i++) {
    const b0 = (next() % 2 === 0 ? 0x80 : 0) | (next() % 16);
    const mask = next() % 16 === 0 ? 0 : 0x80;
    const form = next() % 3;
    if (form === 0) parts.push(Buffer.from([b0, mask | (next() % 126)]));
    else if (form === 1) parts.push(Buffer.from([b0, mask | 126, next() & 0xff, next() & 0xff]));
    else parts.push(Buffer.concat([Buffer.from([b0, mask | 127]), randomBytes(next, 8)]));
    parts.push(randomBytes(next, (mask === 0 ? 0 : 4) + (next() % 300)));
  }
  return Buffer.concat(parts);
}

type StreamKind = "valid frames" | "random bytes" | "random headers" | "mutated frames" | "valid frames then garbage";

/** A stream of `kind`; `expected` is the server's exact answer when the stream is valid. */
function hostileStream(next: () => number, kind: StreamKind): { stream: Buffer; expected?: Expected[] } {
  if (kind === "random bytes") return { stream: randomBytes(next, 1 + (next() % 4096)) };
  if (kind === "random headers") return { stream: randomHeaders(next) };
  const valid = validFrames(next);
  const stream = Buffer.concat(valid.frames);
  if (kind === "valid frames") return { stream, expected: valid.expected };
  if (kind === "valid frames then garbage") return { stream: Buffer.concat([stream, randomBytes(next, 1 + (next() % 512))]) };
  const mutations = next() % 4; // 0 to 3: zero keeps the stream valid
  for (let m = 0; m < mutations && stream.length > 0; m++) {
    const at = next() % stream.length;
    if (next() % 2 === 0) stream[at] = stream[at]! ^ (1 << (next() % 8));
    else stream[at] = next() & 0xff;
  }
  return { stream };
}

type Chunking = "glued to the request" | "one write" | "random chunks" | "byte by byte";

function chunkSizes(next: () => number, total: number, chunking: Chunking): number[] {
  const sizes: number[] = [];
  if (chunking === "glued to the request") return sizes;
  let left = total;
  while (left > 0) {
    // Byte by byte for the first 256 bytes only: enough to split every header, cheap on CPU.
    const size =
      chunking === "one write" ? left : chunking === "byte by byte" ? (total - left < 256 ? 1 : left) : 1 + (next() % 97);
    sizes.push(Math.min(size, left));
    left -= Math.min(size, left);
  }
  return sizes;
}

// ----- the server under attack, and a well-behaved client -----

interface Arena {
  readonly port: number;
  readonly server: WebSocketServer;
  /** Errors the server's connections reported. */
  readonly errors: Error[];
  /** Resolves with the server-side connection accepted for `path`. */
  connectionFor(path: string): Promise<WebSocketConnection>;
  /** One round trip of the well-behaved ws client. */
  probe(): Promise<void>;
}

async function arena(t: TestContext, options: ServerOptions = {}): Promise<Arena> {
  const server = new WebSocketServer({ maxMessageBytes: 64 * 1024, closeTimeoutMs: 5000, ...options });
  const errors: Error[] = [];
  const byPath = new Map<string, WebSocketConnection>();
  const waiters = new Map<string, (c: WebSocketConnection) => void>();
  server.on("connection", (connection, request) => {
    connection.on("error", (error) => errors.push(error));
    connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
    byPath.set(request.path, connection);
    waiters.get(request.path)?.(connection);
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const good = new WebSocket(`ws://127.0.0.1:${port}/well-behaved`);
  t.after(async () => {
    good.terminate();
    await server.close({ timeoutMs: 2000 });
  });
  await wsOpened(good);
  let probes = 0;
  return {
    port,
    server,
    errors,
    connectionFor(path) {
      const known = byPath.get(path);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => waiters.set(path, resolve));
    },
    async probe() {
      const text = `probe ${probes++}`;
      const echo = new Promise<string>((resolve) => good.once("message", (data) => resolve(data.toString())));
      good.send(text);
      assert.equal(await echo, text, "the well-behaved client lost its echo");
    },
  };
}

/** A socket-level error a peer can legitimately cause; anything else reported is a bug. */
function isExpectedError(error: Error): boolean {
  if (error instanceof WyndError) return true;
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/** Checks what the server sent on a hostile connection: valid frames, a legitimate close, nothing after it. */
function checkServerOutput(peer: RecordingPeer): number | undefined {
  const { frames, rest } = parseFrames(peer.received);
  let closeCode: number | undefined;
  for (const [i, frame] of frames.entries()) {
    assert.equal(frame.masked, false, "a server frame was masked");
    assert.equal(frame.rsv, 0, "a server frame has an RSV bit set");
    assert.ok([0, 1, 2, 8, 9, 10].includes(frame.opcode), `the server sent opcode ${frame.opcode}`);
    if (frame.opcode !== 8) continue;
    assert.equal(i, frames.length - 1, "the server sent frames after its Close frame");
    assert.equal(rest, peer.received.length, "the server sent bytes after its Close frame");
    assert.ok(frame.payload.length === 0 || frame.payload.length >= 2, "a 1-byte close payload");
    if (frame.payload.length >= 2) {
      closeCode = frame.payload.readUInt16BE(0);
      assert.ok(isLegitimateCloseCode(closeCode), `the server closed with code ${closeCode}`);
    }
  }
  // A reset may cut the tail off; otherwise the server never leaves a frame half written.
  if (peer.error === undefined) assert.equal(rest, peer.received.length, "the server left a frame half written");
  return closeCode;
}

describe("robustness: random bytes after a valid handshake", () => {
  const kinds: StreamKind[] = ["valid frames", "random bytes", "random headers", "mutated frames", "valid frames then garbage"];
  const chunkings: Chunking[] = ["glued to the request", "one write", "random chunks", "byte by byte"];

  it("never crash the server, every such connection ends, and a well-behaved client keeps its echoes", { timeout: 120_000 }, async (t) => {
    const a = await arena(t);
    let run = 0;
    for (const seed of seeds()) {
      await withSeed(seed, "random frames", async (next) => {
        for (const kind of kinds) {
          for (const chunking of chunkings) {
            const path = `/fuzz-${run++}`;
            const { stream, expected } = hostileStream(next, kind);
            const sizes = chunkSizes(next, stream.length, chunking);
            const peer = await upgradePeer(a.port, path, chunking === "glued to the request" ? stream : undefined);
            const connection = await a.connectionFor(path);
            const serverClosed = connection.closed();
            let offset = 0;
            for (const [i, size] of sizes.entries()) {
              if (i === sizes.length >> 1) await a.probe(); // mid-attack
              if (!(await peer.write(stream.subarray(offset, offset + size)))) break;
              offset += size;
            }
            // Whatever state the server is in (waiting for more of a frame, or done), our FIN
            // must end the connection; a server that failed the connection ends it by itself.
            peer.socket.end();
            await peer.whenClosed;
            const sent = checkServerOutput(peer);
            if (expected !== undefined) {
              // A valid stream, whatever its chunking: the exact echoes, pongs and Close echo.
              const answered = parseFrames(peer.received).frames.map((f) => ({ opcode: f.opcode, payload: Buffer.from(f.payload) }));
              assert.deepEqual(answered, expected, `${kind}, ${chunking}: the server's answers differ`);
              assert.equal(connection.error, undefined);
            }
            const ours = await serverClosed;
            const error = connection.error;
            if (error !== undefined && "closeCode" in error && sent !== undefined) {
              assert.equal(sent, error.closeCode, `the Close frame code differs from the error's (${error.message})`);
            }
            assert.ok(isLegitimateCloseCode(ours.code) || ours.code === 1005 || ours.code === 1006, `server-side close code ${ours.code}`);
            await a.probe();
          }
        }
      });
    }
    for (const error of a.errors) assert.ok(isExpectedError(error), `unexpected error: ${error.stack}`);
    assert.equal(a.server.connections.size, 1, "only the well-behaved client is left");
  });

  it("fail the connection at once, by the server's own initiative, when the first frame is invalid", { timeout: 30_000 }, async (t) => {
    const a = await arena(t);
    for (const seed of seeds()) {
      await withSeed(seed, "an invalid first frame", async (next) => {
        const path = `/invalid-${seed}`;
        const peer = await upgradePeer(a.port, path);
        // RSV bits set and an unknown opcode: invalid whatever follows.
        const stream = Buffer.concat([Buffer.from([0x70 | (3 + (next() % 5)), 0x80]), randomBytes(next, next() % 64)]);
        await peer.write(stream);
        await peer.until(() => peer.ended, "the server's FIN"); // no FIN from us: the server ends it
        assert.equal(checkServerOutput(peer), 1002);
        peer.socket.end();
        await peer.whenClosed;
        await a.probe();
      });
    }
  });
});

describe("robustness: garbage instead of an HTTP request", () => {
  type GarbageKind = "random bytes" | "a request line, then random bytes" | "random header lines";

  function garbage(next: () => number, kind: GarbageKind): Buffer {
    const noise = randomBytes(next, 1 + (next() % 20_000));
    if (kind === "random bytes") return noise;
    if (kind === "a request line, then random bytes") return Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n"), noise]);
    const lines = Array.from({ length: 1 + (next() % 50) }, () => {
      const name = randomBytes(next, 1 + (next() % 20)).toString("latin1");
      const value = randomBytes(next, next() % 60).toString("latin1");
      return `${name}: ${value}\r\n`;
    });
    return Buffer.from(`GET /chat HTTP/1.1\r\n${lines.join("")}\r\n`, "latin1");
  }

  it("gets a 4xx response or a TCP close, never a crash, and the server keeps serving", { timeout: 60_000 }, async (t) => {
    const a = await arena(t);
    const statuses: number[] = [];
    a.server.on("handshakeError", (error) => statuses.push(error.status));
    const kinds: GarbageKind[] = ["random bytes", "a request line, then random bytes", "random header lines"];
    for (const seed of seeds()) {
      await withSeed(seed, "garbage requests", async (next) => {
        for (const kind of kinds) {
          const peer = new RecordingPeer(a.port);
          await peer.write(garbage(next, kind));
          peer.socket.end();
          await peer.whenClosed;
          const response = peer.received.toString("latin1");
          if (response.length > 0) assert.match(response, /^HTTP\/1\.1 4\d\d [^\r\n]*\r\n/, `${kind}: not a 4xx response`);
          await a.probe();
        }
      });
    }
    for (const status of statuses) assert.ok(status >= 400 && status < 500, `the server refused with ${status}`);
    // A new client is still welcome.
    const late = new WebSocket(`ws://127.0.0.1:${a.port}/late`);
    await wsOpened(late);
    late.terminate();
  });
});
