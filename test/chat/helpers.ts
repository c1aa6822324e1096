// Shared by the chat tests: a chat server on 127.0.0.1 port 0 that is closed after the test, and
// a ws client that queues what it receives, with bounded waits for the next message.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import WebSocket from "ws";
import { createChatServer, type ChatServer, type ChatServerOptions } from "../../src/chat/index.js";

/** How long any single wait may take before the test fails (the machine is shared and slow). */
export const WAIT_MS = 5000;

/** A fresh temporary directory, removed after the test. */
export function tempDir(t: TestContext, prefix = "wynd-chat-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a test server reported through onError/onWarning. */
export interface Reports {
  readonly errors: Error[];
  readonly warnings: string[];
}

/** Starts a chat server (closed after the test); errors and warnings are collected, not printed. */
export async function startChat(
  t: TestContext,
  options: ChatServerOptions = {},
  port = 0,
): Promise<{ chat: ChatServer; ws: string; http: string; reports: Reports }> {
  const reports: Reports = { errors: [], warnings: [] };
  const chat = createChatServer({
    onError: (error) => reports.errors.push(error),
    onWarning: (message) => reports.warnings.push(message),
    heartbeatIntervalMs: 0,
    // Transcripts send faster than people type; the rate limit has its own tests.
    rateLimit: { ratePerSecond: 1000, burst: 1000 },
    // A closed JSON connection leaves at once (sessions have their own tests).
    sessionGraceMs: 0,
    ...options,
  });
  t.after(() => chat.close());
  await chat.listen(port, "127.0.0.1");
  const http = chat.url!;
  return { chat, http, ws: http.replace(/^http/, "ws"), reports };
}

/** One received message. */
export interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A chat client over ws. */
export class Client {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue: Received[] = [];
  #waiter: (() => void) | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      this.#queue.push({ data, isBinary });
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Connects (with `protocols` offered) and resolves once open; terminated after the test. */
  static async open(t: TestContext, url: string, protocols: readonly string[] = [], headers?: Record<string, string>): Promise<Client> {
    const ws = new WebSocket(url, protocols, headers === undefined ? {} : { headers });
    const client = new Client(ws);
    t.after(() => ws.terminate());
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      }),
      `${url} to open`,
    );
    return client;
  }

  /** The next message, whatever it is. */
  async next(): Promise<Received> {
    while (this.#queue.length === 0) {
      await withTimeout(new Promise<void>((resolve) => (this.#waiter = resolve)), "a message");
      this.#waiter = undefined;
    }
    return this.#queue.shift()!;
  }

  /** The next message, which must be text. */
  async text(): Promise<string> {
    const message = await this.next();
    assert.equal(message.isBinary, false, `expected text, got ${message.data.length} binary bytes`);
    return message.data.toString("utf8");
  }

  /** The next message, which must be a JSON text frame. */
  async json(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.text()) as Record<string, unknown>;
  }

  /** The next JSON event, which must have this `type`; returned without `ts` (checked to be a number). */
  async event(type: string): Promise<Record<string, unknown>> {
    const { ts, ...event } = await this.json();
    assert.equal(event["type"], type, `expected a ${type} event, got ${JSON.stringify(event)}`);
    assert.equal(typeof ts, "number");
    return event;
  }

  /** Asserts the next text frames are exactly `lines`, in order. */
  async expect(...lines: string[]): Promise<void> {
    for (const line of lines) assert.equal(await this.text(), line);
  }

  /** How many messages are waiting. */
  get pending(): number {
    return this.#queue.length;
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  sendJson(value: object): void {
    this.ws.send(JSON.stringify(value));
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    return withTimeout(this.closed, "the close");
  }
}

/** A text client that has read its welcome (and its history, when `history` lines are expected). */
export async function textClient(t: TestContext, url: string, name?: string): Promise<Client> {
  const client = await Client.open(t, url);
  assert.match(await client.text(), /^Welcome to the chat! Available commands:/);
  if (name !== undefined) {
    client.send(`/name ${name}`);
    await client.expect(`You are now known as ${name}`);
  }
  return client;
}

/**
 * Text clients named `names`, joined one after the other to the lobby of `url`: each has read its
 * welcome and its name's confirmation, and each earlier one the join notice of every later one
 * (checked), so that what a test reads next is what the test itself causes.
 */
export async function namedTextClients<const Names extends readonly string[]>(
  t: TestContext,
  url: string,
  ...names: Names
): Promise<{ -readonly [K in keyof Names]: Client }> {
  const clients: Client[] = [];
  for (const name of names) {
    const client = await textClient(t, url, name);
    for (const earlier of clients) await earlier.expect(`${name} joined the chat`);
    clients.push(client);
  }
  // One client per name, in order: the tuple type lets a test destructure them unchecked.
  return clients as { -readonly [K in keyof Names]: Client };
}

/** A JSON client that has read welcome, room and history (and set `name`). */
export async function jsonClient(t: TestContext, url: string, name?: string): Promise<Client> {
  const client = await Client.open(t, url, ["wynd-chat.v1"]);
  assert.equal(client.ws.protocol, "wynd-chat.v1");
  await client.event("welcome");
  await client.event("room");
  await client.event("history");
  if (name !== undefined) {
    client.sendJson({ type: "name", name });
    assert.deepEqual(await client.event("name"), { type: "name", name });
    assert.deepEqual(await client.event("join"), { type: "join", room: "lobby", name });
  }
  return client;
}

/**
 * Proves `client` received nothing more so far: whatever the server had queued for it before
 * answering this `/users` (or `users`) query would arrive before the answer.
 */
export async function assertNothingMore(client: Client, json = false): Promise<void> {
  if (json) {
    client.sendJson({ type: "users" });
    assert.equal((await client.json())["type"], "users");
  } else {
    client.send("/users");
    assert.match(await client.text(), /^Online users: /);
  }
  assert.equal(client.pending, 0);
}

/** A JSON client with a session (the server's `sessionGraceMs` > 0), named `name`: its token too. */
export async function sessionJsonClient(t: TestContext, url: string, name: string): Promise<{ client: Client; token: string }> {
  const client = await Client.open(t, url, ["wynd-chat.v1"]);
  const welcome = await client.event("welcome");
  assert.equal(welcome["resumed"], false);
  const token = String(welcome["session"]);
  await client.event("room");
  await client.event("history");
  client.sendJson({ type: "name", name });
  await client.event("name");
  await client.event("join");
  return { client, token };
}
