// Writing: batching per tick, large payloads not copied, bufferedAmount and the high-water mark,
// maxBufferedBytes and its two policies at the exact edge, auto-pong under backpressure,
// fragmented and prepared messages, broadcast.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import { connect, InvalidStateError, prepareMessage, ReadyState, WyndError, type WebSocketConnection } from "../../src/index.js";
import { COPY_THRESHOLD_BYTES } from "../../src/protocol/index.js";
import { closeCodeOf, frame, OP, RawClient, type Frame } from "../fixtures/raw-peer.js";
import { nextConnection, nextMacrotask, record, startServer, startSocketServer } from "../fixtures/servers.js";
import { tcpStatesOf } from "../fixtures/tcp-states.js";

const T = { timeout: 20_000 };

/** Records the first argument of every `write` call on `socket`. */
function spyWrites(socket: Socket): Buffer[] {
  const calls: Buffer[] = [];
  const original = socket.write;
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    calls.push(args[0] as Buffer);
    return (original as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket["write"];
  return calls;
}

/** A connected raw client and its server-side connection and socket. */
async function pair(
  t: import("node:test").TestContext,
  options: Parameters<typeof startSocketServer>[1] = {},
): Promise<{ raw: RawClient; conn: WebSocketConnection; socket: Socket }> {
  const { server, port, sockets } = await startSocketServer(t, options);
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port);
  const conn = await accepted;
  return { raw, conn, socket: sockets[sockets.length - 1]! };
}

function describe(f: Frame): string {
  const body = f.opcode === OP.BINARY ? `${f.payload.length}b` : f.payload.toString();
  return `${f.fin ? "" : "~"}${f.opcode}:${body}`;
}

test("several sends in one tick leave in one socket write", T, async (t) => {
  const { raw, conn, socket } = await pair(t);
  const writes = spyWrites(socket);
  conn.sendText("one");
  conn.sendBinary(Buffer.from("two"));
  conn.ping("three");
  conn.sendText("four");
  assert.equal(writes.length, 0, "nothing is written before the end of the tick");
  await raw.frameAt(3);
  assert.equal(writes.length, 1);
  assert.deepEqual(raw.frames.map(describe), ["1:one", "2:3b", "9:three", "1:four"]);
});

test("sends from several callbacks of one tick to several connections are written once per connection", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const raws: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const accepted = nextConnection(server);
    raws.push(await RawClient.open(port));
    await accepted;
  }
  const spies = sockets.map(spyWrites);
  const connections = [...server.connections];
  process.nextTick(() => connections.forEach((c) => c.sendText("a")));
  for (const c of connections) c.sendText("b");
  await Promise.all(raws.map((raw) => raw.frameAt(1)));
  for (const spy of spies) assert.equal(spy.length, 1);
  for (const raw of raws) assert.deepEqual(raw.frames.map(describe), ["1:b", "1:a"]);
});

test("small frames of connections written in turn within one tick each reach their peer intact and in order", T, async (t) => {
  // Small frames are encoded into one buffer shared by every connection: interleaved sends
  // (text, bytes, a ping, a prepared message, frames of every header size) must not mix.
  const { server, port } = await startSocketServer(t);
  const raws: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const accepted = nextConnection(server);
    raws.push(await RawClient.open(port));
    await accepted;
  }
  const connections = [...server.connections];
  const expected: string[][] = connections.map(() => []);
  const prepared = prepareMessage("all");
  for (let round = 0; round < 40; round++) {
    connections.forEach((c, i) => {
      const size = [0, 5, 125, 126, 3000, COPY_THRESHOLD_BYTES][(round + i) % 6]!;
      if (round % 7 === 3) {
        c.ping(`p${i}`);
        expected[i]!.push(`9:p${i}`);
      } else if (round % 5 === 1) {
        c.sendPrepared(prepared);
        expected[i]!.push("1:all");
      } else if (round % 2 === 0) {
        const text = `${i}:${round}:`.padEnd(size, "é").slice(0, Math.max(size, 1));
        c.sendText(text);
        expected[i]!.push(`1:${text}`);
      } else {
        c.sendBinary(Buffer.alloc(size, i));
        expected[i]!.push(`2:${size}b`);
      }
    });
  }
  await Promise.all(raws.map((raw, i) => raw.frameAt(expected[i]!.length - 1)));
  raws.forEach((raw, i) => assert.deepEqual(raw.frames.map(describe), expected[i]));
});

