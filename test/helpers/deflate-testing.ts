/**
 * Helpers of the permessage-deflate tests, written independently of `src/`: compressing and
 * decompressing a message the RFC 7692 §7.2 way with node:zlib's one-shot functions, and a
 * hand-made DEFLATE "bomb" (a fixed-Huffman block of back-references) that inflates to any size
 * from about 1/159 of it, without having to compress that much data first.
 *
 * @module
 */

import { constants, deflateRawSync, inflateRawSync } from "node:zlib";

/** RFC 7692 §7.2.1: the trailer a sync flush ends with. */
export const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** RFC 7692 §7.2.1: compress with an empty window, sync-flush, remove the trailer. */
export function compressMessage(data: Uint8Array | string, windowBits = 15): Buffer {
  const out = deflateRawSync(typeof data === "string" ? Buffer.from(data) : data, {
    finishFlush: constants.Z_SYNC_FLUSH,
    windowBits,
  });
  if (!out.subarray(-4).equals(TRAILER)) throw new Error("no sync flush trailer");
  return out.subarray(0, -4);
}

/** RFC 7692 §7.2.2: append the trailer and inflate (one message, empty window). */
export function inflateMessage(payload: Uint8Array): Buffer {
  return inflateRawSync(Buffer.concat([payload, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH });
}

/** Writes bits LSB-first into bytes (RFC 1951 §3.1.1); Huffman codes go MSB-first. */
class BitWriter {
  readonly bytes: number[] = [];
  #current = 0;
  #count = 0;

  bits(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      this.#current |= ((value >> i) & 1) << this.#count;
      if (++this.#count === 8) this.#flushByte();
    }
  }

  code(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bits((code >> i) & 1, 1);
  }

  align(): void {
    if (this.#count > 0) this.#flushByte();
  }

  #flushByte(): void {
    this.bytes.push(this.#current);
    this.#current = 0;
    this.#count = 0;
  }
}

/**
 * A compressed message payload (trailer removed) that inflates to `1 + 258 * repeats` zero
 * bytes: one fixed-Huffman block (RFC 1951 §3.2.6) with a literal 0 then `repeats` copies of
 * <length 258, distance 1>, then the 3 header bits of the sync flush's empty stored block whose
 * LEN/NLEN are the trailer the receiver appends.
 */
export function deflateBomb(repeats: number): Buffer {
  const w = new BitWriter();
  w.bits(0, 1); // BFINAL 0
  w.bits(1, 2); // BTYPE 01: fixed Huffman codes
  w.code(0x30, 8); // literal 0: codes 0-143 are 00110000 + value, 8 bits
  for (let i = 0; i < repeats; i++) {
    w.code(0xc5, 8); // length 258: symbol 285 = 11000000 + 5, no extra bits
    w.code(0, 5); // distance 1: distance code 0, no extra bits
  }
  w.code(0, 7); // end of block: symbol 256 = 0000000
  w.bits(0, 1); // the empty stored block of the sync flush: BFINAL 0
  w.bits(0, 2); // BTYPE 00
  w.align();
  return Buffer.from(w.bytes);
}
