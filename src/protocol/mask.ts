/**
 * Frame masking (RFC 6455 §5.3): XOR of the payload with a 4-byte key, and a pool of
 * cryptographically random keys.
 *
 * Performance (Node 20, x64; throwaway timings, best of 5-7 runs, on a misaligned view as a
 * socket chunk gives it). Candidates for the in-place XOR:
 *
 * | bytes | naive `i & 3` loop | byte loop unrolled by 4 | Uint32Array word loop | DataView loop |
 * | ----: | -----------------: | ----------------------: | --------------------: | ------------: |
 * |    16 |              18 ns |                   13 ns |                 82 ns |         97 ns |
 * |   125 |             230 ns |                   84 ns |                 88 ns |        130 ns |
 * |   256 |             441 ns |                  168 ns |                115 ns |        163 ns |
 * |    1K |             1.7 µs |                  728 ns |                245 ns |        380 ns |
 * |   64K |             110 µs |                   42 µs |                 10 µs |         17 µs |
 * |    1M |            1.76 ms |                  663 µs |                164 µs |        266 µs |
 *
 * Creating the `Uint32Array` view costs 60-70 ns, so the two cross at about 128 bytes (measured
 * through this module with the threshold at 64 vs 160: 125 B 98 vs 100 ns, 96 B 101 vs 78 ns,
 * 159 B 108 vs 122 ns). Short payloads (every control frame, most chat messages) take the byte
 * loop, longer ones the word loop over the 4-byte-aligned middle. For {@link maskInto},
 * `target.set(source)` (a memcpy) then the in-place XOR beats a copying byte loop from about
 * 96 bytes (125 B: 109 vs 153 ns; 1 KiB: 264 vs 1222 ns; 64 KiB: 12 vs 77 µs), and the source's
 * alignment does not matter.
 *
 * @module
 */

import { randomFillSync } from "node:crypto";

/** Below this many bytes {@link unmaskInPlace} uses the byte loop (see the table above). */
const UNMASK_WORD_LOOP_MIN_BYTES = 128;

/** Below this many bytes {@link maskInto} uses a copying byte loop (see the table above). */
const MASK_INTO_WORD_LOOP_MIN_BYTES = 96;

/** Scratch space to build the 32-bit key word in platform byte order (works on any endianness). */
const keyBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyBytes.buffer);

/**
 * XORs `length` bytes of `data` starting at `start` with the 4-byte key at `key[keyOffset..+4]`,
 * key byte 0 applying to `data[start]`.
 */
function xorInPlace(
  data: Uint8Array,
  start: number,
  length: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  const k0 = key[keyOffset]!;
  const k1 = key[keyOffset + 1]!;
  const k2 = key[keyOffset + 2]!;
  const k3 = key[keyOffset + 3]!;
  const end = start + length;
  let i = start;
  if (length >= UNMASK_WORD_LOOP_MIN_BYTES) {
    // Bytes up to the first 4-byte-aligned address of the underlying ArrayBuffer.
    const head = (4 - ((data.byteOffset + start) & 3)) & 3;
    for (let h = 0; h < head; h++, i++) data[i]! ^= key[keyOffset + (h & 3)]!;
    // The key rotated by `head`, read as one word in platform byte order.
    keyBytes[0] = key[keyOffset + (head & 3)]!;
    keyBytes[1] = key[keyOffset + ((head + 1) & 3)]!;
    keyBytes[2] = key[keyOffset + ((head + 2) & 3)]!;
    keyBytes[3] = key[keyOffset + ((head + 3) & 3)]!;
    const mask = keyWord[0]!;
    const words = (length - head) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    let w = 0;
    for (; w + 3 < words; w += 4) {
      view[w]! ^= mask;
      view[w + 1]! ^= mask;
      view[w + 2]! ^= mask;
      view[w + 3]! ^= mask;
    }
    for (; w < words; w++) view[w]! ^= mask;
    i += words << 2;
    // The tail continues the key phase of the aligned middle: position (i - start) & 3.
    for (; i < end; i++) data[i]! ^= key[keyOffset + ((i - start) & 3)]!;
    return;
  }
  for (; i + 3 < end; i += 4) {
    data[i]! ^= k0;
    data[i + 1]! ^= k1;
    data[i + 2]! ^= k2;
    data[i + 3]! ^= k3;
  }
  if (i < end) data[i]! ^= k0;
  if (i + 1 < end) data[i + 1]! ^= k1;
  if (i + 2 < end) data[i + 2]! ^= k2;
}

/**
 * From this many bytes, {@link maskInto} with source and target equally aligned (mod 4) masks in
 * one pass of 32-bit words, reading the source and writing the target, instead of a memcpy and
 * then a second pass over the target: measured with `npm run bench -- micro mask` (see
 * docs/benchmarks.md); below it the two views cost more than the pass saves.
 */
const FUSED_MIN_BYTES = 1024;

/**
 * `target[targetOffset + i] = source[i] ^ key[keyOffset + (i & 3)]` for `i < length`, a word at
 * a time: the caller checked that source and target are at the same address mod 4.
 */
