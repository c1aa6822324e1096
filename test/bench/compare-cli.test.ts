/**
 * `npm run bench:compare -- --help` prints its options and exits 0 (it used to throw on an
 * unknown option); a bad value exits 2 with a message. Runs no benchmark.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const compare = fileURLToPath(new URL("../../bench/compare.js", import.meta.url));

test("bench:compare --help lists its options, servers and scenarios, and exits 0", () => {
  for (const flag of ["--help", "-h"]) {
    const run = spawnSync(process.execPath, [compare, flag], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^usage: npm run bench:compare -- \[options\]/);
    for (const word of ["--rounds", "--only", "--no-pin", "wynd-api", "echo-100x16x32", "memory-10000"]) assert.ok(run.stdout.includes(word), word);
  }
});

test("bench:compare refuses a bad --rounds with exit status 2 before running anything", () => {
  const run = spawnSync(process.execPath, [compare, "--rounds", "0"], { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--rounds must be a positive integer/);
});
