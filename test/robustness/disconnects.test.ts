// Robustness: peers that vanish at the worst moment — mid-frame, mid-handshake, mid-send, mid
// closing handshake — by a FIN, a reset, or a half-close. The server reports each connection's
// end exactly once (1006 when no Close frame arrived) and keeps serving; our client does too.
import assert from "node:assert/strict";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { connect, WebSocketServer } from "../../src/index.js";
import type { WebSocketConnection } from "../../src/transport/connection.js";
import { wsEcho, wsOpened } from "../helpers/interop.js";
import { RecordingPeer, acceptFor, upgradeRequest } from "../helpers/recording-peer.js";

/** A peer of these tests: half-open allowed, so a half-close test keeps reading after its own FIN. */
function peerAt(port: number): RecordingPeer {
  return new RecordingPeer(port, { allowHalfOpen: true });
}

const MASK = Buffer.from([0x0f, 0xf0, 0x55, 0xaa]);

function clientFrame(b0: number, payload: Buffer): Buffer {
  const head =
    payload.length < 126
      ? Buffer.from([b0, 0x80 | payload.length])
      : Buffer.from([b0, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ MASK[i % 4]!;
  return Buffer.concat([head, MASK, masked]);
}

/** Where a frame (or message) is cut: the bytes sent before the peer vanishes. */
const CUTS: ReadonlyArray<[where: string, bytes: Buffer]> = (() => {
  const frame = clientFrame(0x82, Buffer.alloc(300, 0x33)); // 2 + 2 (length) + 4 (mask) + 300
  const close = clientFrame(0x88, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])); // 1000 "bye"
  return [
    ["mid header", frame.subarray(0, 1)],
    ["mid extended length", frame.subarray(0, 3)],
    ["mid masking key", frame.subarray(0, 6)],
    ["mid payload", frame.subarray(0, 158)],
    ["between fragments", Buffer.concat([clientFrame(0x01, Buffer.from("part one, ")), clientFrame(0x00, Buffer.from("two")).subarray(0, 5)])],
    ["mid close frame", close.subarray(0, 8)],
  ];
})();

type Vanish = "FIN" | "reset" | "half-close";
const VANISHES: readonly Vanish[] = ["FIN", "reset", "half-close"];

function vanish(peer: RecordingPeer, how: Vanish): void {
  if (how === "FIN") peer.socket.destroy();
  else if (how === "reset") peer.socket.resetAndDestroy();
  else peer.socket.end();
}

interface Target {
  readonly port: number;
  readonly server: WebSocketServer;
  /** Every close event of every server-side connection, by path. */
  readonly closes: Map<string, Array<[number, string, boolean]>>;
  connectionFor(path: string): Promise<WebSocketConnection>;
  upgrade(path: string): Promise<RecordingPeer>;
  probe(): Promise<void>;
}

