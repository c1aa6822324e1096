// The package as users get it: `npm pack` (what `npm publish` uploads) has what it needs and
// nothing else, installs offline into a scratch project, type-checks for a consumer under
// nodenext, bundler and node10 resolution, and its `wynd` command serves over a real socket.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown> & { version: string };
/** TypeScript 7 (the project's compiler) checks nodenext and bundler; it removed node10, which TypeScript 5.9 still has. */
const TSC = join(root, "node_modules", "typescript", "bin", "tsc");
const TSC_5 = join(root, "node_modules", "typescript-5", "bin", "tsc");

/** Runs a command; resolves with its exit code and output, never rejects. Bounded by a timeout. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd, timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: "false" } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A consumer of all three entry points; the ts-expect-error lines prove the types are real, not `any`. */
const CONSUMER = `import { connect, Wynd, type UpgradeRequest } from "wynd";
import { createChatServer, DataDirLockedError, type ChatServerOptions } from "wynd/chat";
import { FrameParser, encodeFrame } from "wynd/protocol";
import { createRedisAdapter, type RedisAdapterOptions } from "wynd/redis";

const options: ChatServerOptions = { historySize: 10, allowedOrigins: ["https://chat.example.com"], fileRateLimit: { bytesPerSecond: 1024 } };
export const chat = createChatServer(options);
export const wynd = new Wynd<{ user: string }>({ allowedOrigins: ["self"], createData: (request: UpgradeRequest) => ({ user: request.path }) });
wynd.onConnection((conn) => {
  conn.onText((message, handle) => {
    const text: string = message.data;
    void handle.sendText(\`\${handle.data.user}: \${text}\`);
  });
});
export const client: typeof connect = connect;
export const parser: typeof FrameParser = FrameParser;
export const encoder: typeof encodeFrame = encodeFrame;
export const locked: string = DataDirLockedError.name;
const redis: RedisAdapterOptions = { channelPrefix: "chat" };
export const adapter = () => createRedisAdapter(redis);
// @ts-expect-error a limit is a number
new Wynd({ maxMessageBytes: "big" });
// @ts-expect-error there is no such option
createChatServer({ historySise: 10 });
`;

/** Talks to `wynd echo` through the installed package's own client, and loads every entry point. */
const TALK = `import { connect } from "wynd";
await import("wynd/chat");
await import("wynd/protocol");
await import("wynd/redis"); // loads no package until createRedisAdapter() runs
const client = await connect(process.argv[2]);
const echoed = new Promise((resolve) => client.on("message", (data) => resolve(data.toString("utf8"))));
client.sendText("hello from the tarball");
console.log(await echoed);
client.close(1000, "done");
await client.closed();
`;

