// The Handle of the Wynd API: what it tells about the connection, and its sends (the shared
// resolved promise, backpressure on await, typed rejections), ping and close.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Wynd, type Handle, type WyndOptions } from "../../src/api/index.js";
import { ConnectionClosedError, ReadyState, WyndError, type ClientOptions } from "../../src/index.js";
import { openPeer, type Peer } from "../helpers/api-peer.js";

// Whatever a test opened is closed after it, even when an assertion failed half-way.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


async function open(port: number, path = "/", options: ClientOptions = {}): Promise<Peer> {
  return openPeer(port, cleanups, path, options);
}

function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A server whose onConnection hands each handle to the test, in order. */
async function serve<Data = Record<string, unknown>>(
  options: WyndOptions<Data> = {},
): Promise<{ wynd: Wynd<Data>; port: number; nextHandle: () => Promise<Handle<Data>> }> {
  const wynd = new Wynd<Data>(options);
  cleanups.push(() => wynd.close());
  wynd.onError(() => {});
  const handles: Array<Handle<Data>> = [];
  const waiters: Array<(handle: Handle<Data>) => void> = [];
  wynd.onConnection((_conn, handle) => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(handle);
    else handles.push(handle);
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  return {
    wynd,
    port,
    nextHandle: () => (handles.length > 0 ? Promise.resolve(handles.shift()!) : new Promise((resolve) => waiters.push(resolve))),
  };
}

test("a handle knows its id, peer address, path, query, headers, protocol and state", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve({
    selectProtocol: (offered) => (offered.includes("chat.v2") ? "chat.v2" : undefined),
  });
  const peer = await open(port, "/rooms/lobby?token=abc&lang=fr&lang=en", {
    protocols: ["chat.v1", "chat.v2"],
    headers: [
      ["X-Trace", "one"],
      ["x-trace", "two"],
    ],
  });
  const handle = await nextHandle();
  assert.equal(typeof handle.id, "number");
  assert.equal(handle.remoteAddress, "127.0.0.1");
  assert.equal(handle.path, "/rooms/lobby");
  assert.equal(handle.query.get("token"), "abc");
  assert.deepEqual(handle.query.getAll("lang"), ["fr", "en"]);
  assert.equal(handle.headers["x-trace"], "one, two");
  assert.equal(handle.headers["upgrade"], "websocket");
  assert.equal(handle.headers["X-Trace"], undefined, "names are lower-cased");
  assert.equal(handle.protocol, "chat.v2");
  assert.equal(peer.ws.protocol, "chat.v2");
  assert.equal(handle.state, ReadyState.OPEN);
  assert.equal(handle.bufferedAmount, 0);
  const closing = handle.close();
  assert.equal(handle.state, ReadyState.CLOSING);
  await closing;
  assert.equal(handle.state, ReadyState.CLOSED);
  await wynd.close();
});

