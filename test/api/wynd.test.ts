// The Wynd server: listen, close, onError, onClose, attach, handleUpgrade, use, the pre-upgrade
// hook and the engine options it passes through.
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, test } from "node:test";
import { Wynd, type CloseEvent } from "../../src/api/index.js";
import { HandshakeError, InvalidStateError, connect, type WebSocketConnection } from "../../src/index.js";

// Whatever a test opened is closed after it, even when an assertion failed half-way.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<void> }>(wynd: T): T {
  cleanups.push(() => wynd.close());
  return wynd;
}

async function open(url: string): Promise<WebSocketConnection> {
  const ws = await connect(url);
  cleanups.push(() => ws.terminate());
  return ws;
}

function nextText(ws: WebSocketConnection): Promise<string> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(data.toString())));
}

function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function httpServer(handler = (_req: unknown, res: { end(body: string): void }) => res.end("plain http")): Promise<{ server: HttpServer; port: number }> {
  const server = createServer(handler);
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

test("listen(0) resolves with the bound address and calls onListening with it first", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  assert.equal(wynd.address, undefined);
  let seen: AddressInfo | undefined;
  const address = await wynd.listen(0, (bound) => {
    seen = bound;
  });
  assert.ok(address.port > 0);
  assert.equal(address.address, "127.0.0.1", "the default host is the loopback interface");
  assert.deepEqual(seen, address);
  assert.deepEqual(wynd.address, address);
  const other = track(new Wynd());
  const second = await other.listen(0, "127.0.0.1", () => {});
  assert.notEqual(second.port, address.port);
});

test("a listen failure rejects and is reported to onError", { timeout: 10_000 }, async () => {
  const first = track(new Wynd());
  const { port } = await first.listen(0, "127.0.0.1");
  const second = track(new Wynd());
  const reported: Error[] = [];
  second.onError((error) => reported.push(error));
  let called = false;
  await assert.rejects(
    second.listen(port, "127.0.0.1", () => (called = true)),
    (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE",
  );
  assert.equal(called, false);
  assert.equal((reported[0] as NodeJS.ErrnoException | undefined)?.code, "EADDRINUSE");
});

test("close() sends 1001 to every client, waits for their onClose handlers, then runs onClose", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  const order: string[] = [];
  wynd.onConnection((conn) => {
    conn.onClose(async (event, handle) => {
      await tick(10);
      order.push(`client ${handle.id} ${event.code}`);
    });
  });
  wynd.onClose(() => order.push("server closed"));
  wynd.onClose(async () => {
    await tick(5);
    order.push("second server handler");
  });
  const { port } = await wynd.listen(0);
  const a = await open(`ws://127.0.0.1:${port}`);
  const b = await open(`ws://127.0.0.1:${port}`);
  while (wynd.clients().length < 2) await tick(2);
  const ids = wynd.clients().map((h) => h.id);
  const closing = wynd.close();
  assert.equal(wynd.close(), closing, "close() twice returns the same promise");
  await closing;
  assert.deepEqual((await a.closed()).code, 1001);
  assert.deepEqual((await b.closed()).code, 1001);
  assert.deepEqual(order.slice(0, 2).sort(), ids.map((id) => `client ${id} 1001`).sort());
  assert.deepEqual(order.slice(2), ["server closed", "second server handler"]);
  await assert.rejects(wynd.listen(0), InvalidStateError);
});

test("close(code, reason) sends that code and reason, and interrupts a busy handler's connection", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  const events: CloseEvent[] = [];
  const texts: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let finish!: () => void;
  const busy = new Promise<void>((resolve) => (finish = resolve));
  wynd.onConnection((conn) => {
    conn.onText(async (msg) => {
      texts.push(msg.data);
      started();
      await busy; // still running when the shutdown starts
    });
    conn.onClose((event) => events.push(event));
  });
  const { port } = await wynd.listen(0);
  const ws = await open(`ws://127.0.0.1:${port}`);
  ws.sendText("first");
  await running;
  ws.sendText("dropped: the server is going away");
  const closing = wynd.close(1012, "restarting");
  const ended = await ws.closed();
  finish();
  await closing;
  assert.equal(ended.code, 1012);
  assert.equal(ended.reason, "restarting");
  assert.deepEqual(texts, ["first"]);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.code, 1012);
});