async function target(t: TestContext): Promise<Target> {
  const server = new WebSocketServer({ closeTimeoutMs: 5000 });
  const closes = new Map<string, Array<[number, string, boolean]>>();
  const byPath = new Map<string, WebSocketConnection>();
  const waiters = new Map<string, (c: WebSocketConnection) => void>();
  server.on("connection", (connection, request) => {
    const events: Array<[number, string, boolean]> = [];
    closes.set(request.path, events);
    connection.on("close", (...args) => events.push(args));
    connection.on("error", () => {});
    connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
    byPath.set(request.path, connection);
    waiters.get(request.path)?.(connection);
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const peers: RecordingPeer[] = [];
  const clients: WebSocket[] = [];
  t.after(async () => {
    for (const peer of peers) peer.socket.destroy();
    for (const ws of clients) ws.terminate();
    await server.close({ timeoutMs: 2000 });
  });
  const connectionFor = (path: string): Promise<WebSocketConnection> => {
    const known = byPath.get(path);
    return known !== undefined ? Promise.resolve(known) : new Promise((resolve) => waiters.set(path, resolve));
  };
  return {
    port,
    server,
    closes,
    connectionFor,
    async upgrade(path) {
      const peer = peerAt(port);
      peers.push(peer);
      assert.ok(await peer.write(upgradeRequest(path)), "the request was written");
      assert.match(await peer.head(), /^HTTP\/1\.1 101 /);
      return peer;
    },
    async probe() {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/probe`);
      clients.push(ws);
      await wsOpened(ws);
      assert.equal(await wsEcho(ws, "alive?"), "alive?");
      ws.terminate();
    },
  };
}

describe("robustness: abrupt and half-open disconnects", () => {
  it("end a connection cut mid-frame with exactly one close event, 1006, whichever way the peer vanishes", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    const paths: string[] = [];
    for (const [where, bytes] of CUTS) {
      for (const how of VANISHES) {
        const path = `/${where.replaceAll(" ", "-")}-${how}`;
        paths.push(path);
        const peer = await s.upgrade(path);
        const connection = await s.connectionFor(path);
        const closed = connection.closed();
        assert.ok(await peer.write(bytes), "the write went through");
        vanish(peer, how);
        if (how === "half-close") {
          // The server must not keep a half-open connection: it closes its side too.
          await peer.until(() => peer.ended, `the server's FIN (${where})`);
          peer.socket.destroy();
        }
        assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false }, `${where}, ${how}`);
      }
    }
    await s.probe();
    await s.server.close();
    for (const path of paths) assert.deepEqual(s.closes.get(path), [[1006, "", false]], path);
  });

  it("forgets a handshake cut short, whichever way the peer vanishes, and keeps serving", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    let connections = 0;
    s.server.on("connection", () => connections++);
    const request = upgradeRequest("/cut");
    for (const cut of [1, 10, request.indexOf("\r\n") + 2, request.length - 3, request.length - 1]) {
      for (const how of VANISHES) {
        const peer = peerAt(s.port);
        assert.ok(await peer.write(request.slice(0, cut)), "the write went through");
        vanish(peer, how);
        if (how === "half-close") await peer.until(() => peer.ended, "the server's FIN"); // no lingering
        peer.socket.destroy();
        await peer.whenClosed;
      }
    }
    await s.probe();
    assert.equal(connections, 1, "only the probe was accepted");
  });

  it("drops a handshake that never completes (slowloris) after handshakeTimeoutMs, even if bytes keep dripping", { timeout: 30_000 }, async (t) => {
    const server = new WebSocketServer({ handshakeTimeoutMs: 300 });
    const refusals: number[] = [];
    server.on("handshakeError", (error) => refusals.push(error.status));
    const { port } = await server.listen(0, "127.0.0.1");
    t.after(() => server.close({ timeoutMs: 2000 }));
    const silent = peerAt(port);
    const dripping = peerAt(port);
    assert.ok(await dripping.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"), "the write went through");
    // One more header line every 20 ms: the timer runs from the TCP accept, not from the last byte.
    const dropped = (peer: RecordingPeer) => peer.ended || peer.closed; // a FIN, or a reset after one
    for (let i = 0; i < 1000 && !dropped(dripping); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (!dropped(dripping)) dripping.socket.write(`X-Drip-${i % 50}: ${i}\r\n`);
    }
    // Both sockets are half-open capable: the server's FIN is what ends them.
    await dripping.until(() => dropped(dripping), "the server dropping the dripping handshake");
    await silent.until(() => dropped(silent), "the server dropping the silent handshake");
    silent.socket.destroy();
    dripping.socket.destroy();
    assert.deepEqual(refusals, [408, 408]);
    assert.equal(server.connections.size, 0);
  });

  it("cuts off a peer that ignores our Close frame after closeTimeoutMs, reporting 1006 once", { timeout: 30_000 }, async (t) => {
    const server = new WebSocketServer({ closeTimeoutMs: 300 });
    const accepted = new Promise<WebSocketConnection>((resolve) => server.once("connection", resolve));
    const { port } = await server.listen(0, "127.0.0.1");
    t.after(() => server.close({ timeoutMs: 2000 }));
    const peer = peerAt(port);
    assert.ok(await peer.write(upgradeRequest("/deaf")), "the write went through");
    const connection = await accepted;
    const events: number[] = [];
    connection.on("close", (code) => events.push(code));
    const closed = connection.closed();
    connection.close(1001, "going");
    // The peer reads the Close frame and the FIN but never answers nor closes: with
    // allowHalfOpen its socket stays open, so only the server's timer can end this.
    await peer.until(() => peer.ended, "the server's FIN");
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    peer.socket.destroy();
    await peer.whenClosed;
    assert.deepEqual(events, [1006]);
  });

  it("survives a peer that resets while the server is sending it a large message", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    const peer = await s.upgrade("/large");
    const connection = await s.connectionFor("/large");
    const closed = connection.closed();
    peer.socket.pause(); // the 8 MiB stays in the buffers
    connection.sendBinary(Buffer.alloc(8 * 1024 * 1024, 1));
    connection.sendText("and then some");
    await new Promise((resolve) => setImmediate(resolve));
    peer.socket.resetAndDestroy();
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
    assert.equal(connection.sendText("after the end"), false);
    await s.probe();
    await s.server.close();
    assert.equal(s.closes.get("/large")?.length, 1);
  });

  it("reports one close event when the peer vanishes during the closing handshake, either way round", { timeout: 30_000 }, async (t) => {
    const s = await target(t);
    // The server starts the closing handshake; the peer vanishes without answering: 1006.
    const quiet = await s.upgrade("/server-closes");
    const first = await s.connectionFor("/server-closes");
    const firstClosed = first.closed();
    first.close(1000, "bye");
    await quiet.until(() => quiet.received.includes(Buffer.from([0x88])), "the server's Close frame");
    quiet.socket.resetAndDestroy();
    assert.deepEqual(await firstClosed, { code: 1006, reason: "", wasClean: false });
    // The peer sends its Close frame and vanishes at once: its code is reported, once.
    const hasty = await s.upgrade("/client-closes");
    const second = await s.connectionFor("/client-closes");
    const secondClosed = second.closed();
    hasty.socket.write(clientFrame(0x88, Buffer.from([0x0f, 0xa0]))); // 4000
    hasty.socket.destroy();
    assert.equal((await secondClosed).code, 4000);
    await s.probe();
    await s.server.close();
    assert.equal(s.closes.get("/server-closes")?.length, 1);
    assert.equal(s.closes.get("/client-closes")?.length, 1);
  });

  it("makes our client report 1006 once when a server vanishes mid-frame, whichever way", { timeout: 30_000 }, async (t) => {
    const sockets: Socket[] = [];
    let onUpgraded: ((socket: Socket) => void) | undefined;
    const raw = createNetServer({ allowHalfOpen: true }, (socket) => {
      sockets.push(socket);
      socket.on("error", () => {});
      let head = "";
      const onData = (chunk: Buffer) => {
        head += chunk.toString("latin1");
        const match = /Sec-WebSocket-Key: (\S+)\r\n/i.exec(head);
        if (!head.includes("\r\n\r\n") || match === null) return;
        socket.off("data", onData);
        socket.resume();
        const accept = acceptFor(match[1]!);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        onUpgraded?.(socket);
      };
      socket.on("data", onData);
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => raw.close(resolve));
    });
    const { port } = raw.address() as AddressInfo;
    // Unmasked server frames, cut.
    const cuts = [Buffer.from([0x82]), Buffer.from([0x82, 126, 0x01]), Buffer.concat([Buffer.from([0x81, 10]), Buffer.from("hello")])];
    for (const cut of cuts) {
      for (const how of VANISHES) {
        const upgraded = new Promise<Socket>((resolve) => (onUpgraded = resolve));
        const client = await connect(`ws://127.0.0.1:${port}/`);
        client.on("error", () => {});
        const events: number[] = [];
        client.on("close", (code) => events.push(code));
        const closed = client.closed();
        const socket = await upgraded;
        socket.write(cut);
        if (how === "FIN") socket.destroy();
        else if (how === "reset") socket.resetAndDestroy();
        else socket.end(); // the client must close its side too
        assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
        socket.destroy();
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(events, [1006]);
      }
    }
  });
});
