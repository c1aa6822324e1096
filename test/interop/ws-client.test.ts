// Interop: a `ws` 8 client against our WebSocketServer, over real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket, { type ClientOptions } from "ws";
import { WebSocketServer, type ServerOptions } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { Inbox, VALID_CLOSE_CODES, controlInbox, wsClosed, wsOpened, type Message } from "../helpers/interop.js";
import { randomBytes, randomText, seeded } from "../helpers/random.js";

interface Setup {
  readonly server: WebSocketServer;
  readonly url: string;
  /** Resolves with the n-th (0-based) server-side connection. */
  connection(index: number): Promise<WebSocketConnection>;
  /** Opens a ws client (closed at the end of the test). */
  open(protocols?: readonly string[], options?: ClientOptions): Promise<WebSocket>;
}

/**
 * Starts our server (echoing every message with its type unless `echo` is false) and registers
 * cleanup: ws clients terminated, server closed.
 */
async function setup(t: TestContext, options: ServerOptions = {}, echo = true): Promise<Setup> {
  const server = new WebSocketServer(options);
  const connections: WebSocketConnection[] = [];
  const waiters: Array<() => void> = [];
  server.on("connection", (connection) => {
    connections.push(connection);
    if (echo) connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
    for (const wake of waiters.splice(0)) wake();
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const clients: WebSocket[] = [];
  t.after(async () => {
    for (const ws of clients) ws.terminate();
    await server.close({ timeoutMs: 2000 });
  });
  const url = `ws://127.0.0.1:${port}/interop`;
  return {
    server,
    url,
    async connection(index) {
      while (connections.length <= index) await new Promise<void>((resolve) => waiters.push(resolve));
      return connections[index]!;
    },
    open(protocols = [], options = {}) {
      const ws = new WebSocket(url, protocols, options);
      clients.push(ws);
      return new Promise((resolve, reject) => {
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    },
  };
}

function inboxOf(ws: WebSocket): Inbox {
  return new Inbox((listener) => ws.on("message", listener));
}

async function roundTrip(ws: WebSocket, inbox: Inbox, data: string | Buffer, options: { binary?: boolean } = {}): Promise<Message> {
  ws.send(data, options);
  return inbox.next();
}

describe("interop: a ws client against our server", () => {
  it("exchanges a text message, which stays text both ways", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const serverSide = new Inbox(async (l) => (await s.connection(0)).on("message", l));
    const echo = await roundTrip(ws, inboxOf(ws), "hello, wynd");
    assert.deepEqual(await serverSide.next(), { data: Buffer.from("hello, wynd"), isBinary: false });
    assert.equal(echo.isBinary, false);
    assert.equal(echo.data.toString("utf8"), "hello, wynd");
  });

  it("exchanges a binary message, which stays binary both ways", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);
    const serverSide = new Inbox(async (l) => (await s.connection(0)).on("message", l));
    const echo = await roundTrip(ws, inboxOf(ws), payload);
    assert.deepEqual(await serverSide.next(), { data: payload, isBinary: true });
    assert.deepEqual(echo, { data: payload, isBinary: true });
  });

  it("exchanges empty text and empty binary messages, keeping their types", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const inbox = inboxOf(ws);
    ws.send("");
    ws.send(Buffer.alloc(0));
    ws.send("", { fin: true, binary: false });
    const echoes = await inbox.waitFor(3);
    assert.deepEqual(echoes, [
      { data: Buffer.alloc(0), isBinary: false },
      { data: Buffer.alloc(0), isBinary: true },
      { data: Buffer.alloc(0), isBinary: false },
    ]);
  });

  it("exchanges 1 MiB text and binary messages (exactly the default maxMessageBytes)", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t);
      const ws = await s.open();
      const inbox = inboxOf(ws);
      const binary = randomBytes(next, 1024 * 1024);
      // "wynd-é€🎉" is 14 bytes: 74,898 copies and 4 ASCII bytes make exactly 1 MiB.
      const text = `${"wynd-é€🎉".repeat(74_898)}abcd`;
      const textBytes = Buffer.from(text, "utf8");
      assert.equal(textBytes.length, 1024 * 1024);
      ws.send(binary);
      ws.send(text);
      const [b, x] = await inbox.waitFor(2);
      assert.equal(b!.isBinary, true);
      assert.ok(b!.data.equals(binary), "the 1 MiB binary echo differs");
      assert.equal(x!.isBinary, false);
      assert.ok(x!.data.equals(textBytes), "the 1 MiB text echo differs");
    });
  });

  it("round-trips multibyte UTF-8 (2-, 3- and 4-byte sequences) unchanged", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t);
      const ws = await s.open();
      const inbox = inboxOf(ws);
      const samples = ["é", "€", "🎉", "日本語のテキスト", "a\u0000b", "\uFEFFbom", "\u{10FFFF}", randomText(next, 2000)];
      for (const sample of samples) ws.send(sample);
      const echoes = await inbox.waitFor(samples.length);
      assert.deepEqual(
        echoes.map((m) => [m.isBinary, m.data.toString("utf8")]),
        samples.map((sample) => [false, sample]),
      );
    });
  });

  it("assembles a message ws sends in fragments, even with a code point split across them", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open([], { perMessageDeflate: false });
    const inbox = inboxOf(ws);
    const serverSide = new Inbox(async (l) => (await s.connection(0)).on("message", l));
    // Text: "€" (e2 82 ac) is split between the first and second fragments.
    const euro = Buffer.from("a€b", "utf8");
    ws.send(euro.subarray(0, 2), { fin: false, binary: false });
    ws.send(euro.subarray(2, 4), { fin: false, binary: false });
    ws.send(euro.subarray(4), { fin: true, binary: false });
    // Binary, with an empty middle fragment.
    ws.send(Buffer.from([1, 2]), { fin: false, binary: true });
    ws.send(Buffer.alloc(0), { fin: false, binary: true });
    ws.send(Buffer.from([3]), { fin: true, binary: true });
    const received = await serverSide.waitFor(2);
    assert.deepEqual(received, [
      { data: euro, isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
    ]);
    const echoes = await inbox.waitFor(2);
    assert.deepEqual(echoes, received);
  });

  it("delivers our server's sendFragmented messages to ws as one message each", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t, {}, false);
      const ws = await s.open();
      const inbox = inboxOf(ws);
      const connection = await s.connection(0);
      const text = randomText(next, 500);
      const binary = randomBytes(next, 10_000);
      connection.sendFragmented(text, 7); // 7-byte fragments split most multibyte characters
      connection.sendFragmented(binary, 1 + (next() % 4096));
      connection.sendFragmented("", 5);
      connection.sendFragmented(Buffer.from("x"), 1);
      const messages = await inbox.waitFor(4);
      assert.deepEqual(messages, [
        { data: Buffer.from(text, "utf8"), isBinary: false },
        { data: binary, isBinary: true },
        { data: Buffer.alloc(0), isBinary: false },
        { data: Buffer.from("x"), isBinary: true },
      ]);
    });
  });

  it("answers ws pings with the same payload and reports them to the server", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    const serverPings = controlInbox(connection, "ping");
    const pongs = controlInbox(ws, "pong");
    const payloads = [Buffer.alloc(0), Buffer.from("ping-1"), Buffer.alloc(125, 0xab)];
    for (const payload of payloads) ws.ping(payload);
    assert.deepEqual((await pongs.waitFor(3)).map((m) => m.data), payloads);
    assert.deepEqual((await serverPings.waitFor(3)).map((m) => m.data), payloads);
  });

  it("gets ws's pongs, with the same payload, for the server's pings", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    const wsPings = controlInbox(ws, "ping");
    const serverPongs = controlInbox(connection, "pong");
    const payloads = [Buffer.alloc(0), Buffer.from("héllo"), Buffer.alloc(125, 0x5a)];
    for (const payload of payloads) connection.ping(payload);
    assert.deepEqual((await wsPings.waitFor(3)).map((m) => m.data), payloads);
    assert.deepEqual((await serverPongs.waitFor(3)).map((m) => m.data), payloads);
  });

  it("negotiates the subprotocol selectProtocol picks among several ws offers", { timeout: 30_000 }, async (t) => {
    const offers: string[][] = [];
    const s = await setup(t, {
      selectProtocol: (offered) => {
        offers.push([...offered]);
        return offered.find((p) => p === "chat.v1" || p === "chat.v2"); // the client's preference first
      },
    });
    const ws = await s.open(["legacy", "chat.v2", "chat.v1"]);
    const connection = await s.connection(0);
    assert.deepEqual(offers, [["legacy", "chat.v2", "chat.v1"]]);
    assert.equal(ws.protocol, "chat.v2");
    assert.equal(connection.protocol, "chat.v2");
    assert.equal(connection.request?.protocols.join(","), "legacy,chat.v2,chat.v1");
    // And a client that offers nothing gets no subprotocol.
    const plain = await s.open();
    assert.equal(plain.protocol, "");
    assert.equal((await s.connection(1)).protocol, "");
  });

  it("makes a ws client that offered subprotocols fail when selectProtocol picks none", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, { selectProtocol: () => undefined });
    await assert.rejects(s.open(["x", "y"]), /subprotocol/i);
  });

  it("reports every valid close code and a UTF-8 reason sent by ws, cleanly on both sides", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    for (const [i, code] of VALID_CLOSE_CODES.entries()) {
      const ws = await s.open();
      const connection = await s.connection(i);
      const serverClosed = connection.closed();
      const clientClosed = wsClosed(ws);
      const reason = i === 0 ? "€".repeat(41) : `bye ${code} — ü€🎉`; // 41 × 3 = 123 bytes, the most
      ws.close(code, reason);
      assert.deepEqual(await serverClosed, { code, reason, wasClean: true });
      const wsSide = await clientClosed;
      assert.deepEqual({ code: wsSide.code, wasClean: wsSide.wasClean }, { code, wasClean: true });
    }
  });

  it("delivers every valid close code and a UTF-8 reason from the server to ws, cleanly on both sides", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    for (const [i, code] of VALID_CLOSE_CODES.entries()) {
      const ws = await s.open();
      const connection = await s.connection(i);
      const clientClosed = wsClosed(ws);
      const serverClosed = connection.closed();
      const reason = i === 0 ? "€".repeat(41) : `server says ${code}: ünïcödé`; // 41 × 3 = 123 bytes, the most
      connection.close(code, reason);
      const wsSide = await clientClosed;
      assert.deepEqual({ code: wsSide.code, reason: wsSide.reason, wasClean: wsSide.wasClean }, { code, reason, wasClean: true });
      const serverSide = await serverClosed;
      assert.equal(serverSide.code, code); // ws echoes the code
      assert.equal(serverSide.wasClean, true);
    }
  });

  it("reports 1005 on both sides for a Close frame without a status code", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    const serverClosed = connection.closed();
    const clientClosed = wsClosed(ws);
    ws.close();
    assert.deepEqual(await serverClosed, { code: 1005, reason: "", wasClean: true });
    const wsSide = await clientClosed;
    assert.equal(wsSide.code, 1005);
    assert.equal(wsSide.wasClean, true);
  });

  it("reports 1006 and exactly one close event when a ws client drops the TCP connection", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    const events: unknown[][] = [];
    connection.on("close", (...args) => events.push(args));
    const closed = connection.closed();
    ws.send("in flight");
    ws.terminate();
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    await s.server.close(); // everything has settled once the server is closed
    assert.deepEqual(events, [[1006, "", false]]);
  });

  it("makes ws report 1006 when our server terminates the connection", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    const events: unknown[][] = [];
    connection.on("close", (...args) => events.push(args));
    const wsEvents: number[] = [];
    ws.on("close", (code) => wsEvents.push(code));
    const clientClosed = wsClosed(ws);
    connection.terminate();
    const wsSide = await clientClosed;
    assert.equal(wsSide.code, 1006);
    assert.equal(wsSide.wasClean, false);
    await s.server.close();
    assert.deepEqual(events, [[1006, "", false]]);
    assert.deepEqual(wsEvents, [1006]);
  });

  it("closes with 1009 on both sides when a ws message exceeds maxMessageBytes", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, { maxMessageBytes: 1024 });
    const ws = await s.open();
    const inbox = inboxOf(ws);
    const connection = await s.connection(0);
    connection.on("error", () => {});
    const serverClosed = connection.closed();
    const clientClosed = wsClosed(ws);
    ws.send(Buffer.alloc(1024, 1)); // at the limit: fine
    await inbox.next();
    ws.send(Buffer.alloc(1025, 1));
    const wsSide = await clientClosed;
    assert.equal(wsSide.code, 1009);
    assert.equal((connection.error as { code?: string; closeCode?: number } | undefined)?.code, "ERR_FRAME_TOO_BIG");
    assert.equal((connection.error as { closeCode?: number } | undefined)?.closeCode, 1009);
    // The server failed the connection: input after the error (ws's echo) is discarded.
    assert.equal((await serverClosed).wasClean, false);
  });

  it("fails the connection with 1007 when ws sends invalid UTF-8 as text", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    connection.on("error", () => {});
    const clientClosed = wsClosed(ws);
    ws.send(Buffer.from([0x61, 0xc3]), { binary: false }); // a truncated 2-byte sequence
    assert.equal((await clientClosed).code, 1007);
    assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_INVALID_UTF8");
  });

  it("answers a ws Close frame whose reason is invalid UTF-8 with 1007", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const connection = await s.connection(0);
    connection.on("error", () => {});
    const clientClosed = wsClosed(ws);
    ws.close(1000, Buffer.from([0xed, 0xa0, 0x80])); // an encoded surrogate: not UTF-8
    assert.equal((await clientClosed).code, 1007);
    assert.equal((connection.error as { code?: string } | undefined)?.code, "ERR_INVALID_UTF8");
  });

  it("serves ws clients through a node:http server it is attached to", { timeout: 30_000 }, async (t) => {
    const http = createHttpServer((_req, res) => res.writeHead(426).end());
    const server = new WebSocketServer();
    server.attach(http, { path: "/ws" });
    server.on("connection", (c) => c.on("message", (data, isBinary) => c.sendMessage(data, isBinary)));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=1`);
    t.after(async () => {
      ws.terminate();
      await server.close({ timeoutMs: 2000 });
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
    const inbox = inboxOf(ws);
    await wsOpened(ws);
    ws.send("through node:http");
    ws.send(Buffer.from([1, 2]));
    assert.deepEqual(await inbox.waitFor(2), [
      { data: Buffer.from("through node:http"), isBinary: false },
      { data: Buffer.from([1, 2]), isBinary: true },
    ]);
    // Another path is not ours: the upgrade is refused.
    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    t.after(() => other.terminate());
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        other.once("open", () => resolve());
        other.once("error", reject);
      }),
      /404/,
    );
  });

  it("keeps 10,000 pipelined small messages in order both ways", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const ws = await s.open();
    const inbox = inboxOf(ws);
    const serverSide = new Inbox(async (l) => (await s.connection(0)).on("message", l));
    const count = 10_000;
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) ws.send(`message ${i}`);
      else ws.send(Buffer.from(`message ${i}`));
    }
    const expected = Array.from({ length: count }, (_, i) => ({ data: Buffer.from(`message ${i}`), isBinary: i % 2 === 1 }));
    assert.deepEqual(await serverSide.waitFor(count), expected);
    assert.deepEqual(await inbox.waitFor(count), expected);
  });

  it("keeps 10,000 small messages from the server in order", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, {}, false);
    const ws = await s.open();
    const inbox = inboxOf(ws);
    const connection = await s.connection(0);
    const count = 10_000;
    for (let i = 0; i < count; i++) connection.sendText(`from server ${i}`);
    const received = await inbox.waitFor(count);
    for (let i = 0; i < count; i++) {
      assert.equal(received[i]!.data.toString(), `from server ${i}`);
      assert.equal(received[i]!.isBinary, false);
    }
  });

  it("broadcasts identical messages, of the right type, to several ws clients", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t, {}, false);
      const clients = await Promise.all(Array.from({ length: 5 }, () => s.open()));
      const inboxes = clients.map(inboxOf);
      for (let i = 0; i < clients.length; i++) await s.connection(i);
      const large = randomBytes(next, 200_000); // above the copy threshold: header + payload path
      const text = randomText(next, 300);
      const utf8Bytes = Buffer.from("bytes sent as text ✓", "utf8");
      assert.equal(s.server.broadcast(text), 5);
      assert.equal(s.server.broadcast(large), 5);
      assert.equal(s.server.broadcast(Buffer.from([9, 8, 7])), 5);
      assert.equal(s.server.broadcast(utf8Bytes, { isBinary: false }), 5);
      const expected = [
        { data: Buffer.from(text, "utf8"), isBinary: false },
        { data: large, isBinary: true },
        { data: Buffer.from([9, 8, 7]), isBinary: true },
        { data: utf8Bytes, isBinary: false },
      ];
      for (const inbox of inboxes) assert.deepEqual(await inbox.waitFor(4), expected);
    });
  });

  it("broadcasts to every client except the one named", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, {}, false);
    const clients = [await s.open(), await s.open(), await s.open()]; // in order: client i is connection i
    const inboxes = clients.map(inboxOf);
    const sender = await s.connection(0);
    await s.connection(2);
    assert.equal(s.server.broadcast("not for 0", { except: sender }), 2);
    assert.equal(s.server.broadcast("for all"), 3);
    assert.deepEqual((await inboxes[0]!.waitFor(1)).map((m) => m.data.toString()), ["for all"]);
    for (const inbox of inboxes.slice(1)) {
      assert.deepEqual((await inbox.waitFor(2)).map((m) => m.data.toString()), ["not for 0", "for all"]);
    }
  });
});
