// A connection's life over real sockets: states, the closing handshake from either end, and
// exactly one `close` event for every way a connection can end.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { connect, ProtocolError, ReadyState, type WebSocketConnection } from "../../src/index.js";
import { closeCodeOf, closePayload, frame, OP, RawClient, acceptUpgrade, startRawServer, FrameReader } from "../fixtures/raw-peer.js";
import { nextConnection, nextMacrotask, record, startServer, startSocketServer } from "../fixtures/servers.js";

const T = { timeout: 10_000 };

type CloseArgs = [code: number, reason: string, wasClean: boolean];

/** Records `close` events; resolves the first, and lets the test check that no second one comes. */
function closes(connection: WebSocketConnection): { events: CloseArgs[]; first: Promise<CloseArgs> } {
  // Not events.once(): it would add an 'error' listener and reject on 'error'.
  const events = record<CloseArgs>(connection, "close");
  const first = new Promise<CloseArgs>((resolve) => connection.once("close", (...args) => resolve(args)));
  return { events, first };
}

test("a connection is OPEN on both ends, CLOSING once close() is called and CLOSED after its close event", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  assert.equal(client.readyState, ReadyState.OPEN);
  assert.equal(serverSide.readyState, ReadyState.OPEN);
  assert.equal(client.role, "client");
  assert.equal(serverSide.role, "server");
  const clientClosed = closes(client);
  const serverClosed = closes(serverSide);
  client.close(1000, "bye");
  assert.equal(client.readyState, ReadyState.CLOSING);
  await Promise.all([clientClosed.first, serverClosed.first]);
  assert.equal(client.readyState, ReadyState.CLOSED);
  assert.equal(serverSide.readyState, ReadyState.CLOSED);
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
  assert.equal(serverClosed.events.length, 1);
});

test("a close started by the client delivers its code and reason to the server, which echoes the code", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  const clientClosed = closes(client);
  const serverClosed = closes(serverSide);
  client.close(4001, "client done");
  assert.deepEqual(await serverClosed.first, [4001, "client done", true]);
  assert.deepEqual(await clientClosed.first, [4001, "", true]);
  assert.deepEqual(await client.closed(), { code: 4001, reason: "", wasClean: true });
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
  assert.equal(serverClosed.events.length, 1);
});

test("a close started by the server delivers its code and reason to the client, which echoes the code", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  const clientClosed = closes(client);
  const serverClosed = closes(serverSide);
  serverSide.close(4002, "server done");
  assert.equal(serverSide.readyState, ReadyState.CLOSING);
  assert.deepEqual(await clientClosed.first, [4002, "server done", true]);
  assert.deepEqual(await serverClosed.first, [4002, "", true]);
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
  assert.equal(serverClosed.events.length, 1);
});

test("a Close frame without a status code is reported as 1005 and echoed without one", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const serverClosed = closes(serverSide);
  raw.send(OP.CLOSE);
  const echo = await raw.nextOf(OP.CLOSE);
  assert.equal(echo.payload.length, 0);
  assert.deepEqual(await serverClosed.first, [1005, "", true]);
});

test("after the closing handshake the server closes the TCP connection first", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  // allowHalfOpen: the raw client never ends its side on its own, so an 'end' it sees came first
  // from the server.
  const raw = await RawClient.open(port, { allowHalfOpen: true });
  const serverSide = await accepted;
  raw.send(OP.CLOSE, closePayload(1000));
  await raw.until(() => raw.ended);
  assert.equal(raw.socket.writableEnded, false);
  assert.equal(raw.frames.length, 1);
  assert.equal(closeCodeOf(raw.frames[0]!), 1000);
  raw.socket.end();
  assert.deepEqual(await serverSide.closed(), { code: 1000, reason: "", wasClean: true });
});

test("a client whose server never closes TCP destroys the socket after closeTimeoutMs", T, async (t) => {
  let serverSocketClosed: Promise<unknown> = Promise.resolve();
  const port = await startRawServer(t, (socket) => {
    serverSocketClosed = once(socket, "close");
    void acceptUpgrade(socket).then(() => {
      const reader = new FrameReader();
      socket.on("data", (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          // Echo the Close frame, then keep the TCP connection open forever.
          if (f.opcode === OP.CLOSE) socket.write(frame(OP.CLOSE, f.payload, { mask: false }));
        }
      });
    });
  });
  const client = await connect(`ws://127.0.0.1:${port}`, { closeTimeoutMs: 100 });
  const clientClosed = closes(client);
  client.close(4003);
  assert.deepEqual(await clientClosed.first, [4003, "", true]);
  await serverSocketClosed; // the client's destroy reached the server
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
});

