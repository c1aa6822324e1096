// Interop of permessage-deflate with `ws` 8, both ways, over every combination of the
// negotiation parameters: a ws client against our server, and our client against a ws server.
// Each pair echoes compressible and incompressible messages around the thresholds, in order.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket, { WebSocketServer as WsServer } from "ws";
import { connect, type PerMessageDeflateOptions, type WebSocketConnection } from "../../src/index.js";
import { startServer } from "../fixtures/servers.js";
import { prng, randomBytes } from "../helpers/protocol-testing.js";

const T = { timeout: 60_000 };

const SIZES = [0, 100, 1023, 1024, 5000, 70_000, 300_000];

function messagesFor(seed: number): Array<[Buffer, boolean]> {
  const next = prng(seed);
  const out: Array<[Buffer, boolean]> = [];
  for (const size of SIZES) {
    out.push([Buffer.from("compressible text, ".repeat(Math.ceil(size / 19) + 1).slice(0, size)), false]);
    out.push([randomBytes(next, size), true]);
  }
  return out;
}

/** Waits until `list` has `count` items (bounded). */
async function until(list: readonly unknown[], count: number): Promise<void> {
  for (let i = 0; i < 2000 && list.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(list.length, count, `only ${list.length} of ${count} messages arrived`);
}

function assertSame(received: Array<[Buffer, boolean]>, sent: Array<[Buffer, boolean]>): void {
  assert.equal(received.length, sent.length);
  sent.forEach(([data, isBinary], i) => {
    assert.equal(received[i]![1], isBinary, `message ${i}: type`);
    assert.ok(received[i]![0].equals(data), `message ${i}: ${data.length} bytes`);
  });
}

/** ws's permessage-deflate options (see test/types/ws.d.ts). */
type WsDeflateOptions = Exclude<NonNullable<ConstructorParameters<typeof WsServer>[0]["perMessageDeflate"]>, boolean>;

// Every combination of the four parameters, as offered by the client (ws's option names).
const CLIENT_OFFERS: WsDeflateOptions[] = [];
// "Not asked" is undefined rather than false: ws refuses a parameter the user explicitly set to
// false even though RFC 7692 §7.1.1 lets the server add it.
for (const serverNoContextTakeover of [undefined, true]) {
  for (const clientNoContextTakeover of [undefined, true]) {
    for (const [serverMaxWindowBits, clientMaxWindowBits] of [[undefined, true], [10, 9], [15, 8], [8, 15]] as const) {
      CLIENT_OFFERS.push({
        ...(serverNoContextTakeover !== undefined ? { serverNoContextTakeover } : {}),
        ...(clientNoContextTakeover !== undefined ? { clientNoContextTakeover } : {}),
        ...(serverMaxWindowBits !== undefined ? { serverMaxWindowBits } : {}),
        clientMaxWindowBits,
        threshold: 0,
      });
    }
  }
}

// And the server's own preferences.
const SERVER_CONFIGS: PerMessageDeflateOptions[] = [
  {},
  { serverNoContextTakeover: true, clientNoContextTakeover: true },
  { serverMaxWindowBits: 9, clientMaxWindowBits: 10, thresholdBytes: 0 },
];

describe("interop: a ws client with perMessageDeflate against our server", () => {
  for (const [s, serverConfig] of SERVER_CONFIGS.entries()) {
    it(`server config ${JSON.stringify(serverConfig)}: every client offer is negotiated and echoes in order`, T, async (t) => {
      const { server, url } = await startServer(t, { perMessageDeflate: serverConfig, maxMessageBytes: 4 * 1024 * 1024 });
      server.on("connection", (connection: WebSocketConnection) => {
        connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
      });
      for (const [o, offer] of CLIENT_OFFERS.entries()) {
        const ws = new WebSocket(url, [], { perMessageDeflate: offer });
        t.after(() => ws.terminate());
        await new Promise<void>((resolve, reject) => {
          ws.once("open", resolve);
          ws.once("error", reject);
        });
        assert.equal(ws.extensions, "permessage-deflate", JSON.stringify(offer));
        const received: Array<[Buffer, boolean]> = [];
        ws.on("message", (data, isBinary) => received.push([data, isBinary]));
        const sent = messagesFor(100 * s + o);
        for (const [data, isBinary] of sent) ws.send(isBinary ? data : data.toString(), { binary: isBinary });
        await until(received, sent.length);
        assertSame(received, sent);
        ws.close();
      }
    });
  }
});

describe("interop: our client against a ws server with perMessageDeflate", () => {
  const WS_CONFIGS: WsDeflateOptions[] = [
    { threshold: 0 },
    { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
    { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
  ];
  const OUR_OFFERS: PerMessageDeflateOptions[] = [
    {},
    { clientNoContextTakeover: true },
    { serverNoContextTakeover: true },
    { serverMaxWindowBits: 11 },
    { clientMaxWindowBits: 8 },
    { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 12, thresholdBytes: 0 },
  ];
  for (const [s, wsConfig] of WS_CONFIGS.entries()) {
    it(`ws server ${JSON.stringify(wsConfig)}: every offer of ours is negotiated and echoes in order`, T, async (t: TestContext) => {
      const wss = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate: wsConfig, maxPayload: 4 * 1024 * 1024 });
      t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      await new Promise<void>((resolve) => wss.once("listening", resolve));
      wss.on("connection", (socket) => {
        socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
      });
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
      for (const [o, offer] of OUR_OFFERS.entries()) {
        // ws declines offers asking for smaller windows than it is configured with, and answers
        // 400 when it can accept none (its choice; RFC 7692 would let it decline the extension).
        const refused =
          (typeof wsConfig.serverMaxWindowBits === "number" && (offer.serverMaxWindowBits ?? 15) < wsConfig.serverMaxWindowBits) ||
          (typeof wsConfig.clientMaxWindowBits === "number" && (offer.clientMaxWindowBits ?? 15) < wsConfig.clientMaxWindowBits);
        if (refused) {
          await assert.rejects(connect(url, { perMessageDeflate: offer }), (error: unknown) => (error as { status?: number }).status === 400);
          continue;
        }
        const connection = await connect(url, { perMessageDeflate: offer, maxMessageBytes: 4 * 1024 * 1024 });
        t.after(() => connection.terminate());
        assert.match(connection.extensions, /^permessage-deflate/, JSON.stringify(offer));
        const received: Array<[Buffer, boolean]> = [];
        connection.on("message", (data, isBinary) => received.push([Buffer.from(data), isBinary]));
        const sent = messagesFor(1000 + 100 * s + o);
        for (const [data, isBinary] of sent) {
          if (isBinary) connection.sendBinary(data);
          else connection.sendText(data.toString());
        }
        await until(received, sent.length);
        assertSame(received, sent);
        connection.close();
        await connection.closed();
      }
    });
  }
});
