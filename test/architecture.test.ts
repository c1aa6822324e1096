// The layers of docs/DESIGN (src/protocol -> src/transport -> src/api -> src/chat) import only
// downwards, the protocol core touches no I/O, and the package has no runtime dependencies.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const src = join(root, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^"']*?from\s+["']([^"']+)["']/gm), ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1]!,
  );
}

const LAYERS = ["protocol", "transport", "api", "chat"] as const;
const IO_MODULES = ["node:net", "node:tls", "node:http", "node:https", "node:zlib", "node:timers", "node:dgram", "node:fs"];

function layerOf(file: string): number {
  const top = relative(src, file).split("/")[0]!;
  return LAYERS.indexOf(top as (typeof LAYERS)[number]);
}

test("each layer of src/ imports only itself and the layers below it", () => {
  for (const file of sources(src)) {
    const layer = layerOf(file);
    if (layer === -1) continue; // errors.ts, index.ts, cli.ts sit beside the layers
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = join(file, "..", spec).replace(/\.js$/, ".ts");
      const targetLayer = layerOf(target);
      assert.ok(
        targetLayer <= layer,
        `${relative(root, file)} imports ${spec}, a layer above its own`,
      );
    }
  }
});

test("the protocol core performs no I/O and starts no timers", () => {
  for (const file of sources(join(src, "protocol"))) {
    const text = readFileSync(file, "utf8");
    for (const spec of importsOf(file)) {
      assert.ok(!IO_MODULES.includes(spec), `${relative(root, file)} imports ${spec}`);
    }
    assert.doesNotMatch(text, /\b(setTimeout|setInterval|setImmediate)\s*\(/, `${relative(root, file)} uses a timer`);
  }
});

test("package.json declares no runtime dependencies", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(pkg["dependencies"] ?? {}, {});
  assert.equal(pkg["peerDependencies"], undefined);
  assert.equal(pkg["optionalDependencies"], undefined);
});

test("only node: built-ins are imported at run time", () => {
  for (const file of sources(src)) {
    for (const spec of importsOf(file)) {
      assert.ok(spec.startsWith(".") || spec.startsWith("node:"), `${relative(root, file)} imports ${spec}`);
    }
  }
});

test("src/chat uses only the public API (../index.js, ../errors.js), itself and node: built-ins", () => {
  const chat = join(src, "chat");
  const allowed = new Set([join(src, "index.ts"), join(src, "errors.ts")]);
  for (const file of sources(chat)) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith("node:")) continue;
      assert.ok(spec.startsWith("."), `${relative(root, file)} imports ${spec}`);
      const target = join(file, "..", spec).replace(/\.js$/, ".ts");
      assert.ok(
        allowed.has(target) || !relative(chat, target).startsWith(".."),
        `${relative(root, file)} imports ${spec}: the chat must prove the public API is enough`,
      );
    }
  }
});
