/**
 * node:zlib for permessage-deflate: one raw deflate or inflate stream run one message at a time
 * ({@link ZlibCodec}), a process-wide bound on the zlib operations in flight ({@link ZlibLimiter}),
 * and pools of reset streams shared by connections that keep no context between messages.
 *
 * Why pools: a raw deflate stream with a 32 KiB window and memLevel 8 holds about 256 KiB of
 * native memory, an inflate stream about 44 KiB. A connection that negotiated no context
 * takeover needs none of it between messages, so it borrows a stream for one message and gives
 * it back reset; the pool never holds more than the limiter lets run at once.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from "node:zlib";

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, removed from each message. */
export const DEFLATE_TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The compressed payload of an empty message (RFC 7692 §7.2.3.6). */
const EMPTY_MESSAGE = Buffer.from([0x00]);

/** Compressed messages up to this size are inflated with their trailer in one write. */
const CONCAT_MAX_BYTES = 64 * 1024;

/** Default of the `concurrency` option: zlib operations in flight at once across the process. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;

/**
 * Runs tasks with at most `limit` in flight; the others wait in arrival order. A task calls
 * {@link ZlibLimiter.release} exactly once when its zlib work is over.
 */
export class ZlibLimiter {
  readonly limit: number;
  #active = 0;
  #waiting: Array<() => void> = [];
  #head = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Runs `task` now if a slot is free, else when one is. */
  run(task: () => void): void {
    if (this.#active < this.limit) {
      this.#active++;
      task();
    } else {
      this.#waiting.push(task);
    }
  }

  /** A task finished: the next waiting one takes its slot. */
  release(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = NOOP;
      if (this.#head === this.#waiting.length) {
        this.#waiting = [];
        this.#head = 0;
      }
      next();
    } else {
      this.#active--;
    }
  }
}

function NOOP(): void {}

const limiters = new Map<number, ZlibLimiter>();

/** The process-wide limiter for `concurrency`: everything configured alike shares one. */
export function limiterFor(concurrency: number): ZlibLimiter {
  let limiter = limiters.get(concurrency);
  if (limiter === undefined) limiters.set(concurrency, (limiter = new ZlibLimiter(concurrency)));
  return limiter;
}

/** How a deflate stream is configured (also the key of its pool). */
export interface DeflateConfig {
  readonly level: number;
  readonly memLevel: number;
  readonly windowBits: number;
}

/** Called once per {@link ZlibCodec.run}: the output, or why there is none. */
export type CodecCallback = (error: Error | undefined, output: Buffer | undefined) => void;

/** The error of an inflated message over its limit (the connection closes with 1009). */
export class InflateLimitError extends Error {
  constructor(limit: number) {
    super(`the message inflates to more than ${limit} bytes`);
  }
}

/**
 * One raw deflate or inflate stream processing one message at a time: the input, then (inflate)
 * the trailer, then a sync flush; the output is collected until the flush completes. An
 * inflation stops as soon as its output passes `limit`: the stream is closed, nothing more is
 * produced, and no more than `limit` bytes are ever held.
 */
export class ZlibCodec {
  readonly #stream: DeflateRaw | InflateRaw;
  readonly #inflate: boolean;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** Bytes zlib produced for the current (or last) message, even past the limit (diagnostics). */
  #produced = 0;
  #limit = Infinity;
  #callback: CodecCallback | undefined;
  /** The stream cannot be used again (an error, the limit, or the end of a final block). */
  #broken = false;

