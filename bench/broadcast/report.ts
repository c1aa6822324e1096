/**
 * What the multi-node broadcast benchmark prints: one line per run as it ends, then the medians
 * of every configuration and the ratios the targets are about (Redis adapter against in-process
 * on one node; wynd against socket.io at every node count), each with the spread of the
 * per-repetition ratios.
 *
 * @module
 */

import { count, ms, percent, ratio, table } from "../lib/format.js";
import { summarize } from "../lib/histogram.js";
import { median } from "../lib/stats.js";
import type { ClusterConfig, ClusterRun } from "./run.js";

/** The figures of one run. */
export interface RunFigures {
  readonly deliveriesPerSecond: number;
  /**
   * Deliveries per CPU-second of the server side (all nodes + redis-server): what the servers
   * achieved with the CPU they were given, which a shared machine's noise moves much less than
   * deliveries/s.
   */
  readonly deliveriesPerCpuSecond: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  /** CPU of all nodes together, of redis-server, of the load generator, in % of one core. */
  readonly nodesCpuPercent: number;
  readonly redisCpuPercent: number | undefined;
  readonly loadCpuPercent: number;
  /** Busy % of the machine's cores over the window minus the above: the shared machine's noise. */
  readonly otherCpuPercent: number | undefined;
}

/** The figures of `run`. */
export function figures(run: ClusterRun): RunFigures {
  const { load } = run;
  const latency = summarize(load.latency);
  const nodesCpu = run.nodeCpuMicros.reduce((a, b) => a + b, 0);
  const nodesCpuPercent = run.windowMs > 0 ? nodesCpu / (run.windowMs * 10) : 0;
  const redisCpuPercent = run.redisCpuMicros === undefined || run.windowMs <= 0 ? undefined : run.redisCpuMicros / (run.windowMs * 10);
  const loadCpuPercent = load.elapsedMs > 0 ? load.cpuMicros / (load.elapsedMs * 10) : 0;
  const busy = run.cores?.busyPercent.reduce((a, b) => a + b, 0);
  const serverCpuSeconds = (nodesCpu + (run.redisCpuMicros ?? 0)) / 1e6;
  return {
    deliveriesPerSecond: load.elapsedMs > 0 ? load.count / (load.elapsedMs / 1000) : 0,
    deliveriesPerCpuSecond: serverCpuSeconds > 0 ? load.count / serverCpuSeconds : 0,
    p50Micros: latency.p50,
    p99Micros: latency.p99,
    nodesCpuPercent,
    redisCpuPercent,
    loadCpuPercent,
    otherCpuPercent: busy === undefined ? undefined : Math.max(0, busy - nodesCpuPercent - (redisCpuPercent ?? 0) - loadCpuPercent),
  };
}

/** "wynd · redis · 2 nodes". */
export function label(config: ClusterConfig): string {
  return `${config.peer} · ${config.adapter} · ${config.nodes} node${config.nodes === 1 ? "" : "s"}`;
}

function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return a.peer === b.peer && a.adapter === b.adapter && a.nodes === b.nodes;
}

/** One line for a finished run. */
export function renderRunLine(run: ClusterRun): string {
  const f = figures(run);
  const errors = run.load.errors > 0 ? ` · ${run.load.errors} errors: ${run.load.errorSamples.join("; ")}` : "";
  const redis = f.redisCpuPercent === undefined ? "" : `, redis ${percent(f.redisCpuPercent)}`;
  return (
    `#${run.repetition} ${label(run)}: ${count(f.deliveriesPerSecond)} deliveries/s, p50 ${ms(f.p50Micros)}, p99 ${ms(f.p99Micros)}` +
    ` · CPU nodes ${percent(f.nodesCpuPercent)}${redis}, load ${percent(f.loadCpuPercent)}` +
    `${f.otherCpuPercent === undefined ? "" : `, other ${percent(f.otherCpuPercent)}`}${errors}`
  );
}

/** The medians of one configuration. */
export interface ConfigSummary extends ClusterConfig, RunFigures {
  readonly runs: number;
  readonly errors: number;
}

/** Medians per configuration, in the order configurations first appear. */
export function summarizeRuns(runs: readonly ClusterRun[]): ConfigSummary[] {
  const configs: ClusterConfig[] = [];
  for (const run of runs) if (!configs.some((c) => sameConfig(c, run))) configs.push({ peer: run.peer, adapter: run.adapter, nodes: run.nodes });
  configs.sort((a, b) => a.nodes - b.nodes || a.adapter.localeCompare(b.adapter) || b.peer.localeCompare(a.peer));
  return configs.map((config) => {
    const mine = runs.filter((run) => sameConfig(run, config));
    const all = mine.map(figures);
    const pick = (f: (x: RunFigures) => number | undefined) => {
      const values = all.map(f).filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : median(values);
    };
    return {
      ...config,
      runs: mine.length,
      errors: mine.reduce((a, run) => a + run.load.errors, 0),
      deliveriesPerSecond: pick((x) => x.deliveriesPerSecond) ?? 0,
      deliveriesPerCpuSecond: pick((x) => x.deliveriesPerCpuSecond) ?? 0,
      p50Micros: pick((x) => x.p50Micros) ?? 0,
      p99Micros: pick((x) => x.p99Micros) ?? 0,
      nodesCpuPercent: pick((x) => x.nodesCpuPercent) ?? 0,
      redisCpuPercent: pick((x) => x.redisCpuPercent),
      loadCpuPercent: pick((x) => x.loadCpuPercent) ?? 0,
      otherCpuPercent: pick((x) => x.otherCpuPercent),
    };
  });
}

