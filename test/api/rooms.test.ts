// Broadcast and rooms: framed once, the sender skipped unless asked, slow peers never delay the
// others, rooms deleted when empty, and a closed connection out of every room.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Wynd, type Handle, type WyndOptions } from "../../src/api/index.js";
import { ReadyState, WebSocketConnection, connect, type PreparedMessage } from "../../src/index.js";
import { openPeer, type Peer } from "../helpers/api-peer.js";

// Whatever a test opened is closed after it, even when an assertion failed half-way.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


async function open(port: number): Promise<Peer> {
  return openPeer(port, cleanups);
}

function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A server with `count` ready clients; handles[i] is the server side of peers[i]. */
async function cluster(
  count: number,
  options: WyndOptions = {},
  setup: (wynd: Wynd) => void = () => {},
): Promise<{ wynd: Wynd; port: number; peers: Peer[]; handles: Handle[] }> {
  const wynd = new Wynd(options);
  cleanups.push(() => wynd.close());
  wynd.onError(() => {});
  setup(wynd);
  const { port } = await wynd.listen(0, "127.0.0.1");
  const peers: Peer[] = [];
  const handles: Handle[] = [];
  for (let i = 0; i < count; i++) {
    peers.push(await open(port));
    // A connection is a client once its setup ran: wait for it, in order.
    while (wynd.clients().length < i + 1) await tick(2);
    handles.push(wynd.clients()[i]!);
  }
  return { wynd, port, peers, handles };
}

test("handle.broadcast reaches every other client, and the sender too with includeSelf", { timeout: 10_000 }, async () => {
  const { peers, handles } = await cluster(3);
  const [a, b, c] = peers as [Peer, Peer, Peer];
  assert.equal(handles[0]!.broadcast("from a"), 2);
  assert.equal(await b.next(), "from a");
  assert.equal(await c.next(), "from a");
  assert.equal(handles[0]!.broadcast("to all", { includeSelf: true }), 3);
  assert.equal(handles[0]!.broadcast("not c", { except: handles[2]! }), 1);
  for (const peer of [a, b, c]) assert.equal(await peer.next(), "to all");
  assert.equal(await b.next(), "not c");
  await tick();
  assert.deepEqual(a.pending, [], "the sender did not get its own broadcasts");
  assert.deepEqual(c.pending, []);
});

test("wynd.broadcast reaches every client but except, as text or binary", { timeout: 10_000 }, async () => {
  const { wynd, peers, handles } = await cluster(3);
  assert.equal(wynd.broadcast("hello everyone"), 3);
  assert.equal(wynd.broadcast(Uint8Array.of(7, 8), { except: handles[1]! }), 2);
  for (const peer of peers) assert.equal(await peer.next(), "hello everyone");
  assert.deepEqual(await peers[0]!.next(), Buffer.from([7, 8]));
  assert.deepEqual(await peers[2]!.next(), Buffer.from([7, 8]));
  await tick();
  assert.deepEqual(peers[1]!.pending, []);
  assert.throws(() => wynd.broadcast(42 as never), TypeError);
});

test("a broadcast is framed once: every recipient is handed the same prepared bytes", { timeout: 10_000 }, async (t) => {
  const { wynd, peers, handles } = await cluster(4);
  const calls: Array<{ connection: WebSocketConnection; message: PreparedMessage }> = [];
  const original = WebSocketConnection.prototype.sendPrepared;
  t.mock.method(WebSocketConnection.prototype, "sendPrepared", function (this: WebSocketConnection, message: PreparedMessage) {
    calls.push({ connection: this, message });
    return original.call(this, message);
  });
  handles[0]!.broadcast("x".repeat(100_000)); // large: header and payload as two chunks
  wynd.to("nobody").broadcast("framed for nobody");
  handles[0]!.join("pair");
  handles[1]!.join("pair");
  wynd.to("pair").broadcast("room message");
  t.mock.restoreAll();
  assert.equal(calls.length, 5);
  const [first, ...rest] = calls.slice(0, 3).map((call) => call.message);
  assert.ok(rest.every((message) => message === first), "one PreparedMessage for all recipients");
  assert.equal(new Set(calls.slice(0, 3).map((call) => call.connection)).size, 3);
  assert.equal(calls[3]!.message, calls[4]!.message);
  assert.notEqual(calls[3]!.message, first);
  for (const peer of peers.slice(1)) assert.equal((await peer.next()).length, 100_000);
  assert.equal(await peers[0]!.next(), "room message");
  assert.equal(await peers[1]!.next(), "room message");
});

