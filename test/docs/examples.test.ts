// Docs are code: every sample in README.md and docs/ is a file under docs/examples/ that this
// test finds verbatim in the markdown, compiles (with the project) and runs.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../../../", import.meta.url).pathname;

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md"));
  return ["README.md", ...docs.map((name) => join("docs", name))];
}

/** Expected output of each example, checked line by line. */
const EXPECTED: Record<string, (stdout: string) => void> = {
  "quick-start.ts": (stdout) => {
    assert.match(stdout, /^client connected to \/chat$/m);
    assert.match(stdout, /^echo: hello$/m);
    assert.match(stdout, /^closed 1000 done true$/m);
  },
  "engine-client.ts": (stdout) => {
    assert.match(stdout, /^v2\.feed: \/feed for Bearer 42$/m);
  },
  "deflate.ts": (stdout) => {
    assert.match(stdout, /^negotiated: permessage-deflate; server_no_context_takeover$/m);
    assert.match(stdout, /^echoed 44000 bytes, intact: true$/m);
  },
};

test("every docs/examples file appears verbatim in a markdown page and has an expected output", () => {
  const pages = markdownFiles().map((file) => readFileSync(join(root, file), "utf8"));
  for (const name of readdirSync(join(root, "docs", "examples"))) {
    if (!name.endsWith(".ts")) continue;
    const source = readFileSync(join(root, "docs", "examples", name), "utf8").trim();
    assert.ok(pages.some((page) => page.includes(source)), `${name} is not shown in any page`);
    assert.ok(EXPECTED[name], `${name} has no expected output in this test`);
  }
});

for (const [name, check] of Object.entries(EXPECTED)) {
  test(`the example ${name} runs and prints what the docs say`, async () => {
    const script = join(root, "dist", "docs", "examples", name.replace(/\.ts$/, ".js"));
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    check(stdout);
  });
}

test("every TypeScript block of README.md and docs/ is one of the examples the tests run", () => {
  const examples = new Set<string>();
  const collect = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) collect(path);
      else if (entry.name.endsWith(".ts")) examples.add(readFileSync(join(root, path), "utf8").trim());
    }
  };
  collect(join("docs", "examples"));
  for (const file of markdownFiles()) {
    const page = readFileSync(join(root, file), "utf8");
    for (const [, block] of page.matchAll(/```ts\n([\s\S]*?)```/g)) {
      assert.ok(examples.has(block!.trim()), `${file} has a TypeScript block that is no example: ${block!.slice(0, 80)}`);
    }
  }
});
