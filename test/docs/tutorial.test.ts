// The tutorial is code: every program of docs/examples/tutorial/ is shown verbatim in
// docs/tutorial.md, and here each compiled program is started on a free port, driven with real
// WebSocket clients, and its transcript — what each client receives, what the server prints —
// checked exactly.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { connect, type WebSocketConnection } from "../../src/index.js";

const root = new URL("../../../", import.meta.url).pathname;
const sources = join(root, "docs", "examples", "tutorial");

// Whatever a test started is stopped after it, even when an assertion failed half-way.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Lines of a stream, with a way to wait for the next one. */
class Lines {
  readonly all: string[] = [];
  #taken = 0;
  #buffer = "";
  #waiter: (() => void) | undefined;

  push(chunk: string): void {
    this.#buffer += chunk;
    let newline;
    while ((newline = this.#buffer.indexOf("\n")) !== -1) {
      this.all.push(this.#buffer.slice(0, newline));
      this.#buffer = this.#buffer.slice(newline + 1);
    }
    this.#waiter?.();
  }

  /** The next line not yet taken. */
  async next(): Promise<string> {
    while (this.#taken === this.all.length) await new Promise<void>((resolve) => (this.#waiter = resolve));
    return this.all[this.#taken++]!;
  }
}

/** A tutorial program, started with PORT=0. */
class Program {
  readonly stdout = new Lines();
  readonly stderr = new Lines();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;

  constructor(name: string, port = 0) {
    const script = join(root, "dist", "docs", "examples", "tutorial", name.replace(/\.ts$/, ".js"));
    this.#child = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, cwd: root });
    this.#child.stdout!.setEncoding("utf8").on("data", (chunk: string) => this.stdout.push(chunk));
    this.#child.stderr!.setEncoding("utf8").on("data", (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => this.#child.once("exit", (code, signal) => resolve({ code, signal })));
    cleanups.push(() => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
      return this.exited;
    });
  }

  /** Waits for the listening line and returns the port it names. */
  async port(pattern: RegExp): Promise<number> {
    const line = await this.stdout.next();
    const match = pattern.exec(line);
    assert.ok(match, `unexpected first line: ${line}`);
    return Number(match[1]);
  }

  /** Waits until the server has printed `count` lines in all. */
  async printed(count: number): Promise<void> {
    while (this.stdout.all.length < count) await this.stdout.next();
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }
}

/** A WebSocket client that records every text message. */
class Client {
  readonly ws: WebSocketConnection;
  readonly #received: string[] = [];
  #waiter: (() => void) | undefined;

  static async open(port: number): Promise<Client> {
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => ws.terminate());
    return new Client(ws);
  }

  private constructor(ws: WebSocketConnection) {
    this.ws = ws;
    ws.on("message", (data) => {
      this.#received.push(data.toString("utf8"));
      this.#waiter?.();
    });
  }

  async next(): Promise<string> {
    while (this.#received.length === 0) await new Promise<void>((resolve) => (this.#waiter = resolve));
    return this.#received.shift()!;
  }

  /** Sends `text` and returns the answer. */
  async ask(text: string): Promise<string> {
    this.ws.sendText(text);
    return this.next();
  }

  /** What arrived and was not taken: after a scenario, nothing may be left. */
  get unread(): readonly string[] {
    return this.#received;
  }
}

/** Opens a client, checks it is greeted with `welcome`, and has it take the name `name`. */
async function joinAs(port: number, welcome: string, name: string): Promise<Client> {
  const client = await Client.open(port);
  assert.equal(await client.next(), welcome);
  assert.equal(await client.ask(`/name ${name}`), `You are now known as ${name}`);
  return client;
}

/**
 * Ends a scenario: once the program has printed `transcript` (after its listening line), stops
 * it with SIGTERM and checks that it printed exactly that, nothing on stderr, and that no client
 * was sent anything the scenario did not read.
 */
async function expectTranscript(server: Program, transcript: readonly string[], clients: readonly Client[]): Promise<void> {
  await server.printed(transcript.length + 1);
  server.kill("SIGTERM");
  await server.exited;
  assert.deepEqual(server.stdout.all.slice(1), transcript);
  assert.deepEqual(server.stderr.all, []);
  assert.deepEqual(
    clients.map((client) => client.unread),
    clients.map(() => []),
  );
}

const HELP = [
  "Available commands:",
  "- /name <name> - Set your display name",
  "- /users - List all online users",
  "- /help - Show this help message",
  "- /quit - Disconnect from the server",
].join("\n");

/** The greeting of the step 5 and 6 programs. */
const CHAT_WELCOME = `Welcome to the chat! ${HELP}`;

test("docs/tutorial.md shows every tutorial program verbatim, and every program has a test", () => {
  const page = readFileSync(join(root, "docs", "tutorial.md"), "utf8");
  const programs = readdirSync(sources).filter((name) => name.endsWith(".ts")).sort();
  assert.deepEqual(programs, Object.keys(SCENARIOS).sort());
  for (const name of programs) {
    const source = readFileSync(join(sources, name), "utf8").trim();
    assert.ok(page.includes("```ts\n" + source + "\n```"), `${name} is not shown verbatim in docs/tutorial.md`);
  }
});

test("README.md's Wynd API sample is the tutorial's step 2, verbatim", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const source = readFileSync(join(sources, "step-2-echo.ts"), "utf8").trim();
  assert.ok(readme.includes("```ts\n" + source + "\n```"));
});

const SCENARIOS: Record<string, () => Promise<void>> = {
  "step-2-echo.ts": async () => {
    const server = new Program("step-2-echo.ts");
    const port = await server.port(/^Echo server listening on ws:\/\/localhost:(\d+)$/);
    const client = await Client.open(port);
    assert.equal(await client.next(), "Welcome to the echo server!");
    assert.equal(await client.ask("hello"), "Echo: hello");
    assert.equal(await client.ask("héllo wörld"), "Echo: héllo wörld");
    client.ws.close(1000, "bye");
    await client.ws.closed();
    await expectTranscript(
      server,
      [
        "New connection established: 1",
        "Connection 1 is now open",
        "Echoing: hello",
        "Echoing: héllo wörld",
        "Connection closed: code=1000, reason=bye",
      ],
      [client],
    );
  },

  "step-3-broadcast.ts": async () => {
    const server = new Program("step-3-broadcast.ts");
    const port = await server.port(/^Chat server listening on ws:\/\/localhost:(\d+)$/);
    const a = await Client.open(port);
    assert.equal(await a.next(), "Welcome to the chat!");
    const b = await Client.open(port);
    assert.equal(await b.next(), "Welcome to the chat!");
    assert.equal(await a.next(), "Client 2 joined the chat");
    a.ws.sendText("hi all");
    assert.equal(await b.next(), "Client 1: hi all");
    b.ws.sendText("hey");
    assert.equal(await a.next(), "Client 2: hey");
    a.ws.terminate(); // an abrupt disconnect: Wynd stops tracking it all the same
    await server.printed(6);
    b.ws.sendText("anyone?");
    await server.printed(7);
    b.ws.close(1000, "done");
    await b.ws.closed();
    await expectTranscript(
      server,
      [
        "Client 1 joined",
        "Client 2 joined",
        "Client 1 says: hi all",
        "Client 2 says: hey",
        "Client 1 disconnected: code=1006, reason=",
        "Client 2 says: anyone?",
        "Client 2 disconnected: code=1000, reason=done",
      ],
      [a, b],
    );
  },

  "step-4-names.ts": async () => {
    const server = new Program("step-4-names.ts");
    const port = await server.port(/^Named chat server listening on ws:\/\/localhost:(\d+)$/);
    const welcome = "Welcome! Please set your name with: /name <your_name>";
    const alice = await Client.open(port);
    assert.equal(await alice.next(), welcome);
    assert.equal(await alice.ask("hello?"), "Please set your name first with: /name <your_name>");
    assert.equal(await alice.ask("/name Alice"), "You are now known as Alice");
    const bob = await Client.open(port);
    assert.equal(await bob.next(), welcome);
    assert.equal(await bob.ask("/name  Bob "), "You are now known as Bob");
    assert.equal(await alice.next(), "Bob joined the chat");
    alice.ws.sendText("  hi Bob  ");
    assert.equal(await bob.next(), "Alice: hi Bob");
    assert.equal(await bob.ask("/name Robert"), "You are now known as Robert");
    assert.equal(await alice.next(), "Bob is now known as Robert", "a rename is not announced as a join");
    // A client without a name comes and goes: nobody hears of it (the Rust version looked the
    // leaver up by its close code instead of its id).
    const anonymous = await Client.open(port);
    assert.equal(await anonymous.next(), welcome);
    anonymous.ws.close(1000);
    await anonymous.ws.closed();
    bob.ws.terminate();
    assert.equal(await alice.next(), "Robert left the chat");
    alice.ws.close();
    await alice.ws.closed();
    await expectTranscript(
      server,
      [
        "Client 1 connected",
        "Client 1 is now known as Alice",
        "Client 2 connected",
        "Client 2 is now known as Bob",
        "Alice: hi Bob",
        "Client 2 is now known as Robert",
        "Client 3 connected",
        "Robert left the chat",
        "Alice left the chat",
      ],
      [alice, bob, anonymous],
    );
  },

  "step-5-commands.ts": async () => {
    const server = new Program("step-5-commands.ts");
    const port = await server.port(/^Advanced chat server listening on ws:\/\/localhost:(\d+)$/);
    const alice = await Client.open(port);
    assert.equal(await alice.next(), CHAT_WELCOME);
    assert.equal(await alice.ask("/name"), "Usage: /name <your_name>");
    assert.equal(await alice.ask("/name Alice"), "You are now known as Alice");
    const bob = await joinAs(port, CHAT_WELCOME, "Bob");
    assert.equal(await alice.next(), "Bob joined the chat");
    assert.equal(await alice.ask("/users"), "Online users: Alice, Bob");
    assert.equal(await alice.ask("/help"), HELP);
    assert.equal(await alice.ask("/dance"), "Unknown command. Type /help for available commands.");
    bob.ws.sendText("bye all");
    assert.equal(await alice.next(), "Bob: bye all");
    assert.equal(await bob.ask("/quit"), "Goodbye!");
    const ended = await bob.ws.closed();
    assert.deepEqual([ended.code, ended.reason], [1000, "Goodbye"], "/quit closes with a code and a reason");
    assert.equal(await alice.next(), "Bob left the chat");
    assert.equal(await alice.ask("/users"), "Online users: Alice", "a user who left is removed");
    alice.ws.close();
    await alice.ws.closed();
    await expectTranscript(
      server,
      [
        "Client 1 connected",
        "Client 1 is now known as Alice",
        "Client 2 connected",
        "Client 2 is now known as Bob",
        "Bob: bye all",
        "Bob left the chat",
        "Alice left the chat",
      ],
      [alice, bob],
    );
  },

  "step-6-errors.ts": async () => {
    const server = new Program("step-6-errors.ts");
    const port = await server.port(/^Advanced chat server listening on ws:\/\/localhost:(\d+)$/);
    const alice = await joinAs(port, CHAT_WELCOME, "Alice");
    const bob = await joinAs(port, CHAT_WELCOME, "Bob");
    assert.equal(await alice.next(), "Bob joined the chat");
    alice.ws.sendText("hello");
    assert.equal(await bob.next(), "Alice: hello");
    await server.printed(8);
    // Ctrl+C: every client gets 1001 (going away), then the server says goodbye and exits.
    server.kill("SIGINT");
    const [aliceEnd, bobEnd, exit] = await Promise.all([alice.ws.closed(), bob.ws.closed(), server.exited]);
    assert.deepEqual([aliceEnd.code, bobEnd.code], [1001, 1001]);
    assert.deepEqual(exit, { code: 0, signal: null });
    const out = server.stdout.all.slice(1);
    assert.deepEqual(out.slice(0, 7), [
      "Client 1 connected",
      "Welcome message sent to client 1",
      "Client 1 is now known as Alice",
      "Client 2 connected",
      "Welcome message sent to client 2",
      "Client 2 is now known as Bob",
      "Alice: hello",
    ]);
    // The two connections close together: their onClose handlers may run in either order.
    assert.deepEqual(out.slice(7, 9).sort(), ["Alice left the chat", "Bob left the chat"]);
    assert.deepEqual(out.slice(9), ["Chat server shutting down"]);
    assert.deepEqual(server.stderr.all, []);
    assert.deepEqual([alice.unread, bob.unread], [[], []]);
  },
};

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  test(`the tutorial program ${name} runs and its transcript is exactly the tutorial's`, { timeout: 20_000 }, scenario);
}

test("the step 6 program reports a port already in use through onError and exits with 1", { timeout: 20_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as AddressInfo).port;
  const server = new Program("step-6-errors.ts", port);
  const exit = await server.exited;
  assert.deepEqual(exit, { code: 1, signal: null });
  assert.deepEqual(server.stdout.all, []);
  assert.deepEqual(server.stderr.all, [
    `Server error: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
    `Server failed: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
  ]);
});
