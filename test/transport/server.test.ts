// The server over real sockets: listening, the path and maxConnections options, the
// beforeUpgrade and selectProtocol hooks, attach() to a node:http server, graceful shutdown.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, get as httpGet, type IncomingMessage } from "node:http";
import { createServer as createNetServer, Socket, type AddressInfo } from "node:net";
import { test, type TestContext } from "node:test";
import { connect, HandshakeError, ReadyState, WebSocketServer, type UpgradeRequest, type WebSocketConnection } from "../../src/index.js";
import { closeCodeOf, frame, headerOf, OP, RawClient, rawConnect, readHead, statusOf, upgradeRequest } from "../fixtures/raw-peer.js";
import { nextConnection, nextMacrotask, record, startServer, startSocketServer } from "../fixtures/servers.js";

const T = { timeout: 10_000 };

/** A node:http server with one plain route, on 127.0.0.1:0, closed after the test. */
async function startHttp(t: TestContext): Promise<{ http: ReturnType<typeof createHttpServer>; port: number }> {
  const http = createHttpServer((req, res) => {
    if (req.url === "/hello") res.end("world");
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  t.after(() => {
    http.closeAllConnections();
    return new Promise((resolve) => http.close(resolve));
  });
  return { http, port: (http.address() as AddressInfo).port };
}

async function httpText(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path, agent: false }, resolve).on("error", reject);
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() };
}

/** Upgrades with a raw client and returns the response status (the socket is then destroyed). */
async function statusFor(port: number, options: Parameters<typeof RawClient.open>[1] = {}): Promise<{ status: number; head: string; raw: RawClient }> {
  const raw = await RawClient.open(port, options);
  return { status: raw.status, head: raw.response, raw };
}

async function rejectsWithStatus(promise: Promise<unknown>, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.status, status);
    return true;
  });
}

// ----- listen -----

test("listen(0) resolves with the bound address, and address() returns it", T, async (t) => {
  const server = new WebSocketServer();
  t.after(() => server.close({ timeoutMs: 50 }));
  assert.equal(server.address(), undefined);
  const address = await server.listen(0, "127.0.0.1");
  assert.equal(address.address, "127.0.0.1");
  assert.ok(address.port > 0);
  assert.deepEqual(server.address(), address);
  await assert.rejects(server.listen(0, "127.0.0.1"), /already listening/);
});

test("listen() on a port in use rejects with EADDRINUSE, and the server can listen elsewhere after", T, async (t) => {
  const { port } = await startServer(t);
  const second = new WebSocketServer();
  t.after(() => second.close({ timeoutMs: 50 }));
  await assert.rejects(second.listen(port, "127.0.0.1"), (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE");
  const address = await second.listen(0, "127.0.0.1");
  assert.notEqual(address.port, port);
});

// ----- handshake refusals -----

test("the path option accepts only that path (query ignored) and answers 404 elsewhere", T, async (t) => {
  const { server, port, url } = await startServer(t, { path: "/chat" });
  const refusals = record<[HandshakeError]>(server, "handshakeError");
  const other = await statusFor(port, { path: "/other" });
  assert.equal(other.status, 404);
  other.raw.destroy();
  assert.equal(refusals[0]?.[0].code, "ERR_NOT_FOUND");
  await rejectsWithStatus(connect(`${url}/chat/more`), 404);
  const client = await connect(`${url}/chat?room=1`);
  assert.equal(client.readyState, ReadyState.OPEN);
  client.close();
  await client.closed();
});

test("an invalid upgrade request is refused with its status and the socket closed", T, async (t) => {
  const { server, port } = await startServer(t);
  const refusals = record<[HandshakeError]>(server, "handshakeError");
  const socket = await rawConnect(port);
  socket.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
  const { head } = await readHead(socket);
  assert.equal(statusOf(head), 400);
  assert.equal(headerOf(head, "connection"), "close");
  await once(socket, "close");
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]![0].code, "ERR_INVALID_KEY");
});

test("a request head over maxHeaderBytes is refused with 431", T, async (t) => {
  const { port } = await startServer(t, { maxHeaderBytes: 1024 });
  const { status, raw } = await statusFor(port, { headers: [["X-Padding", "x".repeat(1024)]] });
  assert.equal(status, 431);
  raw.destroy();
});