function xorCopy(
  source: Uint8Array,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  const head = (4 - (source.byteOffset & 3)) & 3;
  let i = 0;
  for (; i < head; i++) target[targetOffset + i] = source[i]! ^ key[keyOffset + (i & 3)]!;
  keyBytes[0] = key[keyOffset + (head & 3)]!;
  keyBytes[1] = key[keyOffset + ((head + 1) & 3)]!;
  keyBytes[2] = key[keyOffset + ((head + 2) & 3)]!;
  keyBytes[3] = key[keyOffset + ((head + 3) & 3)]!;
  const mask = keyWord[0]!;
  const words = (length - head) >>> 2;
  const from = new Uint32Array(source.buffer, source.byteOffset + head, words);
  const to = new Uint32Array(target.buffer, target.byteOffset + targetOffset + head, words);
  let w = 0;
  for (; w + 3 < words; w += 4) {
    to[w] = from[w]! ^ mask;
    to[w + 1] = from[w + 1]! ^ mask;
    to[w + 2] = from[w + 2]! ^ mask;
    to[w + 3] = from[w + 3]! ^ mask;
  }
  for (; w < words; w++) to[w] = from[w]! ^ mask;
  i = head + (words << 2);
  for (; i < length; i++) target[targetOffset + i] = source[i]! ^ key[keyOffset + (i & 3)]!;
}

/**
 * Unmasks (or masks: XOR is its own inverse) `data` in place with the 4-byte masking key found
 * at `key[keyOffset]` .. `key[keyOffset + 3]`. Key byte `i % 4` applies to `data[i]`
 * (RFC 6455 §5.3: octet i of the transformed data is octet i of the original data XOR octet
 * at index i modulo 4 of the masking key).
 *
 * @param data - The bytes to transform; modified in place.
 * @param key - A buffer holding the 4-byte key.
 * @param keyOffset - Where the key starts in `key`.
 */
export function unmaskInPlace(data: Uint8Array, key: Uint8Array, keyOffset: number): void {
  xorInPlace(data, 0, data.length, key, keyOffset);
}

/**
 * Writes `source` masked with the 4-byte key at `key[keyOffset]` into `target` at
 * `targetOffset`, leaving `source` untouched. `target` must have room for `source.length` bytes
 * from `targetOffset`, and must not overlap `source`.
 *
 * @param source - The bytes to mask.
 * @param target - Where the masked bytes go.
 * @param targetOffset - Index in `target` of the first masked byte.
 * @param key - A buffer holding the 4-byte key.
 * @param keyOffset - Where the key starts in `key`.
 */
export function maskInto(
  source: Uint8Array,
  target: Uint8Array,
  targetOffset: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  const length = source.length;
  if (length >= MASK_INTO_WORD_LOOP_MIN_BYTES) {
    if (length >= FUSED_MIN_BYTES && ((source.byteOffset - target.byteOffset - targetOffset) & 3) === 0) {
      xorCopy(source, target, targetOffset, length, key, keyOffset);
      return;
    }
    target.set(source, targetOffset);
    xorInPlace(target, targetOffset, length, key, keyOffset);
    return;
  }
  const k0 = key[keyOffset]!;
  const k1 = key[keyOffset + 1]!;
  const k2 = key[keyOffset + 2]!;
  const k3 = key[keyOffset + 3]!;
  let i = 0;
  let t = targetOffset;
  for (; i + 3 < length; i += 4, t += 4) {
    target[t] = source[i]! ^ k0;
    target[t + 1] = source[i + 1]! ^ k1;
    target[t + 2] = source[i + 2]! ^ k2;
    target[t + 3] = source[i + 3]! ^ k3;
  }
  if (i < length) target[t] = source[i]! ^ k0;
  if (i + 1 < length) target[t + 1] = source[i + 1]! ^ k1;
  if (i + 2 < length) target[t + 2] = source[i + 2]! ^ k2;
}

/**
 * Size of the pool of random key bytes: 2048 keys per `randomFillSync` call, so the cost of the
 * system call (about 2-3 µs) is spread to a couple of nanoseconds per frame.
 */
const MASK_KEY_POOL_BYTES = 8 * 1024;

const keyPool = Buffer.allocUnsafeSlow(MASK_KEY_POOL_BYTES);
/** Next unused byte of {@link keyPool}; starts "used up" so the first draw fills the pool. */
let keyPoolOffset = MASK_KEY_POOL_BYTES;

/** Index in {@link keyPool} of 4 fresh random bytes, refilling the pool when it is used up. */
function takeKeyOffset(): number {
  if (keyPoolOffset === MASK_KEY_POOL_BYTES) {
    // RFC 6455 §5.3: "the masking key MUST be derived from a strong source of entropy, and the
    // masking key for a given frame MUST NOT make it simple for a server/proxy to predict the
    // masking key for a subsequent frame" (a script must not choose the bytes on the wire).
    randomFillSync(keyPool);
    keyPoolOffset = 0;
  }
  const offset = keyPoolOffset;
  keyPoolOffset += 4;
  return offset;
}

/** A masking key: 4 bytes of `buffer` starting at `offset`. */
export interface MaskKey {
  /** The buffer holding the key (shared: read it before drawing the next key). */
  readonly buffer: Buffer;
  /** Index of the first key byte in `buffer`. */
  readonly offset: number;
}

/**
 * Draws a fresh, cryptographically random masking key from a pooled buffer filled with
 * `crypto.randomFillSync` (RFC 6455 §5.3: "The masking key needs to be unpredictable"). The
 * bytes are valid only until the pool is refilled, 2048 keys later: use them at once.
 */
export function nextMaskKey(): MaskKey {
  const offset = takeKeyOffset();
  return { buffer: keyPool, offset };
}

/**
 * Copies a fresh random masking key (see {@link nextMaskKey}) to `target[offset..offset+4]`;
 * the encoder writes it straight into a frame header without allocating.
 *
 * @param target - The buffer receiving the 4 key bytes.
 * @param offset - Index of the first key byte in `target`.
 */
export function writeMaskKey(target: Uint8Array, offset: number): void {
  const from = takeKeyOffset();
  target[offset] = keyPool[from]!;
  target[offset + 1] = keyPool[from + 1]!;
  target[offset + 2] = keyPool[from + 2]!;
  target[offset + 3] = keyPool[from + 3]!;
}
