// The Connection of the Wynd API: handler registration, the one-at-a-time delivery loop, the
// no-lost-message guarantee, exactly-once close, and errors routed to onError.
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { afterEach, test } from "node:test";
import { Wynd, type CloseEvent, type Handle } from "../../src/api/index.js";
import { WebSocketConnection } from "../../src/index.js";
import { encodeFrame } from "../../src/protocol/frame-encoder.js";
import { Opcode } from "../../src/protocol/constants.js";
import { openPeer, type Peer } from "../helpers/api-peer.js";

// Whatever a test opened is closed after it, even when an assertion failed half-way.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


async function open(port: number, path = "/"): Promise<Peer> {
  return openPeer(port, cleanups, path);
}

/** A promise and its resolver, to hand control between the test and a handler. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Opens a raw TCP connection and sends an upgrade request followed by `extra` in one write. */
async function rawUpgrade(port: number, extra: Buffer): Promise<Socket> {
  const socket = netConnect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const head =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  cleanups.push(() => socket.destroy());
  socket.write(Buffer.concat([Buffer.from(head, "latin1"), extra]));
  return socket;
}

async function server(setup: (wynd: Wynd) => void): Promise<{ wynd: Wynd; port: number }> {
  const wynd = new Wynd();
  cleanups.push(() => wynd.close());
  wynd.onError(() => {}); // tests that care add their own
  setup(wynd);
  const address = await wynd.listen(0, "127.0.0.1");
  return { wynd, port: address.port };
}

test("a client that sends right after the handshake loses no message while onConnection awaits", { timeout: 10_000 }, async () => {
  const ready = gate();
  const arrived = gate();
  const texts: string[] = [];
  const all = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection(async (conn) => {
      arrived.open();
      await ready.promise; // the client's messages reach the server meanwhile
      conn.onText((msg) => {
        texts.push(msg.data);
        if (texts.length === 5) all.open();
      });
    }),
  );
  const peer = await open(port);
  for (let i = 1; i <= 5; i++) peer.ws.sendText(String(i));
  await arrived.promise;
  await tick(50);
  assert.deepEqual(texts, [], "nothing is delivered before onConnection has finished");
  ready.open();
  await all.promise;
  assert.deepEqual(texts, ["1", "2", "3", "4", "5"]);
  peer.ws.close();
  await peer.closed;
  await wynd.close();
});

test("messages that arrive in the same packet as the upgrade request are delivered, in order", { timeout: 10_000 }, async () => {
  const texts: string[] = [];
  const all = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection(async (conn) => {
      await tick(10);
      conn.onText((msg) => {
        texts.push(msg.data);
        if (texts.length === 2) all.open();
      });
    }),
  );
  const frames = Buffer.concat([
    encodeFrame(Opcode.TEXT, Buffer.from("first"), true, true),
    encodeFrame(Opcode.TEXT, Buffer.from("second"), true, true),
  ]);
  const socket = await rawUpgrade(port, frames);
  await all.promise;
  assert.deepEqual(texts, ["first", "second"]);
  socket.destroy();
  await wynd.close();
});

