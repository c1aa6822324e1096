// docs/scaling.md's example runs against a real redis-server, as the page promises.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { startRedisServer } from "../helpers/redis-server.js";

const run = promisify(execFile);
const root = new URL("../../../", import.meta.url).pathname;
const EXAMPLE = join("docs", "examples", "scaling", "two-nodes.ts");

test("docs/scaling.md shows the two-node example verbatim", () => {
  const page = readFileSync(join(root, "docs", "scaling.md"), "utf8");
  assert.ok(page.includes(readFileSync(join(root, EXAMPLE), "utf8").trim()), `${EXAMPLE} is not in docs/scaling.md`);
});

test("the two-node example delivers a broadcast from node A to a client of node B through Redis", async (t) => {
  const redis = await startRedisServer(t);
  if (redis === undefined) return;
  after(() => redis.stop());
  const script = join(root, "dist", EXAMPLE.replace(/\.ts$/, ".js"));
  const { stdout } = await run(process.execPath, [script], { timeout: 30_000, env: { ...process.env, REDIS_URL: redis.url } });
  assert.equal(stdout, "bob, on node B, got: hello from alice (via node A)\n");
});
