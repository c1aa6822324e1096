// The Wynd API passes `perMessageDeflate` through to the engine: replies, broadcasts and room
// broadcasts reach deflate and plain clients alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Wynd } from "../../src/api/index.js";
import { connect, type WebSocketConnection } from "../../src/index.js";

function messages(ws: WebSocketConnection, count: number): Promise<string[]> {
  const out: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} messages`)), 10_000);
    ws.on("message", (data) => {
      out.push(data.toString());
      if (out.length === count) {
        clearTimeout(timer);
        resolve(out);
      }
    });
  });
}

test("Wynd({ perMessageDeflate }) negotiates deflate; replies, broadcasts and rooms reach every client", { timeout: 30_000 }, async (t) => {
  const wynd = new Wynd({ perMessageDeflate: { serverNoContextTakeover: true } });
  t.after(() => wynd.close());
  const big = "a compressible reply ".repeat(500);
  wynd.onConnection((conn) => {
    conn.onText(async (msg, handle) => {
      handle.join("room");
      await handle.sendText(`${msg.data.length}:${big}`);
      wynd.broadcast(`all:${big}`);
      wynd.to("room").broadcast(`room:${big}`);
    });
  });
  const { port } = await wynd.listen(0);
  const url = `ws://127.0.0.1:${port}`;
  const deflate = await connect(url);
  t.after(() => deflate.terminate());
  assert.equal(deflate.extensions, "permessage-deflate; server_no_context_takeover");
  const deflateInbox = messages(deflate, 3);
  deflate.sendText("x".repeat(3000));
  assert.deepEqual(await deflateInbox, [`3000:${big}`, `all:${big}`, `room:${big}`]);
  // A plain client in the same broadcasts and room: the deflate one gets them compressed.
  const plain = await connect(url, { perMessageDeflate: false });
  t.after(() => plain.terminate());
  assert.equal(plain.extensions, "");
  const plainInbox = messages(plain, 3);
  const deflateMore = messages(deflate, 2);
  plain.sendText("hi");
  const got = await plainInbox;
  assert.deepEqual(got, [`2:${big}`, `all:${big}`, `room:${big}`]);
  assert.deepEqual((await deflateMore).slice(-2), [`all:${big}`, `room:${big}`]);
});

test("Wynd is off by default: a client's offer is declined", { timeout: 30_000 }, async (t) => {
  const wynd = new Wynd();
  t.after(() => wynd.close());
  const { port } = await wynd.listen(0);
  const client = await connect(`ws://127.0.0.1:${port}`);
  t.after(() => client.terminate());
  assert.equal(client.extensions, "");
});

test("Wynd rejects invalid perMessageDeflate options at construction", () => {
  assert.throws(() => new Wynd({ perMessageDeflate: { clientMaxWindowBits: 3 } }), RangeError);
  assert.throws(() => new Wynd({ perMessageDeflate: { concurrency: 0 } }), RangeError);
});
