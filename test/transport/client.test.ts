// The client over real sockets: ws:// and wss://, what it sends, how it validates the server's
// answer, and how it refuses misuse (always as a rejected promise, before any I/O).
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { test, type TestContext } from "node:test";
import { connect, HandshakeError, WebSocketServer, type WebSocketConnection } from "../../src/index.js";
import { acceptFor, acceptUpgrade, closeCodeOf, frame, FrameReader, headerOf, OP, readHead, startRawServer } from "../fixtures/raw-peer.js";
import { nextConnection, startServer } from "../fixtures/servers.js";

const T = { timeout: 10_000 };
const fixtures = new URL("../../../test/fixtures/", import.meta.url);
const cert = readFileSync(new URL("localhost-cert.pem", fixtures));
const key = readFileSync(new URL("localhost-key.pem", fixtures));

async function echoOnce(client: WebSocketConnection, text: string): Promise<string> {
  const reply = once(client, "message") as Promise<[Buffer]>;
  client.sendText(text);
  return (await reply)[0].toString();
}

/** A node:https server with a WebSocketServer attached, echoing text. */
async function startWss(t: TestContext): Promise<number> {
  const https = createHttpsServer({ cert, key }, (_req, res) => res.end("plain https"));
  const wss = new WebSocketServer();
  wss.attach(https);
  wss.on("connection", (connection) => connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary)));
  https.listen(0, "127.0.0.1");
  await once(https, "listening");
  t.after(async () => {
    await wss.close({ timeoutMs: 50 });
    https.closeAllConnections();
    await new Promise((resolve) => https.close(resolve));
  });
  return (https.address() as AddressInfo).port;
}

/** A raw server answering the upgrade with `response(key)` (a whole HTTP head). */
async function startLyingServer(t: TestContext, response: (key: string) => string): Promise<string> {
  const port = await startRawServer(t, (socket) => {
    void readHead(socket).then(({ head }) => socket.write(response(headerOf(head, "sec-websocket-key") ?? "")));
  });
  return `ws://127.0.0.1:${port}`;
}

async function rejectsWith(promise: Promise<unknown>, check: (error: HandshakeError) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, String(error));
    check(error);
    return true;
  });
}

test("a ws:// client exchanges messages with a wynd server and closes cleanly", T, async (t) => {
  const { server, url } = await startServer(t);
  server.on("connection", (connection) => connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary)));
  const client = await connect(new URL(`${url}/echo`));
  assert.equal(await echoOnce(client, "héllo"), "héllo");
  const binary = once(client, "message") as Promise<[Buffer, boolean]>;
  client.sendBinary(new Uint8Array([0, 255]));
  const [data, isBinary] = await binary;
  assert.deepEqual([...data], [0, 255]);
  assert.equal(isBinary, true);
  client.close(1000, "done");
  assert.deepEqual(await client.closed(), { code: 1000, reason: "", wasClean: true });
});

test("a wss:// client connects to node:https with attach(), trusting the test CA, without an SNI warning for an IP", T, async (t) => {
  const port = await startWss(t);
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on("warning", onWarning);
  t.after(() => process.off("warning", onWarning));
  for (const host of ["127.0.0.1", "localhost"]) {
    const client = await connect(`wss://${host}:${port}/secure`, { tls: { ca: cert } });
    assert.equal(await echoOnce(client, `over TLS to ${host}`), `over TLS to ${host}`);
    client.close();
    assert.equal((await client.closed()).code, 1000);
  }
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on nextTick
  assert.deepEqual(
    warnings.map((w) => w.message),
    [],
  );
});

test("a wss:// client rejects a certificate it does not trust", T, async (t) => {
  const port = await startWss(t);
  await assert.rejects(connect(`wss://localhost:${port}/`), (error: NodeJS.ErrnoException) => {
    assert.ok(!(error instanceof HandshakeError));
    assert.match(error.code ?? "", /SELF_SIGNED|UNABLE_TO_VERIFY/);
    return true;
  });
});

test("the client sends a valid upgrade request with its Host, path, query, origin, subprotocols and headers", T, async (t) => {
  let head = "";
  const port = await startRawServer(t, (socket) => {
    void readHead(socket).then((result) => {
      head = result.head;
      socket.destroy();
    });
  });
  await assert.rejects(
    connect(`ws://127.0.0.1:${port}/path/to?q=1&r=2`, {
      protocols: ["chat.v2", "chat.v1"],
      origin: "https://app.test",
      headers: [["Authorization", "Bearer t"]],
    }),
    HandshakeError,
  );
  assert.match(head, /^GET \/path\/to\?q=1&r=2 HTTP\/1\.1\r\n/);
  assert.equal(headerOf(head, "host"), `127.0.0.1:${port}`);
  assert.equal(headerOf(head, "upgrade"), "websocket");
  assert.match(headerOf(head, "connection") ?? "", /upgrade/i);
  assert.equal(headerOf(head, "sec-websocket-version"), "13");
  assert.equal(Buffer.from(headerOf(head, "sec-websocket-key") ?? "", "base64").length, 16);
  assert.equal(headerOf(head, "sec-websocket-protocol"), "chat.v2, chat.v1");
  assert.equal(headerOf(head, "origin"), "https://app.test");
  assert.equal(headerOf(head, "authorization"), "Bearer t");
});