test("echoes of one read are written in one write before the next tick", T, async (t) => {
  const { raw, conn, socket } = await pair(t);
  const writes = spyWrites(socket);
  // A tick queued before the first echo is sent: with the write batcher alone, the echoes would
  // be written after it.
  let ticked = false;
  conn.once("message", () => process.nextTick(() => (ticked = true)));
  conn.on("message", (data, isBinary) => conn.sendMessage(data, isBinary));
  let writtenBeforeTick: boolean | undefined;
  const original = socket.write.bind(socket);
  socket.write = ((...args: Parameters<Socket["write"]>) => {
    writtenBeforeTick ??= !ticked;
    return original(...args);
  }) as Socket["write"];
  raw.socket.write(Buffer.concat([frame(OP.TEXT, "a"), frame(OP.TEXT, "b"), frame(OP.BINARY, "c")]));
  await raw.frameAt(2);
  assert.equal(writes.length, 1);
  assert.equal(writtenBeforeTick, true);
  assert.deepEqual(raw.frames.map(describe), ["1:a", "1:b", "2:1b"]);
});

for (const size of [COPY_THRESHOLD_BYTES + 1, 20 * 1024, 100 * 1024]) {
  test(`a binary payload of ${size} bytes reaches socket.write without being copied`, T, async (t) => {
    const { raw, conn, socket } = await pair(t);
    const writes = spyWrites(socket);
    const payload = new Uint8Array(size).map((_, i) => i & 0xff);
    conn.sendText("before");
    conn.sendBinary(payload);
    conn.sendText("after");
    await raw.frameAt(2);
    const chunk = writes.find((w) => w.buffer === payload.buffer);
    assert.ok(chunk, "the payload's own ArrayBuffer was written");
    assert.equal(chunk.byteOffset, payload.byteOffset);
    assert.equal(chunk.byteLength, size);
    assert.deepEqual(raw.frames.map(describe), ["1:before", `2:${size}b`, "1:after"]);
    assert.ok(raw.frames[1]!.payload.equals(payload));
  });
}

test("a small binary payload is copied into the frame (one write for header and payload)", T, async (t) => {
  const { raw, conn, socket } = await pair(t);
  const writes = spyWrites(socket);
  const payload = Buffer.alloc(COPY_THRESHOLD_BYTES, 7);
  conn.sendBinary(payload);
  await raw.frameAt(0);
  assert.equal(writes.length, 1);
  assert.notEqual(writes[0]!.buffer, payload.buffer);
  assert.equal(writes[0]!.byteLength, payload.length + 4);
});

test("bufferedAmount counts the frame bytes queued this tick and returns to 0 once written", T, async (t) => {
  const { raw, conn } = await pair(t);
  assert.equal(conn.bufferedAmount, 0);
  conn.sendBinary(Buffer.alloc(1000));
  assert.equal(conn.bufferedAmount, 1004);
  conn.sendText("hi");
  assert.equal(conn.bufferedAmount, 1008);
  await raw.frameAt(1);
  assert.equal(conn.bufferedAmount, 0);
});

test("a send returns false exactly at highWaterMarkBytes and drain follows once", T, async (t) => {
  const { raw, conn } = await pair(t, { highWaterMarkBytes: 1024 });
  const drains = record(conn, "drain");
  assert.equal(conn.sendBinary(Buffer.alloc(1019)), true, "1023 bytes wait: below the mark");
  assert.equal(conn.sendBinary(Buffer.alloc(0)), false, "1025 bytes wait: at or above the mark");
  await once(conn, "drain");
  await raw.frameAt(1);
  await nextMacrotask();
  assert.equal(drains.length, 1);
  assert.equal(conn.sendBinary(Buffer.alloc(1020)), false, "1024 bytes: the mark itself is not below it");
  await once(conn, "drain");
});