test("maxConnections accepts exactly that many open connections and answers 503 past it", T, async (t) => {
  const { server, url } = await startServer(t, { maxConnections: 2 });
  const refusals = record<[HandshakeError]>(server, "handshakeError");
  const first = await connect(url);
  const second = await connect(url);
  await rejectsWithStatus(connect(url), 503);
  assert.equal(refusals[0]?.[0].code, "ERR_TOO_MANY_CONNECTIONS");
  assert.equal(server.connections.size, 2);
  // Once one has closed, there is room again.
  const serverSide = [...server.connections][0]!;
  first.close();
  await serverSide.closed();
  const third = await connect(url);
  assert.equal(server.connections.size, 2);
  for (const client of [second, third]) client.close();
  await Promise.all([second.closed(), third.closed()]);
});

test("maxConnections holds for concurrent handshakes waiting in an async beforeUpgrade hook", T, async (t) => {
  let waiting = 0;
  let releaseAll: () => void = () => {};
  const allWaiting = new Promise<void>((resolve) => (releaseAll = resolve));
  const { url } = await startServer(t, {
    maxConnections: 1,
    beforeUpgrade: async () => {
      if (++waiting === 2) releaseAll();
      await allWaiting; // both handshakes passed the first check before either is accepted
      return true;
    },
  });
  t.after(() => releaseAll());
  const results = await Promise.allSettled([connect(url), connect(url)]);
  const accepted = results.filter((r) => r.status === "fulfilled");
  const refused = results.filter((r) => r.status === "rejected");
  assert.equal(accepted.length, 1);
  assert.equal(refused.length, 1);
  assert.equal(((refused[0] as PromiseRejectedResult).reason as HandshakeError).status, 503);
  const client = (accepted[0] as PromiseFulfilledResult<WebSocketConnection>).value;
  client.close();
  await client.closed();
});

test("beforeUpgrade accepts when it returns true, undefined, or resolves to either", T, async (t) => {
  const decisions: Array<() => unknown> = [() => true, () => undefined, async () => true, async () => undefined];
  let next = 0;
  const seen: Array<{ path: string; auth: string | undefined; remoteAddress: string | undefined }> = [];
  const { url } = await startServer(t, {
    beforeUpgrade: (request, context) => {
      seen.push({ path: request.path, auth: request.headers.get("authorization"), remoteAddress: context.remoteAddress });
      return decisions[next++]!() as boolean | undefined;
    },
  });
  for (let i = 0; i < decisions.length; i++) {
    const client = await connect(`${url}/x${i}`, { headers: { Authorization: `token ${i}` } });
    client.close();
    await client.closed();
  }
  assert.deepEqual(
    seen,
    decisions.map((_, i) => ({ path: `/x${i}`, auth: `token ${i}`, remoteAddress: "127.0.0.1" })),
  );
});

test("beforeUpgrade returning false refuses with 403", T, async (t) => {
  const { url } = await startServer(t, { beforeUpgrade: () => false });
  await rejectsWithStatus(connect(url), 403);
});

test("beforeUpgrade resolving to { status: 401, headers } refuses with 401 and those headers", T, async (t) => {
  const { port } = await startServer(t, {
    beforeUpgrade: async () => ({ status: 401, headers: [["WWW-Authenticate", 'Bearer realm="chat"']], body: "log in first" }),
  });
  const socket = await rawConnect(port);
  socket.write(upgradeRequest());
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const response = Buffer.concat(chunks).toString();
  assert.equal(statusOf(response), 401);
  assert.equal(headerOf(response, "www-authenticate"), 'Bearer realm="chat"');
  assert.ok(response.endsWith("\r\n\r\nlog in first"));
});

test("a beforeUpgrade hook that throws or rejects refuses with 500", T, async (t) => {
  for (const hook of [
    () => {
      throw new Error("boom");
    },
    () => Promise.reject(new Error("boom")),
  ]) {
    const { server, url } = await startServer(t, { beforeUpgrade: hook });
    const refused = once(server, "handshakeError") as Promise<[HandshakeError]>;
    await rejectsWithStatus(connect(url), 500);
    assert.equal((await refused)[0].code, "ERR_HOOK_FAILED");
  }
});

