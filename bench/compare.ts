/**
 * `npm run bench:compare`: the target scenarios of issues 5 and 12, every available server, interleaved
 * (each round runs every scenario on every server, in a rotating order), several rounds. Prints
 * medians, min–max, CPU use and each server's ratio to `ws` and to `raw`; writes
 * `docs/benchmarks.json` and `docs/benchmarks.svg` (ratios to ws).
 *
 *   npm run bench:compare -- [--rounds 3] [--duration 3] [--warmup 1] [--servers a,b]
 *                            [--only id,id] [--out-dir docs] [--commit abc1234] [--no-pin]
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { count, kib, percent, ratio, table } from "./lib/format.js";
import { runBenchmark, type RunReport } from "./lib/orchestrator.js";
import { headline, median } from "./lib/stats.js";
import { barChart, type ChartGroup } from "./lib/svg.js";
import type { LoadJob } from "./lib/types.js";
import { SERVERS } from "./servers/registry.js";

/** One target scenario of the issue. */
interface Target {
  readonly id: string;
  readonly title: string;
  /** The label under its bars in the chart. */
  readonly short: string;
  readonly job: Omit<LoadJob, "port" | "protocol" | "warmupMs" | "durationMs" | "maxCount">;
  /** What is compared: a rate (higher is better) or RSS per connection (lower is better). */
  readonly metric: "rate" | "rssPerConnection";
  readonly unit: string;
  /** The issue's target for wynd, as text, and as a check on the medians. */
  readonly goal: string;
  readonly met: (m: ReadonlyMap<string, number>) => boolean | undefined;
  /** wynd's target ratio to the chart's reference (ws), for the chart. */
  readonly chartTarget?: number;
  /**
   * Issue 12's target for the Wynd API (`wynd-api`, handlers written as the tutorial writes them:
   * async, awaiting the send), as text and as a check; otherwise issue 5's "costs ≤ 10% over the
   * engine".
   */
  readonly apiGoal?: { readonly text: string; readonly met: (m: ReadonlyMap<string, number>) => boolean | undefined };
}

const KIB = 1024;

/** Ratio helper: undefined when either side is missing. */
function r(m: ReadonlyMap<string, number>, a: string, b: string): number | undefined {
  const x = m.get(a);
  const y = m.get(b);
  return x === undefined || y === undefined || !(y > 0) ? undefined : x / y;
}
function all(...checks: Array<boolean | undefined>): boolean | undefined {
  return checks.some((c) => c === undefined) ? undefined : checks.every(Boolean);
}

