/**
 * `npm run bench -- <scenario> [options]`: runs one scenario against one or more servers, each
 * in its own process with its own load generator, and prints autocannon-style tables (or JSON).
 * `npm run bench -- micro` runs the micro-benchmarks of `bench/micro/`. See `--help`.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { renderRunLine, renderSummary, summarizeRuns, ratios } from "./broadcast/report.js";
import { runClusterBroadcast } from "./broadcast/run.js";
import { parseBenchArgs, USAGE, type BenchParams } from "./lib/args.js";
import { summarize } from "./lib/histogram.js";
import { runBenchmark, type RunReport } from "./lib/orchestrator.js";
import { renderRun } from "./lib/report.js";
import { headline } from "./lib/stats.js";
import { runMicro } from "./micro/run.js";
import { findServer, SERVERS } from "./servers/registry.js";

/** Runs every (server, size) of `params`, in order; skipped servers are reported, not fatal. */
export async function runAll(params: BenchParams, print: (report: RunReport) => void): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  for (const dir of [params.cpuProfDir, params.loadCpuProfDir]) if (dir !== undefined) mkdirSync(dir, { recursive: true });
  for (const size of params.sizes) {
    for (const name of params.servers) {
      const server = findServer(name)!;
      const problem = server.unavailable();
      if (problem !== undefined) {
        process.stderr.write(`skipping ${name}: ${problem}\n`);
        continue;
      }
      const report = await runBenchmark({
        server,
        pin: params.pin,
        cpuProfDir: params.cpuProfDir,
        loadCpuProfDir: params.loadCpuProfDir,
        job: {
          scenario: params.scenario === "large" ? "echo" : params.scenario,
          connections: params.connections,
          pipelining: params.pipelining,
          sizeBytes: size,
          binary: params.binary,
          warmupMs: params.warmupMs,
          durationMs: params.durationMs,
          maxCount: params.maxCount,
        },
      });
      print(report);
      reports.push(report);
    }
  }
  return reports;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseBenchArgs(argv, SERVERS.map((s) => s.name));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === "micro") return runMicro(parsed.names);
  if (parsed.kind === "cluster") {
    const json = parsed.json;
    const runs = await runClusterBroadcast(parsed.params, (run) => {
      if (!json) process.stdout.write(`${renderRunLine(run)}\n`);
    });
    if (json) {
      const out = { runs: runs.map((run) => ({ ...run, load: { ...run.load, latency: summarize(run.load.latency) } })), medians: summarizeRuns(runs), ratios: ratios(runs), cpuRatios: ratios(runs, "deliveriesPerCpuSecond") };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`\n${renderSummary(runs)}\n`);
    }
    return runs.some((run) => run.load.errors > 0) ? 1 : 0;
  }
  const { params } = parsed;
  const reports = await runAll(params, (report) => {
    if (!params.json) process.stdout.write(`${renderRun(report)}\n\n`);
  });
  if (params.json) {
    // The histogram's buckets are replaced by its summary (microseconds) to keep the output readable.
    const out = reports.map((report) => ({
      ...report,
      load: { ...report.load, latency: summarize(report.load.latency) },
      headline: headline(report),
    }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
