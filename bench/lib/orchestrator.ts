/**
 * Runs one benchmark: the server under test in its own process (pinned to core 0 with `taskset`
 * when the machine has two cores or more), the load generator in another (core 1), the job sent
 * over IPC, the server's CPU time read at the edges of the measured window and its memory read
 * when the generator holds idle connections. Every wait is bounded; both processes are stopped
 * (killed if they do not stop) whatever happens.
 *
 * @module
 */

import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { FromLoad, FromServer, LoadJob, LoadResult, ServerStats, ToLoad, ToServer } from "./types.js";
import type { ServerEntry } from "../servers/registry.js";

const SERVER_SCRIPT = fileURLToPath(new URL("../servers/child.js", import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL("../load/child.js", import.meta.url));

/** Cores for the server and the load generator, or undefined when pinning is not possible. */
export function pinningCores(): { server: number; load: number } | undefined {
  if (availableParallelism() < 2) return undefined;
  const probe = spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
  return probe.status === 0 ? { server: 0, load: 1 } : undefined;
}

/** Pins every thread of `pid` to `core`; returns whether it worked. */
export function pin(pid: number | undefined, core: number): boolean {
  if (pid === undefined) return false;
  return spawnSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" }).status === 0;
}

/** Jiffies of one core from /proc/stat: busy (not idle or iowait), steal, total. */
export interface CoreTimes {
  readonly busy: number;
  readonly steal: number;
  readonly total: number;
}

/** Per-core times from /proc/stat (Linux), or undefined elsewhere. */
export function readCoreTimes(): CoreTimes[] | undefined {
  try {
    const cores: CoreTimes[] = [];
    for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (m === null) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      cores[Number(m[1])] = { busy: total - idle, steal: f[7] ?? 0, total };
    }
    return cores;
  } catch {
    return undefined;
  }
}

/**
 * How busy each core was between two readings, in % (whoever used it: the server, the load
 * generator, the kernel, or other processes on a shared machine), and the steal time of a VM.
 */
export interface CoreUse {
  readonly busyPercent: readonly number[];
  readonly stealPercent: readonly number[];
}

export function coreUse(start: CoreTimes[] | undefined, end: CoreTimes[] | undefined): CoreUse | undefined {
  if (start === undefined || end === undefined) return undefined;
  const busyPercent: number[] = [];
  const stealPercent: number[] = [];
  end.forEach((e, i) => {
    const s = start[i];
    if (s === undefined) return;
    const total = e.total - s.total;
    busyPercent[i] = total > 0 ? ((e.busy - s.busy) / total) * 100 : 0;
    stealPercent[i] = total > 0 ? ((e.steal - s.steal) / total) * 100 : 0;
  });
  return { busyPercent, stealPercent };
}

/** What one run needs besides the load job. */
export interface RunOptions {
  readonly server: ServerEntry;
  readonly job: Omit<LoadJob, "port" | "protocol">;
  readonly pin: boolean;
  /** Run the server with `node --cpu-prof`, writing the profile in this directory. */
  readonly cpuProfDir?: string | undefined;
  /** Run the load generator with `node --cpu-prof` too (to check it is not the bottleneck). */
  readonly loadCpuProfDir?: string | undefined;
}

/** Everything measured in one run. */
export interface RunReport {
  readonly server: string;
  readonly serverDetail: string;
  readonly job: Omit<LoadJob, "port">;
  readonly pinned: boolean;
  readonly load: LoadResult;
  /** The server's CPU time over the measured window, in microseconds, and the window it covers. */
  readonly serverCpuMicros: number;
  readonly serverWindowMs: number;
  /** How busy every core was over the window (to see other load on a shared machine). */
  readonly cores?: CoreUse | undefined;
  /** memory: the server's own snapshots (after gc) with no connection and with N. */
  readonly memory?: { readonly baseline: ServerStats; readonly loaded: ServerStats } | undefined;
}

