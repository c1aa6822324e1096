/**
 * The measured window of a load run: after `warmupMs`, counters and the latency histogram start
 * from zero, the generator's CPU time is read, the orchestrator is told (it reads the server's),
 * and each full second adds a per-second sample; after `durationMs` the same at the other edge.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { Histogram } from "../lib/histogram.js";
import type { FromLoad, LoadResult } from "../lib/types.js";

/** Keep the first few error descriptions only. */
const MAX_ERROR_SAMPLES = 5;

function tell(message: FromLoad): void {
  process.send?.(message);
}

function cpuNow(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

/** Counters of one run; hot paths update the public fields directly. */
export class Window {
  /** True inside the measured window: only then are completions counted. */
  measuring = false;
  /** True until the window closes: scenarios keep the load going while it is. */
  running = true;
  count = 0;
  bytes = 0;
  errors = 0;
  readonly latency = new Histogram();
  readonly errorSamples: string[] = [];
  #perSecondCount: number[] = [];
  #perSecondBytes: number[] = [];
  #startMs = 0;
  #endMs = 0;
  #cpuStart = 0;
  #cpuEnd = 0;

  /** Counts an error (also outside the window: an error is never hidden by the warm-up). */
  error(description: string): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(description);
  }

  /** Waits out the warm-up, measures for `durationMs`, and resolves when the window closed. */
  run(warmupMs: number, durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(() => {
        this.count = 0;
        this.bytes = 0;
        this.latency.reset();
        this.measuring = true;
        tell({ type: "window", edge: "start" });
        this.#startMs = performance.now();
        this.#cpuStart = cpuNow();
        let lastCount = 0;
        let lastBytes = 0;
        const seconds = Math.floor(durationMs / 1000);
        let sampled = 0;
        const sampler = setInterval(() => {
          if (sampled >= seconds) return;
          sampled++;
          this.#perSecondCount.push(this.count - lastCount);
          this.#perSecondBytes.push(this.bytes - lastBytes);
          lastCount = this.count;
          lastBytes = this.bytes;
        }, 1000);
        setTimeout(() => {
          clearInterval(sampler);
          // The last second's tick may lose the race with this timer: take its sample here.
          if (sampled < seconds) {
            this.#perSecondCount.push(this.count - lastCount);
            this.#perSecondBytes.push(this.bytes - lastBytes);
          }
          this.#cpuEnd = cpuNow();
          this.#endMs = performance.now();
          this.measuring = false;
          this.running = false;
          tell({ type: "window", edge: "end" });
          resolve();
        }, durationMs);
      }, warmupMs);
    });
  }

  /** The result, once the window has closed. */
  result(fields: {
    inFlightAtEnd: number;
    connectionsOpened: number;
    connectionsFailed: number;
    extra?: Record<string, number>;
  }): LoadResult {
    return {
      elapsedMs: this.#endMs - this.#startMs,
      count: this.count,
      bytes: this.bytes,
      errors: this.errors,
      errorSamples: this.errorSamples,
      inFlightAtEnd: fields.inFlightAtEnd,
      latency: this.latency.toData(),
      perSecond: { count: this.#perSecondCount, bytes: this.#perSecondBytes },
      cpuMicros: this.#cpuEnd - this.#cpuStart,
      connectionsOpened: fields.connectionsOpened,
      connectionsFailed: fields.connectionsFailed,
      extra: fields.extra ?? {},
    };
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `done()` holds (checked every 10 ms) or after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(10);
}