test("handle.data starts as createData's result and keeps what handlers store in it", { timeout: 10_000 }, async () => {
  interface Session {
    user: string;
    messages: number;
  }
  const wynd: Wynd<Session> = new Wynd<Session>({ createData: (request) => ({ user: new URLSearchParams(request.query).get("user") ?? "anon", messages: 0 }) });
  cleanups.push(() => wynd.close());
  wynd.onConnection((conn) => {
    conn.onText((_msg, handle) => {
      handle.data.messages++;
      return handle.sendText(`${handle.data.user} ${handle.data.messages}`);
    });
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  const peer = await open(port, "/?user=ada");
  peer.ws.sendText("a");
  peer.ws.sendText("b");
  assert.equal(await peer.next(), "ada 1");
  assert.equal(await peer.next(), "ada 2");
  const untyped = await serve();
  const other = await open(untyped.port);
  assert.deepEqual((await untyped.nextHandle()).data, {}, "the default data is an empty object");
  other.ws.close();
  peer.ws.close();
  await Promise.all([wynd.close(), untyped.wynd.close()]);
});

test("sends below the backpressure limit all return the same resolved promise", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const peer = await open(port);
  const handle = await nextHandle();
  const first = handle.sendText("one");
  const second = handle.sendBinary(Uint8Array.of(2));
  const third = handle.ping("three");
  assert.equal(first, second, "no allocation per call: one shared promise");
  assert.equal(second, third);
  await first;
  assert.equal(await peer.next(), "one");
  assert.deepEqual(await peer.next(), Buffer.from([2]));
  peer.ws.close();
  await wynd.close();
});

test("await sendText waits for drain while the peer does not read, and resolves once it does", { timeout: 30_000 }, async () => {
  const highWaterMarkBytes = 16 * 1024;
  const { wynd, port, nextHandle } = await serve({ highWaterMarkBytes, maxBufferedBytes: 256 * 1024 * 1024 });
  const peer = await open(port);
  let receivedBytes = 0;
  peer.ws.on("message", (data) => (receivedBytes += data.byteLength));
  const handle = await nextHandle();
  peer.ws.pause(); // the client stops reading: kernel buffers fill, then ours
  await tick();
  const chunk = "x".repeat(256 * 1024);
  let sent = 0;
  let waiting: Promise<void> | undefined;
  // Bounded: loopback socket buffers hold a few MiB at most; 256 sends are 64 MiB.
  for (let i = 0; i < 256 && waiting === undefined; i++) {
    const promise = handle.sendText(chunk);
    sent += chunk.length;
    let settled = false;
    void promise.then(() => (settled = true));
    await tick(30);
    if (!settled && handle.bufferedAmount >= highWaterMarkBytes) waiting = promise;
  }
  assert.ok(waiting !== undefined, "the outbound buffer never stayed above the high-water mark");
  let resolved = false;
  void waiting.then(() => (resolved = true));
  await tick(100);
  assert.equal(resolved, false, "the send waits while the peer does not read");
  assert.ok(handle.bufferedAmount >= highWaterMarkBytes);
  peer.ws.resume();
  await waiting;
  assert.ok(handle.bufferedAmount < highWaterMarkBytes);
  while (receivedBytes < sent) await tick();
  assert.equal(receivedBytes, sent, "every byte arrived");
  peer.ws.close();
  await wynd.close();
});

test("sends, ping and close on a closed connection reject with ConnectionClosedError or resolve", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const peer = await open(port);
  const handle = await nextHandle();
  peer.ws.close(4002, "gone");
  await peer.closed;
  while (handle.state !== ReadyState.CLOSED) await tick(5);
  for (const attempt of [() => handle.sendText("x"), () => handle.sendBinary(new Uint8Array(1)), () => handle.ping()]) {
    await assert.rejects(attempt(), (error: unknown) => {
      assert.ok(error instanceof ConnectionClosedError);
      assert.equal(error.code, "ERR_CONNECTION_CLOSED");
      assert.equal(error.closeCode, 4002);
      return true;
    });
  }
  await handle.close(); // idempotent: resolves on a closed connection
  // Not awaited: must not become an unhandled rejection that kills the process.
  void handle.sendText("fire and forget");
  handle.sendText("fire and forget, not even voided");
  await tick();
  await wynd.close();
});

test("a send the 'drop' policy discards rejects with ERR_MESSAGE_DROPPED and the connection stays open", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve({
    highWaterMarkBytes: 1024,
    maxBufferedBytes: 64 * 1024,
    backpressurePolicy: "drop",
  });
  const peer = await open(port);
  const handle = await nextHandle();
  const chunk = "y".repeat(40 * 1024);
  // In one tick nothing is flushed: the second message would take the buffer past 64 KiB.
  const first = handle.sendText(chunk);
  const second = handle.sendText(chunk);
  await assert.rejects(second, (error: unknown) => error instanceof WyndError && error.code === "ERR_MESSAGE_DROPPED");
  await first;
  assert.equal(handle.state, ReadyState.OPEN);
  assert.equal((await peer.next()).length, chunk.length);
  peer.ws.close();
  await wynd.close();
});

test("a send past maxBufferedBytes under the 'close' policy rejects and the overflow reaches onError", { timeout: 10_000 }, async () => {
  const wynd = new Wynd({ highWaterMarkBytes: 1024, maxBufferedBytes: 64 * 1024 });
  cleanups.push(() => wynd.close());
  const errors: string[] = [];
  let handle: Handle | undefined;
  const closed = new Promise<number>((resolve) =>
    wynd.onConnection((conn, h) => {
      handle = h;
      conn.onError((error) => errors.push((error as WyndError).code));
      conn.onClose((event) => resolve(event.code));
    }),
  );
  const { port } = await wynd.listen(0, "127.0.0.1");
  const peer = await open(port);
  while (handle === undefined) await tick(5);
  const chunk = "z".repeat(40 * 1024);
  void handle.sendText(chunk);
  await assert.rejects(handle.sendText(chunk), ConnectionClosedError);
  assert.equal(await closed, 1006);
  assert.deepEqual(errors, ["ERR_BUFFER_OVERFLOW"]);
  await peer.closed;
  await wynd.close();
});