const TARGETS: readonly Target[] = [
  {
    id: "echo-100x16x32",
    short: "echo 100×16×32 B",
    title: "echo 100 × 16 × 32 B text",
    job: { scenario: "echo", connections: 100, pipelining: 16, sizeBytes: 32, binary: false },
    metric: "rate",
    unit: "msg/s",
    goal: "≥ 5× ws and ≥ 50% of raw",
    met: (m) => all(gte(r(m, "wynd", "ws"), 5), gte(r(m, "wynd", "raw"), 0.5)),
    chartTarget: 5,
    apiGoal: { text: "≥ 0.85 of the engine (issue 12)", met: (m) => gte(r(m, "wynd-api", "wynd"), 0.85) },
  },
  {
    id: "echo-100x1x32",
    short: "echo 100×1×32 B",
    title: "echo 100 × 1 × 32 B text",
    job: { scenario: "echo", connections: 100, pipelining: 1, sizeBytes: 32, binary: false },
    metric: "rate",
    unit: "msg/s",
    goal: "≥ 1.2× ws and ≥ 90% of raw",
    met: (m) => all(gte(r(m, "wynd", "ws"), 1.2), gte(r(m, "wynd", "raw"), 0.9)),
    chartTarget: 1.2,
    apiGoal: { text: "≥ 0.95 of the engine (issue 12)", met: (m) => gte(r(m, "wynd-api", "wynd"), 0.95) },
  },
  {
    id: "echo-10x1x64k",
    short: "echo 10×1×64 KiB",
    title: "echo 10 × 1 × 64 KiB binary",
    job: { scenario: "echo", connections: 10, pipelining: 1, sizeBytes: 64 * KIB, binary: true },
    metric: "rate",
    unit: "msg/s",
    goal: "≥ 1.2× ws with its native helpers",
    met: (m) => gte(r(m, "wynd", m.has("ws-native") ? "ws-native" : "ws"), 1.2),
  },
  {
    id: "broadcast-1000x32",
    short: "broadcast 1000×32 B",
    title: "broadcast 1,000 receivers × 32 B, 16 in flight",
    job: { scenario: "broadcast", connections: 1000, pipelining: 16, sizeBytes: 32, binary: false },
    metric: "rate",
    unit: "deliveries/s",
    goal: "≥ 6× ws",
    met: (m) => gte(r(m, "wynd", "ws"), 6),
    chartTarget: 6,
  },
  {
    id: "connect",
    short: "connect",
    title: "connect + close (handshake, close handshake), 50 at a time",
    job: { scenario: "connect", connections: 50, pipelining: 1, sizeBytes: 32, binary: false },
    metric: "rate",
    unit: "cycles/s",
    goal: "≥ 2× ws (issue 12; issue 5: ≥ 1.6× ws and ≥ 75% of raw)",
    met: (m) => gte(r(m, "wynd", "ws"), 2),
    chartTarget: 2,
    apiGoal: { text: "≥ 0.95 of the engine (issue 12)", met: (m) => gte(r(m, "wynd-api", "wynd"), 0.95) },
  },
  {
    id: "memory-10000",
    short: "memory (idle conns)",
    title: "memory, 10,000 idle connections",
    job: { scenario: "memory", connections: 10_000, pipelining: 1, sizeBytes: 32, binary: false },
    metric: "rssPerConnection",
    unit: "RSS B/conn",
    goal: "≤ raw + 0.5 KiB (issue 12; issue 5: ≤ raw + 1 KiB)",
    met: (m) => withinOfRaw(m, "wynd", KIB / 2),
    apiGoal: { text: "≤ raw + 0.5 KiB (issue 12)", met: (m) => withinOfRaw(m, "wynd-api", KIB / 2) },
  },
];

/** Whether `server`'s bytes per connection are at most raw's plus `bytes`. */
function withinOfRaw(m: ReadonlyMap<string, number>, server: string, bytes: number): boolean | undefined {
  const value = m.get(server);
  const raw = m.get("raw");
  return value === undefined || raw === undefined ? undefined : value <= raw + bytes;
}

function gte(value: number | undefined, bound: number): boolean | undefined {
  return value === undefined ? undefined : value >= bound;
}

/** What one (scenario, server) pair measured over the rounds. */
interface Series {
  values: number[];
  serverCpu: number[];
  loadCpu: number[];
  otherCpu: number[];
  errors: number;
  failures: string[];
  detail: string;
}

function machine(commitOverride: string | undefined) {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  let commit = commitOverride ?? "unknown";
  if (commitOverride === undefined) {
    try {
      commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      // not a git checkout
    }
  }
  return { nproc: availableParallelism(), cpu, node: process.version, commit, date: new Date().toISOString() };
}

function metricOf(target: Target, report: RunReport): number {
  const h = headline(report);
  return target.metric === "rate" ? h.rate : (h.rssPerConnection ?? NaN);
}

