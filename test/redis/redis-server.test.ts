// The shared redis-server helper: a private server that answers, stops, is killed and restarts on
// the same port; and without redis-server a test skips, or fails under WYND_REQUIRE_REDIS=1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createConnection } from "node:net";
import { test } from "node:test";
import { startRedisServer } from "../helpers/redis-server.js";

function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    socket.on("error", (error) => resolve(`error ${(error as NodeJS.ErrnoException).code}`));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.endsWith("\r\n")) {
        socket.destroy();
        resolve(answer.trim());
      }
    });
  });
}

test("the helper's redis-server answers, restarts on the same port, and is gone once killed", { timeout: 30_000 }, async (t) => {
  const redis = await startRedisServer(t);
  if (redis === undefined) return;
  try {
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(await ping(redis.port), "+PONG");
    await redis.kill();
    assert.equal(await ping(redis.port), "error ECONNREFUSED");
    await redis.restart();
    assert.equal(await ping(redis.port), "+PONG");
    await redis.restart();
    assert.equal(await ping(redis.port), "+PONG");
  } finally {
    await redis.stop();
  }
  assert.equal(await ping(redis.port), "error ECONNREFUSED");
  await redis.stop();
});

test("without redis-server the helper skips the test, or fails it under WYND_REQUIRE_REDIS=1", { timeout: 30_000 }, () => {
  const helper = new URL("../helpers/redis-server.js", import.meta.url).href;
  const script = [
    `const { startRedisServer } = await import(${JSON.stringify(helper)});`,
    "try {",
    "  const server = await startRedisServer({ skip: (message) => console.log('skipped: ' + message) });",
    "  console.log('started: ' + String(server));",
    "} catch (error) { console.log('failed: ' + error.message); }",
  ].join("\n");
  const run = (require: string): string => {
    const env = { ...process.env, REDIS_SERVER_PATH: "/nonexistent/redis-server", WYND_REQUIRE_REDIS: require };
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    return child.stdout.trim();
  };
  const message = "cannot start redis-server: redis-server not found at /nonexistent/redis-server (apt-get install redis-server, or set REDIS_SERVER_PATH)";
  assert.equal(run(""), `skipped: ${message}\nstarted: undefined`);
  assert.equal(run("1"), `failed: ${message}`);
});