/** What a ratio compares. */
export type Metric = "deliveriesPerSecond" | "deliveriesPerCpuSecond";

/** A ratio between two configurations: of the medians, and the spread of per-repetition ratios. */
export interface RatioLine {
  readonly name: string;
  readonly metric: Metric;
  readonly ofMedians: number;
  readonly perRepetition: readonly number[];
  /** The target it is measured against, if any ("≥ 0.8×"). */
  readonly target: number | undefined;
}

function ratioBetween(
  runs: readonly ClusterRun[],
  metric: Metric,
  top: ClusterConfig,
  bottom: ClusterConfig,
  name: string,
  target?: number,
): RatioLine | undefined {
  const summaries = summarizeRuns(runs);
  const a = summaries.find((s) => sameConfig(s, top));
  const b = summaries.find((s) => sameConfig(s, bottom));
  if (a === undefined || b === undefined || b[metric] === 0) return undefined;
  const perRepetition: number[] = [];
  for (const run of runs) {
    if (!sameConfig(run, top)) continue;
    const other = runs.find((o) => o.repetition === run.repetition && sameConfig(o, bottom));
    const bottomRate = other === undefined ? 0 : figures(other)[metric];
    if (bottomRate > 0) perRepetition.push(figures(run)[metric] / bottomRate);
  }
  return { name, metric, ofMedians: a[metric] / b[metric], perRepetition, target };
}

/** The ratios the issue's targets are about, and the others that can be read from the runs. */
export function ratios(runs: readonly ClusterRun[], metric: Metric = "deliveriesPerSecond"): RatioLine[] {
  const out: (RatioLine | undefined)[] = [];
  const nodeCounts = [...new Set(runs.map((r) => r.nodes))].sort((a, b) => a - b);
  for (const peer of ["wynd", "socket.io"] as const) {
    const name = `${peer}: Redis adapter / in-process, 1 node`;
    out.push(ratioBetween(runs, metric, { peer, adapter: "redis", nodes: 1 }, { peer, adapter: "memory", nodes: 1 }, name, peer === "wynd" ? 0.8 : undefined));
  }
  for (const adapter of ["memory", "redis"] as const) {
    for (const nodes of nodeCounts) {
      const name = `wynd / socket.io, ${adapter}, ${nodes} node${nodes === 1 ? "" : "s"}`;
      const target = adapter === "redis" && nodes === 2 ? 3 : undefined;
      out.push(ratioBetween(runs, metric, { peer: "wynd", adapter, nodes }, { peer: "socket.io", adapter, nodes }, name, target));
    }
  }
  return out.filter((line): line is RatioLine => line !== undefined);
}

/** The summary printed at the end of an invocation. */
export function renderSummary(runs: readonly ClusterRun[]): string {
  const summaries = summarizeRuns(runs);
  const rows: string[][] = [
    ["configuration", "runs", "deliveries/s", "per server CPU-s", "p50", "p99", "CPU nodes", "CPU redis", "CPU load", "CPU other", "errors"],
  ];
  for (const s of summaries) {
    rows.push([
      label(s),
      String(s.runs),
      count(s.deliveriesPerSecond),
      count(s.deliveriesPerCpuSecond),
      ms(s.p50Micros),
      ms(s.p99Micros),
      percent(s.nodesCpuPercent),
      s.redisCpuPercent === undefined ? "–" : percent(s.redisCpuPercent),
      percent(s.loadCpuPercent),
      s.otherCpuPercent === undefined ? "–" : percent(s.otherCpuPercent),
      String(s.errors),
    ]);
  }
  const out = ["Medians over the repetitions (CPU in % of one core over the measured window):", table(rows), ""];
  for (const [metric, title] of [
    ["deliveriesPerSecond", "ratio of deliveries/s"],
    ["deliveriesPerCpuSecond", "ratio of deliveries per server CPU-second"],
  ] as const) {
    const lines = ratios(runs, metric);
    if (lines.length === 0) continue;
    const ratioRows: string[][] = [[title, "of the medians", "per repetition (min–max)", "target"]];
    for (const line of lines) {
      const spread = line.perRepetition.length === 0 ? "–" : `${ratio(Math.min(...line.perRepetition))}–${ratio(Math.max(...line.perRepetition))}`;
      const target = line.target === undefined ? "" : `≥ ${line.target}× ${line.ofMedians >= line.target ? "met" : "NOT met"}`;
      ratioRows.push([line.name, ratio(line.ofMedians), spread, target]);
    }
    out.push(table(ratioRows));
  }
  const pinned = runs.every((run) => run.pinned);
  out.push(
    pinned
      ? "Pinned: every server node and redis-server on core 0, the load generator on core 1."
      : "Not pinned (no taskset, fewer than two cores, or --no-pin).",
  );
  return out.join("\n");
}