test("drain follows even when the high-water mark is below the socket's own and the kernel buffer is full", T, async (t) => {
  const hwm = 1024;
  const { raw, conn } = await pair(t, { highWaterMarkBytes: hwm });
  raw.socket.pause(); // the peer stops reading: the kernel buffers fill up
  const chunk = Buffer.alloc(4096);
  let full = false;
  // 4 KiB per tick: every socket.write stays under the socket's own 16 KiB mark, so Node's
  // 'drain' event is never armed; only the connection can notice the buffer emptying.
  for (let i = 0; i < 50_000 && !full; i++) {
    const ok = conn.sendBinary(chunk);
    await nextMacrotask();
    full = !ok && conn.bufferedAmount >= hwm;
  }
  assert.ok(full, "the kernel buffers never filled up");
  const drained = once(conn, "drain");
  raw.socket.resume();
  await drained;
  assert.ok(conn.bufferedAmount < hwm);
  assert.equal(conn.readyState, ReadyState.OPEN);
});

test('maxBufferedBytes with policy "close": exactly the limit passes, one byte more closes with 1006', T, async (t) => {
  const { raw, conn } = await pair(t, { maxBufferedBytes: 100 });
  const errors = record<[Error]>(conn, "error");
  assert.equal(conn.sendBinary(Buffer.alloc(98)), true, "a 100-byte frame fits exactly");
  assert.equal(conn.readyState, ReadyState.OPEN);
  assert.equal(conn.sendBinary(Buffer.alloc(0)), false, "a 2-byte frame more does not");
  assert.equal(errors.length, 1);
  assert.ok(errors[0]![0] instanceof WyndError);
  assert.equal((errors[0]![0] as WyndError).code, "ERR_BUFFER_OVERFLOW");
  assert.equal(conn.error, errors[0]![0]);
  assert.deepEqual(await conn.closed(), { code: 1006, reason: "", wasClean: false });
  await raw.whenClosed(); // reset: the peer may see ECONNRESET
});

test('policy "close" resets the connection of a peer that does not read (RST), rather than ending it behind the unread bytes', T, async (t) => {
  const maxBufferedBytes = 256 * 1024;
  const { raw, conn } = await pair(t, { maxBufferedBytes });
  raw.socket.pause(); // the peer stops reading: the kernel buffers fill, then the server's
  const peerPort = raw.socket.localPort!;
  const serverPort = raw.socket.remotePort!;
  const message = Buffer.alloc(64 * 1024, 0x42);
  // Bounded: the kernel buffers of a loopback pair hold a few MiB; 4,000 × 64 KiB is far beyond.
  for (let i = 0; i < 4000 && conn.readyState === ReadyState.OPEN; i++) {
    conn.sendBinary(message); // ignores the backpressure signal, as a careless app would
    await nextMacrotask();
  }
  assert.equal((conn.error as WyndError | undefined)?.code, "ERR_BUFFER_OVERFLOW");
  assert.deepEqual(await conn.closed(), { code: 1006, reason: "", wasClean: false });
  // Ended with a FIN, the server's kernel would keep the connection in FIN-WAIT-1 with the
  // unsent bytes, and the peer's stay ESTABLISHED, until the peer reads or TCP gives up
  // (minutes). Reset, neither end holds anything: wait (bounded) for the RST to be processed.
  let states = tcpStatesOf(peerPort, serverPort);
  for (let i = 0; i < 200 && states.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    states = tcpStatesOf(peerPort, serverPort);
  }
  assert.deepEqual(states, [], "the kernel still holds the connection");
  // The peer, waking up, finds the connection closed (it reads what its own buffer held).
  raw.socket.resume();
  await raw.whenClosed();
});

test('maxBufferedBytes with policy "close" counts UTF-8 bytes of text, not characters', T, async (t) => {
  const { conn } = await pair(t, { maxBufferedBytes: 100 });
  assert.equal(conn.sendText("é".repeat(49)), true, "98 UTF-8 bytes: a 100-byte frame");
  assert.equal(conn.readyState, ReadyState.OPEN);
  assert.equal(conn.sendText(""), false);
  assert.deepEqual(await conn.closed(), { code: 1006, reason: "", wasClean: false });
});

