/**
 * The load generator's frame reader. It knows exactly what must come back: for a WebSocket
 * server, message n's unmasked frame (header with FIN, opcode and length, then the payload); for
 * the raw server, message n's client frame byte for byte. So it reads the stream by comparing it
 * with those bytes as they arrive — whatever the chunking, without buffering or copying — and
 * counts a message when its last byte matched. Anything else (another frame, a Close frame, a
 * corrupted or reordered payload) is an error that stops the reader.
 *
 * @module
 */

/** Below this many bytes a JS loop compares faster than a call into `Buffer#compare`. */
const JS_COMPARE_MAX_BYTES = 48;

/** Reads one connection's stream of expected units (frames or raw echoes). */
export class StreamReader {
  readonly #units: readonly Buffer[];
  readonly #variants: number;
  readonly #unitBytes: number;
  /** Variant of the unit being read. */
  #variant = 0;
  /** Bytes of the current unit already matched. */
  #position = 0;
  /** Set on the first mismatch; the reader then ignores everything. */
  error: string | undefined;

  constructor(units: readonly Buffer[]) {
    this.#units = units;
    this.#variants = units.length;
    this.#unitBytes = units[0]!.length;
  }

  /** Variant of the next unit to complete. */
  get next(): number {
    return this.#variant;
  }

  /** Whether a unit is partly read. */
  get midUnit(): boolean {
    return this.#position > 0;
  }

  /**
   * Reads `chunk`; returns how many units it completed (variants `next`, `next + 1`, ... as they
   * were before the call, modulo the variant count), or -1 on a mismatch (see `error`).
   */
  push(chunk: Buffer): number {
    if (this.error !== undefined) return -1;
    const length = chunk.length;
    const unitBytes = this.#unitBytes;
    let offset = 0;
    let completed = 0;
    while (offset < length) {
      const expected = this.#units[this.#variant]!;
      const position = this.#position;
      const n = Math.min(length - offset, unitBytes - position);
      let same = true;
      if (n <= JS_COMPARE_MAX_BYTES) {
        for (let i = 0; i < n; i++) {
          if (chunk[offset + i] !== expected[position + i]) {
            same = false;
            break;
          }
        }
      } else {
        same = chunk.compare(expected, position, position + n, offset, offset + n) === 0;
      }
      if (!same) {
        let i = 0;
        while (i < n - 1 && chunk[offset + i] === expected[position + i]) i++;
        this.error = describeMismatch(chunk, offset + i, position + i, expected);
        return -1;
      }
      offset += n;
      if (position + n === unitBytes) {
        this.#position = 0;
        this.#variant = this.#variant + 1 === this.#variants ? 0 : this.#variant + 1;
        completed++;
      } else {
        this.#position = position + n;
      }
    }
    return completed;
  }
}

function describeMismatch(chunk: Buffer, offset: number, position: number, expected: Buffer): string {
  if (position === 0 && (chunk[offset]! & 0x0f) === 0x8) {
    const code = chunk.length >= offset + 4 ? chunk.readUInt16BE(offset + 2) : undefined;
    return `the server sent a Close frame${code === undefined ? "" : ` (code ${code})`}`;
  }
  const at = position === 0 ? "at the start of a message" : `at byte ${position} of a message`;
  return `unexpected byte 0x${chunk[offset]!.toString(16)} ${at} (expected 0x${expected[position]!.toString(16)})`;
}
