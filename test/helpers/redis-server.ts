/**
 * A real `redis-server` for the tests: Debian's `/usr/bin/redis-server` (which `.ci/run` installs)
 * in its own process, on a free port of 127.0.0.1, without persistence (`--save "" --appendonly
 * no`), so each test file gets an empty, private Redis and leaves nothing on disk.
 *
 * ```ts
 * const redis = await startRedisServer(t); // undefined: the test was skipped (no redis-server)
 * if (redis === undefined) return;
 * after(() => redis.stop());
 * // redis.url = "redis://127.0.0.1:PORT"
 * ```
 *
 * `.ci/run` sets `WYND_REQUIRE_REDIS=1`: then a missing or failing redis-server FAILS the test
 * instead of skipping it.
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection, createServer } from "node:net";

/** Where Debian's `redis-server` package puts the server; `REDIS_SERVER_PATH` overrides it. */
export const REDIS_SERVER_PATH = process.env.REDIS_SERVER_PATH ?? "/usr/bin/redis-server";

/** A running redis-server started by {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`, for `createRedisAdapter({ url })` or `createClient({ url })`. */
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM) and resolves once the process exited. Idempotent. */
  stop(): Promise<void>;
  /** Kills it (SIGKILL, as a crash) and resolves once the process exited. Idempotent. */
  kill(): Promise<void>;
  /**
   * Starts it again on the SAME port (stopping it first if it runs) and resolves once it answers
   * PING. The data is gone (no persistence): as a real restart of a cache.
   */
  restart(): Promise<void>;
}

/** What {@link startRedisServer} needs of a test context: node:test's `TestContext` has it. */
export interface Skippable {
  skip(message?: string): void;
}

const START_TIMEOUT_MS = 10_000;

/**
 * Starts a redis-server on a free port of 127.0.0.1 and resolves once it answers PING. When it
 * cannot (not installed, fails to start) and `WYND_REQUIRE_REDIS` is not `1`, marks `t` skipped
 * with a message saying why and resolves undefined; with `WYND_REQUIRE_REDIS=1`, or without `t`,
 * rejects. Stop the server in `after`/`afterEach` (it is also killed when the test process exits).
 */
export async function startRedisServer(t?: Skippable): Promise<RedisServer | undefined> {
  try {
    if (!existsSync(REDIS_SERVER_PATH)) {
      throw new Error(`redis-server not found at ${REDIS_SERVER_PATH} (apt-get install redis-server, or set REDIS_SERVER_PATH)`);
    }
    // A port picked now may be taken before redis binds it: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        return await launch(port);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    const message = `cannot start redis-server: ${(error as Error).message}`;
    if (t === undefined || process.env.WYND_REQUIRE_REDIS === "1") throw new Error(message, { cause: error });
    t.skip(message);
    return undefined;
  }
}

async function launch(port: number): Promise<RedisServer> {
  let child = await spawnServer(port);
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
    restart: async () => {
      await stopWith("SIGTERM");
      // The port was just released by our own process; redis binds with SO_REUSEADDR.
      child = await spawnServer(port);
    },
  };
}

/** Spawns redis-server on `port` and waits for PING to answer; kills it if that fails. */
async function spawnServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER_PATH,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Keep the end of its output for the error message; reading it also keeps the pipe flowing.
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-2_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const kill = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", kill);
  child.once("exit", () => process.removeListener("exit", kill));
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== undefined) throw spawnError;
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output.trim()}`);
    if (await answersPing(port)) return child;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether something on 127.0.0.1:`port` answers `PING` with `+PONG`. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      // "-LOADING" and friends mean not ready yet.
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}

/** A port of 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
