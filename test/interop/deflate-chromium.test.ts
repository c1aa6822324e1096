// Interop: headless Chromium (which offers permessage-deflate on every connection) against our
// server with deflate on: the extension is negotiated with the parameters asked for, compressible
// messages of several sizes are echoed intact, and far fewer bytes cross the wire than were sent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PerMessageDeflateOptions, WebSocketConnection } from "../../src/index.js";
import { startSocketServer } from "../fixtures/servers.js";
import { useChromiumPage } from "../helpers/browser.js";

interface PageTranscript {
  extensions: string;
  received: string[];
  close: { code: number; wasClean: boolean };
}

const SIZES = [10, 1023, 1024, 5000, 100 * 1024, 1024 * 1024];

/**
 * Runs in the page: for each size, a compressible text and a compressible binary message, echoed;
 * reports each echo as type:length:checksum, then closes. A string: this file has no DOM types.
 */
const PAGE_SCRIPT = `async ([url, sizes]) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const received = [];
  const sum = (bytes) => { let s = 0; for (let i = 0; i < bytes.length; i++) s = (s * 31 + bytes[i]) >>> 0; return s; };
  const text = (n) => "All work and no play makes Jack a dull boy. ".repeat(Math.ceil(n / 44)).slice(0, n);
  const binary = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i % 251) & (i >> 4); return b; };
  const done = new Promise((resolve) => {
    ws.onopen = () => {
      for (const n of sizes) { ws.send(text(n)); ws.send(binary(n)); }
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") received.push("text:" + event.data.length + ":" + sum(new TextEncoder().encode(event.data)));
      else received.push("binary:" + event.data.byteLength + ":" + sum(new Uint8Array(event.data)));
      if (received.length === sizes.length * 2) ws.close(1000);
    };
    ws.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean });
  });
  const close = await done;
  return { extensions: ws.extensions, received, close };
}`;

/** The same messages and checksums, computed here. */
function expected(): string[] {
  const sum = (bytes: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < bytes.length; i++) s = (s * 31 + bytes[i]!) >>> 0;
    return s;
  };
  const out: string[] = [];
  for (const n of SIZES) {
    const text = "All work and no play makes Jack a dull boy. ".repeat(Math.ceil(n / 44)).slice(0, n);
    const binary = new Uint8Array(n);
    for (let i = 0; i < n; i++) binary[i] = (i % 251) & (i >> 4);
    out.push(`text:${n}:${sum(Buffer.from(text))}`, `binary:${n}:${sum(binary)}`);
  }
  return out;
}

describe("Chromium's WebSocket against the server with permessage-deflate", () => {
  const chromium = useChromiumPage();

  const CONFIGS: Array<[PerMessageDeflateOptions, RegExp]> = [
    [{}, /^permessage-deflate(; client_max_window_bits=15)?$/],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, clientMaxWindowBits: 10, serverMaxWindowBits: 11 },
      /^permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10$/,
    ],
  ];
  for (const [config, extensions] of CONFIGS) {
    it(`negotiates ${JSON.stringify(config)}, echoes compressible messages intact and compresses the wire both ways`, { timeout: 60_000 }, async (t) => {
      const page = chromium.page;
    if (page === undefined) return t.skip("no browser");
      const { server, url, sockets } = await startSocketServer(t, { perMessageDeflate: config, maxMessageBytes: 2 * 1024 * 1024 });
      const negotiated: string[] = [];
      server.on("connection", (connection: WebSocketConnection) => {
        negotiated.push(connection.extensions);
        connection.on("message", (data: Buffer, isBinary: boolean) => connection.sendMessage(data, isBinary));
      });
      const transcript = (await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify([url, SIZES])})`)) as PageTranscript;
      assert.match(transcript.extensions, extensions);
      assert.match(negotiated[0] ?? "", extensions);
      assert.deepEqual(transcript.received, expected());
      assert.deepEqual(transcript.close, { code: 1000, wasClean: true });
      const payloadBytes = SIZES.reduce((n, size) => n + 2 * size, 0);
      const read = sockets.reduce((n, s) => n + s.bytesRead, 0);
      const written = sockets.reduce((n, s) => n + s.bytesWritten, 0);
      assert.ok(read < payloadBytes / 5, `Chromium sent ${read} bytes for ${payloadBytes} bytes of messages`);
      assert.ok(written < payloadBytes / 5, `the server sent ${written} bytes for ${payloadBytes} bytes of messages`);
    });
  }
});
