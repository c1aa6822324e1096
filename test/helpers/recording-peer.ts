/**
 * A hostile or fragile TCP peer for the robustness tests (test/robustness): it writes whatever
 * bytes a test gives it, records everything the server sends back and how the connection ended,
 * and reads the server's frames with a plain parser that shares no code with `src/`.
 *
 * Every wait is a predicate checked on each event, and fails as soon as the connection closes
 * without it, so a wait never outlives the socket (the test's timeout bounds the rest).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";

/** The sample Sec-WebSocket-Key of RFC 6455 §1.3 (the server must not care which key it gets). */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** RFC 6455 §4.2.2: Sec-WebSocket-Accept for `key`, base64(SHA-1(key + GUID)), computed here. */
export function acceptFor(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

/** A valid opening handshake request for `path` (RFC 6455 §4.1), with `extraLines` appended. */
export function upgradeRequest(path: string, extraLines: readonly string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${SAMPLE_KEY}`,
    "Sec-WebSocket-Version: 13",
    ...extraLines,
    "",
    "",
  ].join("\r\n");
}

/** Options of {@link RecordingPeer}. */
export interface RecordingPeerOptions {
  /** Keep reading after our own FIN until the server's (for half-close tests). Default false. */
  readonly allowHalfOpen?: boolean;
}

/** A TCP client on 127.0.0.1 that records everything it receives and how the connection ended. */
export class RecordingPeer {
  /** The socket, for tests that end it in a particular way (FIN, reset, half-close). */
  readonly socket: Socket;
  #chunks: Buffer[] = [];
  #waiters: Array<() => void> = [];
  /** The server's FIN arrived. */
  ended = false;
  /** The socket is fully closed. */
  closed = false;
  /** The socket's error (a reset, typically), if any: recorded, never thrown. */
  error: Error | undefined;
  /** Resolves when the socket has closed, however it ended. */
  readonly whenClosed: Promise<void>;

  constructor(port: number, options: RecordingPeerOptions = {}) {
    this.socket = netConnect({ host: "127.0.0.1", port, allowHalfOpen: options.allowHalfOpen ?? false });
    this.socket.on("data", (chunk) => {
      this.#chunks.push(chunk);
      this.#wake();
    });
    this.socket.on("end", () => {
      this.ended = true;
      this.#wake();
    });
    this.socket.on("error", (error) => {
      this.error = error;
    });
    this.whenClosed = new Promise((resolve) => {
      this.socket.on("close", () => {
        this.closed = true;
        this.#wake();
        resolve();
      });
    });
  }

  /** Every byte received and not consumed yet. */
  get received(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Drops the first `count` received bytes (e.g. the handshake response). */
  consume(count: number): void {
    this.#chunks = [this.received.subarray(count)];
  }

  /** Resolves when `predicate` holds; rejects if the connection closes first without it. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    for (;;) {
      if (predicate()) return;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Writes and waits for the write callback; false when the socket is already gone or failed. */
  write(data: Buffer | string): Promise<boolean> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (error) => resolve(error == null)));
  }

  /** The response head (status line and headers), once it has arrived; it is consumed. */
  async head(): Promise<string> {
    await this.until(() => this.received.includes("\r\n\r\n"), "a response head");
    const end = this.received.indexOf("\r\n\r\n") + 4;
    const head = this.received.toString("latin1", 0, end);
    this.consume(end);
    return head;
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/**
 * Connects to 127.0.0.1:`port` and completes the opening handshake for `path`; the 101 head is
 * consumed. `first` goes in the same write as the request: the server finds it after the head.
 */
export async function upgradePeer(
  port: number,
  path: string,
  first: Buffer = Buffer.alloc(0),
  options: RecordingPeerOptions = {},
): Promise<RecordingPeer> {
  const peer = new RecordingPeer(port, options);
  // Not asserted: with bytes glued to the request the server may already be failing the
  // connection when the write completes; the 101 below is what must hold.
  await peer.write(Buffer.concat([Buffer.from(upgradeRequest(path), "latin1"), first]));
  assert.match(await peer.head(), /^HTTP\/1\.1 101 /);
  return peer;
}

/** A frame as the server sent it (payload unmasked if it was masked). */
export interface ReceivedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly masked: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Parses the complete frames at the start of `data` (RFC 6455 §5.2, the plain way); `rest` is
 * the offset of the first incomplete one (`data.length` when none is).
 */
export function parseFrames(data: Buffer): { frames: ReceivedFrame[]; rest: number } {
  const frames: ReceivedFrame[] = [];
  let offset = 0;
  while (data.length - offset >= 2) {
    const b0 = data[offset]!;
    const b1 = data[offset + 1]!;
    let length = b1 & 0x7f;
    let at = offset + 2;
    if (length === 126) {
      if (data.length - at < 2) break;
      length = data.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (data.length - at < 8) break;
      length = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? data.subarray(at, at + 4) : undefined;
    if (masked) at += 4;
    if (data.length - at < length) break;
    const payload = Buffer.from(data.subarray(at, at + length));
    if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, masked, opcode: b0 & 0x0f, payload });
    offset = at + length;
  }
  return { frames, rest: offset };
}