test("attach(httpServer, { path }) serves WebSocket upgrades beside plain HTTP requests", { timeout: 10_000 }, async () => {
  const { server, port } = await httpServer();
  const wynd = track(new Wynd());
  assert.equal(wynd.attach(server, { path: "/ws" }), wynd);
  wynd.onConnection((conn) => conn.onText((msg, handle) => handle.sendText(`${handle.path}: ${msg.data}`)));
  const ws = await open(`ws://127.0.0.1:${port}/ws?x=1`);
  ws.sendText("hi");
  assert.equal(await nextText(ws), "/ws: hi");
  const response = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await response.text(), "plain http");
  await assert.rejects(connect(`ws://127.0.0.1:${port}/elsewhere`), (error: unknown) => error instanceof HandshakeError && error.status === 404);
  await wynd.close();
  assert.equal(server.listening, true, "close() detaches but leaves the HTTP server to its owner");
});

test("handleUpgrade completes an upgrade taken from an HTTP server's upgrade event", { timeout: 10_000 }, async () => {
  const { server, port } = await httpServer();
  const wynd = track(new Wynd());
  server.on("upgrade", (request, socket, head) => {
    if (request.url === "/custom") wynd.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  wynd.onConnection(async (conn) => {
    await conn.onOpen((handle) => handle.sendText(`welcome to ${handle.path}`));
  });
  const ws = await open(`ws://127.0.0.1:${port}/custom`);
  assert.equal(await nextText(ws), "welcome to /custom");
});

test("use: middleware runs in order around onConnection, and a chain that stops skips the rest", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd<{ user?: string }>());
  const order: string[] = [];
  wynd.use(async (_conn, handle, next) => {
    order.push("first before");
    const user = handle.query.get("user");
    if (user === null) {
      await handle.close(1008, "who are you?");
      return; // no next(): onConnection does not run
    }
    handle.data.user = user;
    await next();
    order.push("first after");
  });
  wynd.use(async (_conn, _handle, next) => {
    order.push("second");
    await next();
    await assert.rejects(next(), InvalidStateError);
  });
  wynd.onConnection(async (conn, handle) => {
    await tick(5);
    order.push(`connection ${handle.data.user}`);
    conn.onText((msg, h) => h.sendText(`${h.data.user}: ${msg.data}`));
  });
  wynd.onConnection(() => {
    order.push("second onConnection");
  });
  const { port } = await wynd.listen(0);
  const ws = await open(`ws://127.0.0.1:${port}/?user=ada`);
  ws.sendText("hi");
  assert.equal(await nextText(ws), "ada: hi");
  assert.deepEqual(order, ["first before", "second", "connection ada", "second onConnection", "first after"]);
  order.length = 0;
  const anonymous = await open(`ws://127.0.0.1:${port}/`);
  const ended = await anonymous.closed();
  assert.deepEqual([ended.code, ended.reason], [1008, "who are you?"]);
  assert.deepEqual(order, ["first before"]);
});

test("next() rejects with the error of a later middleware that throws synchronously", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  const caught: string[] = [];
  wynd.use(async (_conn, handle, next) => {
    try {
      await next();
    } catch (error) {
      caught.push((error as Error).message);
      await handle.sendText("recovered");
    }
  });
  wynd.use(() => {
    throw new Error("thrown synchronously");
  });
  const { port } = await wynd.listen(0);
  const ws = await open(`ws://127.0.0.1:${port}/`);
  assert.equal(await nextText(ws), "recovered");
  assert.deepEqual(caught, ["thrown synchronously"]);
});

test("a middleware that throws is reported to onError and its connection is closed with 1011", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  const errors: string[] = [];
  wynd.onError((error, handle) => errors.push(`${error.message} ${handle === undefined ? "" : "with handle"}`));
  wynd.use(() => {
    throw new Error("middleware broke");
  });
  let reached = false;
  wynd.onConnection(() => {
    reached = true;
  });
  const { port } = await wynd.listen(0);
  const ws = await open(`ws://127.0.0.1:${port}/`);
  assert.equal((await ws.closed()).code, 1011);
  assert.equal(reached, false);
  assert.deepEqual(errors, ["middleware broke with handle"]);
});

