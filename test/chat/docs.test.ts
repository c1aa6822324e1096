// docs/chat.md is code: every program of docs/examples/chat/ is shown verbatim in it, and here
// each compiled program is run and its output checked.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HELP_LINES } from "../../src/chat/index.js";

const run = promisify(execFile);
const root = new URL("../../../", import.meta.url);
const page = readFileSync(new URL("docs/chat.md", root), "utf8");
const sources = new URL("docs/examples/chat/", root);

const EXPECTED: Record<string, string[]> = {
  "embed.ts": [
    "Welcome to the chat! Available commands:",
    "You are now known as ada",
    "You are now in room books",
    "Rooms: lobby (0), books (1)",
  ],
  "signed-tokens.ts": ["without a token: HTTP 401", "with a token: welcome, grace"],
};

describe("docs: chat.md", () => {
  it("shows every example of docs/examples/chat verbatim, and each has an expected output", () => {
    const names = readdirSync(sources).filter((name) => name.endsWith(".ts"));
    assert.deepEqual(names.sort(), Object.keys(EXPECTED).sort());
    for (const name of names) {
      const source = readFileSync(new URL(name, sources), "utf8").trim();
      assert.ok(page.includes(source), `${name} is not shown in docs/chat.md`);
    }
  });

  it("lists the help text as the server sends it", () => {
    for (const line of HELP_LINES) assert.ok(page.includes(`- ${line}`), line);
  });

  for (const [name, lines] of Object.entries(EXPECTED)) {
    it(`runs ${name} and prints what the page says`, async () => {
      const script = fileURLToPath(new URL(`dist/docs/examples/chat/${name.replace(/\.ts$/, ".js")}`, root));
      const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
      const printed = stdout.trimEnd().split("\n");
      if (name === "embed.ts") assert.match(printed.shift()!, /^page on http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.deepEqual(printed, lines);
    });
  }
});