test("await conn.onOpen runs the open handler at once and message handlers wait for it", { timeout: 10_000 }, async () => {
  const order: string[] = [];
  const done = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection(async (conn) => {
      const opened = conn.onOpen(async (handle) => {
        order.push("open start");
        await tick(30);
        await handle.sendText("welcome");
        order.push("open end");
      });
      order.push("onOpen returned");
      await opened;
      order.push("onOpen resolved");
      conn.onText((msg) => {
        order.push(`text ${msg.data}`);
        done.open();
      });
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("hi");
  assert.equal(await peer.next(), "welcome");
  await done.promise;
  assert.deepEqual(order, ["open start", "onOpen returned", "open end", "onOpen resolved", "text hi"]);
  peer.ws.close();
  await wynd.close();
});

test("text and binary messages reach onText and onBinary as TextMessage and BinaryMessage", { timeout: 10_000 }, async () => {
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText((msg, handle) => handle.sendText(`text:${msg.data}`));
      conn.onBinary((msg, handle) => {
        assert.ok(msg.data instanceof Uint8Array);
        return handle.sendBinary(Uint8Array.from(msg.data, (b) => b + 1));
      });
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("héllo");
  peer.ws.sendBinary(Uint8Array.of(1, 2, 3));
  assert.equal(await peer.next(), "text:héllo");
  assert.deepEqual(await peer.next(), Buffer.from([2, 3, 4]));
  peer.ws.close();
  await wynd.close();
});

test("onText gets the same string as a reference UTF-8 decoder for random texts of many sizes", { timeout: 20_000 }, async () => {
  const seed = Number(process.env.WYND_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
  // ASCII, 2-, 3- and 4-byte characters, so both the ASCII and the multi-byte paths are hit.
  const alphabet = ["a", "Z", "0", " ", "\u0000", "\u007f", "é", "\u07ff", "€", "\uffff", "𝄞", "😀"];
  const texts: string[] = [];
  for (const length of [0, 1, 7, 31, 32, 125, 126, 1_000, 70_000]) {
    let text = "";
    for (let i = 0; i < length; i++) text += alphabet[random(alphabet.length)];
    texts.push(text);
  }
  const received: string[] = [];
  const done = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText((msg) => {
        received.push(msg.data);
        if (received.length === texts.length) done.open();
      });
    }),
  );
  const peer = await open(port);
  for (const text of texts) peer.ws.sendText(text);
  await done.promise;
  const reference = new TextDecoder("utf-8", { fatal: true });
  for (const [i, text] of texts.entries()) {
    assert.equal(received[i], reference.decode(Buffer.from(text, "utf8")), `text ${i} differs (seed ${seed})`);
  }
  peer.ws.close();
  await wynd.close();
});

test("several handlers of one event run in registration order, each awaited before the next", { timeout: 10_000 }, async () => {
  const order: string[] = [];
  const done = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText(async (msg) => {
        order.push(`a ${msg.data} start`);
        await tick(20);
        order.push(`a ${msg.data} end`);
      });
      conn.onText((msg) => {
        order.push(`b ${msg.data}`);
        if (msg.data === "2") done.open();
      });
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("1");
  peer.ws.sendText("2");
  await done.promise;
  assert.deepEqual(order, ["a 1 start", "a 1 end", "b 1", "a 2 start", "a 2 end", "b 2"]);
  peer.ws.close();
  await wynd.close();
});

test("a connection's events are handled one at a time in arrival order even when handlers are async", { timeout: 10_000 }, async () => {
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      // Later messages are handled faster: a concurrent dispatcher would reorder the answers.
      conn.onText(async (msg, handle) => {
        await tick(Math.max(0, 40 - Number(msg.data) * 4));
        await handle.sendText(msg.data);
      });
      conn.onBinary((msg, handle) => handle.sendText(`binary ${msg.data.length}`));
    }),
  );
  const peer = await open(port);
  for (let i = 0; i < 10; i++) {
    peer.ws.sendText(String(i));
    if (i === 4) peer.ws.sendBinary(new Uint8Array(3));
  }
  const got: Array<string | Buffer> = [];
  for (let i = 0; i < 11; i++) got.push(await peer.next());
  assert.deepEqual(got, ["0", "1", "2", "3", "4", "binary 3", "5", "6", "7", "8", "9"]);
  peer.ws.close();
  await wynd.close();
});

test("onClose runs exactly once with the peer's close code and reason, after every message handler", { timeout: 10_000 }, async () => {
  const events: Array<{ event: CloseEvent; id: number }> = [];
  const order: string[] = [];
  const closed = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText(async (msg) => {
        await tick(20);
        order.push(msg.data);
      });
      conn.onClose((event, handle) => {
        order.push("close");
        events.push({ event, id: handle.id });
        closed.open();
      });
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("a");
  peer.ws.sendText("b");
  peer.ws.close(4000, "bye");
  await closed.promise;
  await peer.closed;
  await tick(30);
  assert.deepEqual(order, ["a", "b", "close"]);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.event, { code: 4000, reason: "bye", wasClean: true });
  await wynd.close();
  assert.equal(events.length, 1, "a server shutdown does not report it again");
});

test("onClose runs exactly once with 1006 when the peer disconnects abruptly", { timeout: 10_000 }, async () => {
  const events: CloseEvent[] = [];
  const closed = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onClose((event) => {
        events.push(event);
        closed.open();
      });
      conn.onClose(() => events.push({ code: -1, reason: "second handler", wasClean: false }));
    }),
  );
  const peer = await open(port);
  await tick();
  peer.ws.terminate();
  await closed.promise;
  await tick(30);
  assert.deepEqual(events, [
    { code: 1006, reason: "", wasClean: false },
    { code: -1, reason: "second handler", wasClean: false },
  ]);
  await wynd.close();
  assert.equal(events.length, 2);
});

