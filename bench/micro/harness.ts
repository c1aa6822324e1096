/**
 * A minimal micro-benchmark harness: each case is calibrated to batches of about `batchMs`, run
 * for `rounds` batches, and reported as the median ops/s. Results feed a sink so the optimiser
 * cannot drop the work. Bounded: at most 2^30 iterations per batch.
 *
 * @module
 */

import { performance } from "node:perf_hooks";

let sink = 0;

/** Keeps a value alive (and cheap to keep). */
export function consume(value: unknown): void {
  if (typeof value === "number") sink += value;
  else if (typeof value === "boolean") sink += value ? 1 : 0;
  else if (value !== null && typeof value === "object" && "length" in value) sink += (value as { length: number }).length;
  else sink++;
}

/** The sink's value (printed, so that it is observable). */
export function sinkValue(): number {
  return sink;
}

function batch(fn: () => unknown, iterations: number): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) consume(fn());
  return performance.now() - start;
}

/** Median ops/s of `fn` over `rounds` batches of about `batchMs`. */
export function opsPerSecond(fn: () => unknown, batchMs = 100, rounds = 7): number {
  let iterations = 1;
  // Calibrate (and warm up the JIT): double until a batch takes at least 10 ms.
  while (iterations < 2 ** 30) {
    const elapsed = batch(fn, iterations);
    if (elapsed >= 10) {
      iterations = Math.max(1, Math.min(2 ** 30, Math.round((iterations * batchMs) / elapsed)));
      break;
    }
    iterations *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push((iterations / batch(fn, iterations)) * 1000);
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}

/** One comparison: the optimised implementation next to a plain reference one. */
export interface MicroCase {
  readonly group: string;
  readonly name: string;
  /** Bytes processed per op, for a MB/s column. */
  readonly bytes?: number;
  readonly optimized: () => unknown;
  readonly reference: () => unknown;
  /** Throws if the two disagree on this case's input. Run before timing. */
  readonly check: () => void;
}
