// Interop: our connect() client against a `ws` 8 WebSocketServer, over real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket, { WebSocketServer as WsServer, type ServerOptions as WsServerOptions } from "ws";
import { connect, HandshakeError, type ClientOptions } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { Inbox, VALID_CLOSE_CODES, controlInbox, wsClosed } from "../helpers/interop.js";
import { randomBytes, randomText, seeded } from "../helpers/random.js";

interface Setup {
  readonly wss: WsServer;
  readonly url: string;
  /** Resolves with the n-th (0-based) ws server-side socket. */
  peer(index: number): Promise<WebSocket>;
  /** Connects our client (terminated at the end of the test). */
  open(options?: ClientOptions): Promise<WebSocketConnection>;
}

/** Starts a ws server (echoing with the same type unless `echo` is false); cleans up after. */
async function setup(t: TestContext, options: WsServerOptions = {}, echo = true): Promise<Setup> {
  const wss = new WsServer({ host: "127.0.0.1", port: 0, ...options });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const peers: WebSocket[] = [];
  const waiters: Array<() => void> = [];
  wss.on("connection", (ws) => {
    peers.push(ws);
    ws.on("error", () => {}); // protocol errors are asserted through close codes
    if (echo) ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    for (const wake of waiters.splice(0)) wake();
  });
  const clients: WebSocketConnection[] = [];
  t.after(async () => {
    for (const client of clients) client.terminate();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const { port } = wss.address() as AddressInfo;
  const url = `ws://127.0.0.1:${port}/interop`;
  return {
    wss,
    url,
    async peer(index) {
      while (peers.length <= index) await new Promise<void>((resolve) => waiters.push(resolve));
      return peers[index]!;
    },
    async open(options = {}) {
      const client = await connect(url, options);
      clients.push(client);
      return client;
    },
  };
}

function inboxOf(connection: WebSocketConnection): Inbox {
  return new Inbox((listener) => connection.on("message", listener));
}

describe("interop: our client against a ws server", () => {
  it("exchanges text and binary messages, keeping their types", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const inbox = inboxOf(client);
    const peerInbox = new Inbox(async (l) => (await s.peer(0)).on("message", l));
    client.sendText("hello, ws");
    client.sendBinary(Buffer.from([0, 0xff, 0x80]));
    client.send("via send");
    client.send(new Uint8Array([1, 2, 3]));
    const expected = [
      { data: Buffer.from("hello, ws"), isBinary: false },
      { data: Buffer.from([0, 0xff, 0x80]), isBinary: true },
      { data: Buffer.from("via send"), isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
    ];
    assert.deepEqual(await peerInbox.waitFor(4), expected);
    assert.deepEqual(await inbox.waitFor(4), expected);
  });

  it("exchanges empty text and empty binary messages, keeping their types", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const inbox = inboxOf(client);
    client.sendText("");
    client.sendBinary(new Uint8Array(0));
    assert.deepEqual(await inbox.waitFor(2), [
      { data: Buffer.alloc(0), isBinary: false },
      { data: Buffer.alloc(0), isBinary: true },
    ]);
  });

  it("exchanges 1 MiB text and binary messages (exactly the default maxMessageBytes)", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t);
      const client = await s.open();
      const inbox = inboxOf(client);
      const binary = randomBytes(next, 1024 * 1024);
      const text = `${"wynd-é€🎉".repeat(74_898)}abcd`; // 14 bytes × 74,898 + 4 = 1 MiB
      assert.equal(Buffer.byteLength(text), 1024 * 1024);
      client.sendBinary(binary);
      client.sendText(text);
      const [b, x] = await inbox.waitFor(2);
      assert.equal(b!.isBinary, true);
      assert.ok(b!.data.equals(binary), "the 1 MiB binary echo differs");
      assert.equal(x!.isBinary, false);
      assert.equal(x!.data.toString("utf8"), text);
    });
  });

  it("round-trips multibyte UTF-8 (2-, 3- and 4-byte sequences) unchanged", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t);
      const client = await s.open();
      const inbox = inboxOf(client);
      const samples = ["é", "€", "🎉", "日本語のテキスト", "a\u0000b", "\uFEFFbom", "\u{10FFFF}", randomText(next, 2000)];
      for (const sample of samples) client.sendText(sample);
      const echoes = await inbox.waitFor(samples.length);
      assert.deepEqual(
        echoes.map((m) => [m.isBinary, m.data.toString("utf8")]),
        samples.map((sample) => [false, sample]),
      );
    });
  });

  it("delivers our sendFragmented messages to ws as one message each", { timeout: 30_000 }, async (t) => {
    await seeded(async (next) => {
      const s = await setup(t);
      const client = await s.open();
      const peerInbox = new Inbox(async (l) => (await s.peer(0)).on("message", l));
      const text = randomText(next, 500);
      const binary = randomBytes(next, 10_000);
      client.sendFragmented(text, 5); // splits most multibyte characters between frames
      client.sendFragmented(binary, 1 + (next() % 4096));
      client.sendFragmented(new Uint8Array(0), 3);
      assert.deepEqual(await peerInbox.waitFor(3), [
        { data: Buffer.from(text, "utf8"), isBinary: false },
        { data: binary, isBinary: true },
        { data: Buffer.alloc(0), isBinary: true },
      ]);
    });
  });

  it("assembles a message a ws server sends in fragments, even with a code point split across them", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, {}, false);
    const client = await s.open();
    const inbox = inboxOf(client);
    const peer = await s.peer(0);
    const text = Buffer.from("x🎉y", "utf8"); // 🎉 is f0 9f 8e 89
    peer.send(text.subarray(0, 3), { fin: false, binary: false });
    peer.send(text.subarray(3, 4), { fin: false, binary: false });
    peer.send(text.subarray(4), { fin: true, binary: false });
    peer.send(Buffer.from([7]), { fin: false, binary: true });
    peer.send(Buffer.alloc(0), { fin: false, binary: true });
    peer.send(Buffer.from([8, 9]), { fin: true, binary: true });
    assert.deepEqual(await inbox.waitFor(2), [
      { data: text, isBinary: false },
      { data: Buffer.from([7, 8, 9]), isBinary: true },
    ]);
  });

  it("answers a ws server's pings with the same payload", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const peer = await s.peer(0);
    const clientPings = controlInbox(client, "ping");
    const peerPongs = controlInbox(peer, "pong");
    const payloads = [Buffer.alloc(0), Buffer.from("are you there?"), Buffer.alloc(125, 0xcc)];
    for (const payload of payloads) peer.ping(payload);
    assert.deepEqual((await peerPongs.waitFor(3)).map((m) => m.data), payloads);
    assert.deepEqual((await clientPings.waitFor(3)).map((m) => m.data), payloads);
  });

  it("gets a ws server's pongs, with the same payload, for our pings", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const peer = await s.peer(0);
    const peerPings = controlInbox(peer, "ping");
    const pongs = controlInbox(client, "pong");
    const payloads = [Buffer.alloc(0), Buffer.from("ping ✓"), Buffer.alloc(125, 0x11)];
    client.ping(payloads[0]);
    client.ping("ping ✓");
    client.ping(payloads[2]);
    assert.deepEqual((await pongs.waitFor(3)).map((m) => m.data), payloads);
    assert.deepEqual((await peerPings.waitFor(3)).map((m) => m.data), payloads);
  });

  it("negotiates the subprotocol a ws server's handleProtocols picks among several offers", { timeout: 30_000 }, async (t) => {
    const offers: string[][] = [];
    const s = await setup(t, {
      handleProtocols: (protocols) => {
        offers.push([...protocols]);
        return protocols.has("mqtt") ? "mqtt" : false;
      },
    });
    const client = await s.open({ protocols: ["graphql-ws", "mqtt", "soap"] });
    assert.deepEqual(offers, [["graphql-ws", "mqtt", "soap"]]);
    assert.equal(client.protocol, "mqtt");
    assert.equal((await s.peer(0)).protocol, "mqtt");
    // A server that picks none: the connection opens without a subprotocol.
    const none = await s.open({ protocols: ["graphql-ws"] });
    assert.equal(none.protocol, "");
  });

  it("refuses a ws server that selects a subprotocol we did not offer", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, { handleProtocols: () => "not-offered" });
    await assert.rejects(
      s.open({ protocols: ["a", "b"] }),
      (error: unknown) => error instanceof HandshakeError && error.code === "ERR_INVALID_PROTOCOL",
    );
  });

  it("sends the path, query, Origin and extra headers a ws server sees", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const seen = new Promise<IncomingMessage>((resolve) => s.wss.once("connection", (_ws, request) => resolve(request)));
    await connect(`${s.url}/deeper?room=7&x=%20`, {
      origin: "https://example.test",
      headers: { "X-Trace": "abc123" },
    }).then((client) => t.after(() => client.terminate()));
    const request = await seen;
    assert.equal(request.url, "/interop/deeper?room=7&x=%20");
    assert.equal(request.headers.origin, "https://example.test");
    assert.equal(request.headers["x-trace"], "abc123");
    assert.equal(request.headers["sec-websocket-version"], "13");
  });

  it("reports every valid close code and a UTF-8 reason we send, cleanly on both sides", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    for (const [i, code] of VALID_CLOSE_CODES.entries()) {
      const client = await s.open();
      const peer = await s.peer(i);
      const peerClosed = wsClosed(peer);
      const clientClosed = client.closed();
      const reason = i === 0 ? "€".repeat(41) : `client says ${code} — ü🎉`; // 41 × 3 = 123 bytes
      client.close(code, reason);
      const peerSide = await peerClosed;
      assert.deepEqual({ code: peerSide.code, reason: peerSide.reason, wasClean: peerSide.wasClean }, { code, reason, wasClean: true });
      const ours = await clientClosed;
      assert.equal(ours.code, code); // ws echoes the code
      assert.equal(ours.wasClean, true);
    }
  });

  it("reports every valid close code and a UTF-8 reason a ws server sends, cleanly on both sides", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    for (const [i, code] of VALID_CLOSE_CODES.entries()) {
      const client = await s.open();
      const peer = await s.peer(i);
      const peerClosed = wsClosed(peer);
      const clientClosed = client.closed();
      const reason = `ws says ${code}: ünïcödé`;
      peer.close(code, reason);
      assert.deepEqual(await clientClosed, { code, reason, wasClean: true });
      const peerSide = await peerClosed;
      assert.deepEqual({ code: peerSide.code, wasClean: peerSide.wasClean }, { code, wasClean: true });
    }
  });

  it("reports 1005 on both sides for a Close frame without a status code", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const peer = await s.peer(0);
    const peerClosed = wsClosed(peer);
    const clientClosed = client.closed();
    peer.close();
    assert.deepEqual(await clientClosed, { code: 1005, reason: "", wasClean: true });
    const peerSide = await peerClosed;
    assert.equal(peerSide.code, 1005);
    assert.equal(peerSide.wasClean, true);
  });

  it("reports 1006 and exactly one close event when a ws server drops the TCP connection", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const peer = await s.peer(0);
    const events: unknown[][] = [];
    client.on("close", (...args) => events.push(args));
    const closed = client.closed();
    client.sendText("in flight");
    peer.terminate();
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    // Later attempts to use the connection change nothing.
    assert.equal(client.sendText("too late"), false);
    client.close(1000);
    client.terminate();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, [[1006, "", false]]);
  });

  it("makes a ws server report 1006 when our client terminates the connection", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const peer = await s.peer(0);
    const events: unknown[][] = [];
    client.on("close", (...args) => events.push(args));
    const peerClosed = wsClosed(peer);
    const closed = client.closed();
    client.terminate();
    const peerSide = await peerClosed;
    assert.equal(peerSide.code, 1006);
    assert.equal(peerSide.wasClean, false);
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    assert.deepEqual(events, [[1006, "", false]]);
  });

  it("receives the messages a ws server sends right after the handshake, in the same segment as the 101", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, {}, false);
    s.wss.on("connection", (ws) => {
      ws.send("welcome");
      ws.send(Buffer.from([1, 2, 3]));
      ws.ping("hi");
    });
    const client = await s.open();
    const inbox = inboxOf(client);
    const pings = controlInbox(client, "ping");
    assert.deepEqual(await inbox.waitFor(2), [
      { data: Buffer.from("welcome"), isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
    ]);
    assert.deepEqual((await pings.waitFor(1)).map((m) => m.data.toString()), ["hi"]);
  });

  it("gets 1009 from a ws server whose maxPayload our message exceeds", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, { maxPayload: 1000 });
    const client = await s.open();
    const inbox = inboxOf(client);
    const closed = client.closed();
    client.sendBinary(Buffer.alloc(1000));
    await inbox.next();
    client.sendBinary(Buffer.alloc(1001));
    const ours = await closed;
    assert.equal(ours.code, 1009);
    assert.equal(ours.wasClean, true);
  });

  it("fails the connection with 1007 when a ws server sends invalid UTF-8 as text", { timeout: 30_000 }, async (t) => {
    const s = await setup(t, {}, false);
    const client = await s.open();
    client.on("error", () => {});
    const peer = await s.peer(0);
    const peerClosed = wsClosed(peer);
    peer.send(Buffer.from([0xf0, 0x9f, 0x8e]), { binary: false }); // a truncated 4-byte sequence
    assert.equal((await peerClosed).code, 1007);
    assert.equal((client.error as { code?: string } | undefined)?.code, "ERR_INVALID_UTF8");
    assert.equal((await client.closed()).code, 1006); // no Close frame came back: ws closes TCP
  });

  it("keeps 10,000 pipelined small messages in order both ways", { timeout: 30_000 }, async (t) => {
    const s = await setup(t);
    const client = await s.open();
    const inbox = inboxOf(client);
    const peerInbox = new Inbox(async (l) => (await s.peer(0)).on("message", l));
    const count = 10_000;
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) client.sendText(`message ${i}`);
      else client.sendBinary(Buffer.from(`message ${i}`));
    }
    const expected = Array.from({ length: count }, (_, i) => ({ data: Buffer.from(`message ${i}`), isBinary: i % 2 === 1 }));
    assert.deepEqual(await peerInbox.waitFor(count), expected);
    assert.deepEqual(await inbox.waitFor(count), expected);
  });
});
