// permessage-deflate over real sockets between a wynd server and a wynd client: negotiation
// through the options, round trips at every size boundary with and without context takeover,
// order preserved in both directions although zlib is asynchronous, the closing handshake after
// pending compressions, limits on the inflated size, memory held between messages, the
// process-wide limiter, backpressure, broadcast compressed once, and a client that fails on a
// bad answer.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { connect, HandshakeError, prepareMessage, type PerMessageDeflateOptions, type WebSocketConnection } from "../../src/index.js";
import { limiterFor, pooledCodecs } from "../../src/transport/zlib-codec.js";
import { acceptFor, headerOf, rawConnect, readHead, startRawServer, statusOf, upgradeRequest } from "../fixtures/raw-peer.js";
import { nextConnection, startServer, startSocketServer } from "../fixtures/servers.js";
import { prng, randomBytes } from "../helpers/protocol-testing.js";

const T = { timeout: 30_000 };

/** Collects messages; `next(n)` resolves once n have arrived in total (bounded). */
function collect(connection: WebSocketConnection): { messages: Array<[Buffer, boolean]>; next(count: number): Promise<Array<[Buffer, boolean]>> } {
  const messages: Array<[Buffer, boolean]> = [];
  let waiter: (() => void) | undefined;
  connection.on("message", (data, isBinary) => {
    messages.push([Buffer.from(data), isBinary]);
    waiter?.();
  });
  return {
    messages,
    next(count) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), 20_000);
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiter = undefined;
          resolve(messages.slice(0, count));
        };
        waiter = check;
        check();
      });
    },
  };
}

async function echoServer(t: TestContext, perMessageDeflate: boolean | PerMessageDeflateOptions, extra = {}) {
  const started = await startServer(t, { perMessageDeflate, ...extra });
  started.server.on("connection", (connection) => {
    connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
  });
  return started;
}

async function client(t: TestContext, url: string, perMessageDeflate: boolean | PerMessageDeflateOptions = true, extra = {}): Promise<WebSocketConnection> {
  const connection = await connect(url, { perMessageDeflate, ...extra });
  t.after(() => connection.terminate());
  return connection;
}

/** Compressible but not trivial: runs of letters with random bytes between them. */
function sample(size: number, seed: number, text = false): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 5 === 0 && !text ? next() & 0xff : 0x61 + ((i >> 3) % 26);
  return out;
}

const BOUNDARIES = [0, 1, 125, 126, 1023, 1024, 1025, 16_383, 16_384, 16_385, 65_535, 65_536, 65_537, 300_000];

