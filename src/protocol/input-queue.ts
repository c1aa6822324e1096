/**
 * The unread input of a {@link FrameParser}: the chunks read from the connection, consumed from
 * the front, with the few operations that must look across chunk boundaries (a byte of a header
 * cut by a read, a payload spanning reads, copied once and unmasked in the same pass).
 *
 * Kept apart from the parser's state machine because it is a small class with its own state and
 * invariants (`#chunks[0]` is read from `#offset`; `#length` is what is left) that the parser
 * only reaches through a few methods. The per-frame path of a frame inside one chunk uses
 * {@link InputQueue.first}, {@link InputQueue.offset} and {@link InputQueue.skip}, which
 * TurboFan inlines (see bench/callgrind/parser-loop.ts for the instruction count it keeps).
 *
 * Small reads arriving while bytes are already waiting are copied into an owned accumulation
 * buffer rather than held one Buffer each, so a frame trickled one byte per read costs
 * O(frame size) memory, not ~100 bytes per byte.
 *
 * @module
 */

import { maskInto, unmaskInPlace } from "./mask.js";
import type { Utf8Validator } from "./utf8.js";

/**
 * Reads shorter than this that arrive while bytes are already waiting (a frame spanning reads)
 * are copied into an accumulation buffer instead of being held as they are. Each held Buffer
 * costs about 100 bytes of heap: a 1 MiB frame sent one byte per read held 106 MiB of heap
 * before (Node 20, x64), and holds ~1 MiB with this. Copying under 4 KiB costs under 0.2 µs,
 * less than the read that brought it, and keeps the overhead of the held Buffers a few percent.
 */
const COALESCE_MAX_BYTES = 4 * 1024;

/** Capacity bounds of an accumulation buffer: twice what is waiting, within these bounds. */
const MIN_ACCUMULATION_BYTES = 1024;
const MAX_ACCUMULATION_BYTES = 16 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * The chunk list of every empty queue (never written to: {@link InputQueue.push} replaces it). A
 * list that held chunks keeps a backing store of 17 slots (152 B) once grown by a push; an idle
 * connection keeps none.
 */
const NO_CHUNKS: Buffer[] = [];

/**
 * A queue of input chunks read front to back. Nothing here validates anything: callers check
 * {@link InputQueue.length} before reading, as the parser's states do.
 */
export class InputQueue {
  /** Unread input: `#chunks[0]` from `#offset`, then the other chunks whole. */
  #chunks: Buffer[] = NO_CHUNKS;
  #offset = 0;
  #length = 0;

  /** The accumulation of small reads (see COALESCE_MAX_BYTES), while it may still be used. */
  #accumulation: Accumulation | null = null;

  /** Unread bytes. */
  get length(): number {
    return this.#length;
  }

  /** The chunk read next (from {@link InputQueue.offset}); undefined when the queue is empty. */
  get first(): Buffer | undefined {
    return this.#chunks[0];
  }

  /** Where reading resumes in {@link InputQueue.first}. */
  get offset(): number {
    return this.#offset;
  }

  /** How many buffers hold the unread bytes (for diagnostics: small reads are coalesced). */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /**
   * Appends a chunk: held as it is (zero copy) when nothing is waiting or it is large, else
   * copied into the accumulation buffer (see COALESCE_MAX_BYTES).
   */
  push(chunk: Buffer): void {
    const length = chunk.length;
    if (this.#length === 0 || length >= COALESCE_MAX_BYTES) {
      // The common case: nothing waiting, held as it is (zero copy).
      const chunks = this.#chunks;
      if (chunks === NO_CHUNKS) this.#chunks = [chunk];
      else chunks.push(chunk);
      const accumulation = this.#accumulation;
      if (accumulation !== null) accumulation.open = false;
    } else {
      this.#accumulate(chunk);
    }
    this.#length += length;
  }

  /** Drops the accumulation buffer and the chunk list if nothing is waiting: an idle connection keeps neither. */
  releaseIfEmpty(): void {
    if (this.#length === 0) {
      this.#accumulation = null;
      this.#chunks = NO_CHUNKS;
      this.#offset = 0;
    }
  }

  /** Discards everything, the accumulation buffer included. */
  clear(): void {
    this.#chunks = NO_CHUNKS;
    this.#offset = 0;
    this.#length = 0;
    this.#accumulation = null;
  }

  /** Consumes `count` bytes that all lie in `chunk`, which must be {@link InputQueue.first}. */
  skip(chunk: Buffer, count: number): void {
    const offset = this.#offset + count;
    if (offset === chunk.length) {
      this.#chunks.shift();
      this.#offset = 0;
    } else {
      this.#offset = offset;
    }
    this.#length -= count;
  }