test("rooms: join, leave, to(room).broadcast, size, clients, has and the room list", { timeout: 10_000 }, async () => {
  const { wynd, peers, handles } = await cluster(3);
  const [a, b, c] = handles as [Handle, Handle, Handle];
  assert.deepEqual(wynd.rooms(), []);
  a.join("lobby").join("games");
  b.join("lobby");
  c.join("games").join("games"); // twice: still one membership
  assert.deepEqual(wynd.rooms().sort(), ["games", "lobby"]);
  assert.deepEqual(a.rooms, ["lobby", "games"]);
  const lobby = wynd.to("lobby");
  assert.equal(lobby.name, "lobby");
  assert.equal(lobby.size, 2);
  assert.deepEqual(lobby.clients(), [a, b]);
  assert.ok(lobby.has(a) && !lobby.has(c));
  assert.equal(wynd.to("games").size, 2);

  assert.equal(lobby.broadcast("lobby news"), 2);
  assert.equal(a.to("games").broadcast("a to games"), 1, "the sender is skipped");
  assert.equal(a.to("games").broadcast("a to games, self too", { includeSelf: true }), 2);
  assert.equal(c.to("lobby").broadcast("c is not a member but may send"), 2);
  assert.equal(await peers[0]!.next(), "lobby news");
  assert.equal(await peers[1]!.next(), "lobby news");
  assert.equal(await peers[2]!.next(), "a to games");
  assert.equal(await peers[2]!.next(), "a to games, self too");
  assert.equal(await peers[0]!.next(), "a to games, self too");
  assert.equal(await peers[0]!.next(), "c is not a member but may send");
  assert.equal(await peers[1]!.next(), "c is not a member but may send");

  b.leave("lobby").leave("never joined");
  assert.deepEqual(lobby.clients(), [a]);
  a.leave("lobby");
  assert.equal(lobby.size, 0);
  assert.deepEqual(wynd.rooms(), ["games"], "a room is deleted when its last member leaves");
  assert.equal(lobby.broadcast("to nobody"), 0);
  assert.equal(wynd.to("").size, 0, "any string names a room");
  assert.throws(() => a.join(1 as never), TypeError);
});

test("a connection that disconnects abruptly leaves every room, even when its onClose handler throws", { timeout: 10_000 }, async () => {
  const closed: number[] = [];
  const { wynd, peers, handles } = await cluster(2, {}, (w) =>
    w.onConnection((conn) => {
      conn.onClose((_event, handle) => {
        closed.push(handle.id);
        throw new Error("a user close handler that fails");
      });
    }),
  );
  const [a, b] = handles as [Handle, Handle];
  a.join("solo").join("shared");
  b.join("shared");
  peers[0]!.ws.terminate();
  while (closed.length === 0) await tick(5);
  assert.deepEqual(wynd.rooms(), ["shared"]);
  assert.deepEqual(wynd.to("shared").clients(), [b]);
  assert.deepEqual(a.rooms, []);
  assert.deepEqual(wynd.clients(), [b]);
  a.join("after close"); // a closed connection cannot rejoin
  assert.deepEqual(wynd.rooms(), ["shared"]);
});

test("a room member that is gone is skipped before its onClose runs", { timeout: 10_000 }, async () => {
  let release!: () => void;
  const busy = new Promise<void>((resolve) => (release = resolve));
  const { wynd, peers, handles } = await cluster(2, {}, (w) =>
    w.onConnection((conn) => {
      conn.onText(() => busy); // holds the connection's loop: its onClose waits behind
    }),
  );
  handles[0]!.join("r");
  handles[1]!.join("r");
  peers[0]!.ws.sendText("keep busy");
  await tick();
  peers[0]!.ws.terminate();
  await peers[0]!.closed;
  while (wynd.to("r").size === 2) await tick(5);
  assert.equal(wynd.to("r").broadcast("who is left?"), 1);
  assert.equal(await peers[1]!.next(), "who is left?");
  release();
});

test("a slow recipient never delays the others, and its own overflow policy applies to it alone", { timeout: 20_000 }, async () => {
  const errors: string[] = [];
  const { wynd, peers, handles } = await cluster(3, { highWaterMarkBytes: 16 * 1024, maxBufferedBytes: 2 * 1024 * 1024 }, (w) =>
    w.onConnection((conn) => conn.onError((error) => errors.push((error as Error & { code: string }).code))),
  );
  const [slow, fast1, fast2] = peers as [Peer, Peer, Peer];
  slow.ws.pause();
  await tick();
  // Fill the slow peer's buffers, then broadcast until its overflow policy cuts it (bounded:
  // 200 × 256 KiB is far more than loopback buffers and 2 MiB can hold).
  void handles[0]!.sendText("s".repeat(1024 * 1024)).catch(() => {});
  let count = 0;
  while (count < 200 && handles[0]!.state === ReadyState.OPEN) {
    assert.ok(wynd.broadcast(`${count} ${"b".repeat(256 * 1024)}`) >= 2);
    count++;
    await tick(1);
  }
  assert.notEqual(handles[0]!.state, ReadyState.OPEN, "the slow peer was cut");
  for (const peer of [fast1, fast2]) {
    for (let i = 0; i < count; i++) assert.ok(((await peer.next()) as string).startsWith(`${i} `));
  }
  assert.deepEqual(errors, ["ERR_BUFFER_OVERFLOW"]);
  assert.deepEqual(wynd.clients(), handles.slice(1));
  slow.ws.resume(); // lets the client see the reset
  assert.equal((await slow.closed).code, 1006);
});

