// TEMPORARY until the shared test/helpers/redis-server.ts lands: a real redis-server on a free
// port of 127.0.0.1, without persistence, stopped after the test.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import { createClient } from "@redis/client";

export interface RedisProcess {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(t: TestContext): Promise<RedisProcess | undefined> {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn("/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (process.env["WYND_REQUIRE_REDIS"] === "1") throw error;
    t.skip(`redis-server cannot start: ${(error as Error).message}`);
    return undefined;
  }
  const ready = await new Promise<boolean>((resolve) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve(true);
    });
    child.once("error", () => resolve(false));
    child.once("exit", () => resolve(false));
    setTimeout(() => resolve(false), 5000).unref();
  });
  if (!ready) {
    child.kill("SIGKILL");
    if (process.env["WYND_REQUIRE_REDIS"] === "1") throw new Error("redis-server did not start");
    t.skip("redis-server did not start");
    return undefined;
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  };
  t.after(stop);
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/** A connected @redis/client, closed after the test. */
export async function redisClient(t: TestContext, url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: () => 200 } });
  client.on("error", () => {});
  await client.connect();
  t.after(() => client.destroy());
  return client;
}
