// Robustness: peers that do not read. A slow reader is cut off at maxBufferedBytes (policy
// "close") or has messages dropped (policy "drop"), and a ping flood from a peer that never reads
// its pongs does not grow the server's outbound buffer past the high-water mark plus one pong.
// Every loop is bounded in iterations; progress is driven by events, never by sleeping.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { ReadyState, WebSocketServer, type ServerOptions } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { parseFrames, upgradeRequest, type ReceivedFrame } from "../helpers/recording-peer.js";

/** Incremental reader of the server's frames: frames are parsed as bytes arrive. */
class FrameReader {
  readonly frames: ReceivedFrame[] = [];
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const { frames, rest } = parseFrames(this.#buffer);
    for (const frame of frames) this.frames.push(frame);
    this.#buffer = this.#buffer.subarray(rest);
  }
}

/** A TCP client that completes the handshake and then reads only when told to. */
class RawPeer {
  readonly socket: Socket;
  readonly reader = new FrameReader();
  #head = "";
  #upgraded = false;
  #waiters: Array<() => void> = [];
  closed = false;

  constructor(port: number, path: string) {
    this.socket = netConnect({ host: "127.0.0.1", port });
    this.socket.on("data", (chunk) => {
      if (this.#upgraded) this.reader.push(chunk);
      else {
        this.#head += chunk.toString("latin1");
        const end = this.#head.indexOf("\r\n\r\n");
        if (end !== -1) {
          assert.match(this.#head, /^HTTP\/1\.1 101 /);
          this.#upgraded = true;
          const rest = Buffer.from(this.#head.slice(end + 4), "latin1");
          if (rest.length > 0) this.reader.push(rest);
        }
      }
      this.#wake();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    this.socket.write(upgradeRequest(path));
  }

  async until(predicate: () => boolean, what: string): Promise<void> {
    for (;;) {
      if (predicate()) return;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves once the 101 response has arrived. */
  upgraded(): Promise<void> {
    return this.until(() => this.#upgraded, "the 101 response");
  }

  /** Stops reading: the kernel buffers fill up, then the server's. */
  stopReading(): void {
    this.socket.pause();
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error == null ? resolve() : reject(error))));
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Masked client frames with a fixed mask key. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const key = [0xa1, 0xb2, 0xc3, 0xd4];
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : undefined;
  assert.ok(head !== undefined, "only small frames are needed here");
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ key[i % 4]!;
  return Buffer.concat([head, Buffer.from(key), masked]);
}

interface Target {
  readonly server: WebSocketServer;
  /** A raw peer, upgraded and stopped from reading, with its server-side connection. */
  slowPeer(path: string): Promise<{ peer: RawPeer; connection: WebSocketConnection }>;
}

async function target(t: TestContext, options: ServerOptions): Promise<Target> {
  const server = new WebSocketServer(options);
  const waiters = new Map<string, (c: WebSocketConnection) => void>();
  server.on("connection", (connection, request) => {
    connection.on("error", () => {}); // observed through connection.error
    waiters.get(request.path)?.(connection);
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const peers: RawPeer[] = [];
  t.after(async () => {
    for (const peer of peers) peer.socket.destroy();
    await server.close({ timeoutMs: 2000 });
  });
  return {
    server,
    async slowPeer(path) {
      const accepted = new Promise<WebSocketConnection>((resolve) => waiters.set(path, resolve));
      const peer = new RawPeer(port, path);
      peers.push(peer);
      await peer.upgraded();
      peer.stopReading();
      return { peer, connection: await accepted };
    },
  };
}

/** Lets the write batcher flush and the socket hand bytes to the kernel. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("robustness: a slow reader", () => {
  it('is cut off at maxBufferedBytes under policy "close", the server buffering no more than that', { timeout: 30_000 }, async (t) => {
    const maxBufferedBytes = 1024 * 1024;
    const s = await target(t, { maxBufferedBytes, highWaterMarkBytes: 64 * 1024, backpressurePolicy: "close" });
    const { connection } = await s.slowPeer("/slow-close");
    const closed = connection.closed();
    const message = Buffer.alloc(64 * 1024, 0x42);
    let maxSeen = 0;
    let sends = 0;
    // Bounded: the kernel buffers hold a few MiB at most; 4,000 × 64 KiB is far beyond them.
    for (; sends < 4000 && connection.readyState === ReadyState.OPEN; sends++) {
      connection.sendBinary(message); // ignores the backpressure signal, as a careless app would
      maxSeen = Math.max(maxSeen, connection.bufferedAmount);
      await turn();
    }
    assert.notEqual(connection.readyState, ReadyState.OPEN, `still open after ${sends} sends`);
    assert.ok(maxSeen <= maxBufferedBytes, `${maxSeen} bytes buffered, over ${maxBufferedBytes}`);
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_BUFFER_OVERFLOW");
    assert.equal(connection.bufferedAmount, 0, "the buffers of a closed connection are released");
    assert.equal(s.server.connections.size, 0);
  });

  it('has messages dropped under policy "drop", stays open, and gets every other message in order', { timeout: 30_000 }, async (t) => {
    const maxBufferedBytes = 512 * 1024;
    const s = await target(t, { maxBufferedBytes, highWaterMarkBytes: 64 * 1024, backpressurePolicy: "drop" });
    const { peer, connection } = await s.slowPeer("/slow-drop");
    let drains = 0;
    connection.on("drain", () => drains++);
    const admitted: number[] = [];
    let maxSeen = 0;
    for (let seq = 0; seq < 4000 && connection.droppedMessages < 20; seq++) {
      const message = Buffer.alloc(16 * 1024);
      message.writeUInt32BE(seq, 0);
      const before = connection.droppedMessages;
      connection.sendBinary(message);
      if (connection.droppedMessages === before) admitted.push(seq);
      maxSeen = Math.max(maxSeen, connection.bufferedAmount);
      await turn();
    }
    assert.ok(connection.droppedMessages >= 20, `only ${connection.droppedMessages} messages dropped`);
    assert.equal(connection.readyState, ReadyState.OPEN);
    assert.ok(maxSeen <= maxBufferedBytes, `${maxSeen} bytes buffered, over ${maxBufferedBytes}`);
    // The reader wakes up: it gets exactly the admitted messages, in order, then 'drain' fires.
    peer.socket.resume();
    await peer.until(() => peer.reader.frames.length >= admitted.length, "the admitted messages");
    assert.deepEqual(
      peer.reader.frames.map((f) => f.payload.readUInt32BE(0)),
      admitted,
    );
    await new Promise<void>((resolve) => (drains > 0 ? resolve() : connection.once("drain", resolve)));
    assert.equal(connection.sendText("after the storm"), true);
    await peer.until(() => peer.reader.frames.length === admitted.length + 1, "a message sent after drain");
    assert.equal(peer.reader.frames.at(-1)!.payload.toString(), "after the storm");
  });

  it("is cut off from a broadcast while the clients that read get every message", { timeout: 30_000 }, async (t) => {
    const maxBufferedBytes = 1024 * 1024;
    const s = await target(t, { maxBufferedBytes, backpressurePolicy: "close" });
    const { connection: slow } = await s.slowPeer("/slow-listener");
    const { peer: fast } = await s.slowPeer("/fast-listener");
    fast.socket.resume(); // this one reads
    const message = Buffer.alloc(64 * 1024);
    let broadcasts = 0;
    for (; broadcasts < 4000 && slow.readyState === ReadyState.OPEN; broadcasts++) {
      message.writeUInt32BE(broadcasts, 0); // small payloads are copied when framed: safe to reuse
      s.server.broadcast(Buffer.from(message));
      assert.ok(slow.bufferedAmount <= maxBufferedBytes, `${slow.bufferedAmount} bytes buffered for the slow reader`);
      await turn();
    }
    assert.notEqual(slow.readyState, ReadyState.OPEN, `the slow reader is still connected after ${broadcasts} broadcasts`);
    assert.equal((slow.error as { code?: string } | undefined)?.code, "ERR_BUFFER_OVERFLOW");
    await fast.until(() => fast.reader.frames.length === broadcasts, "every broadcast");
    assert.deepEqual(
      fast.reader.frames.map((f) => f.payload.readUInt32BE(0)),
      Array.from({ length: broadcasts }, (_, i) => i),
    );
  });

  it("counts a text message by its UTF-8 bytes, not its UTF-16 length, against maxBufferedBytes", { timeout: 30_000 }, async (t) => {
    const maxBufferedBytes = 1024 * 1024;
    for (const policy of ["drop", "close"] as const) {
      const s = await target(t, { maxBufferedBytes, backpressurePolicy: policy });
      const { connection } = await s.slowPeer(`/multibyte-${policy}`);
      // In one tick, so nothing reaches the socket in between: 500 kB wait, then a text of
      // 300,000 UTF-16 units but 900,000 UTF-8 bytes would take the total to 1.4 MB.
      assert.equal(connection.sendBinary(Buffer.alloc(500_000)), false); // above the high-water mark
      connection.sendText("€".repeat(300_000));
      assert.ok(
        connection.bufferedAmount <= maxBufferedBytes,
        `${policy}: ${connection.bufferedAmount} bytes buffered, over ${maxBufferedBytes}`,
      );
      if (policy === "drop") {
        assert.equal(connection.droppedMessages, 1);
        assert.equal(connection.readyState, ReadyState.OPEN);
      } else {
        assert.equal((await connection.closed()).code, 1006);
        assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_BUFFER_OVERFLOW");
      }
    }
  });
});

describe("robustness: a ping flood from a peer that never reads", () => {
  it("does not grow the server's buffered bytes past the high-water mark plus one pong", { timeout: 30_000 }, async (t) => {
    const highWaterMarkBytes = 16 * 1024;
    const pongFrameBytes = 2 + 125;
    const s = await target(t, { highWaterMarkBytes });
    const { peer, connection } = await s.slowPeer("/ping-flood");
    let pings = 0;
    let maxSeen = 0;
    let lastPayload: Buffer | undefined;
    connection.on("ping", (data) => {
      pings++;
      lastPayload = Buffer.from(data);
      maxSeen = Math.max(maxSeen, connection.bufferedAmount);
    });
    const batch = (first: number): Buffer => {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1000; i++) {
        const payload = Buffer.alloc(125, 0x70);
        payload.writeUInt32BE(first + i, 0);
        frames.push(clientFrame(9, payload));
      }
      return Buffer.concat(frames);
    };
    // Until the kernel buffers are full (loopback takes tens of MiB) and the server holds pongs
    // back, then 20,000 pings more.
    let sent = 0;
    let saturatedAt = -1;
    for (let round = 0; round < 1000 && (saturatedAt === -1 || sent < saturatedAt + 20_000); round++) {
      await peer.write(batch(sent));
      sent += 1000;
      while (pings < sent) await once(connection, "ping"); // the server has read them all
      if (saturatedAt === -1 && connection.bufferedAmount >= highWaterMarkBytes) saturatedAt = sent;
    }
    assert.notEqual(saturatedAt, -1, `the outbound buffer never reached the high-water mark in ${sent} pings`);
    assert.ok(
      maxSeen <= highWaterMarkBytes + pongFrameBytes,
      `${maxSeen} bytes buffered, over ${highWaterMarkBytes} + ${pongFrameBytes}`,
    );
    assert.equal(connection.readyState, ReadyState.OPEN);
    // When the peer reads again, the most recent ping gets its pong (RFC 6455 §5.5.3).
    peer.socket.resume();
    const last = lastPayload!;
    await peer.until(
      () => peer.reader.frames.some((f) => f.opcode === 10 && f.payload.equals(last)),
      "the pong of the most recent ping",
    );
  });
});