function usage(): string {
  return [
    "usage: npm run bench:compare -- [options]",
    "",
    "Runs the target scenarios on every available server, interleaved, several rounds; prints",
    "medians, min-max, CPU use and ratios; writes benchmarks.json and benchmarks.svg.",
    "",
    "options:",
    "  --rounds N       rounds (3)",
    "  --duration S     measured seconds per run (3)",
    "  --warmup S       warm-up seconds per run (1)",
    `  --servers a,b    servers (${SERVERS.map((server) => server.name).join(",")})`,
    `  --only id,id     scenarios (${TARGETS.map((target) => target.id).join(",")})`,
    "  --out-dir DIR    where the JSON and SVG go (docs/)",
    "  --commit SHA     the commit to name in the report (git's HEAD)",
    "  --no-pin         do not pin server and load generator to cores 0 and 1",
    "  -h, --help       this text",
    "",
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      servers: { type: "string" },
      only: { type: "string" },
      "out-dir": { type: "string" },
      commit: { type: "string" },
      "no-pin": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const rounds = Number(values.rounds);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  if (!Number.isInteger(rounds) || rounds < 1 || !(durationMs > 0) || !(warmupMs >= 0)) {
    process.stderr.write("--rounds must be a positive integer, --duration positive, --warmup ≥ 0\n");
    return 2;
  }
  const wanted = values.servers?.split(",") ?? SERVERS.map((s) => s.name);
  const servers = SERVERS.filter((s) => wanted.includes(s.name)).filter((s) => {
    const problem = s.unavailable();
    if (problem !== undefined) process.stderr.write(`skipping ${s.name}: ${problem}\n`);
    return problem === undefined;
  });
  const targets = values.only === undefined ? TARGETS : TARGETS.filter((t) => values.only!.split(",").includes(t.id));
  const outDir = values["out-dir"] ?? fileURLToPath(new URL("../../docs/", import.meta.url));
  const info = machine(values.commit);
  process.stderr.write(
    `bench:compare: ${targets.length} scenarios × ${servers.length} servers (${servers.map((s) => s.name).join(", ")}) × ${rounds} rounds, ` +
      `${values.duration} s each after ${values.warmup} s of warm-up\n`,
  );

  const series = new Map<string, Map<string, Series>>();
  for (const t of targets) series.set(t.id, new Map(servers.map((s) => [s.name, { values: [], serverCpu: [], loadCpu: [], otherCpu: [], errors: 0, failures: [], detail: "" }])));
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      // Rotate the order every round, so no server always runs first (or right after another).
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const server of order) {
        const s = series.get(target.id)!.get(server.name)!;
        process.stderr.write(`round ${round + 1}/${rounds} · ${target.id} · ${server.name} … `);
        try {
          const report = await runBenchmark({
            server,
            pin: !values["no-pin"],
            job: { ...target.job, warmupMs, durationMs, maxCount: 100_000_000 },
          });
          const h = headline(report);
          const value = metricOf(target, report);
          s.values.push(value);
          s.serverCpu.push(h.serverCpuPercent);
          s.loadCpu.push(h.loadCpuPercent);
          if (h.otherCpuPercent !== undefined) s.otherCpu.push(h.otherCpuPercent);
          s.errors += report.load.errors;
          s.detail = report.serverDetail;
          process.stderr.write(`${target.metric === "rate" ? count(value) : kib(value)}${report.load.errors > 0 ? ` (${report.load.errors} errors: ${report.load.errorSamples[0]})` : ""}\n`);
        } catch (error) {
          s.failures.push((error as Error).message);
          process.stderr.write(`failed: ${(error as Error).message}\n`);
        }
      }
    }
  }

  // Results.
  const lines: string[] = [];
  const json: unknown[] = [];
  const chart: ChartGroup[] = [];
  lines.push(`machine: ${info.nproc} cores, ${info.cpu} · Node ${info.node} · commit ${info.commit} · ${rounds} rounds`);
  for (const target of targets) {
    const medians = new Map<string, number>();
    for (const [name, s] of series.get(target.id)!) if (s.values.length > 0) medians.set(name, median(s.values));
    const higherIsBetter = target.metric === "rate";
    const rows: string[][] = [["server", `median ${target.unit}`, "min – max", "× ws", "× raw", "server CPU", "load gen CPU", "other CPU", "errors"]];
    const fmt = (v: number) => (higherIsBetter ? count(v) : kib(v));
    for (const [name, s] of series.get(target.id)!) {
      const m = medians.get(name);
      rows.push([
        name,
        m === undefined ? "failed" : fmt(m),
        s.values.length === 0 ? "" : `${fmt(Math.min(...s.values))} – ${fmt(Math.max(...s.values))}`,
        ratio(r(medians, name, "ws") ?? NaN),
        ratio(r(medians, name, "raw") ?? NaN),
        s.serverCpu.length === 0 || !higherIsBetter ? "" : percent(median(s.serverCpu)),
        s.loadCpu.length === 0 || !higherIsBetter ? "" : percent(median(s.loadCpu)),
        s.otherCpu.length === 0 || !higherIsBetter ? "" : percent(median(s.otherCpu)),
        String(s.errors + s.failures.length),
      ]);
    }
    const met = target.met(medians);
    lines.push("");
    lines.push(`${target.title} (${target.unit}, ${higherIsBetter ? "higher" : "lower"} is better)`);
    lines.push(table(rows));
    let verdict = `wynd target: ${target.goal} → ${met === undefined ? "not measured" : met ? "MET" : "NOT MET"}`;
    if (!higherIsBetter) {
      const w = medians.get("wynd");
      const raw = medians.get("raw");
      const ws = medians.get("ws");
      if (w !== undefined && raw !== undefined) verdict += ` (wynd = raw + ${kib(w - raw)}${ws !== undefined ? `, ws = raw + ${kib(ws - raw)}` : ""})`;
    }
    lines.push(verdict);
    const engine = medians.get("wynd");
    const api = medians.get("wynd-api");
    if (engine !== undefined && api !== undefined && engine > 0 && api > 0) {
      const raw = medians.get("raw");
      const measured = higherIsBetter
        ? `API ÷ engine = ${(api / engine).toFixed(2)}`
        : `API = raw + ${raw === undefined ? "?" : kib(api - raw)}, engine = raw + ${raw === undefined ? "?" : kib(engine - raw)}`;
      if (target.apiGoal !== undefined) {
        const apiMet = target.apiGoal.met(medians);
        lines.push(`wynd-api target: ${target.apiGoal.text} → ${apiMet === undefined ? "not measured" : apiMet ? "MET" : "NOT MET"} (${measured})`);
      } else {
        // Issue 5: the Wynd API costs at most 10% over the engine.
        const cost = higherIsBetter ? 1 - api / engine : api / engine - 1;
        lines.push(`wynd-api target: costs ≤ 10% over wynd → ${cost <= 0.1 ? "MET" : "NOT MET"} (${(cost * 100).toFixed(1)}%)`);
      }
    }
    // Chart: speed relative to ws; for memory, ws's bytes over the server's (higher is better).
    const ratios = new Map<string, number>();
    for (const [name, m] of medians) {
      const ws = medians.get("ws");
      if (ws !== undefined && ws > 0 && m > 0) ratios.set(name, higherIsBetter ? m / ws : ws / m);
    }
    chart.push({ label: target.short, sublabel: target.unit, ratios, target: target.chartTarget });
    json.push({
      id: target.id,
      title: target.title,
      job: target.job,
      metric: target.metric,
      unit: target.unit,
      higherIsBetter,
      goal: target.goal,
      met: met ?? null,
      results: Object.fromEntries(
        [...series.get(target.id)!].map(([name, s]) => [
          name,
          { ...s, median: medians.get(name) ?? null, ratioToWs: r(medians, name, "ws") ?? null, ratioToRaw: r(medians, name, "raw") ?? null },
        ]),
      ),
    });
  }
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, "benchmarks.json");
  const svgPath = join(outDir, "benchmarks.svg");
  writeFileSync(jsonPath, `${JSON.stringify({ machine: info, rounds, durationMs, warmupMs, scenarios: json }, null, 2)}\n`);
  writeFileSync(
    svgPath,
    barChart(
      "wynd vs ws vs raw node:net — ratio to ws (higher is better)",
      [
        `${info.nproc} cores (${info.cpu}), Node ${info.node}, commit ${info.commit}, medians of ${rounds} rounds.`,
        "Memory is plotted as ws's bytes per connection ÷ the server's (higher is less memory).",
      ],
      servers.map((s) => s.name),
      chart,
    ),
  );
  process.stdout.write(`\nwrote ${jsonPath} and ${svgPath}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