test("a TCP drop without a Close frame is reported once as 1006, not clean", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const serverClosed = closes(serverSide);
  raw.socket.end();
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  await nextMacrotask();
  assert.equal(serverClosed.events.length, 1);
  assert.equal(serverSide.readyState, ReadyState.CLOSED);
});

test("a client sees a server's TCP drop as one close 1006", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  const clientClosed = closes(client);
  serverSide.terminate();
  assert.deepEqual(await clientClosed.first, [1006, "", false]);
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
});

test("terminate() destroys the socket at once, sends no Close frame and reports one close 1006", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const serverClosed = closes(serverSide);
  serverSide.terminate();
  assert.equal(serverSide.readyState, ReadyState.CLOSING);
  serverSide.terminate(); // twice is harmless
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  await raw.whenClosed();
  assert.equal(raw.frames.length, 0);
  await nextMacrotask();
  assert.equal(serverClosed.events.length, 1);
});

test("a protocol error sends the right close code, emits error, ends TCP and reports one close", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const errors = record<[Error]>(serverSide, "error");
  const serverClosed = closes(serverSide);
  raw.send(OP.TEXT, "not masked", { mask: false }); // RFC 6455 §5.1: servers fail on this
  const close = await raw.nextOf(OP.CLOSE);
  assert.equal(closeCodeOf(close), 1002);
  await raw.until(() => raw.ended);
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  assert.equal(errors.length, 1);
  assert.ok(errors[0]![0] instanceof ProtocolError);
  assert.equal((errors[0]![0] as ProtocolError).closeCode, 1002);
  assert.equal(serverSide.error, errors[0]![0]);
  await nextMacrotask();
  assert.equal(serverClosed.events.length, 1);
});

test("a protocol error with no error listener does not throw and still ends with one close", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const serverClosed = closes(serverSide);
  raw.send(OP.TEXT, Buffer.from([0xff, 0xfe])); // invalid UTF-8: 1007
  assert.equal(closeCodeOf(await raw.nextOf(OP.CLOSE)), 1007);
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  assert.ok(serverSide.error instanceof ProtocolError);
});

test("a peer that never answers our Close frame is destroyed after closeTimeoutMs with one close 1006", T, async (t) => {
  const { server, port } = await startServer(t, { closeTimeoutMs: 100 });
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port, { allowHalfOpen: true });
  const serverSide = await accepted;
  const serverClosed = closes(serverSide);
  serverSide.close(1000, "bye");
  const close = await raw.nextOf(OP.CLOSE);
  assert.equal(closeCodeOf(close), 1000);
  assert.equal(close.payload.subarray(2).toString(), "bye");
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  await raw.until(() => raw.ended); // the destroyed socket's FIN
  raw.socket.end();
  await nextMacrotask();
  assert.equal(serverClosed.events.length, 1);
});

test("a client whose server never answers its Close frame destroys the socket after closeTimeoutMs", T, async (t) => {
  const port = await startRawServer(t, (socket) => {
    void acceptUpgrade(socket).then(() => socket.resume());
  });
  const client = await connect(`ws://127.0.0.1:${port}`, { closeTimeoutMs: 100 });
  const clientClosed = closes(client);
  client.close();
  assert.deepEqual(await clientClosed.first, [1006, "", false]);
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
});

test("a connection reset emits error and one close 1006", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const errors = record<[Error]>(serverSide, "error");
  const serverClosed = closes(serverSide);
  raw.socket.resetAndDestroy();
  assert.deepEqual(await serverClosed.first, [1006, "", false]);
  assert.equal(errors.length, 1);
  assert.equal((errors[0]![0] as NodeJS.ErrnoException).code, "ECONNRESET");
  await nextMacrotask();
  assert.equal(serverClosed.events.length, 1);
});

test("messages that arrive in the same chunk as the peer's Close frame are delivered before close", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const events: string[] = [];
  serverSide.on("message", (data) => events.push(`message ${data.toString()}`));
  serverSide.on("close", (code) => events.push(`close ${code}`));
  raw.socket.write(Buffer.concat([frame(OP.TEXT, "one"), frame(OP.BINARY, "two"), frame(OP.CLOSE, closePayload(1000))]));
  await serverSide.closed();
  assert.deepEqual(events, ["message one", "message two", "close 1000"]);
});

