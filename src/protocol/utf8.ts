/**
 * UTF-8 validation of text messages and close reasons (RFC 6455 §8.1, RFC 3629).
 *
 * Whole payloads go through `buffer.isUtf8` (simdutf: several GB/s). A message split across
 * frames goes through {@link Utf8Validator}, which hands the complete middle of every fragment to
 * `isUtf8` and runs a byte-at-a-time check only over the at most 3 bytes of a sequence cut by a
 * fragment boundary (or over a push of a few bytes), so it fails as soon as the bytes so far
 * cannot begin valid UTF-8.
 *
 * @module
 */

import { isUtf8 } from "node:buffer";

/**
 * Whether `data` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates U+D800-U+DFFF,
 * nothing above U+10FFFF; non-characters such as U+FFFF are valid).
 *
 * @param data - The bytes to check.
 */
export function isValidUtf8(data: Uint8Array): boolean {
  return isUtf8(data);
}

/**
 * Streaming UTF-8 validator for a text message that arrives in fragments.
 *
 * `push` returns false as soon as the bytes pushed so far cannot be the beginning of valid UTF-8
 * (RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
 * stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
 * Connection_"); a truncated sequence at the very end is caught by `end`.
 *
 * @example
 * ```ts
 * const v = new Utf8Validator();
 * v.push(Uint8Array.of(0xe2, 0x82)); // true: could become "€"
 * v.push(Uint8Array.of(0xac));       // true
 * v.end();                           // true
 * ```
 */
export class Utf8Validator {
  /** Continuation bytes still expected by the sequence cut at the end of the last chunk. */
  #needed = 0;
  /** Range of the next continuation byte (RFC 3629 §4 table: narrower after E0, ED, F0, F4). */
  #low = 0x80;
  #high = 0xbf;
  /** Set once invalid input has been seen; sticky until {@link Utf8Validator.reset}. */
  #failed = false;

  /**
   * Feeds the next bytes of the message: `chunk[start .. end)`, the whole chunk by default.
   *
   * @param chunk - Holds the next bytes; not retained.
   * @param start - Index of the first byte to feed.
   * @param end - Index after the last byte to feed.
   * @returns false when the bytes so far cannot be a prefix of valid UTF-8 (and on every later
   *   call until {@link Utf8Validator.reset}).
   */
  push(chunk: Uint8Array, start = 0, end = chunk.length): boolean {
    if (this.#failed) return false;
    let from = start;
    // 1. Finish the sequence the previous chunk cut, byte by byte.
    while (this.#needed > 0 && from < end) {
      if (!this.#continuation(chunk[from]!)) return this.#fail();
      from++;
    }
    if (end - from < BYTEWISE_MAX_BYTES) return this.#pushBytewise(chunk, from, end);
    // 2. Find a sequence cut by the end of this chunk: a lead byte within the last 3 bytes, with
    //    only continuation bytes after it, that announces more bytes than remain.
    let cut = end;
    const stop = Math.max(from, end - 3);
    for (let i = end - 1; i >= stop; i--) {
      const byte = chunk[i]!;
      if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for its lead
      if (byte >= 0xc0 && sequenceLength(byte) > end - i) cut = i;
      break;
    }
    // 3. The complete middle, at simdutf speed.
    const middle = from === 0 && cut === chunk.length ? chunk : chunk.subarray(from, cut);
    if (cut > from && !isUtf8(middle)) return this.#fail();
    // 4. The cut tail (at most 3 bytes) through the byte-wise check, so that e.g. ED A0 (a
    //    surrogate) or F4 90 (> U+10FFFF) fails now rather than when the message ends.
    return cut === end || this.#pushBytewise(chunk, cut, end);
  }

  /**
   * Ends the message.
   *
   * @returns true if every byte pushed since the last reset forms valid UTF-8 with no sequence
   *   left incomplete.
   */
  end(): boolean {
    return !this.#failed && this.#needed === 0;
  }

  /** Forgets everything pushed so far, ready for a new message. */
  reset(): void {
    this.#needed = 0;
    this.#low = 0x80;
    this.#high = 0xbf;
    this.#failed = false;
  }

  #fail(): false {
    this.#failed = true;
    return false;
  }

  /** Checks `chunk[from .. end)` one byte at a time with the RFC 3629 §4 table. */
  #pushBytewise(chunk: Uint8Array, from: number, end: number): boolean {
    for (let i = from; i < end; i++) {
      const byte = chunk[i]!;
      if (this.#needed > 0 ? !this.#continuation(byte) : byte >= 0x80 && !this.#lead(byte)) {
        return this.#fail();
      }
    }
    return true;
  }

  /** Starts a multi-byte sequence at `byte` (RFC 3629 §4); false if it cannot start one. */
  #lead(byte: number): boolean {
    this.#low = 0x80;
    this.#high = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.#needed = 1;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      this.#needed = 2;
      if (byte === 0xe0) this.#low = 0xa0; // E0 80..9F would be overlong
      else if (byte === 0xed) this.#high = 0x9f; // ED A0..BF would be a surrogate
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.#needed = 3;
      if (byte === 0xf0) this.#low = 0x90; // F0 80..8F would be overlong
      else if (byte === 0xf4) this.#high = 0x8f; // F4 90.. would be above U+10FFFF
    } else {
      return false; // 80..C1 (stray continuation, overlong C0/C1) and F5..FF never appear
    }
    return true;
  }

  /** Accepts the next continuation byte of the open sequence; false if it is out of range. */
  #continuation(byte: number): boolean {
    if (byte < this.#low || byte > this.#high) return false;
    this.#needed--;
    this.#low = 0x80;
    this.#high = 0xbf;
    return true;
  }
}

/**
 * Below this many bytes {@link Utf8Validator.push} checks byte by byte: cheaper than a view and
 * a call to `isUtf8` (about 100 ns together) for the few bytes of a frame trickled in tiny reads.
 */
const BYTEWISE_MAX_BYTES = 16;

/** Length of the sequence a byte >= 0xC0 announces; 1 for bytes that are never a valid lead. */
function sequenceLength(lead: number): number {
  if (lead < 0xc2) return 1; // C0, C1: always invalid, let the caller's isUtf8 reject them
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf5) return 4;
  return 1; // F5..FF: always invalid
}
