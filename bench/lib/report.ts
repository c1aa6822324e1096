/**
 * Renders one run as autocannon renders one: a latency table, a per-second table, and the
 * totals — plus what autocannon cannot know: the CPU use of the server and of the load generator
 * over the same window, measured by each process itself.
 *
 * @module
 */

import { bytes, count, kib, ms, percent, table } from "./format.js";
import { summarize } from "./histogram.js";
import type { RunReport } from "./orchestrator.js";
import { headline, rateSummary } from "./stats.js";

/** The unit counted by a scenario, for the tables. */
function unitOf(scenario: string): { perSecond: string; plural: string } {
  switch (scenario) {
    case "broadcast":
      return { perSecond: "Deliv/Sec", plural: "deliveries" };
    case "connect":
      return { perSecond: "Conn/Sec", plural: "connect cycles" };
    default:
      return { perSecond: "Msg/Sec", plural: "round trips" };
  }
}

/** A one-line description of the load. */
export function describeJob(report: RunReport): string {
  const { job } = report;
  const size = job.sizeBytes >= 1024 * 1024 ? `${job.sizeBytes / 1024 / 1024} MiB` : job.sizeBytes >= 1024 ? `${job.sizeBytes / 1024} KiB` : `${job.sizeBytes} B`;
  const kind = job.binary ? "binary" : "text";
  switch (job.scenario) {
    case "echo":
      return `echo: ${job.connections} connections × ${job.pipelining} in flight × ${size} ${kind}`;
    case "broadcast":
      return `broadcast: ${job.connections} receivers + 1 publisher, ${job.pipelining} broadcasts in flight × ${size} ${kind}`;
    case "connect":
      return `connect: ${job.connections} concurrent slots, open + handshake + close handshake`;
    case "memory":
      return `memory: ${job.connections} idle connections`;
  }
}

/** The full text report of one run. */
export function renderRun(report: RunReport): string {
  const { load, job } = report;
  const h = headline(report);
  const out: string[] = [];
  const window = `${(job.durationMs / 1000).toFixed(0)} s (after ${(job.warmupMs / 1000).toFixed(0)} s of warm-up)`;
  out.push(`${report.server} · ${describeJob(report)}${job.scenario === "memory" ? "" : ` · ${window}`}`);
  out.push(`server: ${report.serverDetail}${report.pinned ? " · server on core 0, load generator on core 1" : " · not pinned"}`);
  out.push("");
  if (job.scenario === "memory") {
    const memory = report.memory;
    if (memory === undefined) {
      out.push("no memory measurement (see the errors)");
    } else {
      const n = memory.loaded.connections;
      out.push(
        table([
          ["Server memory", "baseline", `with ${count(n)} connections`, "per connection"],
          ["RSS", kib(memory.baseline.rss), kib(memory.loaded.rss), kib(h.rssPerConnection ?? 0)],
          ["Heap used", kib(memory.baseline.heapUsed), kib(memory.loaded.heapUsed), kib(h.heapPerConnection ?? 0)],
          ["Heap committed", kib(memory.baseline.heapTotal), kib(memory.loaded.heapTotal), kib(h.heapTotalPerConnection ?? 0)],
          ["External", kib(memory.baseline.external), kib(memory.loaded.external), kib(h.externalPerConnection ?? 0)],
        ]),
      );
      out.push("");
      out.push("Measured by the server process itself after gc(), after a warm-up of opened and closed connections.");
    }
  } else {
    const latency = summarize(load.latency);
    out.push(
      table([
        ["Stat", "2.5%", "50%", "97.5%", "99%", "Avg", "Stdev", "Max"],
        ["Latency", ms(latency.p2_5), ms(latency.p50), ms(latency.p97_5), ms(latency.p99), ms(latency.avg), ms(latency.stdev), ms(latency.max)],
      ]),
    );
    const unit = unitOf(job.scenario);
    const rates = rateSummary(load.perSecond.count);
    const byteRates = rateSummary(load.perSecond.bytes);
    const rows: string[][] = [
      ["Stat", "1%", "2.5%", "50%", "97.5%", "Avg", "Stdev", "Min"],
      [unit.perSecond, ...[rates.p1, rates.p2_5, rates.p50, rates.p97_5, rates.avg, rates.stdev, rates.min].map((v) => count(v))],
    ];
    if (job.scenario !== "connect") {
      rows.push(["Bytes/Sec", ...[byteRates.p1, byteRates.p2_5, byteRates.p50, byteRates.p97_5, byteRates.avg, byteRates.stdev, byteRates.min].map(bytes)]);
    }
    out.push(table(rows));
    out.push("");
    out.push(`${unit.perSecond.replace("/Sec", "")} and bytes (payload) counted per second of the window.`);
    const seconds = load.elapsedMs / 1000;
    let totals = `${count(load.count)} ${unit.plural} in ${seconds.toFixed(2)} s: ${count(h.rate)}/s`;
    if (job.scenario !== "connect") totals += `, ${bytes(load.bytes)} payload (${(h.bytesPerSecond / 1e6).toFixed(1)} MB/s)`;
    if (job.scenario === "broadcast") totals += `, ${count(load.extra["broadcasts"] ?? 0)} broadcasts completed`;
    out.push(totals);
  }
  out.push(
    `${load.errors} errors${load.inFlightAtEnd > 0 ? `, ${load.inFlightAtEnd} still in flight 2 s after the window` : ""}` +
      `; ${load.connectionsOpened} connections opened${load.connectionsFailed > 0 && job.scenario !== "connect" ? `, ${load.connectionsFailed} failed` : ""}`,
  );
  for (const sample of load.errorSamples) out.push(`  error: ${sample}`);
  if (job.scenario !== "memory") {
    let cpu = `CPU over the window: server ${percent(h.serverCpuPercent)}, load generator ${percent(h.loadCpuPercent)} (of one core each)`;
    if (h.otherCpuPercent !== undefined && report.cores !== undefined) {
      cpu += `; cores busy ${report.cores.busyPercent.map((b) => percent(b)).join(" / ")}, of which ${percent(h.otherCpuPercent)} of a core by anything else`;
    }
    out.push(cpu);
  }
  return out.join("\n");
}