test("a client delivers the messages that arrive with the server's Close frame before close", T, async (t) => {
  const port = await startRawServer(t, (socket) => {
    void acceptUpgrade(socket).then(() => {
      socket.write(
        Buffer.concat([
          frame(OP.TEXT, "last words", { mask: false }),
          frame(OP.CLOSE, closePayload(1001, "going"), { mask: false }),
        ]),
      );
      socket.end();
      socket.resume();
    });
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  const events: string[] = [];
  client.on("message", (data) => events.push(`message ${data.toString()}`));
  client.on("close", (code, reason) => events.push(`close ${code} ${reason}`));
  await client.closed();
  assert.deepEqual(events, ["message last words", "close 1001 going"]);
});

test("frames sent in the same TCP chunk as the upgrade request are not lost", T, async (t) => {
  const { server, port } = await startServer(t);
  const received: string[] = [];
  server.on("connection", (connection) => connection.on("message", (data) => received.push(data.toString())));
  const raw = await RawClient.open(port, {
    extra: Buffer.concat([frame(OP.TEXT, "early 1"), frame(OP.TEXT, "early 2"), frame(OP.PING, "p")]),
  });
  assert.equal(raw.status, 101);
  const pong = await raw.nextOf(OP.PONG);
  assert.equal(pong.payload.toString(), "p");
  assert.deepEqual(received, ["early 1", "early 2"]);
});

test("frames sent with the upgrade request are not lost while an async beforeUpgrade hook runs", T, async (t) => {
  const { server, port } = await startServer(t, {
    beforeUpgrade: () => new Promise<true>((resolve) => setImmediate(resolve, true)),
  });
  const received: string[] = [];
  server.on("connection", (connection) => connection.on("message", (data) => received.push(data.toString())));
  const raw = await RawClient.open(port, { extra: Buffer.concat([frame(OP.TEXT, "early"), frame(OP.PING)]) });
  assert.equal(raw.status, 101);
  raw.send(OP.TEXT, "later");
  raw.send(OP.PING, "2");
  const pong = await raw.nextOf(OP.PONG, 1);
  assert.equal(pong.payload.toString(), "2");
  assert.deepEqual(received, ["early", "later"]);
});

test("frames sent in the same TCP chunk as the 101 response are delivered to the client", T, async (t) => {
  const port = await startRawServer(t, (socket) => {
    const frames = Buffer.concat([
      frame(OP.TEXT, "hello", { mask: false }),
      frame(OP.BINARY, Buffer.from([1, 2, 3]), { mask: false }),
    ]);
    void acceptUpgrade(socket, frames).then(() => socket.resume());
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  const received: Array<[string, boolean]> = [];
  client.on("message", (data, isBinary) => received.push([isBinary ? data.toString("hex") : data.toString(), isBinary]));
  while (received.length < 2) await once(client, "message");
  assert.deepEqual(received, [
    ["hello", false],
    ["010203", true],
  ]);
  client.terminate();
  await client.closed();
});

test("pause() holds incoming messages and resume() delivers them in order", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const received: string[] = [];
  serverSide.on("message", (data) => received.push(data.toString()));
  serverSide.pause();
  assert.equal(serverSide.isPaused, true);
  const frames = ["a", "b", "c"].map((text) => frame(OP.TEXT, text));
  const socket = sockets[0]!;
  const before = socket.bytesRead;
  for (const f of frames) raw.socket.write(f);
  const total = frames.reduce((sum, f) => sum + f.length, 0);
  // Wait until the server has read at least the first chunk; the rest stays in the kernel.
  while (socket.bytesRead < before + frames[0]!.length) await once(socket, "data");
  await nextMacrotask();
  assert.deepEqual(received, []);
  serverSide.resume();
  assert.equal(serverSide.isPaused, false);
  raw.send(OP.TEXT, "d");
  while (received.length < 4) await once(serverSide, "message");
  assert.deepEqual(received, ["a", "b", "c", "d"]);
  assert.ok(socket.bytesRead >= before + total);
});

test("a close while paused waits until the queued messages are delivered", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const events: string[] = [];
  serverSide.on("message", (data) => events.push(`message ${data.toString()}`));
  serverSide.on("close", (code) => events.push(`close ${code}`));
  serverSide.pause();
  const bytes = Buffer.concat([frame(OP.TEXT, "x"), frame(OP.TEXT, "y"), frame(OP.CLOSE, closePayload(4000))]);
  const socket = sockets[0]!;
  const before = socket.bytesRead;
  raw.socket.write(bytes);
  while (socket.bytesRead < before + bytes.length) await once(socket, "data");
  await nextMacrotask();
  assert.deepEqual(events, []);
  serverSide.resume();
  await serverSide.closed();
  assert.deepEqual(events, ["message x", "message y", "close 4000"]);
});

test("a TCP drop while paused is reported after the queued messages", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const events: string[] = [];
  serverSide.on("message", (data) => events.push(`message ${data.toString()}`));
  serverSide.on("close", (code) => events.push(`close ${code}`));
  serverSide.pause();
  const bytes = frame(OP.TEXT, "queued");
  const socket = sockets[0]!;
  const before = socket.bytesRead;
  raw.socket.end(bytes);
  while (socket.bytesRead < before + bytes.length) await once(socket, "data");
  await nextMacrotask();
  assert.deepEqual(events, []);
  serverSide.resume();
  await serverSide.closed();
  assert.deepEqual(events, ["message queued", "close 1006"]);
});

test("terminate() on a paused connection with queued messages still reports close", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  serverSide.pause();
  const bytes = frame(OP.TEXT, "never delivered");
  const socket = sockets[0]!;
  const before = socket.bytesRead;
  raw.socket.write(bytes);
  while (socket.bytesRead < before + bytes.length) await once(socket, "data");
  const messages = record(serverSide, "message");
  serverSide.terminate();
  assert.deepEqual(await serverSide.closed(), { code: 1006, reason: "", wasClean: false });
  assert.equal(messages.length, 0);
});