test("a peer that closes while onConnection awaits gets its onClose, once, after the setup", { timeout: 10_000 }, async () => {
  const release = gate();
  const events: CloseEvent[] = [];
  const closed = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection(async (conn) => {
      await release.promise;
      conn.onClose((event) => {
        events.push(event);
        closed.open();
      });
    }),
  );
  const peer = await open(port);
  peer.ws.close(1000, "early");
  // The engine reads nothing until the setup has run: the Close frame waits with the messages.
  await tick(30);
  assert.deepEqual(events, []);
  release.open();
  await closed.promise;
  await peer.closed;
  assert.deepEqual(events, [{ code: 1000, reason: "early", wasClean: true }]);
  await wynd.close();
  assert.equal(events.length, 1);
});

test("onOpen does not run on a connection that middleware has closed, and onClose runs once", { timeout: 10_000 }, async () => {
  let opened = false;
  const events: CloseEvent[] = [];
  const closed = gate();
  const { wynd, port } = await server((w) => {
    w.use(async (_conn, handle, next) => {
      void handle.close(1008, "no token");
      await next();
    });
    w.onConnection(async (conn) => {
      await conn.onOpen(() => {
        opened = true;
      });
      conn.onClose((event) => {
        events.push(event);
        closed.open();
      });
    });
  });
  const peer = await open(port);
  const ended = await peer.closed;
  assert.equal(ended.code, 1008);
  assert.equal(ended.reason, "no token");
  await closed.promise;
  assert.equal(opened, false);
  assert.deepEqual(events, [{ code: 1008, reason: "", wasClean: true }]);
  await wynd.close();
});

test("an onClose handler added after the close was reported still runs, once", { timeout: 10_000 }, async () => {
  const closed = gate();
  const late = gate<CloseEvent>();
  let connection: Parameters<Parameters<Wynd["onConnection"]>[0]>[0] | undefined;
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      connection = conn;
      conn.onClose(() => closed.open());
    }),
  );
  const peer = await open(port);
  peer.ws.close(4001);
  await closed.promise;
  let calls = 0;
  connection!.onClose((event) => {
    calls++;
    late.open(event);
  });
  assert.deepEqual(await late.promise, { code: 4001, reason: "", wasClean: true });
  await tick();
  assert.equal(calls, 1);
  await wynd.close();
});

test("no message handler runs after the handle's close(), but onClose does", { timeout: 10_000 }, async () => {
  const texts: string[] = [];
  const closed = gate<CloseEvent>();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText(async (msg, handle) => {
        texts.push(msg.data);
        if (msg.data === "/quit") {
          await handle.sendText("Goodbye!");
          await handle.close(1000, "quit");
        }
      });
      conn.onClose((event) => closed.open(event));
    }),
  );
  const peer = await open(port);
  for (const text of ["a", "/quit", "b", "c"]) peer.ws.sendText(text);
  assert.equal(await peer.next(), "Goodbye!");
  const ended = await peer.closed;
  assert.equal(ended.code, 1000);
  assert.equal(ended.reason, "quit");
  assert.equal((await closed.promise).code, 1000);
  assert.deepEqual(texts, ["a", "/quit"]);
  await wynd.close();
});

test("an exception in a handler goes to the connection's onError, then the server's, and the connection stays open", { timeout: 10_000 }, async () => {
  const connectionErrors: string[] = [];
  const serverErrors: Array<{ message: string; id: number | undefined }> = [];
  const { wynd, port } = await server((w) => {
    w.onError((error, handle) => serverErrors.push({ message: error.message, id: handle?.id }));
    w.onConnection((conn) => {
      conn.onError((error) => connectionErrors.push(error.message));
      conn.onText((msg, handle) => {
        if (msg.data === "throw") throw new Error("thrown");
        if (msg.data === "reject") return Promise.reject(new Error("rejected"));
        return handle.sendText(`ok ${msg.data}`);
      });
    });
  });
  const peer = await open(port);
  peer.ws.sendText("throw");
  peer.ws.sendText("reject");
  peer.ws.sendText("after");
  assert.equal(await peer.next(), "ok after");
  assert.deepEqual(connectionErrors, ["thrown", "rejected"]);
  assert.equal(serverErrors.length, 2);
  assert.deepEqual(
    serverErrors.map((e) => e.message),
    ["thrown", "rejected"],
  );
  assert.ok(serverErrors.every((e) => typeof e.id === "number"));
  peer.ws.close();
  await wynd.close();
});