/** Resolves when `child` has exited; kills it after `ms`. */
export function waitExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the server process and resolves when it listens. */
async function startServer(options: RunOptions, cores: { server: number } | undefined) {
  const mode = options.job.scenario === "broadcast" ? "broadcast" : "echo";
  const execArgv: string[] = [];
  if (options.job.scenario === "memory") execArgv.push("--expose-gc");
  if (options.cpuProfDir !== undefined) execArgv.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`);
  const child = fork(SERVER_SCRIPT, ["--server", options.server.name, "--mode", mode], {
    execArgv,
    env: { ...process.env, ...options.server.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pinned = cores !== undefined && pin(child.pid, cores.server);
  const ready = await new Promise<{ port: number; detail: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start within 15 s")), 15_000);
    child.on("message", (message: FromServer) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolve(message);
      } else if (message.type === "failed") {
        clearTimeout(timer);
        reject(new Error(`the server failed: ${message.message}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}`));
    });
  });
  let nextId = 1;
  const waiting = new Map<number, (stats: ServerStats) => void>();
  child.on("message", (message: FromServer) => {
    if (message.type === "stats") {
      waiting.get(message.id)?.(message.stats);
      waiting.delete(message.id);
    }
  });
  const stats = (gc: boolean): Promise<ServerStats> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error("the server did not answer a stats request")), 30_000);
      waiting.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      child.send({ type: "stats", id, gc } satisfies ToServer);
    });
  return { child, pinned, port: ready.port, detail: ready.detail, stats };
}

/** Runs one benchmark and returns what it measured. */
export async function runBenchmark(options: RunOptions): Promise<RunReport> {
  const cores = options.pin ? pinningCores() : undefined;
  const server = await startServer(options, cores);
  let load: ChildProcess | undefined;
  try {
    const loadExecArgv = options.loadCpuProfDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.loadCpuProfDir}`];
    load = fork(LOAD_SCRIPT, [], { execArgv: loadExecArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const loadPinned = cores !== undefined && pin(load.pid, cores.load);
    const job: LoadJob = { ...options.job, port: server.port, protocol: options.server.protocol };
    const loadProcess = load;
    let windowStart: Promise<ServerStats> | undefined;
    let windowEnd: Promise<ServerStats> | undefined;
    let coresStart: CoreTimes[] | undefined;
    let coresEnd: CoreTimes[] | undefined;
    let baseline: ServerStats | undefined;
    let loaded: ServerStats | undefined;

    const onHolding = async (phase: "connected" | "baseline" | "loaded", open: number) => {
      // Wait (bounded) until the server has registered exactly the connections the generator holds.
      const deadline = Date.now() + 15_000;
      while ((await server.stats(false)).connections !== open && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (phase !== "connected") {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const snapshot = await server.stats(true);
        if (phase === "baseline") baseline = snapshot;
        else loaded = snapshot;
      }
      loadProcess.send({ type: "release" } satisfies ToLoad);
    };

    const limitMs = job.warmupMs + job.durationMs + 180_000;
    const result = await new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the run did not finish within ${limitMs} ms`)), limitMs);
      loadProcess.on("message", (message: FromLoad) => {
        switch (message.type) {
          case "window":
            if (message.edge === "start") {
              windowStart = server.stats(false);
              coresStart = readCoreTimes();
            } else {
              windowEnd = server.stats(false);
              coresEnd = readCoreTimes();
            }
            break;
          case "holding":
            onHolding(message.phase, message.open).catch((error: unknown) => {
              clearTimeout(timer);
              reject(error instanceof Error ? error : new Error(String(error)));
            });
            break;
          case "result":
            clearTimeout(timer);
            resolve(message.result);
            break;
          case "failed":
            clearTimeout(timer);
            reject(new Error(`the load generator failed: ${message.message}`));
            break;
        }
      });
      loadProcess.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the load generator exited with ${code} before its result`));
      });
      loadProcess.send({ type: "run", job } satisfies ToLoad);
    });
    const start = windowStart === undefined ? undefined : await windowStart;
    const end = windowEnd === undefined ? undefined : await windowEnd;
    return {
      server: options.server.name,
      serverDetail: server.detail,
      job: { ...options.job, protocol: options.server.protocol },
      pinned: server.pinned && loadPinned,
      load: result,
      serverCpuMicros: start !== undefined && end !== undefined ? end.cpuMicros - start.cpuMicros : 0,
      serverWindowMs: start !== undefined && end !== undefined ? end.atMs - start.atMs : 0,
      cores: coreUse(coresStart, coresEnd),
      memory: baseline !== undefined && loaded !== undefined ? { baseline, loaded } : undefined,
    };
  } finally {
    if (load !== undefined && load.connected) load.disconnect();
    if (load !== undefined) await waitExit(load, 5000);
    if (server.child.connected) server.child.send({ type: "stop" } satisfies ToServer);
    await waitExit(server.child, 10_000);
  }
}