const COMBINATIONS: Array<[string, PerMessageDeflateOptions, PerMessageDeflateOptions]> = [
  ["context takeover both ways", {}, {}],
  ["no context takeover (server's choice)", { serverNoContextTakeover: true, clientNoContextTakeover: true }, {}],
  ["no context takeover (client's offer)", {}, { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ["small windows", { serverMaxWindowBits: 9, clientMaxWindowBits: 8 }, {}],
  ["client asks for a small server window", {}, { serverMaxWindowBits: 10, clientMaxWindowBits: 11 }],
  ["threshold 0, level 1, memLevel 1", { thresholdBytes: 0, level: 1, memLevel: 1 }, { thresholdBytes: 0, level: 9, memLevel: 9 }],
];

describe("permessage-deflate between a wynd server and a wynd client", () => {
  it("is negotiated when both ends want it, and not when either does not", T, async (t) => {
    const on = await echoServer(t, true);
    const negotiated = await client(t, on.url);
    assert.equal(negotiated.extensions, "permessage-deflate");
    const declined = await client(t, on.url, false);
    assert.equal(declined.extensions, "");
    const off = await echoServer(t, false);
    const plain = await client(t, off.url);
    assert.equal(plain.extensions, "");
    // Off by default on a server.
    const byDefault = await startServer(t);
    const seen = nextConnection(byDefault.server);
    await client(t, byDefault.url);
    const serverSide = await seen;
    assert.equal(serverSide.extensions, "");
    assert.equal(serverSide.request?.extensions, "permessage-deflate; client_max_window_bits");
  });

  for (const [label, serverOptions, clientOptions] of COMBINATIONS) {
    it(`round-trips text and binary at every size boundary: ${label}`, T, async (t) => {
      const { url } = await echoServer(t, serverOptions);
      const connection = await client(t, url, clientOptions);
      assert.match(connection.extensions, /^permessage-deflate/);
      const inbox = collect(connection);
      const sent: Array<[Buffer, boolean]> = [];
      for (const size of BOUNDARIES) {
        const text = sample(size, size, true);
        const binary = sample(size, size + 1);
        connection.sendText(text.toString("latin1"));
        connection.sendBinary(binary);
        sent.push([text, false], [binary, true]);
      }
      const received = await inbox.next(sent.length);
      for (let i = 0; i < sent.length; i++) {
        assert.equal(received[i]![1], sent[i]![1], `message ${i} type`);
        assert.ok(received[i]![0].equals(sent[i]![0]), `message ${i} (${sent[i]![0].length} bytes)`);
      }
      connection.close();
      assert.deepEqual(await connection.closed(), { code: 1000, reason: "", wasClean: true });
    });
  }

  it("keeps the order of many concurrent messages, compressed or not, fragmented or not, both ways", T, async (t) => {
    const { url } = await echoServer(t, { thresholdBytes: 100 });
    const connection = await client(t, url, { thresholdBytes: 50 });
    const inbox = collect(connection);
    const next = prng(1234);
    const sent: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const size = [0, 10, 60, 120, 2000, 40_000][next() % 6]!;
      const body = Buffer.concat([Buffer.from(`#${i}:`), sample(size, i, true)]);
      sent.push(body);
      if (i % 7 === 3) connection.sendFragmented(body.toString("latin1"), 777);
      else connection.sendText(body.toString("latin1"));
      if (i % 50 === 0) connection.ping(`p${i}`);
    }
    const received = await inbox.next(sent.length);
    received.forEach(([data], i) => assert.ok(data.equals(sent[i]!), `message ${i} out of order or corrupt`));
  });

  it("delivers every compressed message before the Close frame, both when we close and when the peer does", T, async (t) => {
    const { server, url } = await echoServer(t, true);
    const serverSide = nextConnection(server);
    const connection = await client(t, url);
    const inbox = collect(connection);
    const big = sample(200_000, 9, true).toString("latin1");
    for (let i = 0; i < 5; i++) connection.sendText(big);
    connection.close(4000, "bye"); // right after: the Close frame waits behind the compressions
    const closed = await connection.closed();
    assert.deepEqual(closed, { code: 4000, reason: "", wasClean: true }); // the echo carries the code only
    assert.equal(inbox.messages.length, 5, "every echo arrived before the server's Close frame");
    // The server side: it sends compressed messages and closes at once.
    const other = await client(t, url);
    const otherInbox = collect(other);
    await serverSide;
    const [peer] = [...server.connections].filter((c) => c.readyState === 1).slice(-1);
    for (let i = 0; i < 3; i++) peer!.sendText(big);
    peer!.close(1001);
    assert.deepEqual(await other.closed(), { code: 1001, reason: "", wasClean: true });
    assert.equal(otherInbox.messages.length, 3);
  });

  it("applies maxMessageBytes to the inflated size: at the limit passes, one more byte closes with 1009 and the limit as reason", T, async (t) => {
    const { server, url } = await echoServer(t, true, { maxMessageBytes: 100_000 });
    const errors: Error[] = [];
    server.on("connection", (c) => c.on("error", (e) => errors.push(e)));
    const connection = await client(t, url);
    const inbox = collect(connection);
    connection.sendBinary(Buffer.alloc(100_000)); // a few hundred bytes on the wire
    assert.equal((await inbox.next(1))[0]![0].length, 100_000);
    connection.sendBinary(Buffer.alloc(100_001));
    const closed = await connection.closed();
    assert.equal(closed.code, 1009);
    // The peer learns why: the limit is on the inflated size, which it cannot see on the wire.
    assert.equal(closed.reason, "message too big (limit 100000 bytes)");
    assert.equal((errors[0] as { code?: string }).code, "ERR_MESSAGE_TOO_BIG");
  });

  it("holds no zlib stream between messages without context takeover; one per direction with it", T, async (t) => {
    const none = await echoServer(t, { serverNoContextTakeover: true, clientNoContextTakeover: true });
    const noneSide = nextConnection(none.server);
    const a = await client(t, none.url);
    const aServer = await noneSide;
    const aInbox = collect(a);
    a.sendText("x".repeat(5000));
    await aInbox.next(1);
    assert.equal(aServer.deflateStreams, 0);
    assert.equal(a.deflateStreams, 0);
    assert.ok(pooledCodecs() <= 4 * 10, "the pools stay within the limiter's bound per configuration");

    const takeover = await echoServer(t, true);
    const takeoverSide = nextConnection(takeover.server);
    const b = await client(t, takeover.url);
    const bServer = await takeoverSide;
    assert.equal(bServer.deflateStreams, 0, "nothing before the first compressed message");
    const bInbox = collect(b);
    b.sendText("y".repeat(5000));
    await bInbox.next(1);
    assert.equal(bServer.deflateStreams, 2);
    assert.equal(b.deflateStreams, 2);
    // Idle again: nothing waits in the ordering queue or the socket (no buffer grows with time).
    for (let i = 0; i < 100 && bServer.bufferedAmount + b.bufferedAmount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(bServer.bufferedAmount, 0);
    assert.equal(b.bufferedAmount, 0);
    b.close();
    await b.closed();
    assert.equal(b.deflateStreams, 0, "freed when the connection ends");
  });

  it("never runs more zlib operations at once than `concurrency`, across connections", T, async (t) => {
    const concurrency = 2;
    const { url } = await echoServer(t, { concurrency });
    const limiter = limiterFor(concurrency);
    const clients = await Promise.all(Array.from({ length: 6 }, () => client(t, url, { concurrency })));
    let maxActive = 0;
    let sawWaiting = false;
    const sampler = setInterval(() => {
      maxActive = Math.max(maxActive, limiter.active);
      if (limiter.waiting > 0) sawWaiting = true;
    }, 0);
    t.after(() => clearInterval(sampler));
    const inboxes = clients.map(collect);
    const payload = sample(100_000, 3, true).toString("latin1");
    for (const c of clients) for (let i = 0; i < 10; i++) c.sendText(payload);
    maxActive = Math.max(maxActive, limiter.active);
    if (limiter.waiting > 0) sawWaiting = true;
    await Promise.all(inboxes.map((inbox) => inbox.next(10)));
    clearInterval(sampler);
    assert.ok(maxActive <= concurrency, `max ${maxActive}`);
    assert.ok(sawWaiting, "operations queued past the limit");
  });

  it("counts messages waiting for compression in bufferedAmount, refuses past the high-water mark, then drains", T, async (t) => {
    const { url } = await echoServer(t, true);
    const connection = await client(t, url, true, { highWaterMarkBytes: 64 * 1024 });
    const payload = sample(50_000, 5);
    assert.equal(connection.sendBinary(payload), true);
    assert.equal(connection.sendBinary(payload), false, "100 000 bytes wait: above 64 KiB");
    assert.ok(connection.bufferedAmount >= 50_000);
    await once(connection, "drain");
    assert.ok(connection.bufferedAmount < 64 * 1024);
  });

  it("broadcast compresses once for recipients without server context takeover, per recipient otherwise", T, async (t) => {
    const { server, url, sockets } = await startSocketServer(t, { perMessageDeflate: true });
    const written = new Map<Socket, Buffer[]>();
    const shared = await Promise.all([0, 1, 2].map(() => client(t, url, { serverNoContextTakeover: true })));
    const own = await Promise.all([0, 1].map(() => client(t, url, {})));
    const plain = await client(t, url, false);
    const everyone = [...shared, ...own, plain];
    const inboxes = everyone.map(collect);
    while (server.connections.size < everyone.length) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const socket of sockets) {
      const chunks: Buffer[] = [];
      written.set(socket, chunks);
      const original = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
        chunks.push(chunk);
        return original(chunk, ...rest);
      }) as typeof socket.write;
    }
    const message = sample(10_000, 77, true).toString("latin1");
    for (let i = 0; i < 3; i++) assert.equal(server.broadcast(message), everyone.length);
    for (const inbox of inboxes) {
      const got = await inbox.next(3);
      for (const [data, isBinary] of got) {
        assert.equal(isBinary, false);
        assert.equal(data.toString("latin1"), message);
      }
    }
    // The three recipients without server context takeover were written the very same buffers.
    const perSocket = [...written.values()].filter((chunks) => chunks.length > 0);
    const counts = new Map<Buffer, number>();
    for (const chunks of perSocket) for (const chunk of new Set(chunks)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
    const sharedBuffers = [...counts.entries()].filter(([chunk, n]) => n === 3 && (chunk[0]! & 0x40) !== 0);
    assert.equal(sharedBuffers.length, 3, "one compressed frame per broadcast, written to the three");
    // With takeover, later broadcasts of the same text are much smaller on the wire.
    const ownBytes = [...written.values()].map((chunks) => chunks.reduce((n, c) => n + c.length, 0));
    assert.ok(Math.min(...ownBytes) < message.length / 2);
  });

  it("refuses a malformed Sec-WebSocket-Extensions with 400 before the pre-upgrade hook runs; ignores it when off", T, async (t) => {
    let hookCalls = 0;
    const on = await startServer(t, { perMessageDeflate: true, beforeUpgrade: () => void hookCalls++ });
    const off = await startServer(t, { beforeUpgrade: () => void hookCalls++ });
    const bad = upgradeRequest({ headers: [["Sec-WebSocket-Extensions", "permessage-deflate; x="]] });
    const refused = await rawConnect(on.port);
    t.after(() => refused.destroy());
    refused.write(bad);
    assert.equal(statusOf((await readHead(refused)).head), 400);
    assert.equal(hookCalls, 0);
    const ignored = await rawConnect(off.port);
    t.after(() => ignored.destroy());
    ignored.write(bad);
    const { head } = await readHead(ignored);
    assert.equal(statusOf(head), 101);
    assert.equal(headerOf(head, "sec-websocket-extensions"), undefined);
    assert.equal(hookCalls, 1);
  });

  it("prepared messages below the threshold go out uncompressed to deflate recipients", T, async (t) => {
    const { server, url } = await startServer(t, { perMessageDeflate: true });
    const seen = nextConnection(server);
    const connection = await client(t, url);
    const serverSide = await seen;
    const inbox = collect(connection);
    serverSide.sendPrepared(prepareMessage("tiny"));
    serverSide.sendPrepared(prepareMessage(Buffer.alloc(5000, 1)));
    const got = await inbox.next(2);
    assert.equal(got[0]![0].toString(), "tiny");
    assert.ok(got[1]![0].equals(Buffer.alloc(5000, 1)));
  });
});