test("a non-Error thrown by a handler reaches onError as a WyndError with the value as its cause", { timeout: 10_000 }, async () => {
  const reported = gate<Error>();
  const { wynd, port } = await server((w) => {
    w.onError((error) => reported.open(error));
    w.onConnection((conn) => {
      conn.onText(() => {
        throw "a string"; // eslint-disable-line no-throw-literal
      });
    });
  });
  const peer = await open(port);
  peer.ws.sendText("x");
  const error = (await reported.promise) as Error & { code?: string; cause?: unknown };
  assert.equal(error.code, "ERR_HANDLER_THREW");
  assert.equal(error.cause, "a string");
  peer.ws.close();
  await wynd.close();
});

test("a failing onConnection handler is reported and its connection is closed with 1011", { timeout: 10_000 }, async () => {
  const reported = gate<Error>();
  const closeEvents: CloseEvent[] = [];
  const serverClosed = gate();
  const { wynd, port } = await server((w) => {
    w.onError((error) => reported.open(error));
    w.onConnection(async (conn) => {
      conn.onClose((event) => {
        closeEvents.push(event);
        serverClosed.open();
      });
      await tick(5);
      throw new Error("setup failed");
    });
  });
  const peer = await open(port);
  assert.equal((await reported.promise).message, "setup failed");
  const ended = await peer.closed;
  assert.equal(ended.code, 1011);
  // The server reports its close when its socket closes, which on a loaded machine may come
  // well after the client saw the end: wait for it rather than for a fixed delay.
  await serverClosed.promise;
  await tick();
  assert.equal(closeEvents.length, 1);
  assert.equal(wynd.clients().length, 0);
  await wynd.close();
});

test("an onError handler that throws is reported to the server and nothing escapes", { timeout: 10_000 }, async () => {
  const serverErrors: string[] = [];
  const { wynd, port } = await server((w) => {
    w.onError((error) => {
      serverErrors.push(error.message);
      throw new Error("server handler fails too"); // printed, never rethrown
    });
    w.onConnection((conn) => {
      conn.onError(() => {
        throw new Error("connection error handler failed");
      });
      conn.onText((msg, handle) => {
        if (msg.data === "boom") throw new Error("boom");
        return handle.sendText("alive");
      });
    });
  });
  const originalError = console.error;
  const printed: unknown[][] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    const peer = await open(port);
    peer.ws.sendText("boom");
    peer.ws.sendText("still there?");
    assert.equal(await peer.next(), "alive");
    peer.ws.close();
    await peer.closed;
  } finally {
    console.error = originalError;
  }
  assert.deepEqual(serverErrors, ["connection error handler failed", "boom"]);
  assert.equal(printed.length, 2);
  await wynd.close();
});

test("a protocol error by the peer reaches the connection's onError before onClose", { timeout: 10_000 }, async () => {
  const order: string[] = [];
  const closed = gate();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onError((error) => order.push(`error ${(error as Error & { closeCode?: number }).closeCode}`));
      conn.onClose((event) => {
        order.push(`close ${event.code}`);
        closed.open();
      });
    }),
  );
  // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame (1002).
  const socket = await rawUpgrade(port, encodeFrame(Opcode.TEXT, Buffer.from("unmasked"), true, false));
  socket.resume();
  await closed.promise;
  assert.equal(order[0], "error 1002");
  assert.match(order[1]!, /^close 100[26]$/);
  socket.destroy();
  await wynd.close();
});

test("onPing receives the peer's pings and onPong the answers to handle.ping()", { timeout: 10_000 }, async () => {
  const pings: string[] = [];
  const pong = gate<string>();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onPing((data, handle) => {
        pings.push(Buffer.from(data).toString());
        return handle.ping("from server");
      });
      conn.onPong((data) => pong.open(Buffer.from(data).toString()));
    }),
  );
  const peer = await open(port);
  const clientPong = new Promise<string>((resolve) => peer.ws.once("pong", (data) => resolve(data.toString())));
  peer.ws.ping("from client");
  assert.equal(await clientPong, "from client", "the engine answered the ping");
  assert.equal(await pong.promise, "from server");
  assert.deepEqual(pings, ["from client"]);
  peer.ws.close();
  await wynd.close();
});

