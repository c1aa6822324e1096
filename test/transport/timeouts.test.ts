// Timers of the transport, with small configured values: the opening handshake (server and
// client) and the heartbeat. Every wait is for an event, never a sleep.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import { connect, HandshakeError, ReadyState, TimeoutError, WyndError } from "../../src/index.js";
import { closeCodeOf, OP, RawClient, rawConnect, readHead, socketClosed, startRawServer, upgradeRequest } from "../fixtures/raw-peer.js";
import { nextConnection, nextMacrotask, record, startServer, startSocketServer } from "../fixtures/servers.js";

const T = { timeout: 10_000 };

test("the server destroys a socket whose request head is incomplete after handshakeTimeoutMs", T, async (t) => {
  const { server, port } = await startServer(t, { handshakeTimeoutMs: 100 });
  const refused = once(server, "handshakeError") as Promise<[HandshakeError]>;
  const socket = await rawConnect(port);
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {});
  const request = upgradeRequest();
  socket.write(request.subarray(0, request.length >> 1)); // half a request, then silence
  const [error] = await refused;
  assert.ok(error instanceof HandshakeError);
  assert.equal(error.code, "ERR_HANDSHAKE_TIMEOUT");
  await socketClosed(socket);
  assert.equal(Buffer.concat(received).length, 0, "no response, the socket is just closed");
  assert.equal(server.connections.size, 0);
});

test("the server's handshake timeout also bounds a beforeUpgrade hook that never settles", T, async (t) => {
  let release: (value: boolean) => void = () => {};
  const { server, port } = await startServer(t, {
    handshakeTimeoutMs: 100,
    beforeUpgrade: () => new Promise<boolean>((resolve) => (release = resolve)),
  });
  t.after(() => release(true));
  const refused = once(server, "handshakeError") as Promise<[HandshakeError]>;
  const connections = record(server, "connection");
  const socket = await rawConnect(port);
  socket.on("error", () => {});
  socket.write(upgradeRequest());
  const [error] = await refused;
  assert.equal(error.code, "ERR_HANDSHAKE_TIMEOUT");
  await socketClosed(socket);
  release(true); // the hook settles late: nothing must happen
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(connections.length, 0);
});

test("connect() rejects with TimeoutError when the server never answers", T, async (t) => {
  let serverSocket: Socket | undefined;
  const port = await startRawServer(t, (socket) => {
    serverSocket = socket;
    socket.resume(); // reads the request, never answers
  });
  await assert.rejects(connect(`ws://127.0.0.1:${port}`, { handshakeTimeoutMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.code, "ERR_HANDSHAKE_TIMEOUT");
    return true;
  });
  assert.ok(serverSocket);
  await socketClosed(serverSocket); // the client gave up the socket
});

test("connect() rejects with TimeoutError when the server sends half a response", T, async (t) => {
  const port = await startRawServer(t, (socket) => {
    void readHead(socket).then(() => socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"));
  });
  await assert.rejects(connect(`ws://127.0.0.1:${port}`, { handshakeTimeoutMs: 100 }), TimeoutError);
});

test("the heartbeat pings a peer every interval, and a peer that answers stays open", T, async (t) => {
  // The interval leaves room for a loaded machine: a pong must arrive within one interval.
  // The handshake timeout is shorter than the test: it must have been cleared by the upgrade.
  const { server, port } = await startServer(t, { heartbeatIntervalMs: 150, handshakeTimeoutMs: 50 });
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const conn = await accepted;
  const pongs = record<[Buffer]>(conn, "pong");
  raw.on("frame", (f: { opcode: number; payload: Buffer }) => {
    if (f.opcode === OP.PING) raw.send(OP.PONG, f.payload);
  });
  for (let i = 0; i < 3; i++) await raw.nextOf(OP.PING, i);
  await raw.until(() => pongs.length >= 3);
  assert.equal(conn.readyState, ReadyState.OPEN);
  assert.ok(raw.frames.every((f) => f.opcode === OP.PING));
});

test("any data from the peer counts as a sign of life for the heartbeat", T, async (t) => {
  const { server, port } = await startServer(t, { heartbeatIntervalMs: 150 });
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const conn = await accepted;
  const messages = record(conn, "message");
  raw.on("frame", (f: { opcode: number }) => {
    if (f.opcode === OP.PING) raw.send(OP.TEXT, "alive"); // never a pong
  });
  for (let i = 0; i < 3; i++) await raw.nextOf(OP.PING, i);
  await raw.until(() => messages.length >= 3);
  assert.equal(conn.readyState, ReadyState.OPEN);
  assert.ok(raw.frames.every((f) => f.opcode === OP.PING));
});

test("the heartbeat closes a silent peer with 1011", T, async (t) => {
  const { server, port } = await startServer(t, { heartbeatIntervalMs: 30, closeTimeoutMs: 100 });
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port, { allowHalfOpen: true });
  const conn = await accepted;
  const errors = record<[Error]>(conn, "error");
  const close = await raw.nextOf(OP.CLOSE);
  assert.equal(closeCodeOf(close), 1011);
  assert.equal(raw.frames[0]!.opcode, OP.PING, "a ping came first");
  assert.deepEqual(await conn.closed(), { code: 1006, reason: "", wasClean: false });
  assert.equal(errors.length, 1);
  assert.ok(errors[0]![0] instanceof WyndError);
  assert.equal((errors[0]![0] as WyndError).code, "ERR_HEARTBEAT_TIMEOUT");
  raw.destroy();
});