test("a beforeUpgrade decision with a status that cannot be a refusal is answered 500, not a crash", T, async (t) => {
  for (const status of [101, 200, 99]) {
    const { url } = await startServer(t, { beforeUpgrade: () => ({ status }) });
    await rejectsWithStatus(connect(url), 500);
  }
  const { url } = await startServer(t, { beforeUpgrade: () => ({ status: 401, headers: [["X-Bad", "a\r\nInjected: 1"]] }) });
  await rejectsWithStatus(connect(url), 500);
});

test("selectProtocol's choice is in the 101 and on both connections", T, async (t) => {
  const offers: string[][] = [];
  const { server, port, url } = await startServer(t, {
    selectProtocol: (offered) => {
      offers.push([...offered]);
      return offered.includes("v2") ? "v2" : undefined;
    },
  });
  const accepted = nextConnection(server);
  const client = await connect(url, { protocols: ["v3", "v2", "v1"] });
  const serverSide = await accepted;
  assert.equal(client.protocol, "v2");
  assert.equal(serverSide.protocol, "v2");
  assert.deepEqual(offers[0], ["v3", "v2", "v1"]);
  client.close();
  await client.closed();

  const raw = await RawClient.open(port, { headers: [["Sec-WebSocket-Protocol", "v2, v1"]] });
  assert.equal(raw.status, 101);
  assert.equal(headerOf(raw.response, "sec-websocket-protocol"), "v2");
  raw.destroy();

  const none = await RawClient.open(port, { headers: [["Sec-WebSocket-Protocol", "v1"]] });
  assert.equal(none.status, 101);
  assert.equal(headerOf(none.response, "sec-websocket-protocol"), undefined);
  none.destroy();
  const plain = await connect(url, { protocols: ["v1"] });
  assert.equal(plain.protocol, "");
  plain.close();
  await plain.closed();
});

test("selectProtocol choosing a subprotocol the client did not offer, or throwing, is answered 500", T, async (t) => {
  const { server, url } = await startServer(t, { selectProtocol: () => "v9" });
  const refused = once(server, "handshakeError") as Promise<[HandshakeError]>;
  await rejectsWithStatus(connect(url, { protocols: ["v1"] }), 500);
  assert.equal((await refused)[0].code, "ERR_PROTOCOL_SELECTION");
  const throwing = await startServer(t, {
    selectProtocol: () => {
      throw new Error("boom");
    },
  });
  await rejectsWithStatus(connect(throwing.url, { protocols: ["v1"] }), 500);
});

// ----- attach -----

test("attach() serves upgrades on its path beside the app's plain HTTP routes, and 404 elsewhere", T, async (t) => {
  const { http, port } = await startHttp(t);
  const wss = new WebSocketServer();
  t.after(() => wss.close({ timeoutMs: 50 }));
  wss.attach(http, { path: "/ws" });
  wss.on("connection", (connection) => connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary)));
  assert.deepEqual(await httpText(port, "/hello"), { status: 200, body: "world" });
  const client = await connect(`ws://127.0.0.1:${port}/ws?token=1`);
  const echoed = once(client, "message");
  client.sendText("through http");
  assert.equal(((await echoed) as [Buffer])[0].toString(), "through http");
  await rejectsWithStatus(connect(`ws://127.0.0.1:${port}/elsewhere`), 404);
  assert.deepEqual(await httpText(port, "/hello"), { status: 200, body: "world" });
  client.close();
  await client.closed();
});

