/**
 * Shared helpers of the protocol core tests (test/protocol): seeded randomness, a recorder of
 * parser and protocol handler calls, a frame builder and decoder written independently of the
 * encoder and parser under test, and feeders that cut an input at every split point.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRng, pickSeed, type Rng } from "./random.js";
import type { ProtocolError } from "../../src/errors.js";
import type { FrameParserHandler } from "../../src/protocol/frame-parser.js";
import type { ProtocolHandler } from "../../src/protocol/protocol.js";

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

export type { Rng } from "./random.js";

/** A small seeded PRNG (mulberry32, shared with every randomized test): integers in [0, 2^32). */
export const prng: (seed: number) => Rng = createRng;

/** Runs `body` synchronously with a seeded PRNG; the seed (or WYND_SEED) is printed when it fails. */
export function seeded(body: (next: Rng) => void): void {
  const seed = pickSeed();
  try {
    body(prng(seed));
  } catch (error) {
    if (error instanceof Error) error.message += `\n    (random seed ${seed}: rerun with WYND_SEED=${seed})`;
    throw error;
  }
}

/** Numbers in [0, 1) drawn from `next`. */
export function uniform(next: Rng): () => number {
  return () => next() / 2 ** 32;
}

/** `length` random bytes. */
export function randomBytes(next: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bytes and chunks
// ---------------------------------------------------------------------------------------------

/** Bytes from hex digits, whitespace ignored: `hex("81 05")`. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** "κόσμε" in UTF-8, the sample of the Autobahn testsuite section 6. */
export const KOSME = hex("cebae1bdb9cf83cebcceb5");

/** A payload as a short, comparable string: hex when small, length and digest when large. */
export function show(data: Uint8Array): string {
  if (data.length <= 64) return Buffer.from(data).toString("hex");
  return `${data.length}B:${createHash("sha1").update(data).digest("hex").slice(0, 16)}`;
}

/** A Buffer view of `bytes` (no copy). */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `bytes` cut at `points` (ascending, 0 and the length allowed): views, empty chunks included. */
export function splitAt(bytes: Uint8Array, points: number | readonly number[]): Buffer[] {
  const whole = view(bytes);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...(typeof points === "number" ? [points] : points), whole.length]) {
    chunks.push(whole.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** `bytes` as 1-byte views. */
export function oneByteAtATime(bytes: Uint8Array): Buffer[] {
  const whole = view(bytes);
  return Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
}

/** `bytes` cut at random points into views of 1 to `maxChunkBytes` bytes. */
export function randomChunks(bytes: Uint8Array, next: Rng, maxChunkBytes: number): Buffer[] {
  const whole = view(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < whole.length; ) {
    const size = 1 + (next() % maxChunkBytes);
    chunks.push(whole.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Split points: all of them for small inputs; for large ones the edges and a seeded sample. */
export function splitPoints(length: number): number[] {
  if (length <= 4096) return Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1);
  const next = prng(length);
  const points = new Set<number>();
  for (let i = 1; i < 40; i++) points.add(i).add(length - i);
  for (let i = 0; i < 60; i++) points.add(1 + (next() % (length - 1)));
  return [...points].sort((a, b) => a - b);
}

/**
 * Feeds `input` whole, cut in two at every split point (see {@link splitPoints}), and one byte at
 * a time; asserts that every way gives the same result as the whole, and returns it. `feed` gets
 * views of `input`: it must copy them if what it feeds writes in place (the frame parser does).
 */
export function feedAllWays<T>(input: Uint8Array, feed: (chunks: readonly Buffer[]) => T): T {
  const expected = feed([view(input)]);
  for (const point of splitPoints(input.length)) {
    assert.deepEqual(feed(splitAt(input, point)), expected, `split at ${point} of ${input.length}`);
  }
  assert.deepEqual(feed(oneByteAtATime(input)), expected, "one byte at a time");
  return expected;
}

// ---------------------------------------------------------------------------------------------
// Frames, built and decoded without the encoder and parser under test
// ---------------------------------------------------------------------------------------------

/** Which end of a connection. */
export type Role = "server" | "client";
/** Both roles, for tests that run as each. */
export const ROLES: readonly Role[] = ["server", "client"];

/** The RFC 6455 §5.7 example masking key. */
export const RFC_MASK_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** A frame to build, valid or not. */
export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array | string;
  readonly fin?: boolean;
  /** RSV bits as the 3-bit value RSV1 RSV2 RSV3 (4, 2, 1). */
  readonly rsv?: number;
  /** Mask with this key; true means the RFC example key 37 fa 21 3d. */
  readonly mask?: boolean | Uint8Array;
  /** Force a length form (a non-minimal one, for instance). */
  readonly form?: 7 | 16 | 64;
  /** Declare this length instead of the payload's (the payload bytes still follow). */
  readonly declared?: number | bigint;
}

/** Builds a frame byte by byte, independently of the encoder, so invalid frames can be made. */
export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === "string" ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? []);
  const length = spec.declared ?? payload.length;
  const form = spec.form ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  assert.ok(form === 64 || typeof length === "number");
  const bytes: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode];
  const key = spec.mask === true ? RFC_MASK_KEY : spec.mask || undefined;
  const maskBit = key !== undefined ? 0x80 : 0;
  if (form === 7) bytes.push(maskBit | Number(length));
  else if (form === 16) bytes.push(maskBit | 126, Number(length) >> 8, Number(length) & 0xff);
  else {
    bytes.push(maskBit | 127);
    const big = BigInt(length);
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((big >> shift) & 0xffn));
  }
  if (key !== undefined) bytes.push(...key);
  const body = Buffer.from(payload);
  if (key !== undefined) for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(bytes), body]);
}

