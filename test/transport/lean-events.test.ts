// The connections' smaller listener table (src/transport/lean-events.ts): an emitter that starts
// without one and gets a fast one on its first listener behaves as any EventEmitter.
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { test } from "node:test";
import { dropListenerTable, useLeanListenerTables } from "../../src/transport/lean-events.js";
import { connect } from "../../src/index.js";
import { nextConnection, startServer } from "../fixtures/servers.js";

class Lean extends EventEmitter {
  constructor() {
    super();
    dropListenerTable(this);
  }
}
useLeanListenerTables(Lean.prototype);

test("an emitter without a listener table emits nothing, counts nothing and throws an unhandled 'error' as usual", () => {
  const emitter = new Lean();
  assert.equal(emitter.emit("message", 1), false);
  assert.equal(emitter.listenerCount("message"), 0);
  assert.deepEqual(emitter.eventNames(), []);
  assert.deepEqual(emitter.listeners("message"), []);
  emitter.off("message", () => {});
  emitter.removeAllListeners();
  assert.throws(() => emitter.emit("error", new Error("boom")), /boom/);
});

test("listeners added by every method run in EventEmitter's order, and removing them all leaves a working emitter", async () => {
  const emitter = new Lean();
  const calls: string[] = [];
  const on = (value: unknown) => calls.push(`on ${String(value)}`);
  emitter.on("message", on);
  emitter.addListener("message", (value) => calls.push(`add ${String(value)}`));
  emitter.prependListener("message", (value) => calls.push(`prepend ${String(value)}`));
  emitter.once("message", (value) => calls.push(`once ${String(value)}`));
  emitter.prependOnceListener("message", (value) => calls.push(`prepend-once ${String(value)}`));
  emitter.on("close", () => calls.push("close"));
  assert.deepEqual(emitter.eventNames(), ["message", "close"]);
  assert.equal(emitter.listenerCount("message"), 5);
  assert.equal(emitter.emit("message", 1), true);
  emitter.emit("message", 2);
  assert.deepEqual(calls, ["prepend-once 1", "prepend 1", "on 1", "add 1", "once 1", "prepend 2", "on 2", "add 2"]);
  assert.equal(Object.prototype.hasOwnProperty.call(emitter.listeners("toString"), 0), false, "no inherited listeners");
  assert.equal(emitter.emit("toString"), false);
  assert.equal(emitter.emit("__proto__"), false);

  emitter.off("message", on);
  assert.equal(emitter.listenerCount("message"), 2);
  emitter.removeAllListeners("message");
  emitter.removeAllListeners("close");
  assert.deepEqual(emitter.eventNames(), []);
  const waited = once(emitter, "close");
  emitter.emit("close", "again");
  assert.deepEqual(await waited, ["again"]);
  assert.equal(emitter.listenerCount("close"), 0);
});

test("a server connection nobody listens to still tells its server it closed, and takes listeners later", { timeout: 10_000 }, async (t) => {
  const { server, url } = await startServer(t);
  const accepted = nextConnection(server);
  const client = await connect(url);
  const conn = await accepted;
  assert.deepEqual(conn.eventNames(), []);
  assert.equal(server.connections.size, 1);
  let countedAtClose = -1;
  conn.on("close", () => (countedAtClose = server.connections.size));
  const closed = once(conn, "close");
  client.close();
  await closed;
  assert.equal(countedAtClose, 0, "the server forgot the connection before its close listeners ran");
});
