/**
 * Small statistics over arrays, and the figures derived from a run.
 *
 * @module
 */

import type { RunReport } from "./orchestrator.js";

/** Percentile `p` (0-100) of `values` by nearest rank; 0 for none. */
export function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The arithmetic mean; 0 for none. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The population standard deviation; 0 for none. */
export function stdev(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) * (b - m), 0) / values.length);
}

/** The per-second row of autocannon: 1%, 2.5%, 50%, 97.5%, avg, stdev, min. */
export interface RateSummary {
  readonly p1: number;
  readonly p2_5: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly avg: number;
  readonly stdev: number;
  readonly min: number;
}

/** The per-second row of a run from its per-second samples. */
export function rateSummary(samples: readonly number[]): RateSummary {
  return {
    p1: percentileOf(samples, 1),
    p2_5: percentileOf(samples, 2.5),
    p50: percentileOf(samples, 50),
    p97_5: percentileOf(samples, 97.5),
    avg: mean(samples),
    stdev: stdev(samples),
    min: samples.length === 0 ? 0 : Math.min(...samples),
  };
}

/** The headline figures of a run. */
export interface Headline {
  /** Units per second over the whole window (echoes, deliveries, connect cycles). */
  readonly rate: number;
  /** Payload bytes per second. */
  readonly bytesPerSecond: number;
  /** CPU use of each process over the window, in % of one core. */
  readonly serverCpuPercent: number;
  readonly loadCpuPercent: number;
  /**
   * CPU used on the machine over the window by anything else than the two processes (other
   * processes, kernel threads), in % of one core: the noise of a shared machine. Undefined when
   * /proc/stat is not readable.
   */
  readonly otherCpuPercent?: number;
  /** memory: the server's RSS (and heap, and external) per idle connection, in bytes. */
  readonly rssPerConnection?: number;
  readonly heapPerConnection?: number;
  readonly heapTotalPerConnection?: number;
  readonly externalPerConnection?: number;
}

/** The headline figures of a run: rate, throughput, CPU use, memory per connection. */
export function headline(report: RunReport): Headline {
  const { load } = report;
  const seconds = load.elapsedMs / 1000;
  let base: Headline = {
    rate: seconds > 0 ? load.count / seconds : 0,
    bytesPerSecond: seconds > 0 ? load.bytes / seconds : 0,
    serverCpuPercent: report.serverWindowMs > 0 ? report.serverCpuMicros / (report.serverWindowMs * 10) : 0,
    loadCpuPercent: load.elapsedMs > 0 ? load.cpuMicros / (load.elapsedMs * 10) : 0,
  };
  if (report.cores !== undefined) {
    const busy = report.cores.busyPercent.reduce((a, b) => a + b, 0);
    base = { ...base, otherCpuPercent: Math.max(0, busy - base.serverCpuPercent - base.loadCpuPercent) };
  }
  const memory = report.memory;
  if (memory === undefined || memory.loaded.connections === 0) return base;
  const n = memory.loaded.connections;
  return {
    ...base,
    rssPerConnection: (memory.loaded.rss - memory.baseline.rss) / n,
    heapPerConnection: (memory.loaded.heapUsed - memory.baseline.heapUsed) / n,
    heapTotalPerConnection: (memory.loaded.heapTotal - memory.baseline.heapTotal) / n,
    externalPerConnection: (memory.loaded.external - memory.baseline.external) / n,
  };
}
