/**
 * What the multi-node broadcast benchmark puts on the wire, for both peers, so that one load
 * generator drives wynd and socket.io alike:
 *
 * - the payload: `SSSSSSSSSS:TTTTTTTTTTTT:xxx…`, a 10-digit sequence number and the publish time
 *   (12 digits, microseconds of the generator's `performance.now()`), padded to the payload size.
 *   Every receiver checks that sequence numbers follow one another (nothing lost, duplicated or
 *   reordered) and measures publish-to-delivery latency from the timestamp, whichever node
 *   delivered the message;
 * - wynd: that payload as a WebSocket text message, both ways;
 * - socket.io: engine.io v4 / socket.io v5 framing over a plain WebSocket
 *   (`/socket.io/?EIO=4&transport=websocket`): the server opens with `0{…}`, the client connects
 *   to the main namespace with `40` and gets `40{…}`, events are `42["m","<payload>"]`, and the
 *   server's ping `2` is answered with the pong `3`. This is what socket.io-client sends on the
 *   websocket transport, without its per-message costs on the generator's side;
 * - client frames masked (RFC 6455 §5.3), server frames read by {@link FrameScanner}.
 *
 * @module
 */

import { randomFillSync } from "node:crypto";
import type { Peer } from "./types.js";

/** The room every connection joins; broadcasts go to it. */
export const ROOM = "bench";
/** The socket.io event name. */
export const EVENT = "m";
/** The request path of an engine.io v4 WebSocket-only connection. */
export const SOCKET_IO_PATH = "/socket.io/?EIO=4&transport=websocket";

const SEQ_DIGITS = 10;
const TIME_DIGITS = 12;
/** Bytes of the payload's stamp: sequence, ':', time, ':'. */
export const STAMP_BYTES = SEQ_DIGITS + 1 + TIME_DIGITS + 1;
/** The smallest payload that holds a stamp. */
export const MIN_PAYLOAD_BYTES = STAMP_BYTES;

const SIO_EVENT_PREFIX = Buffer.from(`42["${EVENT}","`, "latin1");
const SIO_EVENT_SUFFIX = Buffer.from(`"]`, "latin1");
/** A server frame larger than this is an error (the benchmark never sends one). */
const MAX_FRAME_BYTES = 1024 * 1024;