test("a client's heartbeat is answered by a wynd server's auto-pong and keeps the connection open", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url, { heartbeatIntervalMs: 150 });
  const serverSide = await accepted;
  const pongs = record(client, "pong");
  for (let i = 0; i < 3; i++) await once(serverSide, "ping");
  while (pongs.length < 3) await once(client, "pong");
  assert.equal(client.readyState, ReadyState.OPEN);
  client.close();
  assert.equal((await client.closed()).code, 1000);
});

test("heartbeats share one timer yet never come early: a ping 1 to 1.25 intervals after the last, and a peer silent for a whole interval after it stays open", T, async (t) => {
  // The heartbeats of all connections run on a shared DeadlineQueue that ticks every eighth of
  // the interval. Its interval timer is mocked so the edges can be reached to the millisecond.
  // The interval and the close timeout are values no other test of this file uses, so their
  // (module-wide) queues are this test's alone.
  t.mock.timers.enable({ apis: ["setInterval"] });
  const { server, port, sockets } = await startSocketServer(t, { heartbeatIntervalMs: 1000, closeTimeoutMs: 4321 });
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const conn = await accepted;
  const socket = sockets[0]!;
  const written = socket.bytesWritten; // the 101 response
  const pingsSent = (): number => (socket.bytesWritten - written) / 2; // an empty ping is 2 bytes
  /** Advances the mocked clock 1 ms at a time (letting writes out) until `done()`: the ms taken. */
  const advanceUntil = async (done: () => boolean, limitMs: number): Promise<number | undefined> => {
    for (let ms = 1; ms <= limitMs; ms++) {
      t.mock.timers.tick(1);
      await nextMacrotask();
      if (done()) return ms;
    }
    return undefined;
  };

  const first = await advanceUntil(() => pingsSent() === 1, 1300);
  assert.ok(first !== undefined && first >= 1000 && first <= 1250, `first ping after ${first} ms`);

  // An answer one millisecond before a whole interval has passed since the ping keeps the peer.
  assert.equal(await advanceUntil(() => pingsSent() > 1, 999), undefined, "no ping before a whole interval");
  raw.send(OP.PONG);
  await once(conn, "pong");
  const second = await advanceUntil(() => pingsSent() === 2, 251);
  assert.ok(second !== undefined, "the next ping came by 1.25 intervals");
  assert.equal(conn.readyState, ReadyState.OPEN);

  // Silence after it: open for a whole interval, closed with 1011 by 1.25 intervals.
  assert.equal(await advanceUntil(() => conn.readyState !== ReadyState.OPEN, 999), undefined);
  assert.equal(conn.readyState, ReadyState.OPEN, "a silent peer gets a whole interval to answer");
  assert.ok((await advanceUntil(() => conn.readyState !== ReadyState.OPEN, 251)) !== undefined, "closed by 1.25 intervals");
  const close = await raw.nextOf(OP.CLOSE);
  assert.equal(closeCodeOf(close), 1011);
  assert.equal(raw.frames.filter((f) => f.opcode === OP.PING).length, 2, "no ping after the one left unanswered");
  raw.send(OP.CLOSE, close.payload);
  assert.equal((await conn.closed()).code, 1011);
});
