// The layers of docs/DESIGN (src/protocol -> src/transport -> src/api -> src/redis -> src/chat)
// import only downwards, the protocol core touches no I/O, the package has no runtime
// dependencies, and only src/redis may load a package (@redis/client, on demand).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

const LAYERS = ["protocol", "transport", "api", "redis", "chat"] as const;
const REDIS_CLIENT = "@redis/client";
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

test("package.json declares no runtime dependencies, and @redis/client only as an optional peer", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(pkg["dependencies"] ?? {}, {});
  assert.deepEqual(Object.keys(pkg["peerDependencies"] as object), [REDIS_CLIENT]);
  assert.deepEqual(pkg["peerDependenciesMeta"], { [REDIS_CLIENT]: { optional: true } });
  assert.equal(pkg["optionalDependencies"], undefined);
});

test("only node: built-ins are imported, but @redis/client by src/redis", () => {
  const redis = join(src, "redis");
  for (const file of sources(src)) {
    const inRedis = !relative(redis, file).startsWith("..");
    for (const spec of importsOf(file)) {
      const allowed = spec.startsWith(".") || spec.startsWith("node:") || (inRedis && spec === REDIS_CLIENT);
      assert.ok(allowed, `${relative(root, file)} imports ${spec}`);
    }
  }
});

test("src/redis loads @redis/client only lazily: type imports and the loader's dynamic import()", () => {
  for (const file of sources(join(src, "redis"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^\s*(import|export)\b([^"';]*?)from\s+["']@redis\/client["']/gm)) {
      assert.match(match[2]!, /^\s*type\b/, `${relative(root, file)}: a static import of @redis/client must be type-only`);
    }
  }
});

test("src/redis uses only the public API (../index.js, ../errors.js), itself, node: and @redis/client", () => {
  assertUsesPublicApi(join(src, "redis"), new Set([join(src, "index.ts"), join(src, "errors.ts")]));
});

test("importing wynd, wynd/chat and wynd/redis loads no package (a copy of the build without node_modules)", () => {
  // The build and package.json copied where no node_modules can be found: any package import
  // (static, or dynamic at load time) fails the child with ERR_MODULE_NOT_FOUND.
  const dir = mkdtempSync(join(tmpdir(), "wynd-no-deps-"));
  try {
    cpSync(join(root, "package.json"), join(dir, "package.json"));
    cpSync(join(root, "dist", "src"), join(dir, "dist", "src"), { recursive: true });
    const script = [
      'await import("wynd");',
      'await import("wynd/chat");',
      'const { createRedisAdapter } = await import("wynd/redis");',
      // Asking for Redis without the package: the one clear error.
      "try { await createRedisAdapter(); console.log('no error'); }",
      "catch (error) { console.log(error.code + ': ' + error.message); }",
    ].join("\n");
    writeFileSync(join(dir, "check.mjs"), script);
    const child = spawnSync(process.execPath, ["check.mjs"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(
      child.stdout.trim(),
      "ERR_REDIS_CLIENT_MISSING: the Redis adapter needs the package @redis/client, which is not installed: run `npm install @redis/client`",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("src/chat uses only the public API (../index.js, ../errors.js, ../redis/index.js), itself and node: built-ins", () => {
  assertUsesPublicApi(
    join(src, "chat"),
    new Set([join(src, "index.ts"), join(src, "errors.ts"), join(src, "redis", "index.ts")]),
  );
});

/** Every relative import of a file under `dir` stays in `dir` or is one of `allowed`. */
function assertUsesPublicApi(dir: string, allowed: ReadonlySet<string>): void {
  for (const file of sources(dir)) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith("node:") || spec === REDIS_CLIENT) continue;
      assert.ok(spec.startsWith("."), `${relative(root, file)} imports ${spec}`);
      const target = join(file, "..", spec).replace(/\.js$/, ".ts");
      assert.ok(
        allowed.has(target) || !relative(dir, target).startsWith(".."),
        `${relative(root, file)} imports ${spec}: it must prove the public API is enough`,
      );
    }
  }
}