test('maxBufferedBytes with policy "drop": exactly the limit passes, the next message is dropped and counted', T, async (t) => {
  const { raw, conn } = await pair(t, { maxBufferedBytes: 100, backpressurePolicy: "drop" });
  assert.equal(conn.sendBinary(Buffer.alloc(98)), true);
  assert.equal(conn.droppedMessages, 0);
  assert.equal(conn.sendBinary(Buffer.alloc(0)), false);
  assert.equal(conn.sendText("€".repeat(33)), false, "99 UTF-8 bytes in 33 characters do not fit either");
  assert.equal(conn.droppedMessages, 2);
  assert.equal(conn.readyState, ReadyState.OPEN);
  await raw.frameAt(0);
  // Once written, there is room again.
  assert.equal(conn.sendText("é".repeat(49)), true);
  assert.equal(conn.droppedMessages, 2);
  await raw.frameAt(1);
  assert.deepEqual(raw.frames.map(describe), ["2:98b", `1:${"é".repeat(49)}`]);
});

test('policy "drop" applies to every kind of send: fragmented and prepared messages too', T, async (t) => {
  const { conn } = await pair(t, { maxBufferedBytes: 100, backpressurePolicy: "drop" });
  // 3 fragments of 30 bytes: 3 * 32 = 96 bytes on the wire.
  assert.equal(conn.sendFragmented(Buffer.alloc(90), 30), true);
  assert.equal(conn.bufferedAmount, 96);
  assert.equal(conn.sendPrepared(prepareMessage(Buffer.alloc(3))), false, "5 bytes more would be 101");
  assert.equal(conn.sendPrepared(prepareMessage(Buffer.alloc(2))), true, "4 bytes more is exactly 100");
  assert.equal(conn.droppedMessages, 1);
});

test("auto-pong answers only the latest ping while above the high-water mark, then answers on drain", T, async (t) => {
  const { raw, conn } = await pair(t, { highWaterMarkBytes: 1024 });
  const pings = record<[Buffer]>(conn, "ping");
  conn.once("ping", () => conn.sendBinary(Buffer.alloc(4000))); // now above the mark
  raw.socket.write(
    Buffer.concat(["1", "2", "3", "4"].map((p) => frame(OP.PING, p))),
  );
  await raw.frameAt(2);
  await nextMacrotask();
  assert.deepEqual(pings.map(([data]) => data.toString()), ["1", "2", "3", "4"]);
  assert.deepEqual(raw.frames.map(describe), ["10:1", "2:4000b", "10:4"]);
});

test("a pong held back above the high-water mark is sent on drain without a drain event for a sender never refused", T, async (t) => {
  // The auto-pong itself (127 bytes) crosses a 64-byte mark: the next ping is held back.
  const { raw, conn } = await pair(t, { highWaterMarkBytes: 64 });
  const drains = record(conn, "drain");
  raw.socket.write(Buffer.concat([frame(OP.PING, "a".repeat(125)), frame(OP.PING, "b".repeat(125))]));
  await raw.frameAt(1);
  assert.deepEqual(raw.frames.map((f) => [f.opcode, f.payload.toString()[0]]), [
    [OP.PONG, "a"],
    [OP.PONG, "b"],
  ]);
  await nextMacrotask();
  assert.equal(drains.length, 0);
});

test("autoPong false leaves pings unanswered", T, async (t) => {
  const { raw, conn } = await pair(t, { autoPong: false });
  const pings = record<[Buffer]>(conn, "ping");
  raw.send(OP.PING, "x");
  await once(conn, "ping");
  conn.sendText("marker");
  await raw.frameAt(0);
  assert.deepEqual(raw.frames.map(describe), ["1:marker"]);
  assert.equal(pings.length, 1);
});

test("sendFragmented sends a first frame, continuations and one final frame", T, async (t) => {
  const { raw, conn } = await pair(t);
  assert.equal(conn.sendFragmented("hello world", 4), true);
  conn.sendFragmented(Buffer.from("abcdef"), 3);
  conn.sendFragmented("", 10);
  conn.sendFragmented("exact", 5);
  conn.sendText("end");
  await raw.frameAt(7);
  assert.deepEqual(raw.frames.map(describe), ["~1:hell", "~0:o wo", "0:rld", "~2:3b", "0:def", "1:", "1:exact", "1:end"]);
  assert.throws(() => conn.sendFragmented("x", 0), RangeError);
  assert.throws(() => conn.sendFragmented("x", 1.5), RangeError);
});

