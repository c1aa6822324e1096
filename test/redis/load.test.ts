// @redis/client is loaded only on demand, and a missing package gives one clear error.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { WyndError } from "../../src/index.js";
import { loadRedisClient, REDIS_CLIENT_PACKAGE } from "../../src/redis/index.js";

test("loading a client package that is not installed rejects with ERR_REDIS_CLIENT_MISSING and says what to install", async () => {
  // A real import of a package that does not exist, through the same code path as @redis/client.
  await assert.rejects(loadRedisClient("@wynd-test/no-such-redis-client"), (error: WyndError) => {
    assert.equal(error.code, "ERR_REDIS_CLIENT_MISSING");
    assert.match(error.message, /npm install @wynd-test\/no-such-redis-client/);
    assert.equal((error.cause as { code?: string }).code, "ERR_MODULE_NOT_FOUND");
    return true;
  });
});

test("the default client package is @redis/client, and it loads when installed", async () => {
  assert.equal(REDIS_CLIENT_PACKAGE, "@redis/client");
  const redis = await loadRedisClient();
  assert.equal(typeof redis.createClient, "function");
});

test("wynd/redis is in the exports map, types first, and exports exactly the documented values", async () => {
  const root = new URL("../../../", import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
    exports: Record<string, Record<string, string>>;
  };
  const entry = pkg.exports["./redis"]!;
  assert.deepEqual(Object.keys(entry), ["types", "default"]);
  assert.equal(entry["default"], "./dist/src/redis/index.js");
  const module = (await import(new URL(entry["default"]!, root).href)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(module).sort(), [
    "DEFAULT_CHANNEL_PREFIX",
    "DEFAULT_MAX_PENDING_PUBLISH_BYTES",
    "DEFAULT_REDIS_URL",
    "REDIS_CLIENT_PACKAGE",
    "RedisAdapter",
    "createRedisAdapter",
    "loadRedisClient",
  ]);
});
