/**
 * Seeded randomness for randomized tests: one generator (mulberry32), the inputs built from it
 * (bytes, UTF-8, text), and the seed handling every randomized test shares — a fresh seed each
 * run, `WYND_SEED=<n>` to replay one, and the seed added to the message of any failure.
 *
 * Independent of `src/` on purpose: the inputs that test the project are not made by it.
 *
 * @module
 */

import { randomInt } from "node:crypto";

/** A seeded pseudo-random generator: each call returns a uint32. */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for test inputs, and reproducible from its seed. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `WYND_SEED` when set (to replay a failure), else undefined. */
export function seedFromEnvironment(): number | undefined {
  const env = process.env["WYND_SEED"];
  return env !== undefined ? Number(env) >>> 0 : undefined;
}

/** `WYND_SEED` when set, else a fresh random seed. */
export function pickSeed(): number {
  return seedFromEnvironment() ?? randomInt(2 ** 31);
}

/**
 * Runs `body` with a generator seeded by `seed`; a failure's message gets the seed (and `what`,
 * when given) and how to replay it with `WYND_SEED`.
 */
export async function withSeed(seed: number, what: string | undefined, body: (rng: Rng) => Promise<void>): Promise<void> {
  try {
    await body(createRng(seed));
  } catch (error) {
    if (error instanceof Error) {
      const label = what === undefined ? "" : `${what}, `;
      error.message += `\n    (${label}random seed ${seed}: rerun with WYND_SEED=${seed})`;
    }
    throw error;
  }
}

/** Runs `body` with a generator seeded by {@link pickSeed}; see {@link withSeed}. */
export function seeded(body: (rng: Rng) => Promise<void>): Promise<void> {
  return withSeed(pickSeed(), undefined, body);
}

/** An integer in [min, max], both included. */
export function randomIntBetween(rng: Rng, min: number, max: number): number {
  return min + (rng() % (max - min + 1));
}

/** `length` seeded random bytes. */
export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let i = 0;
  for (; i + 4 <= length; i += 4) out.writeUInt32LE(rng(), i);
  for (; i < length; i++) out[i] = rng() & 0xff;
  return out;
}

/**
 * Exactly `byteLength` bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte sequences (never a
 * surrogate), encoded here by hand rather than by `Buffer.from(string)`.
 */
export function randomUtf8(rng: Rng, byteLength: number): Buffer {
  const out = Buffer.allocUnsafe(byteLength);
  let i = 0;
  while (i < byteLength) {
    const left = byteLength - i;
    const size = Math.min(left, 1 + (rng() % 4));
    const r = rng();
    if (size === 1) {
      out[i++] = 0x20 + (r % 0x5f);
    } else if (size === 2) {
      const cp = 0x80 + (r % 0x780); // U+0080..U+07FF
      out[i++] = 0xc0 | (cp >> 6);
      out[i++] = 0x80 | (cp & 0x3f);
    } else if (size === 3) {
      let cp = 0x800 + (r % 0xf800); // U+0800..U+FFFF
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800; // skip the surrogates
      out[i++] = 0xe0 | (cp >> 12);
      out[i++] = 0x80 | ((cp >> 6) & 0x3f);
      out[i++] = 0x80 | (cp & 0x3f);
    } else {
      const cp = 0x10000 + (r % 0x100000); // U+10000..U+10FFFF
      out[i++] = 0xf0 | (cp >> 18);
      out[i++] = 0x80 | ((cp >> 12) & 0x3f);
      out[i++] = 0x80 | ((cp >> 6) & 0x3f);
      out[i++] = 0x80 | (cp & 0x3f);
    }
  }
  return out;
}

/** A random string of `count` code points from every UTF-8 length class (no lone surrogates). */
export function randomText(rng: Rng, count: number): string {
  const ranges: ReadonlyArray<readonly [number, number]> = [
    [0x20, 0x7e], // 1 byte
    [0x80, 0x7ff], // 2 bytes
    [0x800, 0xd7ff], // 3 bytes, below the surrogates
    [0xe000, 0xfffd], // 3 bytes, above them
    [0x10000, 0x10ffff], // 4 bytes
  ];
  let out = "";
  for (let i = 0; i < count; i++) {
    const [lo, hi] = ranges[rng() % ranges.length]!;
    out += String.fromCodePoint(lo + (rng() % (hi - lo + 1)));
  }
  return out;
}