test("the connection's id is its handle's id and every handler gets the same handle", { timeout: 10_000 }, async () => {
  const seen = new Set<Handle>();
  const done = gate();
  let connectionId = -1;
  const { wynd, port } = await server((w) =>
    w.onConnection(async (conn, handle) => {
      connectionId = conn.id;
      seen.add(handle);
      seen.add(conn.handle);
      await conn.onOpen((h) => {
        seen.add(h);
      });
      conn.onText((_msg, h) => {
        seen.add(h);
        done.open();
      });
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("x");
  await done.promise;
  assert.equal(seen.size, 1);
  assert.equal([...seen][0]!.id, connectionId);
  peer.ws.close();
  await wynd.close();
});

test("registering something other than a function throws a TypeError", async () => {
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      assert.throws(() => conn.onText(undefined as never), TypeError);
      assert.throws(() => conn.onOpen(42 as never), TypeError);
    }),
  );
  const peer = await open(port);
  peer.ws.close();
  await peer.closed;
  await wynd.close();
});

test("a slow handler makes the server stop reading from its peer once the backlog is large, losing nothing", { timeout: 30_000 }, async (t) => {
  // The server side of the connection, caught when the API first pauses it (during the setup).
  const engines: WebSocketConnection[] = [];
  const pause = WebSocketConnection.prototype.pause;
  t.mock.method(WebSocketConnection.prototype, "pause", function (this: WebSocketConnection) {
    if (this.role === "server" && !engines.includes(this)) engines.push(this);
    return pause.call(this);
  });
  const release = gate();
  const order: number[] = [];
  const all = gate();
  const count = 8;
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onBinary(async (msg) => {
        if (order.length === 0) await release.promise; // the first message blocks the loop
        order.push(msg.data[0]!);
        if (order.length === count) all.open();
      });
    }),
  );
  const peer = await open(port);
  await tick();
  const engine = engines[0]!;
  assert.equal(engine.isPaused, false, "after the setup the engine reads");
  for (let i = 0; i < count; i++) peer.ws.sendBinary(new Uint8Array(512 * 1024).fill(i)); // 4 MiB
  // Past the queue bound (64 KiB) the engine stops reading: the rest stays in TCP buffers.
  for (let i = 0; i < 100 && !engine.isPaused; i++) await tick(20);
  assert.equal(engine.isPaused, true, "the engine kept reading behind a blocked handler");
  assert.deepEqual(order, []);
  release.open();
  await all.promise;
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(engine.isPaused, false, "reading resumes once the backlog is handled");
  peer.ws.close();
  await wynd.close();
});

test("a handler slower than the heartbeat does not get its live peer closed", { timeout: 10_000 }, async () => {
  const wynd = new Wynd({ heartbeatIntervalMs: 40 });
  cleanups.push(() => wynd.close());
  const closes: number[] = [];
  wynd.onConnection((conn) => {
    conn.onText(async (msg, handle) => {
      await tick(400); // ten heartbeat intervals: the engine must still read the peer's pongs
      await handle.sendText(`done ${msg.data}`);
    });
    conn.onClose((event) => closes.push(event.code));
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  const peer = await open(port);
  peer.ws.sendText("slow");
  assert.equal(await peer.next(), "done slow");
  assert.deepEqual(closes, []);
  peer.ws.close();
  await peer.closed;
  await wynd.close();
});

test("a peer's Close frame is answered at once even while a handler is busy", { timeout: 10_000 }, async () => {
  const release = gate();
  const closed = gate<CloseEvent>();
  const { wynd, port } = await server((w) =>
    w.onConnection((conn) => {
      conn.onText(() => release.promise);
      conn.onClose((event) => closed.open(event));
    }),
  );
  const peer = await open(port);
  peer.ws.sendText("busy");
  await tick();
  peer.ws.close(4003, "leaving");
  const ended = await peer.closed; // does not wait for the handler, nor for closeTimeoutMs
  assert.deepEqual(ended, { code: 4003, reason: "", wasClean: true });
  release.open();
  assert.deepEqual(await closed.promise, { code: 4003, reason: "leaving", wasClean: true });
  await wynd.close();
});