test("messages the peer sent before answering our Close frame are still delivered", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const serverSide = await accepted;
  const events: string[] = [];
  serverSide.on("message", (data) => events.push(`message ${data.toString()}`));
  serverSide.on("close", (code, _reason, wasClean) => events.push(`close ${code} ${wasClean}`));
  serverSide.close(1000);
  await raw.nextOf(OP.CLOSE);
  raw.socket.write(Buffer.concat([frame(OP.TEXT, "in flight"), frame(OP.CLOSE, closePayload(1000))]));
  await serverSide.closed();
  assert.deepEqual(events, ["message in flight", "close 1000 true"]);
});

test("a server shutdown ends each connection with exactly one close event on both ends", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  const clientClosed = closes(client);
  const serverClosed = closes(serverSide);
  await server.close();
  assert.deepEqual(await clientClosed.first, [1001, "", true]);
  assert.deepEqual(await serverClosed.first, [1001, "", true]);
  await nextMacrotask();
  assert.equal(clientClosed.events.length, 1);
  assert.equal(serverClosed.events.length, 1);
});

test("sends after our Close frame return false and put nothing on the wire", T, async (t) => {
  const { server, port } = await startServer(t);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port, { allowHalfOpen: true });
  const serverSide = await accepted;
  serverSide.close(1000);
  assert.equal(serverSide.sendText("late"), false);
  assert.equal(serverSide.sendBinary(Buffer.from("late")), false);
  assert.equal(serverSide.ping(), false);
  serverSide.close(1001); // a second close is ignored
  await raw.nextOf(OP.CLOSE);
  raw.send(OP.CLOSE, closePayload(1000));
  await raw.until(() => raw.ended);
  assert.deepEqual(
    raw.frames.map((f) => [f.opcode, closeCodeOf(f)]),
    [[OP.CLOSE, 1000]],
  );
  raw.socket.end();
});

test("close() with a code that may not be sent throws RangeError and leaves the connection open", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  for (const code of [999, 1005, 1006, 1015, 5000]) {
    assert.throws(() => serverSide.close(code), RangeError);
  }
  assert.throws(() => serverSide.close(1000, "x".repeat(124)), RangeError);
  assert.equal(serverSide.readyState, ReadyState.OPEN);
  const echoed = once(client, "message");
  serverSide.sendText("still open");
  client.on("message", (data) => client.sendText(data.toString()));
  assert.equal(((await echoed) as [Buffer])[0].toString(), "still open");
  client.close();
  await serverSide.closed();
});
