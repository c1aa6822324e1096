// The `wynd` command line, run as a child process (`node dist/src/cli.js ...`) and exercised with
// ws clients over 127.0.0.1. Every child is killed at the end of its test if still running.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it, type TestContext } from "node:test";
import WebSocket, { type CloseEventLike } from "ws";

const CLI = fileURLToPath(new URL("../src/cli.js", import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
}

/** Spawns the CLI; the child is killed when the test ends. */
function run(t: TestContext, args: readonly string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Starts `wynd <command> --port 0 ...` and resolves with its URL, read from the listening line. */
async function serve(t: TestContext, command: string, extra: readonly string[] = []): Promise<Run & { url: string }> {
  const r = run(t, [command, "--port", "0", "--host", "127.0.0.1", ...extra]);
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const line = /^wynd (\w+) listening on (ws:\/\/127\.0\.0\.1:(\d+))\n/.exec(r.stdout());
      if (line === null) return;
      r.child.stdout!.off("data", onData);
      assert.equal(line[1], command);
      assert.notEqual(Number(line[3]), 0);
      resolve(line[2]!);
    };
    r.child.stdout!.on("data", onData);
    void r.exited.then((exit) => reject(new Error(`wynd ${command} exited (${exit.code}) before listening: ${r.stderr()}`)));
  });
  return { ...r, url };
}

interface Message {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

interface Client {
  readonly ws: WebSocket;
  readonly messages: Message[];
  /** Resolves once `count` messages in total have arrived. */
  waitFor(count: number): Promise<Message[]>;
  readonly closed: Promise<CloseEventLike>;
}

async function open(t: TestContext, url: string): Promise<Client> {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const messages: Message[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  ws.on("message", (data, isBinary) => {
    messages.push({ data, isBinary });
    if (waiter !== undefined && messages.length >= waiter.count) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve();
    }
  });
  const closed = new Promise<CloseEventLike>((resolve) => ws.addEventListener("close", resolve, { once: true }));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    messages,
    closed,
    async waitFor(count) {
      if (messages.length < count) await new Promise<void>((resolve) => (waiter = { count, resolve }));
      return messages.slice(0, count);
    },
  };
}

describe("cli: wynd echo", () => {
  it("prints its listening address and echoes text as text and binary as binary", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "echo");
    const client = await open(t, cli.url);
    // Over the library's 1 MiB default (the CLI allows 64 MiB) and over the 16 MiB maxBufferedBytes.
    const large = Buffer.alloc(17 * 1024 * 1024, 0xab);
    client.ws.send("héllo 🎉");
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    client.ws.send("");
    client.ws.send(Buffer.alloc(0));
    client.ws.send(large);
    const echoes = await client.waitFor(5);
    assert.deepEqual(echoes.slice(0, 4), [
      { data: Buffer.from("héllo 🎉"), isBinary: false },
      { data: Buffer.from([0, 1, 2, 255]), isBinary: true },
      { data: Buffer.alloc(0), isBinary: false },
      { data: Buffer.alloc(0), isBinary: true },
    ]);
    assert.equal(echoes[4]!.isBinary, true);
    assert.ok(echoes[4]!.data.equals(large));
  });

  it("applies --max-message-bytes: a message at the limit is echoed, one byte more closes with 1009", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "echo", ["--max-message-bytes", "1000"]);
    const client = await open(t, cli.url);
    client.ws.send(Buffer.alloc(1000, 0x61));
    const [echo] = await client.waitFor(1);
    assert.equal(echo!.data.length, 1000);
    client.ws.send("b".repeat(1001));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    assert.equal(client.messages.length, 1);
  });

  it("--deflate accepts permessage-deflate and echoes compressed messages; the limit applies inflated", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "echo", ["--deflate", "--max-message-bytes", "100000"]);
    const client = await open(t, cli.url);
    assert.equal(client.ws.extensions, "permessage-deflate");
    const text = "compressible text ".repeat(3000).slice(0, 50_000);
    client.ws.send(text);
    client.ws.send(Buffer.alloc(100_000, 7));
    const echoes = await client.waitFor(2);
    assert.equal(echoes[0]!.data.toString(), text);
    assert.equal(echoes[0]!.isBinary, false);
    assert.ok(echoes[1]!.data.equals(Buffer.alloc(100_000, 7)));
    // 100 001 zeros compress to a few hundred bytes: the inflated size is what counts.
    client.ws.send(Buffer.alloc(100_001));
    assert.equal((await client.closed).code, 1009);
  });

  it("without --deflate it declines the extension", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "echo");
    const client = await open(t, cli.url);
    assert.equal(client.ws.extensions, "");
  });

  it("exits 1 with a message when the port is taken", { timeout: 30_000 }, async (t) => {
    const first = await serve(t, "echo");
    const port = new URL(first.url).port;
    const second = run(t, ["echo", "--port", port, "--host", "127.0.0.1"]);
    assert.deepEqual(await second.exited, { code: 1, signal: null });
    assert.match(second.stderr(), /cannot listen/);
  });
});