  /** Reads one byte (the caller checked {@link InputQueue.length}). */
  readByte(): number {
    const chunk = this.#chunks[0]!;
    const byte = chunk[this.#offset]!;
    this.skip(chunk, 1);
    return byte;
  }

  /** Reads a big-endian unsigned 32-bit integer, byte by byte (it may span chunks). */
  readUint32(): number {
    const high = this.readByte() * 0x1000000; // not << 24: that would go negative
    return high + ((this.readByte() << 16) | (this.readByte() << 8) | this.readByte());
  }

  /** Takes `length` bytes: a view when they lie in one chunk, else a copy. */
  take(length: number): Buffer {
    const chunk = this.#chunks[0];
    if (chunk === undefined) return Buffer.alloc(0); // only when length is 0
    const start = this.#offset;
    if (start + length <= chunk.length) {
      this.skip(chunk, length);
      return chunk.subarray(start, start + length);
    }
    const data = Buffer.allocUnsafe(length);
    this.copyTo(data, 0, length);
    return data;
  }

  /**
   * Takes `length` masked bytes that span chunks as one new buffer, unmasked with `key` (its
   * bytes 0-3; bytes 4-7 are overwritten with a repeat of them): each chunk's part is copied and
   * unmasked in the same pass (maskInto), and the buffer is placed at the same address mod 4 as
   * the first (largest) part so that pass runs on 32-bit words. A memcpy then an in-place pass
   * cost 12.9% + 24.8% of the server in the 64 KiB echo, where every frame spans two reads.
   */
  takeUnmasked(length: number, key: Uint8Array): Buffer {
    const chunks = this.#chunks;
    let offset = this.#offset;
    key[4] = key[0]!;
    key[5] = key[1]!;
    key[6] = key[2]!;
    key[7] = key[3]!;
    const first = chunks[0]!;
    const store = Buffer.allocUnsafe(length + 3);
    const base = (first.byteOffset + offset - store.byteOffset) & 3;
    let written = 0;
    let used = 0;
    while (written < length) {
      const chunk = chunks[used]!;
      const count = Math.min(chunk.length - offset, length - written);
      const part = offset === 0 && count === chunk.length ? chunk : chunk.subarray(offset, offset + count);
      maskInto(part, store, base + written, key, written & 3);
      written += count;
      offset += count;
      if (offset === chunk.length) {
        used++;
        offset = 0;
      }
    }
    if (used > 0) chunks.splice(0, used);
    this.#offset = offset;
    this.#length -= length;
    return store.subarray(base, base + length);
  }

  /** Copies `length` bytes (possibly spanning chunks) into `target` at `targetOffset`, consuming them. */
  copyTo(target: Buffer, targetOffset: number, length: number): void {
    const chunks = this.#chunks;
    let offset = this.#offset;
    let written = 0;
    let used = 0;
    while (written < length) {
      const chunk = chunks[used]!;
      const count = Math.min(chunk.length - offset, length - written);
      chunk.copy(target, targetOffset + written, offset, offset + count);
      written += count;
      offset += count;
      if (offset === chunk.length) {
        used++;
        offset = 0;
      }
    }
    if (used > 0) chunks.splice(0, used); // once per payload: no shift per chunk
    this.#offset = offset;
    this.#length -= length;
  }

  /**
   * Unmasks in place (when `key` is given: its bytes 0-7 the key repeated, at phase
   * `position & 3`) the newest `count` unread bytes, the arrived part of a text payload, and
   * feeds them to `validator`, without consuming them. Returns false as soon as the validator
   * rejects a part: RFC 6455 §8.1 fail-fast within a frame spanning reads.
   */
  unmaskAndValidateNewest(count: number, key: Uint8Array | null, position: number, validator: Utf8Validator): boolean {
    const chunks = this.#chunks;
    // Usually the newest bytes lie in the last chunk alone.
    let index = chunks.length - 1;
    let from = chunks[index]!.length - count;
    while (from < 0) from += chunks[--index]!.length;
    for (; index < chunks.length; index++) {
      const chunk = chunks[index]!;
      const end = chunk.length;
      if (key !== null) {
        // A read of a few bytes: a plain loop rather than a view for unmaskInPlace.
        if (end - from < 16) for (let i = from; i < end; i++) chunk[i]! ^= key[(position + i - from) & 3]!;
        else unmaskInPlace(from === 0 ? chunk : chunk.subarray(from), key, position & 3);
      }
      if (!validator.push(chunk, from, end)) return false;
      position += end - from;
      from = 0;
    }
    return true;
  }

  /**
   * Queues a small read behind waiting bytes by copying it into the accumulation buffer: the
   * last pending chunk grows instead of a new Buffer being held per read.
   */
  #accumulate(chunk: Buffer): void {
    const length = chunk.length;
    let accumulation = this.#accumulation;
    if (accumulation === null || accumulation.end + length > accumulation.buffer.length) {
      const wanted = 2 * (this.#length + length); // size >= length: length < COALESCE_MAX_BYTES
      const size = Math.min(MAX_ACCUMULATION_BYTES, Math.max(MIN_ACCUMULATION_BYTES, wanted));
      accumulation = this.#accumulation = new Accumulation(Buffer.allocUnsafe(size));
    }
    const chunks = this.#chunks;
    if (!accumulation.open) {
      accumulation.open = true;
      accumulation.start = accumulation.end;
      chunks.push(EMPTY); // replaced just below
    }
    accumulation.buffer.set(chunk, accumulation.end);
    const end = (accumulation.end += length);
    // A longer view with the same start: `#offset` stays right if it is also `#chunks[0]`.
    chunks[chunks.length - 1] = accumulation.buffer.subarray(accumulation.start, end);
  }
}

/**
 * An accumulation buffer and where its bytes are: one object made with the buffer (small reads
 * behind waiting bytes are rare) instead of four fields on every queue.
 */
class Accumulation {
  /** Bytes before `end` are never written again: a delivered message may be a view of them. */
  readonly buffer: Buffer;
  end = 0;
  /** Whether the last pending chunk is the view `buffer[start, end)`. */
  open = false;
  start = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }
}
