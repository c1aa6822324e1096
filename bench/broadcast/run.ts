/**
 * The orchestrator of the multi-node broadcast benchmark. For every configuration (peer ×
 * adapter × node count), in an order rotated every repetition (interleaved, so that a noisy
 * moment on a shared machine does not land on one configuration only), it starts N server nodes
 * (`node.ts`) and one load generator (`load.ts`), collects what they measured and stops them.
 * One `redis-server` serves every Redis configuration of the invocation; it is started first
 * and stopped last.
 *
 * Pinning (machines with two cores or more and a working `taskset`): every server node and
 * `redis-server` on core 0, the load generator alone on core 1 — the servers' side of the
 * comparison gets one core whatever N is, and the generator never competes with it.
 *
 * @module
 */

import { fork, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { FromLoad, LoadResult } from "../lib/types.js";
import { coreUse, pin, pinningCores, readCoreTimes, waitExit, type CoreTimes, type CoreUse } from "../lib/orchestrator.js";
import { processCpuMicros, startBenchRedis, type BenchRedis } from "./redis-server.js";
import type { AdapterKind, ClusterJob, FromNode, Peer, ToClusterLoad, ToNode } from "./types.js";

const NODE_SCRIPT = fileURLToPath(new URL("./node.js", import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL("./load.js", import.meta.url));
const NODE_START_TIMEOUT_MS = 15_000;

/** The parameters of one invocation. */
export interface ClusterParams extends Pick<ClusterJob, "receivers" | "pipelining" | "sizeBytes" | "warmupMs" | "durationMs" | "maxCount"> {
  readonly peers: readonly Peer[];
  readonly adapters: readonly AdapterKind[];
  readonly nodeCounts: readonly number[];
  /** Repetitions of every configuration (interleaved). */
  readonly repeat: number;
  readonly pin: boolean;
  /** Bound of the sync phase (default 10 s). */
  readonly syncTimeoutMs?: number;
}

/** One configuration. */
export interface ClusterConfig {
  readonly peer: Peer;
  readonly adapter: AdapterKind;
  readonly nodes: number;
}

/** What one run of one configuration measured. */
export interface ClusterRun extends ClusterConfig {
  readonly repetition: number;
  readonly details: readonly string[];
  readonly pinned: boolean;
  readonly load: LoadResult;
  /** CPU time of each node over the measured window (µs, from /proc/<pid>/stat), and the window (ms). */
  readonly nodeCpuMicros: readonly number[];
  readonly windowMs: number;
  /** CPU time of redis-server over the window (µs); undefined without Redis. */
  readonly redisCpuMicros: number | undefined;
  readonly cores: CoreUse | undefined;
}

/** The configurations of `params`, in their first-repetition order; memory × N > 1 is left out. */
export function configurations(params: Pick<ClusterParams, "peers" | "adapters" | "nodeCounts">): ClusterConfig[] {
  const out: ClusterConfig[] = [];
  for (const adapter of params.adapters) {
    for (const nodes of params.nodeCounts) {
      // Without an adapter that crosses processes, receivers on another node would get nothing.
      if (adapter === "memory" && nodes > 1) continue;
      for (const peer of params.peers) out.push({ peer, adapter, nodes });
    }
  }
  return out;
}

/** A started node. */
interface StartedNode {
  readonly child: ChildProcess;
  readonly port: number;
  readonly detail: string;
  /** Whether every thread of it is pinned to the servers' core. */
  readonly pinned: boolean;
}

async function startNode(config: ClusterConfig, redisUrl: string | undefined, core: number | undefined): Promise<StartedNode> {
  const args = ["--peer", config.peer, "--adapter", config.adapter];
  if (redisUrl !== undefined) args.push("--redis-url", redisUrl);
  const child = fork(NODE_SCRIPT, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // An IPC write to a node that is exiting fails with EPIPE: its exit is handled, not this.
  child.on("error", () => {});
  if (core !== undefined) pin(child.pid, core);
  try {
    const ready = await new Promise<{ port: number; detail: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a ${config.peer} node did not start within ${NODE_START_TIMEOUT_MS} ms`)), NODE_START_TIMEOUT_MS);
      child.on("message", (message: FromNode) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve(message);
        } else if (message.type === "failed") {
          clearTimeout(timer);
          reject(new Error(`a ${config.peer} node failed: ${message.message}`));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`a ${config.peer} node exited with ${code}`));
      });
    });
    // Pin again now that every thread of the node exists: `taskset -a` right after the fork may
    // have run before V8 started its worker threads (they inherit the main thread's affinity,
    // but one started during the first call could escape it).
    const pinned = core !== undefined && pin(child.pid, core);
    return { child, port: ready.port, detail: ready.detail, pinned };
  } catch (error) {
    await stopNode(child);
    throw error;
  }
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.connected) child.send({ type: "stop" } satisfies ToNode);
  await waitExit(child, 5000);
}

/** Runs one configuration once. */
export async function runConfiguration(
  config: ClusterConfig,
  params: ClusterParams,
  repetition: number,
  redis: BenchRedis | undefined,
  redisPinned = false,
): Promise<ClusterRun> {
  const cores = params.pin ? pinningCores() : undefined;
  if (config.adapter === "redis" && redis === undefined) throw new Error("a Redis configuration needs a running redis-server");
  const redisUrl = config.adapter === "redis" ? redis?.url : undefined;
  const nodes: StartedNode[] = [];
  let load: ChildProcess | undefined;
  try {
    for (let i = 0; i < config.nodes; i++) nodes.push(await startNode(config, redisUrl, cores?.server));
    load = fork(LOAD_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    load.on("error", () => {});
    const loadPinned = cores !== undefined && pin(load.pid, cores.load);
    const job: ClusterJob = {
      peer: config.peer,
      ports: nodes.map((node) => node.port),
      receivers: params.receivers,
      pipelining: params.pipelining,
      sizeBytes: params.sizeBytes,
      warmupMs: params.warmupMs,
      durationMs: params.durationMs,
      maxCount: params.maxCount,
      syncTimeoutMs: params.syncTimeoutMs ?? 10_000,
    };
    /** CPU time of every node then of redis-server (µs), and when it was read (ms), at each edge. */
    type Edge = { readonly atMs: number; readonly cpu: readonly number[] };
    let start: Edge | undefined;
    let end: Edge | undefined;
    const profiled = [...nodes.map((node) => node.child.pid!), ...(redisUrl === undefined ? [] : [redis!.pid])];
    const edge = (): Edge => ({ atMs: performance.now(), cpu: profiled.map(processCpuMicros) });
    let coresStart: CoreTimes[] | undefined;
    let coresEnd: CoreTimes[] | undefined;
    const loadProcess = load;
    const limitMs = job.syncTimeoutMs + job.warmupMs + job.durationMs + 120_000;
    const result = await new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the run did not finish within ${limitMs} ms`)), limitMs);
      loadProcess.on("message", (message: FromLoad) => {
        if (message.type === "window") {
          if (message.edge === "start") {
            start = edge();
            coresStart = readCoreTimes();
          } else {
            end = edge();
            coresEnd = readCoreTimes();
          }
        } else if (message.type === "result") {
          clearTimeout(timer);
          resolve(message.result);
        } else if (message.type === "failed") {
          clearTimeout(timer);
          reject(new Error(`the load generator failed: ${message.message}`));
        }
      });
      loadProcess.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the load generator exited with ${code} before its result`));
      });
      loadProcess.send({ type: "run", job } satisfies ToClusterLoad);
    });
    const used = profiled.map((_, i) => (start !== undefined && end !== undefined ? end.cpu[i]! - start.cpu[i]! : 0));
    return {
      ...config,
      repetition,
      details: [...new Set(nodes.map((node) => node.detail))],
      pinned: loadPinned && nodes.every((node) => node.pinned) && (redisUrl === undefined || redisPinned),
      load: result,
      nodeCpuMicros: used.slice(0, nodes.length),
      windowMs: start !== undefined && end !== undefined ? end.atMs - start.atMs : 0,
      redisCpuMicros: redisUrl === undefined ? undefined : used[nodes.length],
      cores: coreUse(coresStart, coresEnd),
    };
  } finally {
    if (load !== undefined && load.connected) load.disconnect();
    if (load !== undefined) await waitExit(load, 5000);
    await Promise.all(nodes.map((node) => stopNode(node.child)));
  }
}

/**
 * Runs every configuration `params.repeat` times, interleaved (repetition r starts at
 * configuration r), with one redis-server for the whole invocation when a configuration needs
 * it. `onRun` sees each run as it ends.
 */
export async function runClusterBroadcast(params: ClusterParams, onRun: (run: ClusterRun) => void = () => {}): Promise<ClusterRun[]> {
  const configs = configurations(params);
  if (configs.length === 0) throw new Error("no configuration to run (the memory adapter runs on one node only)");
  const redis = configs.some((c) => c.adapter === "redis") ? await startBenchRedis() : undefined;
  const runs: ClusterRun[] = [];
  try {
    const cores = params.pin ? pinningCores() : undefined;
    const redisPinned = redis !== undefined && cores !== undefined && pin(redis.pid, cores.server);
    for (let r = 0; r < params.repeat; r++) {
      for (let i = 0; i < configs.length; i++) {
        const config = configs[(i + r) % configs.length]!;
        let run: ClusterRun;
        try {
          run = await runConfiguration(config, params, r + 1, redis, redisPinned);
        } catch (error) {
          throw new Error(`${config.peer} · ${config.adapter} · ${config.nodes} node(s), repetition ${r + 1}: ${(error as Error).message}`, { cause: error });
        }
        runs.push(run);
        onRun(run);
      }
    }
  } finally {
    await redis?.stop();
  }
  return runs;
}