/** A frame as the peer of `role` sends it: masked toward a server, unmasked toward a client. */
export const from = (role: Role, spec: FrameSpec): Buffer => frame({ mask: role === "server", ...spec });

/** A frame read back by {@link decodeFrames}. */
export interface DecodedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  /** The masking key, or undefined for an unmasked frame. */
  readonly key: Buffer | undefined;
  /** The payload, unmasked. */
  readonly payload: Buffer;
}

/** Decodes complete, well-formed frames with the plain reading of RFC 6455 §5.2 (a reference). */
export function decodeFrames(bytes: Uint8Array): DecodedFrame[] {
  const data = Buffer.from(bytes);
  const frames: DecodedFrame[] = [];
  let at = 0;
  while (at < data.length) {
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    let length = b1 & 0x7f;
    at += 2;
    if (length === 126) {
      length = data.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    const key = (b1 & 0x80) !== 0 ? data.subarray(at, (at += 4)) : undefined;
    const payload = Buffer.from(data.subarray(at, (at += length)));
    assert.equal(payload.length, length, "a truncated frame");
    if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, key, payload });
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Recording handler calls
// ---------------------------------------------------------------------------------------------

/** The event a recorder writes for a text message. */
export const textEvent = (s: string | Uint8Array): string => `text:${show(Buffer.from(s))}`;
/** The event a recorder writes for a binary message. */
export const binaryEvent = (b: Uint8Array): string => `binary:${show(b)}`;
/** The event a recorder writes for an error. */
export const errorEvent = (code: string, closeCode: number): string => `error:${code}:${closeCode}`;

/**
 * Records every call of a {@link FrameParserHandler} or a {@link ProtocolHandler} as a string
 * (`text:<hex>`, `binary:<hex>`, `ping:<hex>`, `pong:<hex>`, `close:<code>:<reason>`,
 * `error:<code>:<closeCode>`), keeps what was written, and fails the test if anything is
 * delivered after a close or an error.
 */
export class Recorder implements FrameParserHandler, ProtocolHandler {
  readonly events: string[] = [];
  readonly messages: Buffer[] = [];
  /** What a {@link ProtocolHandler} was given to write, in order. */
  readonly writes: Buffer[] = [];
  readonly protocolErrors: ProtocolError[] = [];
  errors = 0;
  #ended = false;
  /** Called after each event is recorded (to stop, push or throw from inside a handler). */
  onEvent: ((event: string) => void) | undefined;

  #record(event: string): void {
    assert.equal(this.#ended, false, `"${event}" delivered after ${this.events.at(-1)}`);
    this.events.push(event);
    this.onEvent?.(event);
  }
  /** Everything written so far, as one buffer. */
  get written(): Buffer {
    return Buffer.concat(this.writes);
  }
  write(chunk: Buffer): void {
    this.writes.push(chunk);
  }
  onMessage(data: Buffer, isBinary: boolean): void {
    this.messages.push(data);
    this.#record(`${isBinary ? "binary" : "text"}:${show(data)}`);
  }
  onPing(data: Buffer): void {
    this.#record(`ping:${show(data)}`);
  }
  onPong(data: Buffer): void {
    this.#record(`pong:${show(data)}`);
  }
  onClose(code: number, reason: string): void {
    this.#record(`close:${code}:${reason}`);
    this.#ended = true;
  }
  onCloseFrame(code: number, reason: string): void {
    this.onClose(code, reason);
  }
  onError(error: ProtocolError): void {
    this.errors++;
    this.#record(errorEvent(error.code, error.closeCode));
    this.#ended = true;
  }
  onProtocolError(error: ProtocolError): void {
    this.protocolErrors.push(error);
    this.onError(error);
  }
}
