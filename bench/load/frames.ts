/**
 * Everything the load generator sends or expects, computed before the first connection: the
 * masked client frames of every message (so sending costs a `subarray`, no masking, no
 * allocation), the frames the server must send back, the handshake request and its expected
 * accept key, and the close frames.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The RFC 6455 §1.3 sample key; any valid key will do, the server must not care. */
export const HANDSHAKE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The upgrade request every connection sends (to `/` unless `path` says otherwise). */
export function handshakeRequest(port: number, path = "/"): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    "latin1",
  );
}

/** The `Sec-WebSocket-Accept` value the server must answer {@link HANDSHAKE_KEY} with. */
export const EXPECTED_ACCEPT = createHash("sha1").update(HANDSHAKE_KEY + GUID).digest("base64");

/** A masked client Close frame with code 1000 and no reason. */
export const CLIENT_CLOSE_FRAME = Buffer.from([0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ 0x37, 0xe8 ^ 0xfa]);
/** The server's answer to it: an unmasked Close frame echoing code 1000 (RFC 6455 §5.5.1). */
export const SERVER_CLOSE_FRAME = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

/** A small deterministic PRNG (xorshift32): payloads are the same in every run. */
function prng(seed: number): () => number {
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** The payload of message variant `variant`: distinct per variant, ASCII when text. */
function payloadOf(variant: number, sizeBytes: number, binary: boolean): Buffer {
  const next = prng(variant + 1);
  const payload = Buffer.allocUnsafe(sizeBytes);
  if (binary) {
    let i = 0;
    for (; i + 4 <= sizeBytes; i += 4) payload.writeUInt32LE(next(), i);
    for (; i < sizeBytes; i++) payload[i] = next() & 0xff;
    if (sizeBytes >= 4) payload.writeUInt32BE(variant, 0);
  } else {
    for (let i = 0; i < sizeBytes; i++) payload[i] = TEXT_ALPHABET.charCodeAt(next() % TEXT_ALPHABET.length);
    const tag = `#${variant}:`;
    if (sizeBytes >= tag.length) payload.write(tag, 0, "latin1");
  }
  return payload;
}

/** An RFC 6455 §5.2 frame header (FIN set) for `length` bytes; 4 more bytes if `masked`. */
function frameHeader(opcode: number, length: number, masked: boolean): Buffer {
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, maskBit | length]);
  } else if (length < 0x10000) {
    header = Buffer.from([0x80 | opcode, maskBit | 126, 0, 0]);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.from([0x80 | opcode, maskBit | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  return header;
}

/** The client frame of `payload`, masked with `key` (RFC 6455 §5.3). */
function maskedFrame(opcode: number, payload: Buffer, key: Buffer): Buffer {
  const header = frameHeader(opcode, payload.length, true);
  const frame = Buffer.allocUnsafe(header.length + 4 + payload.length);
  header.copy(frame, 0);
  key.copy(frame, header.length);
  const start = header.length + 4;
  for (let i = 0; i < payload.length; i++) frame[start + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/**
 * The messages of a run: `variants` distinct messages sent in a cycle (message `n` of a
 * connection is variant `n % variants`), so that a reply out of order or from the wrong message
 * is caught, and up to `variants` consecutive messages can be sent with one `write` of a view.
 */
export interface Tape {
  readonly variants: number;
  readonly sizeBytes: number;
  /** Bytes of one client frame on the wire. */
  readonly frameBytes: number;
  /** Every client frame, back to back. */
  readonly clientFrames: Buffer;
  /** What a WebSocket server sends back for each variant: its unmasked frame. */
  readonly serverFrames: readonly Buffer[];
  /** What a raw server sends back for each variant: the client frame itself. */
  readonly rawEchoes: readonly Buffer[];
}

/** How many variants a run with `pipelining` messages in flight of `sizeBytes` needs. */
export function variantsFor(pipelining: number, sizeBytes: number): number {
  return Math.max(pipelining, sizeBytes <= 64 * 1024 ? 16 : 2);
}

/** Builds the frames of a run. */
export function buildTape(sizeBytes: number, binary: boolean, variants: number): Tape {
  const opcode = binary ? 0x2 : 0x1;
  const keys = prng(0xbe7c4);
  const frames: Buffer[] = [];
  const serverFrames: Buffer[] = [];
  for (let v = 0; v < variants; v++) {
    const payload = payloadOf(v, sizeBytes, binary);
    const key = Buffer.allocUnsafe(4);
    key.writeUInt32LE((keys() | 0x01010101) >>> 0, 0); // no zero byte: masking visibly changes the bytes
    frames.push(maskedFrame(opcode, payload, key));
    serverFrames.push(Buffer.concat([frameHeader(opcode, sizeBytes, false), payload]));
  }
  const clientFrames = Buffer.concat(frames);
  const frameBytes = frames[0]!.length;
  const rawEchoes = frames.map((_, v) => clientFrames.subarray(v * frameBytes, (v + 1) * frameBytes));
  return { variants, sizeBytes, frameBytes, clientFrames, serverFrames, rawEchoes };
}

/**
 * Sends `count` consecutive messages starting with variant `first` (count ≤ variants): one
 * write of a view of the tape, or two (corked) when the run wraps around.
 */
export function sendFrames(
  socket: { write(data: Buffer): boolean; cork(): void; uncork(): void },
  tape: Tape,
  first: number,
  count: number,
): void {
  const { frameBytes, variants, clientFrames } = tape;
  const end = first + count;
  if (end <= variants) {
    socket.write(clientFrames.subarray(first * frameBytes, end * frameBytes));
    return;
  }
  socket.cork();
  socket.write(clientFrames.subarray(first * frameBytes));
  socket.write(clientFrames.subarray(0, (end - variants) * frameBytes));
  socket.uncork();
}