test("clients() and broadcasts include a connection only once its setup has finished", { timeout: 10_000 }, async () => {
  let admit!: () => void;
  const admitted = new Promise<void>((resolve) => (admit = resolve));
  const { wynd, port, peers } = await cluster(1, {}, (w) =>
    w.use(async (_conn, handle, next) => {
      if (handle.query.has("wait")) await admitted; // e.g. an authentication round-trip
      await next();
    }),
  );
  const ws = await connect(`ws://127.0.0.1:${port}/?wait`);
  cleanups.push(() => ws.terminate());
  const received: string[] = [];
  ws.on("message", (data) => received.push(data.toString()));
  await tick(30);
  assert.equal(wynd.clients().length, 1);
  assert.equal(wynd.broadcast("secret"), 1, "the connection being authenticated is not reached");
  assert.equal(await peers[0]!.next(), "secret");
  admit();
  while (wynd.clients().length < 2) await tick(2);
  assert.equal(wynd.broadcast("welcome all"), 2);
  await tick(30);
  assert.deepEqual(received, ["welcome all"]);
});

test("holdBroadcasts holds room and all-client broadcasts, not direct sends; releaseBroadcasts sends them in order", { timeout: 10_000 }, async () => {
  const { wynd, peers, handles } = await cluster(2);
  const [a, b] = peers as [Peer, Peer];
  const held = handles[0]!;
  held.join("r");
  handles[1]!.join("r");
  assert.equal(held.holdBroadcasts(), held);
  held.holdBroadcasts(); // twice holds once
  assert.equal(wynd.to("r").broadcast("one"), 2, "a held message counts as queued");
  wynd.broadcast(Buffer.from([1, 2, 3]));
  handles[1]!.to("r").broadcast("two");
  await held.sendText("direct");
  assert.equal(await a.next(), "direct", "a direct send is not held");
  assert.equal(await b.next(), "one", "the others are not held");
  await tick();
  assert.deepEqual(a.pending, []);
  assert.equal(held.releaseBroadcasts(), 3);
  assert.equal(await a.next(), "one");
  assert.deepEqual(await a.next(), Buffer.from([1, 2, 3]));
  assert.equal(await a.next(), "two");
  wynd.to("r").broadcast("live again");
  assert.equal(await a.next(), "live again", "no longer held");
  assert.equal(held.releaseBroadcasts(), 0, "nothing to release when not holding");
});

test("releaseBroadcasts(keep) sends only what keep accepts, given text as a string and binary as bytes", { timeout: 10_000 }, async () => {
  const { wynd, peers, handles } = await cluster(1);
  const [a] = peers as [Peer];
  const held = handles[0]!;
  held.holdBroadcasts();
  const big = "x".repeat(70_000); // a 10-byte header, payload referenced rather than copied
  const medium = "é".repeat(100); // 200 bytes: a 4-byte header
  const large = Buffer.alloc(20_000, 7); // framed as a header and the payload itself
  for (const data of ["drop 1", "keep 2", medium, big, Buffer.from("bin"), large]) wynd.broadcast(data);
  const seen: Array<string | Buffer> = [];
  const sent = held.releaseBroadcasts((data) => {
    seen.push(data);
    return typeof data !== "string" || !data.startsWith("drop");
  });
  assert.equal(sent, 5);
  assert.deepEqual(seen, ["drop 1", "keep 2", medium, big, Buffer.from("bin"), large]);
  assert.equal(await a.next(), "keep 2");
  assert.equal(await a.next(), medium);
  assert.equal(await a.next(), big);
  assert.deepEqual(await a.next(), Buffer.from("bin"));
  assert.deepEqual(await a.next(), large);
});

test("held broadcasts count toward maxBufferedBytes: exactly the limit is held, one byte more follows the policy", { timeout: 10_000 }, async () => {
  // "drop": a 100-byte limit holds 98 + 2 bytes of frames, the next message is dropped and counted.
  const dropping = await cluster(1, { maxBufferedBytes: 100, backpressurePolicy: "drop" });
  const handle = dropping.handles[0]!;
  handle.holdBroadcasts();
  assert.equal(dropping.wynd.broadcast("a".repeat(96)), 1, "98 bytes on the wire: held");
  assert.equal(dropping.wynd.broadcast(""), 1, "2 bytes more: exactly the limit");
  assert.equal(dropping.wynd.broadcast(""), 0, "one frame more: dropped");
  assert.equal(handle.releaseBroadcasts(), 2);
  assert.equal(await dropping.peers[0]!.next(), "a".repeat(96));
  assert.equal(await dropping.peers[0]!.next(), "");
  // "close" (the default): the connection is cut, as for a send past the limit.
  const closing = await cluster(1, { maxBufferedBytes: 100 });
  const victim = closing.handles[0]!;
  victim.holdBroadcasts();
  assert.equal(closing.wynd.broadcast("a".repeat(98)), 1);
  assert.equal(closing.wynd.broadcast("b"), 0);
  while (victim.state !== ReadyState.CLOSED) await tick(2);
  assert.equal(victim.releaseBroadcasts(), 0, "nothing is sent on a closed connection");
});