test("a text message fragmented inside a UTF-8 sequence is reassembled by the peer", T, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const serverSide = await accepted;
  const fromServer = once(client, "message");
  const fromClient = once(serverSide, "message");
  serverSide.sendFragmented("€uro €", 1);
  client.sendFragmented("zoë €", 2); // masked fragments from the client
  const [[a, aBinary], [b, bBinary]] = (await Promise.all([fromServer, fromClient])) as [[Buffer, boolean], [Buffer, boolean]];
  assert.equal(a.toString(), "€uro €");
  assert.equal(aBinary, false);
  assert.equal(b.toString(), "zoë €");
  assert.equal(bBinary, false);
  client.close();
  await serverSide.closed();
});

test("sendPrepared and broadcast write the very same bytes to every recipient and skip except", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t);
  const raws: RawClient[] = [];
  const connections: WebSocketConnection[] = [];
  for (let i = 0; i < 3; i++) {
    const accepted = nextConnection(server);
    raws.push(await RawClient.open(port));
    connections.push(await accepted);
  }
  const spies = sockets.map(spyWrites);
  assert.equal(server.broadcast("to all but one", { except: connections[1]! }), 2);
  await raws[0]!.frameAt(0);
  await raws[2]!.frameAt(0);
  assert.equal(spies[0]!.length, 1);
  assert.equal(spies[0]![0], spies[2]![0], "one buffer, written to both sockets");
  assert.equal(spies[1]!.length, 0);
  // The skipped client got nothing before the pong of a later ping.
  raws[1]!.send(OP.PING, "?");
  await raws[1]!.nextOf(OP.PONG);
  assert.deepEqual(raws[1]!.frames.map(describe), ["10:?"]);

  const big = Buffer.alloc(COPY_THRESHOLD_BYTES * 2, 1);
  const prepared = prepareMessage(big);
  for (const c of connections) assert.equal(c.sendPrepared(prepared), true);
  await Promise.all(raws.map((raw) => raw.until(() => raw.frames.some((f) => f.opcode === OP.BINARY))));
  for (const spy of spies) assert.ok(spy.some((w) => w.buffer === big.buffer), "the payload itself, not a copy");
  const wire = raws.map((raw) => raw.frames.find((f) => f.opcode === OP.BINARY)!.payload);
  for (const payload of wire) assert.ok(payload.equals(big));

  assert.equal(server.broadcast(Buffer.from("bytes as text"), { isBinary: false }), 3);
  await Promise.all(raws.map((raw) => raw.until(() => raw.frames.some((f) => f.opcode === OP.TEXT && f.payload.toString() === "bytes as text"))));
});

test("broadcast skips connections that are closing and counts only those it queued for", T, async (t) => {
  const { server, port } = await startServer(t, { maxBufferedBytes: 64, backpressurePolicy: "drop" });
  const raws: RawClient[] = [];
  const connections: WebSocketConnection[] = [];
  for (let i = 0; i < 3; i++) {
    const accepted = nextConnection(server);
    raws.push(await RawClient.open(port));
    connections.push(await accepted);
  }
  connections[0]!.close(1000);
  connections[1]!.sendBinary(Buffer.alloc(40)); // 42 bytes wait: the broadcast's 32 do not fit
  assert.equal(server.broadcast(Buffer.alloc(30)), 1);
  assert.equal(connections[1]!.droppedMessages, 1);
  await raws[2]!.frameAt(0);
  assert.equal(raws[2]!.frames[0]!.payload.length, 30);
  assert.equal(closeCodeOf(await raws[0]!.frameAt(0)), 1000);
});

test("a client cannot send prepared (unmasked) frames", T, async (t) => {
  const { url } = await startServer(t);
  const client = await connect(url);
  assert.throws(() => client.sendPrepared(prepareMessage("x")), InvalidStateError);
  client.close();
  await client.closed();
});