/** Writes `value` as `digits` decimal digits at `offset`. */
function writeDigits(target: Buffer, offset: number, digits: number, value: number): void {
  let v = value;
  for (let i = offset + digits - 1; i >= offset; i--) {
    target[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** Reads `digits` decimal digits at `offset`; -1 if one is not a digit. */
function readDigits(source: Buffer, offset: number, digits: number): number {
  let v = 0;
  for (let i = offset; i < offset + digits; i++) {
    const d = source[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Builds the client frames of one peer: payloads, events, masking. */
export class ClientFrames {
  readonly #sizeBytes: number;
  /** The application bytes of one publication (socket.io: the whole `42[…]` packet). */
  readonly #packet: Buffer;
  readonly #stampOffset: number;
  readonly #keys = Buffer.allocUnsafe(4096);
  #keyOffset = this.#keys.length;

  constructor(peer: Peer, sizeBytes: number) {
    if (sizeBytes < MIN_PAYLOAD_BYTES) throw new Error(`the payload must be at least ${MIN_PAYLOAD_BYTES} bytes`);
    this.#sizeBytes = sizeBytes;
    const payload = Buffer.alloc(sizeBytes, "x");
    payload[SEQ_DIGITS] = 58; // ':'
    payload[STAMP_BYTES - 1] = 58;
    this.#packet = peer === "socket.io" ? Buffer.concat([SIO_EVENT_PREFIX, payload, SIO_EVENT_SUFFIX]) : payload;
    this.#stampOffset = peer === "socket.io" ? SIO_EVENT_PREFIX.length : 0;
  }

  /** The masked frame publishing sequence number `seq` stamped with `micros`. */
  publication(seq: number, micros: number): Buffer {
    writeDigits(this.#packet, this.#stampOffset, SEQ_DIGITS, seq);
    writeDigits(this.#packet, this.#stampOffset + SEQ_DIGITS + 1, TIME_DIGITS, Math.round(micros));
    return this.masked(0x1, this.#packet);
  }

  /** A masked client frame of `opcode` carrying `payload` (under 64 KiB). */
  masked(opcode: number, payload: Buffer): Buffer {
    const length = payload.length;
    const header = length < 126 ? 2 : 4;
    const frame = Buffer.allocUnsafe(header + 4 + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) {
      frame[1] = 0x80 | length;
    } else {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    }
    if (this.#keyOffset + 4 > this.#keys.length) {
      randomFillSync(this.#keys);
      this.#keyOffset = 0;
    }
    const key = header;
    this.#keys.copy(frame, key, this.#keyOffset, this.#keyOffset + 4);
    this.#keyOffset += 4;
    for (let i = 0; i < length; i++) frame[key + 4 + i] = payload[i]! ^ frame[key + (i & 3)]!;
    return frame;
  }

  /** The payload size, for byte counts. */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** What the peer's server delivers for one publication: its length and where the stamp is. */
  get deliveryBytes(): number {
    return this.#packet.length;
  }

  get stampOffset(): number {
    return this.#stampOffset;
  }

  /** socket.io: whether `data[start, end)` is an event packet (checked before reading the stamp). */
  static isSocketIoEvent(data: Buffer, start: number, end: number): boolean {
    if (end - start < SIO_EVENT_PREFIX.length + SIO_EVENT_SUFFIX.length) return false;
    for (let i = 0; i < SIO_EVENT_PREFIX.length; i++) if (data[start + i] !== SIO_EVENT_PREFIX[i]) return false;
    return data[end - 2] === SIO_EVENT_SUFFIX[0] && data[end - 1] === SIO_EVENT_SUFFIX[1];
  }
}

/** The stamp read by {@link readStamp} (module fields: no object per delivery). */
export const stamp = { seq: 0, micros: 0 };

/** Reads the stamp at `offset`; false if it is malformed. */
export function readStamp(data: Buffer, offset: number): boolean {
  const seq = readDigits(data, offset, SEQ_DIGITS);
  const micros = readDigits(data, offset + SEQ_DIGITS + 1, TIME_DIGITS);
  if (seq < 0 || micros < 0 || data[offset + SEQ_DIGITS] !== 58) return false;
  stamp.seq = seq;
  stamp.micros = micros;
  return true;
}

/** Receives one complete server frame: its opcode and the payload `data[start, end)`. */
export type FrameHandler = (opcode: number, data: Buffer, start: number, end: number) => void;

/**
 * Splits a server's byte stream into frames (unmasked, final: the servers under test send
 * nothing else here). Complete frames are handed over as views of the chunk; a frame split
 * across reads is copied (the generator's read buffer is reused by the next read).
 */
export class FrameScanner {
  readonly #onFrame: FrameHandler;
  #carry: Buffer | undefined;
  /** Set on the first malformed frame; the scanner then ignores everything. */
  error: string | undefined;

  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    if (this.error !== undefined) return;
    let data = chunk;
    if (this.#carry !== undefined) {
      data = Buffer.concat([this.#carry, chunk]);
      this.#carry = undefined;
    }
    const length = data.length;
    let offset = 0;
    while (length - offset >= 2) {
      const b0 = data[offset]!;
      const b1 = data[offset + 1]!;
      if ((b1 & 0x80) !== 0 || (b0 & 0x80) === 0 || (b0 & 0x70) !== 0) {
        this.error = `unexpected frame header 0x${b0.toString(16)} 0x${b1.toString(16)} (masked, fragmented or with RSV bits)`;
        return;
      }
      let size = b1 & 0x7f;
      let header = 2;
      if (size === 126) {
        if (length - offset < 4) break;
        size = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (size === 127) {
        if (length - offset < 10) break;
        size = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (size > MAX_FRAME_BYTES) {
        this.error = `a ${size}-byte frame (the benchmark expects small messages)`;
        return;
      }
      if (length - offset < header + size) break;
      this.#onFrame(b0 & 0x0f, data, offset + header, offset + header + size);
      if (this.error !== undefined) return;
      offset += header + size;
    }
    if (offset < length) this.#carry = Buffer.from(data.subarray(offset));
  }
}
