/**
 * A throwaway `redis-server` for one benchmark run: Debian's binary on a free port of 127.0.0.1,
 * no persistence (`--save "" --appendonly no`: a benchmark must not write snapshots to disk in the
 * middle of a measurement), started and stopped by the run itself. Every wait is bounded.
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { waitExit } from "../lib/orchestrator.js";

/** Where Debian installs the server; `REDIS_SERVER_PATH` overrides it (as for the tests). */
export const REDIS_SERVER_BINARY = process.env["REDIS_SERVER_PATH"] ?? "/usr/bin/redis-server";

/** A running server. */
export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Stops it (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
}

/** Why Redis cannot run here, or undefined when it can. */
export function redisUnavailable(): string | undefined {
  return existsSync(REDIS_SERVER_BINARY) ? undefined : `${REDIS_SERVER_BINARY} not found (apt-get install redis-server)`;
}

/** A port that was free a moment ago (Redis binds it right after; a lost race is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether a server on `port` answers PING with PONG within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let reply = "";
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}

/**
 * CPU time (user + system, every thread) `pid` has used, in microseconds, from /proc/<pid>/stat
 * (Linux; 10 ms resolution; 0 elsewhere). Read from outside: a process starved of CPU cannot
 * delay the reading.
 */
export function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name (field 2) may contain spaces: fields are counted after its closing ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** Starts a server; rejects (after up to 3 attempts on other ports) when it cannot. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const problem = redisUnavailable();
  if (problem !== undefined) throw new Error(problem);
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER_BINARY,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.on("error", (error) => {
      lastError = error.message;
    });
    const deadline = Date.now() + 5000;
    let up = false;
    while (!up && Date.now() < deadline && child.exitCode === null) {
      up = await ping(port, 500);
      if (!up) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (up && child.pid !== undefined) {
      const pid = child.pid;
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid,
        child,
        stop: async () => {
          child.kill("SIGTERM");
          await waitExit(child, 3000);
        },
      };
    }
    child.kill("SIGKILL");
    await waitExit(child, 3000);
    lastError = stderr.trim() || lastError || `redis-server did not answer PING on port ${port} within 5 s`;
  }
  throw new Error(`could not start ${REDIS_SERVER_BINARY}: ${lastError}`);
}