describe("cli: wynd broadcast", () => {
  it("forwards every message unchanged, with its type, to every other client but not the sender", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "broadcast");
    const [a, b, c] = [await open(t, cli.url), await open(t, cli.url), await open(t, cli.url)];
    a.ws.send("from a: é€🎉");
    await b.waitFor(1);
    await c.waitFor(1);
    b.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    await a.waitFor(1);
    await c.waitFor(2);
    // Had the server sent a's message back to a, it would have arrived before b's.
    assert.deepEqual(a.messages, [{ data: Buffer.from([0xde, 0xad, 0xbe, 0xef]), isBinary: true }]);
    assert.deepEqual(b.messages, [{ data: Buffer.from("from a: é€🎉"), isBinary: false }]);
    assert.deepEqual(c.messages, [
      { data: Buffer.from("from a: é€🎉"), isBinary: false },
      { data: Buffer.from([0xde, 0xad, 0xbe, 0xef]), isBinary: true },
    ]);
  });
});

describe("cli: arguments", () => {
  it("--help and -h print the usage and exit 0", { timeout: 30_000 }, async (t) => {
    for (const args of [["--help"], ["-h"], ["echo", "--help"]]) {
      const r = run(t, args);
      assert.deepEqual(await r.exited, { code: 0, signal: null }, args.join(" "));
      assert.match(r.stdout(), /usage: wynd <command>/);
      assert.match(r.stdout(), /echo/);
      assert.match(r.stdout(), /broadcast/);
    }
  });

  it("--version and -v print the package.json version and exit 0", { timeout: 30_000 }, async (t) => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const args of [["--version"], ["-v"]]) {
      const r = run(t, args);
      assert.deepEqual(await r.exited, { code: 0, signal: null }, args.join(" "));
      assert.equal(r.stdout(), `${version}\n`);
    }
  });

  it("an unknown command exits 2 with the usage on stderr", { timeout: 30_000 }, async (t) => {
    const r = run(t, ["frobnicate", "--port", "0"]);
    assert.deepEqual(await r.exited, { code: 2, signal: null });
    assert.match(r.stderr(), /unknown command: frobnicate/);
    assert.match(r.stderr(), /usage: wynd <command>/);
  });

  it("no command, an unknown option, or an invalid --port or --max-message-bytes exits 2", { timeout: 30_000 }, async (t) => {
    const cases = [
      [],
      ["echo", "--bogus"],
      ["echo", "--port", "70000"],
      ["echo", "--port", "abc"],
      ["broadcast", "--port", "-1"],
      ["echo", "--port", "0", "--max-message-bytes", "0"],
      ["echo", "--port", "0", "--max-message-bytes", "lots"],
      ["echo", "extra", "--port", "0"],
    ];
    await Promise.all(
      cases.map(async (args) => {
        const r = run(t, args);
        assert.deepEqual(await r.exited, { code: 2, signal: null }, `wynd ${args.join(" ")}`);
      }),
    );
  });
});

describe("cli: shutdown", () => {
  it("SIGTERM makes wynd echo exit 0 when no client is connected", { timeout: 30_000 }, async (t) => {
    const cli = await serve(t, "echo");
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const command of ["echo", "broadcast"]) {
      it(`${signal} makes wynd ${command} exit 0 promptly, its clients receiving close 1001`, { timeout: 30_000 }, async (t) => {
        const cli = await serve(t, command);
        const clients = [await open(t, cli.url), await open(t, cli.url)];
        // Both connections are established server side before the signal: a message round trip.
        if (command === "echo") {
          for (const client of clients) {
            client.ws.send("ready?");
            await client.waitFor(1);
          }
        } else {
          clients[0]!.ws.send("ready?");
          await clients[1]!.waitFor(1);
        }
        cli.child.kill(signal);
        for (const client of clients) {
          const closed = await client.closed;
          assert.deepEqual({ code: closed.code, wasClean: closed.wasClean }, { code: 1001, wasClean: true });
        }
        assert.deepEqual(await cli.exited, { code: 0, signal: null });
      });
    }
  }
});
