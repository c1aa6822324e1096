/**
 * Per-connection rate limiting: a token bucket (default 5 messages per second, bursts of 10),
 * and a flood detector that tells a client who is merely typing fast from one who keeps sending
 * after being told to stop.
 *
 * Every refused message adds a strike; strikes drain at the bucket's rate. A client refused
 * now and then never accumulates strikes; one that keeps sending at several times the rate
 * does, and past `floodStrikes` the connection is closed (1008, policy violation). Only the
 * first refusal of a streak is answered with a notice, so a flood is not echoed back.
 *
 * The clock is injectable so tests are deterministic.
 *
 * @module
 */

/** Options of {@link RateLimiter}. */
export interface RateLimitOptions {
  /** Tokens added per second. Default 5. */
  readonly ratePerSecond?: number;
  /** The bucket's size: how many messages may be sent at once. Default 10. */
  readonly burst?: number;
  /** Strikes (refused messages, draining at `ratePerSecond`) past which the client is flooding. Default 2 × burst. */
  readonly floodStrikes?: number;
  /** The clock, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** What to do with one message: deliver it, refuse it (telling the client or not), or close. */
export type RateDecision = "allow" | "refuse-notify" | "refuse" | "flood";

/** Default rate: 5 messages per second. */
export const DEFAULT_RATE_PER_SECOND = 5;
/** Default burst: 10 messages. */
export const DEFAULT_BURST = 10;

/** Validates rate options, throwing RangeError/TypeError for a bad one; returns them resolved. */
export function resolveRateLimit(options: RateLimitOptions = {}): Required<RateLimitOptions> {
  const ratePerSecond = options.ratePerSecond ?? DEFAULT_RATE_PER_SECOND;
  const burst = options.burst ?? DEFAULT_BURST;
  const floodStrikes = options.floodStrikes ?? 2 * burst;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  if (!(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
  if (!(Number.isInteger(floodStrikes) && floodStrikes >= 1)) throw new RangeError(`floodStrikes must be an integer >= 1, got ${floodStrikes}`);
  const now = options.now ?? (() => performance.now());
  if (typeof now !== "function") throw new TypeError("now must be a function");
  return { ratePerSecond, burst, floodStrikes, now };
}

/** One connection's token bucket and flood detector (see the module comment). */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #floodStrikes: number;
  readonly #now: () => number;
  #tokens: number;
  #strikes = 0;
  #last: number;
  #refusing = false;

  /** A full bucket. Options are assumed valid ({@link resolveRateLimit}). */
  constructor(options: Required<RateLimitOptions>) {
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#floodStrikes = options.floodStrikes;
    this.#now = options.now;
    this.#tokens = options.burst;
    this.#last = this.#now();
  }

  /**
   * Takes `cost` tokens (one message; or, for a byte bucket, its bytes) and says what to do with
   * it. A refusal adds `cost` strikes.
   */
  take(cost = 1): RateDecision {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last); // a clock that goes back adds nothing
    this.#last = now;
    const refill = elapsed * this.#ratePerMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + refill);
    this.#strikes = Math.max(0, this.#strikes - refill);
    if (this.#tokens >= cost) {
      this.#tokens -= cost;
      this.#refusing = false;
      return "allow";
    }
    this.#strikes += cost;
    if (this.#strikes > this.#floodStrikes) return "flood";
    if (this.#refusing) return "refuse";
    this.#refusing = true;
    return "refuse-notify";
  }
}