test("a client masks every frame it sends, with a fresh key", T, async (t) => {
  const frames: Array<{ masked: boolean; opcode: number; payload: string }> = [];
  let done: () => void = () => {};
  const allIn = new Promise<void>((resolve) => (done = resolve));
  const port = await startRawServer(t, (socket: Socket) => {
    void acceptUpgrade(socket).then((rest) => {
      const reader = new FrameReader();
      const onData = (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          frames.push({ masked: f.masked, opcode: f.opcode, payload: f.payload.toString("hex") });
          if (f.opcode === OP.CLOSE) {
            socket.end(frame(OP.CLOSE, f.payload, { mask: false }));
            done();
          }
        }
      };
      onData(rest);
      socket.on("data", onData);
    });
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  client.sendText("a");
  client.sendBinary(Buffer.from("b"));
  client.ping("c");
  client.close(1000);
  await allIn;
  assert.deepEqual(frames, [
    { masked: true, opcode: OP.TEXT, payload: "61" },
    { masked: true, opcode: OP.BINARY, payload: "62" },
    { masked: true, opcode: OP.PING, payload: "63" },
    { masked: true, opcode: OP.CLOSE, payload: "03e8" },
  ]);
  assert.equal((await client.closed()).code, 1000);
});

test("a client fails the connection with 1002 on a masked frame from the server", T, async (t) => {
  let closeFrame: Promise<number> = Promise.resolve(0);
  const port = await startRawServer(t, (socket) => {
    closeFrame = acceptUpgrade(socket, frame(OP.TEXT, "masked", { mask: true })).then(
      (rest) =>
        new Promise((resolve) => {
          const reader = new FrameReader();
          const onData = (chunk: Buffer) => {
            for (const f of reader.push(chunk)) if (f.opcode === OP.CLOSE) resolve(closeCodeOf(f));
          };
          onData(rest);
          socket.on("data", onData);
        }),
    );
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  const messages: Buffer[] = [];
  client.on("message", (data) => messages.push(data));
  assert.equal((await client.closed()).code, 1006);
  assert.equal(await closeFrame, 1002);
  assert.equal(messages.length, 0);
});

test("a refusal with 401 rejects with a HandshakeError carrying status 401", T, async (t) => {
  const { url } = await startServer(t, { beforeUpgrade: () => ({ status: 401, headers: [["WWW-Authenticate", "Bearer"]] }) });
  await rejectsWith(connect(url), (error) => {
    assert.equal(error.status, 401);
    assert.equal(error.code, "ERR_UNEXPECTED_STATUS");
  });
});

test("a wrong Sec-WebSocket-Accept rejects with a HandshakeError", T, async (t) => {
  const url = await startLyingServer(
    t,
    (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(`${key}x`)}\r\n\r\n`,
  );
  await rejectsWith(connect(url), (error) => {
    assert.equal(error.code, "ERR_INVALID_ACCEPT");
    assert.equal(error.status, 101);
  });
});

test("a subprotocol the client did not offer rejects with a HandshakeError", T, async (t) => {
  const url = await startLyingServer(
    t,
    (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Protocol: v9\r\n\r\n`,
  );
  await rejectsWith(connect(url, { protocols: ["v1"] }), (error) => assert.equal(error.code, "ERR_INVALID_PROTOCOL"));
});

test("a server that closes during the handshake, or is not listening, makes connect() reject", T, async (t) => {
  const port = await startRawServer(t, (socket) => void readHead(socket).then(() => socket.end()));
  await rejectsWith(connect(`ws://127.0.0.1:${port}`), (error) => assert.equal(error.code, "ERR_CONNECTION_CLOSED"));
  // A port nobody listens on any more: the socket's own error.
  const { server, port: freed } = await startServer(t);
  await server.close();
  await assert.rejects(connect(`ws://127.0.0.1:${freed}`), (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED");
});

test("a URL with a fragment, a bad scheme or no URL at all rejects with TypeError", async () => {
  await assert.rejects(connect("ws://127.0.0.1:1/#frag"), TypeError);
  await assert.rejects(connect("ftp://127.0.0.1:1/"), TypeError);
  await assert.rejects(connect("not a url"), TypeError);
});

test("invalid client options reject with RangeError or TypeError before any I/O", async () => {
  // Port 1 on 127.0.0.1: were a socket opened, the rejection would be ECONNREFUSED instead.
  const url = "ws://127.0.0.1:1/";
  for (const options of [
    { closeTimeoutMs: -1 },
    { handshakeTimeoutMs: 0 },
    { maxMessageBytes: 0 },
    { heartbeatIntervalMs: -5 },
    { highWaterMarkBytes: -1 },
    { maxBufferedBytes: 0.5 },
    { maxHeaderBytes: -1 },
    { handshakeTimeoutMs: 2 ** 31 },
    { closeTimeoutMs: 2 ** 31 },
  ]) {
    await assert.rejects(connect(url, options), RangeError, JSON.stringify(options));
  }
  await assert.rejects(connect(url, { backpressurePolicy: "block" as "drop" }), TypeError);
  await assert.rejects(connect(url, { headers: { "X-Evil": "a\r\nInjected: 1" } }), TypeError);
  await assert.rejects(connect(url, { protocols: ["not a token"] }), TypeError);
});

test("the server's connection and the client's agree on the negotiated subprotocol", T, async (t) => {
  const { server, url } = await startServer(t, { selectProtocol: (offered) => offered[offered.length - 1] });
  const accepted = nextConnection(server);
  const client = await connect(url, { protocols: ["a", "b"] });
  const serverSide = await accepted;
  assert.equal(client.protocol, "b");
  assert.equal(serverSide.protocol, "b");
  client.close();
  await serverSide.closed();
});