test("a send waiting for drain rejects when the connection closes first", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve({ highWaterMarkBytes: 1024 });
  const peer = await open(port);
  const handle = await nextHandle();
  const below = handle.sendText("");
  const waiting = handle.sendText("w".repeat(8 * 1024)); // above the mark: waits for a drain
  assert.notEqual(waiting, below, "a send above the mark does not get the resolved promise");
  assert.equal(handle.sendText(""), waiting, "sends waiting for the same drain share one promise");
  peer.ws.terminate();
  // Either the bytes were flushed before the reset (drain) or the close came first.
  await waiting.then(
    () => {},
    (error: unknown) => assert.ok(error instanceof ConnectionClosedError),
  );
  await wynd.close();
});

test("close() defaults to 1000, sends code and reason, and resolves once the connection is closed", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const a = await open(port);
  const first = await nextHandle();
  await first.close();
  assert.equal(first.state, ReadyState.CLOSED);
  assert.deepEqual(await a.closed, { code: 1000, reason: "", wasClean: true });
  const b = await open(port);
  const second = await nextHandle();
  const closing = second.close(4100, "custom reason");
  assert.equal(second.close(4200, "ignored"), closing, "a second close() waits for the same end");
  await closing;
  assert.deepEqual(await b.closed, { code: 4100, reason: "custom reason", wasClean: true });
  await wynd.close();
});

test("close() rejects with RangeError for a code that may not be sent, and the connection stays open", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const peer = await open(port);
  const handle = await nextHandle();
  await assert.rejects(handle.close(1006), RangeError);
  await assert.rejects(handle.close(1000, "r".repeat(124)), RangeError);
  assert.equal(handle.state, ReadyState.OPEN);
  await handle.sendText("still open");
  assert.equal(await peer.next(), "still open");
  peer.ws.close();
  await wynd.close();
});

test("ping sends its payload to the peer", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const peer = await open(port);
  const handle = await nextHandle();
  const ping = new Promise<string>((resolve) => peer.ws.once("ping", (data) => resolve(data.toString())));
  await handle.ping(Uint8Array.from(Buffer.from("are you there")));
  assert.equal(await ping, "are you there");
  peer.ws.close();
  await wynd.close();
});

test("sendText and sendBinary throw a TypeError for the wrong kind of data", { timeout: 10_000 }, async () => {
  const { wynd, port, nextHandle } = await serve();
  const peer = await open(port);
  const handle = await nextHandle();
  assert.throws(() => handle.sendText(Uint8Array.of(1) as never), TypeError);
  assert.throws(() => handle.sendBinary("text" as never), TypeError);
  peer.ws.close();
  await wynd.close();
});

test("a text message echoed, forwarded, sent after an await or sent altered arrives exactly as each send says", { timeout: 10_000 }, async () => {
  // The message being handled is sent from its received bytes (no re-encoding): every way of
  // sending it, or a string equal to it, or another one, must still put the right text on the wire.
  const wynd = new Wynd();
  cleanups.push(() => wynd.close());
  wynd.onError(() => {});
  wynd.onConnection((conn) => {
    conn.onText(async (msg, handle) => {
      await handle.sendText(msg.data);
      await handle.sendText(`${msg.data}!`);
      wynd.broadcast(msg.data);
      handle.to("room").broadcast(msg.data);
      await tick(5);
      await handle.sendText(msg.data);
      await handle.sendText(["é", ...msg.data].join("").slice(1)); // equal, built anew
    });
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  const peer = await open(port);
  const texts = ["héllo €𝄞", "a", "x".repeat(20_000) + "ü"];
  for (const text of texts) {
    peer.ws.sendText(text);
    const got = [await peer.next(), await peer.next(), await peer.next(), await peer.next(), await peer.next()];
    assert.deepEqual(got, [text, `${text}!`, text, text, text]);
  }
});

test("utf8Of gives the received bytes only for the text message being handled, and only while it is", async () => {
  const { forgetDecoded, rememberDecoded, utf8Of } = await import("../../src/api/decoded-text.js");
  const bytes = Buffer.from("héllo", "utf8");
  rememberDecoded(bytes.toString("utf8"), bytes);
  assert.equal(utf8Of("héllo"), bytes);
  assert.equal(utf8Of("hello"), undefined);
  forgetDecoded();
  assert.equal(utf8Of("héllo"), undefined);
});
