// The browser client is plain JavaScript served as-is (no build step), so the main build never
// sees it. These tests type-check it against the DOM types with tsconfig.public.json (checkJs,
// noEmit, the strict flags of the TypeScript sources), so a typo in app.js fails `npm test`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const TSC = join(root, "node_modules", "typescript", "bin", "tsc");

/** Runs tsc with `args` in the repository root; bounded by a timeout. */
function tsc(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

test("tsconfig.public.json covers the browser client's scripts", async () => {
  const { code, output } = await tsc("-p", "tsconfig.public.json", "--listFilesOnly");
  assert.equal(code, 0, output);
  for (const script of ["app.js", "connection.js", "state.js", "model.js", "view.js"]) {
    assert.ok(output.split("\n").some((line) => line.endsWith(`src/chat/public/${script}`)), `${script} is not in:\n${output}`);
  }
});

test("the browser client's scripts type-check against the DOM with tsconfig.public.json", async () => {
  const { code, output } = await tsc("-p", "tsconfig.public.json", "--pretty", "false");
  assert.equal(code, 0, `tsc -p tsconfig.public.json failed:\n${output}`);
});