  constructor(inflate: boolean, options: { windowBits: number; level?: number; memLevel?: number }) {
    this.#inflate = inflate;
    // Every write is sync-flushed (RFC 7692 §7.2.1), so a message is one write and, usually, one
    // trip to the thread pool: write() + flush() would be two (three with the trailer).
    const flush = constants.Z_SYNC_FLUSH;
    this.#stream = inflate
      ? createInflateRaw({ windowBits: options.windowBits, flush })
      : createDeflateRaw({ windowBits: options.windowBits, level: options.level ?? -1, memLevel: options.memLevel ?? 8, flush });
    this.#stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#stream.on("error", (error: Error) => this.#finish(error));
    // A final block (BFINAL) ends the stream: its output is complete, the stream is spent.
    this.#stream.on("end", () => {
      this.#broken = true;
    });
  }

  /** Whether the codec can no longer be used (it is closed). */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Bytes zlib produced for the current or last message, counting any produced after a limit
   * stopped it: shows how far past the limit an inflation went (one zlib chunk at most).
   */
  get producedBytes(): number {
    return this.#produced;
  }

  /** Whether a message is being processed. */
  get busy(): boolean {
    return this.#callback !== undefined;
  }

  /**
   * Processes one message. `callback` is called once, asynchronously: with the whole output
   * (deflate: the trailer removed), or with an error ({@link InflateLimitError} past `limit`).
   */
  run(input: Buffer, limit: number, callback: CodecCallback): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#produced = 0;
    this.#limit = limit;
    this.#callback = callback;
    const stream = this.#stream;
    if (!this.#inflate) {
      stream.write(input, this.#written);
    } else if (input.length <= CONCAT_MAX_BYTES) {
      // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload
      // of the message" before decompressing. Copying a small message costs less than a write.
      stream.write(Buffer.concat([input, DEFLATE_TRAILER], input.length + 4), this.#written);
    } else {
      stream.write(input);
      stream.write(DEFLATE_TRAILER, this.#written);
    }
  }

  /** The write callback of every message (made once): all its output has been emitted. */
  readonly #written = (): void => this.#flushed();

  /** Forgets the context (the LZ77 window): the next message starts afresh. */
  reset(): void {
    if (!this.#broken) this.#stream.reset();
  }

  /** Frees the native memory now. */
  close(): void {
    this.#broken = true;
    this.#callback = undefined;
    this.#chunks = [];
    this.#stream.close();
  }

  #onData(chunk: Buffer): void {
    this.#produced += chunk.length;
    if (this.#callback === undefined) return;
    const bytes = this.#bytes + chunk.length;
    if (bytes > this.#limit) {
      // Stop at once: the rest is never inflated, and what was inflated is dropped.
      this.#finish(new InflateLimitError(this.#limit));
      return;
    }
    this.#bytes = bytes;
    this.#chunks.push(chunk);
  }

  #flushed(): void {
    const callback = this.#callback;
    if (callback === undefined) return;
    this.#callback = undefined;
    const chunks = this.#chunks;
    this.#chunks = [];
    let output = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    if (!this.#inflate) {
      // An empty message after another one: zlib has nothing to flush and writes nothing. Its
      // payload is then an empty stored block without LEN/NLEN (RFC 7692 §7.2.3.6: 0x00), which
      // the receiver completes with the trailer.
      if (output.length === 0) {
        callback(undefined, EMPTY_MESSAGE);
        return;
      }
      // RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end".
      const end = output.length - 4;
      if (end < 0 || output.readUInt32BE(end) !== 0x0000ffff) {
        this.close();
        callback(new Error("zlib did not end the message with a sync flush"), undefined);
        return;
      }
      output = output.subarray(0, end);
    }
    callback(undefined, output);
  }

  #finish(error: Error): void {
    const callback = this.#callback;
    this.close();
    callback?.(error, undefined);
  }
}

/** Idle, reset codecs by configuration key, shared by connections without context takeover. */
const pools = new Map<string, ZlibCodec[]>();
/** When each pooled codec was given back (performance.now()), to free the long-idle ones. */
const idleSince = new WeakMap<ZlibCodec, number>();

/** Pooled codecs idle longer than this are closed: a burst's streams do not stay forever. */
export const POOL_IDLE_MS = 30_000;
let sweeper: NodeJS.Timeout | undefined;

function poolKey(inflate: boolean, config: { windowBits: number; level?: number; memLevel?: number }): string {
  return inflate ? `i${config.windowBits}` : `d${config.windowBits}:${config.level}:${config.memLevel}`;
}

/** A reset codec of this configuration: from the pool, or new. Give it back with {@link releaseCodec}. */
export function borrowCodec(inflate: boolean, config: { windowBits: number; level?: number; memLevel?: number }): ZlibCodec {
  const pool = pools.get(poolKey(inflate, config));
  return pool?.pop() ?? new ZlibCodec(inflate, config);
}

/**
 * Returns a borrowed codec, reset, to its pool — or closes it when it is broken or the pool
 * already holds `max` (the limiter's bound, so idle pools stay small).
 */
export function releaseCodec(
  codec: ZlibCodec,
  inflate: boolean,
  config: { windowBits: number; level?: number; memLevel?: number },
  max: number,
): void {
  if (codec.broken) {
    codec.close();
    return;
  }
  const key = poolKey(inflate, config);
  let pool = pools.get(key);
  if (pool === undefined) pools.set(key, (pool = []));
  if (pool.length >= max) {
    codec.close();
    return;
  }
  codec.reset();
  idleSince.set(codec, performance.now());
  pool.push(codec);
  if (sweeper === undefined) {
    sweeper = setInterval(trimCodecPools, POOL_IDLE_MS / 2, POOL_IDLE_MS);
    sweeper.unref(); // never keeps the process alive
  }
}

/**
 * Closes the pooled codecs idle for more than `maxIdleMs` (run every 15 s while pools are not
 * empty). Borrowing takes the most recently returned codec, so the oldest are the unused ones.
 */
export function trimCodecPools(maxIdleMs: number = POOL_IDLE_MS): void {
  const oldest = performance.now() - maxIdleMs;
  for (const [key, pool] of pools) {
    let keep = 0;
    while (keep < pool.length && (idleSince.get(pool[keep]!) ?? 0) < oldest) keep++;
    for (const codec of pool.splice(0, keep)) codec.close();
    if (pool.length === 0) pools.delete(key);
  }
  if (pools.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Codecs idle in the pools (for diagnostics and tests). */
export function pooledCodecs(): number {
  let count = 0;
  for (const pool of pools.values()) count += pool.length;
  return count;
}

/** Closes every pooled codec (their native memory is freed now rather than at exit). */
export function drainCodecPools(): void {
  for (const pool of pools.values()) for (const codec of pool) codec.close();
  pools.clear();
}