describe("the npm package", () => {
  let dir = "";
  let files: string[] = [];
  let tarball = "";
  let consumer = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wynd-pack-"));
    // --ignore-scripts: the prepack build would rebuild dist/ under the running tests; `npm test` built it.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], root);
    assert.equal(packed.code, 0, packed.stderr);
    const [result] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = result!.files.map((file) => file.path).sort();
    tarball = join(dir, result!.filename);
    consumer = join(dir, "consumer");
    mkdirSync(consumer);
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  });
  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("ships the compiled code, its types and sources, the browser client, README and LICENSE, and nothing else", () => {
    for (const file of ["LICENSE", "README.md", "package.json", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/cli.js", "dist/src/chat/index.d.ts", "dist/src/protocol/index.d.ts", "dist/src/redis/index.d.ts", "src/index.ts", "src/chat/public/index.html", "src/chat/public/app.js", "src/chat/public/view.js", "src/chat/public/style.css"]) {
      assert.ok(files.includes(file), `${file} is missing from the package`);
    }
    const unexpected = files.filter((file) => !/^(LICENSE|README\.md|package\.json|dist\/src\/.+\.(js|d\.ts|js\.map|d\.ts\.map)|src\/.+\.ts|src\/chat\/public\/[^/]+)$/.test(file));
    assert.deepEqual(unexpected, [], "docs, benchmarks, tests and other files nobody needs at run time stay out");
    assert.ok(!files.some((file) => file.startsWith("docs/") || file.includes("test") || file.startsWith("bench") || file.endsWith(".svg")));
  });

  it("has source maps whose sources are all in the package", () => {
    const maps = files.filter((file) => file.endsWith(".map"));
    assert.ok(maps.length > 50, `${maps.length} maps`);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(root, map), "utf8")) as { sources: string[] };
      for (const source of sources) {
        const shipped = posix.normalize(posix.join(posix.dirname(map), source));
        assert.ok(files.includes(shipped), `${map} points at ${shipped}, which is not shipped`);
      }
    }
    for (const js of files.filter((file) => file.endsWith(".js") && file.startsWith("dist/"))) {
      const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, js), "utf8"));
      if (match !== null) assert.ok(files.includes(posix.join(posix.dirname(js), match[1]!)), `${js} names a map that is not shipped`);
    }
  });

  it("has an MIT LICENSE, typesVersions for node10, and no invented repository, homepage or bugs", () => {
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} the wynd authors\n/);
    assert.equal(pkg["license"], "MIT");
    for (const field of ["repository", "homepage", "bugs"]) assert.equal(pkg[field], undefined, field);
    assert.deepEqual(pkg["typesVersions"], {
      "*": {
        protocol: ["./dist/src/protocol/index.d.ts"],
        chat: ["./dist/src/chat/index.d.ts"],
        redis: ["./dist/src/redis/index.d.ts"],
      },
    });
    assert.deepEqual(pkg["dependencies"] ?? {}, {}, "no runtime dependencies");
  });

  it("allows the install scripts of every dev dependency that has one, so a fresh npm ci is quiet", () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
      .sort();
    assert.deepEqual(withScripts, ["bufferutil", "utf-8-validate"]);
    assert.deepEqual(Object.keys(pkg["allowScripts"] as object).sort(), withScripts);
  });

  it("installs offline into a scratch project and type-checks there under nodenext, bundler and node10", { timeout: 180_000 }, async () => {
    const installed = await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], consumer);
    assert.equal(installed.code, 0, installed.stderr);
    assert.equal((JSON.parse(readFileSync(join(consumer, "node_modules", "wynd", "package.json"), "utf8")) as { version: string }).version, pkg.version);
    // The project's own @types/node (wynd's declarations import node: modules) and @redis/client
    // (the optional peer dependency of wynd/redis, whose types wynd/redis uses), without the network.
    symlinkSync(join(root, "node_modules", "@types"), join(consumer, "node_modules", "@types"), "dir");
    symlinkSync(join(root, "node_modules", "@redis"), join(consumer, "node_modules", "@redis"), "dir");
    writeFileSync(join(consumer, "consumer.ts"), CONSUMER);
    const configs = {
      nodenext: { module: "nodenext", moduleResolution: "nodenext" },
      bundler: { module: "esnext", moduleResolution: "bundler" },
      // esModuleInterop, as node10 projects have it: @redis/client's own declarations need it there.
      node10: { module: "es2022", moduleResolution: "node10", esModuleInterop: true },
    };
    // In parallel: each is its own tsc process. The consumer's @ts-expect-error lines fail the
    // check if the types resolve to \`any\`, so a pass means the declarations were really found.
    const results = await Promise.all(
      Object.entries(configs).map(async ([name, resolution]) => {
        const config = join(consumer, `tsconfig.${name}.json`);
        const compilerOptions = { ...resolution, target: "es2022", strict: true, noEmit: true, types: ["node"], skipLibCheck: false };
        writeFileSync(config, JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
        return { name, ...(await run(process.execPath, [name === "node10" ? TSC_5 : TSC, "-p", config, "--pretty", "false"], consumer)) };
      }),
    );
    for (const { name, code, stdout, stderr } of results) assert.equal(code, 0, `${name}:\n${stdout}${stderr}`);
  });

  it("runs `wynd --version` and `wynd echo` from the scratch project, and the echo answers over a real socket", { timeout: 60_000 }, async () => {
    const bin = join(consumer, "node_modules", ".bin", "wynd");
    assert.ok(existsSync(bin), "npm linked the wynd command");
    const version = await run(bin, ["--version"], consumer);
    assert.deepEqual(version, { code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    const echo = spawn(bin, ["echo", "--port", "0"], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`wynd echo did not listen: ${out}`)), 20_000);
        echo.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          out += chunk;
          const match = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match !== null) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        echo.once("exit", (code) => reject(new Error(`wynd echo exited with ${code}`)));
      });
      writeFileSync(join(consumer, "talk.mjs"), TALK);
      const talked = await run(process.execPath, ["talk.mjs", url], consumer, 30_000);
      assert.deepEqual(talked, { code: 0, stdout: "hello from the tarball\n", stderr: "" });
    } finally {
      echo.kill("SIGTERM");
    }
  });
});