describe("the client's validation of the server's answer", () => {
  async function lyingServer(t: TestContext, extensions: string): Promise<string> {
    const port = await startRawServer(t, (socket) => {
      void readHead(socket).then(({ head }) => {
        const key = headerOf(head, "sec-websocket-key") ?? "";
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
        );
      });
    });
    return `ws://127.0.0.1:${port}`;
  }

  for (const extensions of [
    "permessage-deflate; bogus",
    "permessage-deflate; server_max_window_bits=20",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate, permessage-deflate",
    "x-webkit-deflate-frame",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  ]) {
    it(`connect() rejects ${JSON.stringify(extensions)} with ERR_INVALID_EXTENSIONS`, T, async (t) => {
      const url = await lyingServer(t, extensions);
      await assert.rejects(connect(url), (error: unknown) => error instanceof HandshakeError && error.code === "ERR_INVALID_EXTENSIONS");
    });
  }

  it("connect() with perMessageDeflate off rejects any extension in the answer", T, async (t) => {
    const url = await lyingServer(t, "permessage-deflate");
    await assert.rejects(connect(url, { perMessageDeflate: false }), (error: unknown) => error instanceof HandshakeError && error.code === "ERR_UNEXPECTED_EXTENSIONS");
  });

  it("connect() rejects invalid perMessageDeflate options before any I/O", async () => {
    await assert.rejects(connect("ws://127.0.0.1:9", { perMessageDeflate: { serverMaxWindowBits: 7 } }), RangeError);
    await assert.rejects(connect("ws://127.0.0.1:9", { perMessageDeflate: { level: 11 } }), RangeError);
  });
});

it("random payloads survive both directions with every combination (seeded)", T, async (t) => {
  const { url } = await echoServer(t, { thresholdBytes: 0 });
  const seed = Number(process.env["WYND_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
  const next = prng(seed);
  try {
    for (const [, , clientOptions] of COMBINATIONS) {
      const connection = await client(t, url, clientOptions);
      const inbox = collect(connection);
      const sent: Buffer[] = [];
      for (let i = 0; i < 30; i++) {
        const size = next() % 3 === 0 ? next() % 70_000 : next() % 300;
        const data = next() % 2 === 0 ? randomBytes(next, size) : sample(size, next());
        sent.push(data);
        connection.sendBinary(data);
      }
      const got = await inbox.next(sent.length);
      got.forEach(([data], i) => assert.ok(data.equals(sent[i]!), `message ${i}`));
      connection.close();
    }
  } catch (error) {
    if (error instanceof Error) error.message += ` (WYND_SEED=${seed})`;
    throw error;
  }
});
