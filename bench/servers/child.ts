/**
 * The server process of a benchmark run (started by the orchestrator with an IPC channel and,
 * where possible, pinned to core 0). It starts one server from the registry, says `ready`, and
 * answers `stats` requests with its own CPU time and memory — measured here, by the process under
 * test, so that the load generator's work never counts. `--expose-gc` lets `stats` collect garbage
 * first (the memory scenario).
 *
 *   node dist/bench/servers/child.js --server wynd --mode echo [--max-message-bytes N]
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { FromServer, ServerMode, ServerStats, ToServer } from "../lib/types.js";
import { findServer, type RunningServer } from "./registry.js";

function send(message: FromServer): void {
  process.send?.(message);
}

/** Runs `gc()` a few times, a macrotask apart, so that weak callbacks and finalizers run too. */
async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function snapshot(server: RunningServer): ServerStats {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    atMs: performance.now(),
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    connections: server.connections(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: "string" },
      mode: { type: "string", default: "echo" },
      "max-message-bytes": { type: "string", default: String(64 * 1024 * 1024) },
    },
  });
  const entry = findServer(values.server ?? "");
  if (entry === undefined) throw new Error(`unknown server ${values.server}`);
  const mode = values.mode as ServerMode;
  if (mode !== "echo" && mode !== "broadcast") throw new Error(`unknown mode ${values.mode}`);
  const start = await entry.load();
  const server = await start(mode, { maxMessageBytes: Number(values["max-message-bytes"]) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Bounded: a server that does not close in 2 s is left behind by exit().
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    process.exit(0);
  };
  process.on("message", (message: ToServer) => {
    if (message.type === "stats") {
      void (message.gc ? collectGarbage() : Promise.resolve()).then(() => {
        send({ type: "stats", id: message.id, stats: snapshot(server) });
      });
    } else if (message.type === "stop") {
      void stop();
    }
  });
  // The orchestrator went away: do not outlive it.
  process.on("disconnect", () => void stop());
  send({ type: "ready", port: server.port, detail: server.detail });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
