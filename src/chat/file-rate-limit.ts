/**
 * The byte-rate limit of shared files: a second token bucket per connection, counted in file
 * bytes (default 1 MiB per second, bursts of two largest files). The message bucket alone lets a
 * client share five 5 MiB files a second, each relayed to everyone in the room; this bounds the
 * bytes a connection makes the server relay, whatever the count.
 *
 * It is the same {@link RateLimiter} as the message bucket, taking a file's size in tokens: a
 * file over the remaining budget is refused (the first of a streak with `rate-limited`), its
 * bytes count as strikes, and a client that keeps sending past `floodStrikes` bytes of refusals
 * (draining at the rate) is closed with 1008.
 *
 * @module
 */

import type { RateLimitOptions } from "./rate-limiter.js";

/** Options of the file byte-rate limit. */
export interface FileRateLimitOptions {
  /** File bytes a connection may share per second. Default 1 MiB. */
  readonly bytesPerSecond?: number;
  /** The bucket's size in bytes: how much may be shared at once. At least `maxFileBytes`. Default 2 × `maxFileBytes`. */
  readonly burstBytes?: number;
  /** Bytes of refused files (draining at the rate) past which the client is flooding. Default 2 × burstBytes. */
  readonly floodStrikeBytes?: number;
  /** The clock, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** Default file byte rate: 1 MiB per second per connection. */
export const DEFAULT_FILE_BYTES_PER_SECOND = 1024 * 1024;

/**
 * Validates the options against `maxFileBytes` (a burst smaller than the largest file would
 * refuse that file forever: RangeError) and returns them as a message bucket's options.
 */
export function resolveFileRateLimit(options: FileRateLimitOptions = {}, maxFileBytes: number): Required<RateLimitOptions> {
  const ratePerSecond = options.bytesPerSecond ?? DEFAULT_FILE_BYTES_PER_SECOND;
  const burst = options.burstBytes ?? 2 * maxFileBytes;
  const floodStrikes = options.floodStrikeBytes ?? 2 * burst;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`fileRateLimit.bytesPerSecond must be a positive number, got ${ratePerSecond}`);
  if (!(Number.isSafeInteger(burst) && burst >= maxFileBytes)) {
    throw new RangeError(`fileRateLimit.burstBytes must be an integer >= maxFileBytes (${maxFileBytes}), got ${burst}`);
  }
  if (!(Number.isSafeInteger(floodStrikes) && floodStrikes >= 1)) throw new RangeError(`fileRateLimit.floodStrikeBytes must be a positive integer, got ${floodStrikes}`);
  const now = options.now ?? (() => performance.now());
  if (typeof now !== "function") throw new TypeError("fileRateLimit.now must be a function");
  return { ratePerSecond, burst, floodStrikes, now };
}