test("attach() leaves upgrades to other paths to the app's own upgrade listener", T, async (t) => {
  const { http, port } = await startHttp(t);
  const wss = new WebSocketServer();
  t.after(() => wss.close({ timeoutMs: 50 }));
  wss.attach(http, { path: "/ws" });
  http.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    if (req.url === "/legacy") socket.end("HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  await rejectsWithStatus(connect(`ws://127.0.0.1:${port}/legacy`), 418);
  const client = await connect(`ws://127.0.0.1:${port}/ws`);
  client.close();
  await client.closed();
});

test("two servers attached to one http server on different paths each get theirs, and other paths get 404", T, async (t) => {
  const { http, port } = await startHttp(t);
  const chat = new WebSocketServer();
  const admin = new WebSocketServer();
  t.after(() => Promise.all([chat.close({ timeoutMs: 50 }), admin.close({ timeoutMs: 50 })]));
  chat.attach(http, { path: "/chat" });
  admin.attach(http, { path: "/admin" });
  const chatConnections = record(chat, "connection");
  const adminConnections = record(admin, "connection");
  const a = await connect(`ws://127.0.0.1:${port}/chat`);
  const b = await connect(`ws://127.0.0.1:${port}/admin`);
  assert.equal(chatConnections.length, 1);
  assert.equal(adminConnections.length, 1);
  await rejectsWithStatus(connect(`ws://127.0.0.1:${port}/nothing`, { handshakeTimeoutMs: 2000 }), 404);
  for (const c of [a, b]) c.close();
  await Promise.all([a.closed(), b.closed()]);
});

test("attach() with a path serves it even when the server was built with another default path", T, async (t) => {
  const { http, port } = await startHttp(t);
  const wss = new WebSocketServer({ path: "/default" });
  t.after(() => wss.close({ timeoutMs: 50 }));
  wss.attach(http, { path: "/attached" });
  const client = await connect(`ws://127.0.0.1:${port}/attached`);
  client.close();
  await client.closed();
});

test("frames sent with the upgrade request through an attached http server are not lost", T, async (t) => {
  const { http, port } = await startHttp(t);
  const wss = new WebSocketServer();
  t.after(() => wss.close({ timeoutMs: 50 }));
  wss.attach(http);
  const received: string[] = [];
  wss.on("connection", (connection) => connection.on("message", (data) => received.push(data.toString())));
  const raw = await RawClient.open(port, { extra: Buffer.concat([frame(OP.TEXT, "with the request"), frame(OP.PING, "p")]) });
  assert.equal(raw.status, 101);
  await raw.nextOf(OP.PONG);
  assert.deepEqual(received, ["with the request"]);
  raw.destroy();
});

// ----- graceful shutdown -----

test("close() sends 1001 to every client, emits close, resolves, and releases the port", T, async () => {
  const server = new WebSocketServer();
  const { port } = await server.listen(0, "127.0.0.1");
  const url = `ws://127.0.0.1:${port}`;
  const clients = await Promise.all([connect(url), connect(url), connect(url)]);
  const closes = clients.map((c) => c.closed());
  const serverClosed = once(server, "close");
  const shutdown = server.close();
  assert.equal(server.close(), shutdown, "a second call returns the same promise");
  await shutdown;
  await serverClosed;
  for (const result of await Promise.all(closes)) assert.deepEqual(result, { code: 1001, reason: "", wasClean: true });
  assert.equal(server.connections.size, 0);
  await assert.rejects(connect(url), (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED");
  // The port is free again.
  const probe = createNetServer();
  probe.listen(port, "127.0.0.1");
  await once(probe, "listening");
  await new Promise((resolve) => probe.close(resolve));
});

test("close() with a code and reason sends them to every client", T, async () => {
  const server = new WebSocketServer();
  const { port } = await server.listen(0, "127.0.0.1");
  const client = await connect(`ws://127.0.0.1:${port}`);
  await server.close({ code: 4000, reason: "maintenance" });
  assert.deepEqual(await client.closed(), { code: 4000, reason: "maintenance", wasClean: true });
});

test("close() aborts handshakes in progress, including one waiting in beforeUpgrade", T, async () => {
  let hookCalled: () => void = () => {};
  const inHook = new Promise<void>((resolve) => (hookCalled = resolve));
  let release: (v: boolean) => void = () => {};
  const server = new WebSocketServer({
    beforeUpgrade: () => {
      hookCalled();
      return new Promise<boolean>((resolve) => (release = resolve));
    },
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const half = await rawConnect(port);
  half.on("error", () => {});
  half.write(upgradeRequest().subarray(0, 20));
  const hooked = await rawConnect(port);
  hooked.on("error", () => {});
  hooked.write(upgradeRequest());
  await inHook;
  // The half request has reached the server once a later connection's request has.
  const connections = record(server, "connection");
  const shutdown = server.close();
  await Promise.all([half.destroyed ? undefined : once(half, "close"), hooked.destroyed ? undefined : once(hooked, "close")]);
  release(true);
  await shutdown;
  await nextMacrotask();
  assert.equal(connections.length, 0);
});

test("close() destroys connections that never answer after timeoutMs", T, async () => {
  const server = new WebSocketServer();
  const { port } = await server.listen(0, "127.0.0.1");
  const accepted = nextConnection(server);
  const raw = await RawClient.open(port, { allowHalfOpen: true }); // ignores the Close frame
  const serverSide = await accepted;
  const serverClosed = once(server, "close");
  await server.close({ timeoutMs: 100 });
  await serverClosed;
  assert.equal(closeCodeOf(await raw.nextOf(OP.CLOSE)), 1001);
  assert.deepEqual(await serverSide.closed(), { code: 1006, reason: "", wasClean: false });
  raw.destroy();
});

test("close() of a server attached to an http server leaves the http server serving", T, async (t) => {
  const { http, port } = await startHttp(t);
  const wss = new WebSocketServer();
  wss.attach(http, { path: "/ws" });
  const client = await connect(`ws://127.0.0.1:${port}/ws`);
  await wss.close();
  assert.equal((await client.closed()).code, 1001);
  assert.equal(http.listenerCount("upgrade"), 0);
  assert.deepEqual(await httpText(port, "/hello"), { status: 200, body: "world" });
});

test("close() with a code a Close frame cannot carry rejects with RangeError and shuts nothing down", T, async (t) => {
  const { server, url } = await startServer(t);
  const client = await connect(url);
  await assert.rejects(server.close({ code: 1005 }), RangeError);
  await assert.rejects(server.close({ reason: "x".repeat(124) }), RangeError);
  await assert.rejects(server.close({ timeoutMs: -1 }), RangeError);
  assert.equal(client.readyState, ReadyState.OPEN);
  const second = await connect(url); // still accepting
  await server.close({ code: 1012 });
  assert.equal((await client.closed()).code, 1012);
  assert.equal((await second.closed()).code, 1012);
});

// ----- options -----

test("server options are validated: non-positive limits throw RangeError, an unknown policy TypeError", () => {
  for (const options of [
    { maxConnections: 0 },
    { handshakeTimeoutMs: -1 },
    { closeTimeoutMs: -5 },
    { maxMessageBytes: 0 },
    { maxFrameBytes: -1 },
    { heartbeatIntervalMs: -1 },
    { highWaterMarkBytes: 1.5 },
    { maxBufferedBytes: Number.NaN },
    { maxHeaderBytes: -1 },
    // Node timers cannot wait longer than 2^31 - 1 ms: a longer delay would fire after 1 ms.
    { closeTimeoutMs: 2 ** 31 },
    { heartbeatIntervalMs: 2 ** 31 },
    { handshakeTimeoutMs: Number.MAX_SAFE_INTEGER },
  ]) {
    assert.throws(() => new WebSocketServer(options), RangeError, JSON.stringify(options));
  }
  const longest = 2 ** 31 - 1;
  assert.ok(new WebSocketServer({ closeTimeoutMs: longest, heartbeatIntervalMs: longest, handshakeTimeoutMs: longest }));
  assert.throws(() => new WebSocketServer({ backpressurePolicy: "block" as "drop" }), TypeError);
});

test("the connection event gives the upgrade request", T, async (t) => {
  const { server, url } = await startServer(t);
  const seen = once(server, "connection") as Promise<[WebSocketConnection, UpgradeRequest]>;
  const client = await connect(`${url}/room?name=a`, { origin: "http://example.test" });
  const [connection, request] = await seen;
  assert.equal(request.path, "/room");
  assert.equal(request.query, "name=a");
  assert.equal(request.origin, "http://example.test");
  assert.equal(connection.request, request);
  assert.equal(connection.remoteAddress, "127.0.0.1");
  client.close();
  await client.closed();
});

test("the upgrade request stays the same object with the same fields for the connection's life, though only its head's text is kept", T, async (t) => {
  // After the 'connection' event the request forgets its parsed fields and derives them again
  // from the head's text when read: the values must not change, nor the object's identity.
  const { server, port } = await startServer(t, { selectProtocol: (offered) => offered[1] });
  const accepted = once(server, "connection") as Promise<[WebSocketConnection, UpgradeRequest]>;
  const raw = await RawClient.open(port, {
    path: "ws://example.test:8080/room?name=a&b",
    headers: [
      ["Origin", "http://example.test"],
      ["Sec-WebSocket-Protocol", "chat.v1, chat.v2"],
      ["Sec-WebSocket-Extensions", "x-one"],
      ["X-Custom", "1"],
      ["x-custom", "2"],
    ],
  });
  t.after(() => raw.destroy());
  const [connection, request] = await accepted;
  const snapshot = (r: UpgradeRequest) => ({
    method: r.method,
    target: r.target,
    path: r.path,
    query: r.query,
    host: r.host,
    origin: r.origin,
    key: r.key,
    protocols: [...r.protocols],
    extensions: r.extensions,
    custom: r.headers.getAll("x-custom"),
    headers: r.headers.entries.length,
  });
  const during = snapshot(request);
  assert.deepEqual(during, {
    method: "GET",
    target: "ws://example.test:8080/room?name=a&b",
    path: "/room",
    query: "name=a&b",
    host: "example.test:8080",
    origin: "http://example.test",
    key: headerOf(upgradeRequest({ key: request.key }).toString("latin1"), "sec-websocket-key"),
    protocols: ["chat.v1", "chat.v2"],
    extensions: "x-one",
    custom: ["1", "2"],
    headers: 10,
  });
  assert.equal(connection.protocol, "chat.v2");
  await nextMacrotask(); // the connection has started: the fields were released
  assert.equal(connection.request, request);
  assert.deepEqual(snapshot(connection.request!), during);
  assert.deepEqual(snapshot(connection.request!), during, "read twice");
});

test("a 'connection' listener that throws closes that connection with 1011, is reported on 'error', and the server keeps serving", T, async (t) => {
  const { server, url } = await startServer(t);
  const errors = record<[Error]>(server, "error");
  let calls = 0;
  server.on("connection", (connection: WebSocketConnection) => {
    if (++calls === 1) throw new Error("listener bug");
    connection.on("message", (data: Buffer, isBinary: boolean) => connection.sendMessage(data, isBinary));
  });
  const first = await connect(url);
  assert.deepEqual(await first.closed(), { code: 1011, reason: "", wasClean: true });
  assert.equal(errors.length, 1);
  assert.equal(errors[0]![0].message, "listener bug");

  const second = await connect(url);
  const echoed = once(second, "message");
  second.sendText("still serving");
  assert.equal(String((await echoed)[0]), "still serving");
  second.close();
  await second.closed();
});

// ----- what a connection keeps of its handshake -----

test("after the upgrade a socket keeps no listener of the handshake, only the connection's", T, async (t) => {
  const { server, url, sockets } = await startSocketServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  t.after(() => client.terminate());
  await accepted;
  const socket = sockets[0]!;
  // The connection listens for data, end, close, error and drain once each; the handshake's
  // data, close and error listeners are gone, so its parser and timer are garbage.
  const fresh = new Socket(); // net.Socket's own listeners (it listens for 'end' itself)
  for (const event of ["data", "end", "close", "error", "drain"]) {
    assert.equal(socket.listenerCount(event), fresh.listenerCount(event) + 1, event);
  }
});

test("a handshake that times out is reported with status 408 and leaves no listener behind", T, async (t) => {
  const { server, port, sockets } = await startSocketServer(t, { handshakeTimeoutMs: 50 });
  const errors = record(server, "handshakeError");
  const raw = await rawConnect(port);
  raw.write("GET / HTTP/1.1\r\nHost: x\r\n"); // never finished
  await once(raw, "close");
  const socket = sockets[0]!;
  await nextMacrotask(); // the server side's 'close' follows its destroy() by a tick
  assert.equal(errors.length, 1);
  assert.equal((errors[0]![0] as HandshakeError).status, 408);
  assert.ok(socket.destroyed);
  assert.equal(socket.listenerCount("close"), 0);
});
