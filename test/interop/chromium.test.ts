// Interop: headless Chromium's own WebSocket against our WebSocketServer, over 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useChromiumPage } from "../helpers/browser.js";
import { startServer } from "../fixtures/servers.js";
import type { WebSocketConnection } from "../../src/index.js";

/** What the page reports back: each echo as text, or as a byte count and checksum for binary. */
interface PageTranscript {
  opened: boolean;
  protocol: string;
  received: string[];
  close: { code: number; reason: string; wasClean: boolean };
}

/**
 * Runs in the page: opens a WebSocket, sends a text, an empty text, a 100 KiB text and a binary
 * message, waits for the four echoes, then closes with 4000 "bye". Written as a string so that
 * this file needs no DOM types.
 */
const PAGE_SCRIPT = `async (url) => {
  const ws = new WebSocket(url, ["chat.v2", "echo.v1"]);
  ws.binaryType = "arraybuffer";
  const received = [];
  let opened = false;
  const done = new Promise((resolve) => {
    ws.onopen = () => {
      opened = true;
      ws.send("héllo 👋");
      ws.send("");
      ws.send("x".repeat(100 * 1024));
      ws.send(new Uint8Array([0, 1, 2, 253, 254, 255]));
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        received.push(event.data.length > 64 ? "text:" + event.data.length : event.data);
      } else {
        received.push("binary:" + Array.from(new Uint8Array(event.data)).join(","));
      }
      if (received.length === 4) ws.close(4000, "bye");
    };
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
  });
  const close = await done;
  return { opened, protocol: ws.protocol, received, close };
}`;

describe("Chromium's WebSocket against the server", () => {
  const chromium = useChromiumPage();

  it("echoes text, empty, 100 KiB and binary messages, negotiates a subprotocol and closes with the page's code", async (t) => {
    const page = chromium.page;
    if (page === undefined) return t.skip("no browser");
    const { server, url } = await startServer(t, {
      selectProtocol: (offered: readonly string[]) => (offered.includes("echo.v1") ? "echo.v1" : undefined),
    });
    const closes: Array<[number, string]> = [];
    server.on("connection", (connection: WebSocketConnection) => {
      connection.on("message", (data: Buffer, isBinary: boolean) => connection.sendMessage(data, isBinary));
      connection.on("close", (code: number, reason: string) => closes.push([code, reason]));
    });

    const transcript = (await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(url)})`)) as PageTranscript;

    assert.equal(transcript.opened, true);
    assert.equal(transcript.protocol, "echo.v1");
    assert.deepEqual(transcript.received, ["héllo 👋", "", `text:${100 * 1024}`, "binary:0,1,2,253,254,255"]);
    // The server's Close echoes the page's code (RFC 6455 §5.5.1) without repeating its reason.
    assert.deepEqual(transcript.close, { code: 4000, reason: "", wasClean: true });
    for (let i = 0; i < 50 && closes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closes, [[4000, "bye"]]);
  });
});
