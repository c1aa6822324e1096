#!/usr/bin/env node
// Runs every compiled test file with node:test. Node 20 treats `node --test` arguments as
// paths, not globs, so the file list is built here. Pass paths (or substrings) to narrow it:
//   npm test -- frame-parser
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("../dist/test/", import.meta.url).pathname;

/** @param {string} dir @returns {string[]} */
function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(root).filter(
  (f) => filters.length === 0 || filters.some((p) => relative(root, f).includes(p)),
);
if (files.length === 0) {
  console.error("no test files matched", filters);
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
