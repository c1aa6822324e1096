/**
 * Command-line options of `npm run bench`, with the defaults of each scenario.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { clusterParams } from "../broadcast/args.js";
import type { ClusterParams } from "../broadcast/run.js";
import { SCENARIOS, type Scenario } from "./types.js";

/** The help text of `npm run bench`. */
export const USAGE = `usage: npm run bench -- <scenario> [options]
       npm run bench -- micro [parser|encoder|mask|utf8|handshake ...]

scenarios:
  echo       N connections each keeping P messages in flight; every echo verified
  broadcast  N receivers + 1 publisher keeping P broadcasts in flight; deliveries/s, latency
  connect    open + handshake + close handshake, as fast as possible with N concurrent slots
  memory     hold N idle connections; server RSS per connection (measured by the server)
  large      echo of 1 MiB and 16 MiB binary messages (or --size), MB/s

options:
  --server <name>      wynd | wynd-api | ws | ws-native | raw, a comma-separated list, or all (default wynd)
  --connections <n>    echo 100, broadcast 1000, connect 10, memory 10000, large 1
  --pipelining <n>     messages (broadcasts) in flight: echo 1, broadcast 16, large 1
  --size <bytes>       payload size (default 32; large: 1 MiB and 16 MiB)
  --binary             binary messages (default text; large: always binary)
  --duration <s>       measured seconds (default 5)
  --warmup <s>         seconds of load before measuring (default 1)
  --max-count <n>      hard cap on messages (connections) started (default 100000000)
  --cpu-prof <dir>     run the server with node --cpu-prof, writing the profile in <dir>
  --cpu-prof-load <dir> the same for the load generator
  --no-pin             do not pin the server and the load generator to cores with taskset
  --json               print the results as JSON
  -h, --help           show this help

broadcast across nodes (any of these options selects it; see docs/scaling.md):
  --adapter <list>     memory | redis, or memory,redis: how a broadcast reaches the other nodes
                       (redis: a redis-server started on a free loopback port for the run)
  --nodes <list>       server processes the receivers are spread over, e.g. 1,2 (default 1)
  --server <list>      wynd | socket.io, or all (default: both, same load generator)
  --repeat <n>         interleaved repetitions of every configuration; medians (default 3)
`;

/** One scenario run's parameters (before a server is chosen). */
export interface BenchParams {
  readonly scenario: Scenario;
  readonly servers: readonly string[];
  readonly connections: number;
  readonly pipelining: number;
  /** One run per size (large: two). */
  readonly sizes: readonly number[];
  readonly binary: boolean;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxCount: number;
  readonly cpuProfDir: string | undefined;
  readonly loadCpuProfDir: string | undefined;
  readonly pin: boolean;
  readonly json: boolean;
}

const DEFAULT_CONNECTIONS: Record<Scenario, number> = { echo: 100, broadcast: 1000, connect: 10, memory: 10_000, large: 1 };
const DEFAULT_PIPELINING: Record<Scenario, number> = { echo: 1, broadcast: 16, connect: 1, memory: 1, large: 1 };

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

/** Parses argv; returns "help", a micro-benchmark request, or the parameters of a run. */
export function parseBenchArgs(
  argv: readonly string[],
  knownServers: readonly string[],
):
  | { kind: "help" }
  | { kind: "micro"; names: string[] }
  | { kind: "run"; params: BenchParams }
  | { kind: "cluster"; params: ClusterParams; json: boolean } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      server: { type: "string" },
      adapter: { type: "string" },
      nodes: { type: "string" },
      repeat: { type: "string" },
      connections: { type: "string" },
      pipelining: { type: "string" },
      size: { type: "string" },
      binary: { type: "boolean", default: false },
      duration: { type: "string" },
      warmup: { type: "string" },
      "max-count": { type: "string" },
      "cpu-prof": { type: "string" },
      "cpu-prof-load": { type: "string" },
      "no-pin": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const first = positionals[0];
  if (values.help || first === undefined) return { kind: "help" };
  if (first === "micro") return { kind: "micro", names: positionals.slice(1) };
  if (!(SCENARIOS as readonly string[]).includes(first) || positionals.length > 1) {
    throw new Error(`unknown scenario: ${positionals.join(" ")}`);
  }
  const scenario = first as Scenario;
  if (values.adapter !== undefined || values.nodes !== undefined || values.repeat !== undefined) {
    if (scenario !== "broadcast") throw new Error("--adapter, --nodes and --repeat apply to the broadcast scenario only");
    const params = clusterParams(values, {
      receivers: positiveInteger("connections", values.connections, DEFAULT_CONNECTIONS.broadcast),
      pipelining: positiveInteger("pipelining", values.pipelining, DEFAULT_PIPELINING.broadcast),
      sizeBytes: positiveInteger("size", values.size, 32),
      warmupMs: positiveNumber("warmup", values.warmup, 1, true) * 1000,
      durationMs: positiveNumber("duration", values.duration, 5) * 1000,
      maxCount: positiveInteger("max-count", values["max-count"], 100_000_000),
      pin: !values["no-pin"],
    });
    return { kind: "cluster", params, json: values.json };
  }
  const serverList = values.server ?? "wynd";
  const servers = serverList === "all" ? [...knownServers] : serverList.split(",").map((s) => s.trim());
  for (const name of servers) if (!knownServers.includes(name)) throw new Error(`unknown server: ${name} (${knownServers.join(", ")})`);
  const sizes =
    values.size !== undefined
      ? [positiveInteger("size", values.size, 32)]
      : scenario === "large"
        ? [1024 * 1024, 16 * 1024 * 1024]
        : [32];
  return {
    kind: "run",
    params: {
      scenario,
      servers,
      connections: positiveInteger("connections", values.connections, DEFAULT_CONNECTIONS[scenario]),
      pipelining: positiveInteger("pipelining", values.pipelining, DEFAULT_PIPELINING[scenario]),
      sizes,
      binary: scenario === "large" ? true : values.binary,
      durationMs: positiveNumber("duration", values.duration, 5) * 1000,
      warmupMs: positiveNumber("warmup", values.warmup, 1, true) * 1000,
      maxCount: positiveInteger("max-count", values["max-count"], 100_000_000),
      cpuProfDir: values["cpu-prof"],
      loadCpuProfDir: values["cpu-prof-load"],
      pin: !values["no-pin"],
      json: values.json,
    },
  };
}
