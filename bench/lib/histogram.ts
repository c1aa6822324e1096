/**
 * A log-linear latency histogram (the HdrHistogram idea, in a few lines): values in whole
 * microseconds, exact below 128 µs, then 64 buckets per power of two (≤ 1.6% error), up to
 * 2^31 µs (35 minutes). Recording is a few integer operations and one array increment, so the
 * load generator can record every message; exact min, max, mean and standard deviation are
 * kept alongside.
 *
 * @module
 */

const LINEAR = 128;
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const MAX_EXPONENT = 31;
const BUCKETS = LINEAR + (MAX_EXPONENT - 7 + 1) * SUB;

/** A histogram in a form that survives IPC (JSON): sparse [bucket, count] pairs. */
export interface HistogramData {
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly sumSquares: number;
}

function bucketOf(micros: number): number {
  const v = micros < 0 ? 0 : micros >= 2 ** MAX_EXPONENT ? 2 ** MAX_EXPONENT - 1 : Math.floor(micros);
  if (v < LINEAR) return v;
  const exponent = 31 - Math.clz32(v); // >= 7
  const sub = (v >>> (exponent - SUB_BITS)) & (SUB - 1);
  return LINEAR + (exponent - 7) * SUB + sub;
}

/** The middle of a bucket's value range, in microseconds. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exponent = Math.floor((bucket - LINEAR) / SUB) + 7;
  const sub = (bucket - LINEAR) % SUB;
  const width = 2 ** (exponent - SUB_BITS);
  return (SUB + sub) * width + width / 2;
}

/** Records latencies; {@link Histogram.toData} serialises, {@link summarize} reads. */
export class Histogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;
  #sumSquares = 0;

  /** Records one value in microseconds. */
  record(micros: number): void {
    this.#counts[bucketOf(micros)]!++;
    this.#count++;
    if (micros < this.#min) this.#min = micros;
    if (micros > this.#max) this.#max = micros;
    this.#sum += micros;
    this.#sumSquares += micros * micros;
  }

  get count(): number {
    return this.#count;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#min = Infinity;
    this.#max = 0;
    this.#sum = 0;
    this.#sumSquares = 0;
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.#counts[i]!;
      if (c > 0) buckets.push([i, c]);
    }
    return {
      buckets,
      count: this.#count,
      min: this.#count === 0 ? 0 : this.#min,
      max: this.#max,
      sum: this.#sum,
      sumSquares: this.#sumSquares,
    };
  }
}

/** Latency figures in microseconds, as autocannon prints them. */
export interface LatencySummary {
  readonly p2_5: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly avg: number;
  readonly stdev: number;
  readonly max: number;
  readonly min: number;
  readonly count: number;
}

/** Percentile `p` (0-100) of the histogram, in microseconds. */
export function percentile(data: HistogramData, p: number): number {
  if (data.count === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * data.count));
  let seen = 0;
  for (const [bucket, count] of data.buckets) {
    seen += count;
    if (seen >= rank) return Math.min(Math.max(valueOf(bucket), data.min), data.max);
  }
  return data.max;
}

/** The autocannon latency row. */
export function summarize(data: HistogramData): LatencySummary {
  const n = data.count;
  const avg = n === 0 ? 0 : data.sum / n;
  const variance = n === 0 ? 0 : Math.max(0, data.sumSquares / n - avg * avg);
  return {
    p2_5: percentile(data, 2.5),
    p50: percentile(data, 50),
    p97_5: percentile(data, 97.5),
    p99: percentile(data, 99),
    avg,
    stdev: Math.sqrt(variance),
    max: data.max,
    min: data.min,
    count: n,
  };
}