test("the pre-upgrade hook refuses with 403, with any status, or with a thrown HandshakeError, and onError hears of it", { timeout: 10_000 }, async () => {
  const refusals: Array<[string, number]> = [];
  const wynd = track(
    new Wynd({
      beforeUpgrade: async (request, context) => {
        assert.equal(context.remoteAddress, "127.0.0.1");
        const token = new URLSearchParams(request.query).get("token");
        if (token === "forbidden") return false;
        if (token === "later") return { status: 503, headers: [["Retry-After", "5"]], body: "busy" };
        if (token === null) throw new HandshakeError("ERR_UNAUTHORIZED", 401, "a token is required");
        if (token === "bug") throw new Error("hook bug");
        return true;
      },
    }),
  );
  wynd.onError((error) => {
    if (error instanceof HandshakeError) refusals.push([error.code, error.status]);
  });
  wynd.onConnection(async (conn) => {
    await conn.onOpen((handle) => handle.sendText("accepted"));
  });
  const { port } = await wynd.listen(0);
  const url = (token?: string) => `ws://127.0.0.1:${port}/${token === undefined ? "" : `?token=${token}`}`;
  for (const [token, status] of [["forbidden", 403], ["later", 503], [undefined, 401], ["bug", 500]] as const) {
    await assert.rejects(connect(url(token)), (error: unknown) => error instanceof HandshakeError && error.status === status);
  }
  const ws = await open(url("good"));
  assert.equal(await nextText(ws), "accepted");
  assert.deepEqual(
    refusals.map(([, status]) => status),
    [403, 503, 401, 500],
  );
});

test("the pre-upgrade hook and createData get the same request object, so the hook can hand data to the connection", { timeout: 10_000 }, async () => {
  // The documented way to carry what the hook learned (a verified user) into handle.data.
  const users = new WeakMap<object, string>();
  const wynd = track(
    new Wynd<{ user: string | undefined }>({
      beforeUpgrade: (request) => {
        users.set(request, `user-${new URLSearchParams(request.query).get("id") ?? "?"}`);
      },
      createData: (request) => ({ user: users.get(request) }),
    }),
  );
  wynd.onConnection(async (conn) => {
    await conn.onOpen((handle) => handle.sendText(String(handle.data.user)));
  });
  const { port } = await wynd.listen(0);
  for (const id of [7, 8]) {
    const ws = await open(`ws://127.0.0.1:${port}/?id=${id}`);
    assert.equal(await nextText(ws), `user-${id}`);
  }
});

test("engine options pass through: maxMessageBytes, path, maxConnections and invalid values", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd({ maxMessageBytes: 16, path: "/only", maxConnections: 1 }));
  const errors: Error[] = [];
  wynd.onConnection((conn) => conn.onError((error) => errors.push(error)));
  const { port } = await wynd.listen(0);
  await assert.rejects(connect(`ws://127.0.0.1:${port}/other`), (error: unknown) => error instanceof HandshakeError && error.status === 404);
  const ws = await open(`ws://127.0.0.1:${port}/only`);
  while (wynd.clients().length < 1) await tick(2);
  await assert.rejects(connect(`ws://127.0.0.1:${port}/only`), (error: unknown) => error instanceof HandshakeError && error.status === 503);
  ws.sendText("this message is longer than sixteen bytes");
  assert.equal((await ws.closed()).code, 1009);
  assert.equal((errors[0] as Error & { closeCode?: number }).closeCode, 1009);
  assert.throws(() => new Wynd({ maxMessageBytes: -1 }), RangeError);
  assert.throws(() => new Wynd({ closeTimeoutMs: 0 }), RangeError);
  assert.throws(() => new Wynd({ beforeUpgrade: "no" as never }), TypeError);
});

test("a handler failure nobody handles is printed with console.error, never thrown", { timeout: 10_000 }, async () => {
  const wynd = track(new Wynd());
  wynd.onConnection((conn) => {
    conn.onText(async () => {
      throw new Error("nobody listens");
    });
  });
  const { port } = await wynd.listen(0);
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    const ws = await open(`ws://127.0.0.1:${port}/`);
    ws.sendText("x");
    for (let i = 0; i < 100 && printed.length === 0; i++) await tick(5);
  } finally {
    console.error = original;
  }
  assert.equal(printed.length, 1);
  assert.equal((printed[0]![1] as Error).message, "nobody listens");
});

test("registering something other than a function throws a TypeError", () => {
  const wynd = new Wynd();
  assert.throws(() => wynd.onConnection(null as never), TypeError);
  assert.throws(() => wynd.use({} as never), TypeError);
  assert.throws(() => wynd.onError("x" as never), TypeError);
  assert.throws(() => wynd.onClose(1 as never), TypeError);
});
