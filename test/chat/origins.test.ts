// The chat accepts sockets from its own page, from listed origins and from clients without an
// Origin (wscat), and refuses a page of another site with 403: over raw upgrades, through the
// command line, and in headless Chromium.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { launchChromium } from "../helpers/browser.js";
import { upgradeStatus } from "../helpers/upgrade-status.js";
import { serve } from "./cli-process.js";
import { startChat } from "./helpers.js";

describe("chat: allowed origins", () => {
  it("accepts its own origin (the Host it is served on) and listed ones, refuses others with 403", async (t) => {
    const { chat } = await startChat(t, { allowedOrigins: ["https://chat.example.com"] });
    const port = chat.address!.port;
    const own = `127.0.0.1:${port}`;
    assert.equal(await upgradeStatus(port, { Origin: `http://${own}` }), 101, "the page the chat served");
    assert.equal(await upgradeStatus(port, { Origin: "http://chat.local:8080", Host: "chat.local:8080" }), 101, "its own origin behind another name");
    assert.equal(await upgradeStatus(port, { Origin: "https://chat.example.com" }), 101, "a listed origin");
    assert.equal(await upgradeStatus(port, {}), 101, "no Origin: wscat, programs");
    assert.equal(await upgradeStatus(port, { Origin: "https://evil.example" }), 403);
    assert.equal(await upgradeStatus(port, { Origin: `http://localhost:${port}` }), 403, "another host name is another origin");
    assert.equal(await upgradeStatus(port, { Origin: `http://127.0.0.1:${port + 1}`, Host: own }), 403);
  });

  it("takes --allowed-origin (repeatable) on the command line, and refuses a bad one with usage", { timeout: 30_000 }, async (t) => {
    const child = await serve(t, ["--memory", "--allowed-origin", "https://a.example", "--allowed-origin", "http://b.example:8000"]);
    const port = Number(new URL(child.url).port);
    assert.equal(await upgradeStatus(port, { Origin: "https://a.example" }), 101);
    assert.equal(await upgradeStatus(port, { Origin: "http://b.example:8000" }), 101);
    assert.equal(await upgradeStatus(port, { Origin: `http://127.0.0.1:${port}` }), 101);
    assert.equal(await upgradeStatus(port, { Origin: "https://c.example" }), 403);
    child.kill("SIGTERM");
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    const bad = await serve(t, ["--memory", "--allowed-origin", "a.example"]).then(
      () => assert.fail("a bad origin was accepted"),
      (error: Error) => error.message,
    );
    assert.match(bad, /allowedOrigins: not an origin/);
  });

  it("refuses a socket that a page of another origin opens in Chromium, and accepts it once listed", { timeout: 60_000 }, async (t) => {
    const browser = await launchChromium(t);
    if (browser === undefined) return;
    t.after(() => browser.close());
    // The foreign site: another port is another origin.
    const site = createServer((_, response) => response.writeHead(200, { "content-type": "text/html" }).end("<title>elsewhere</title>"));
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => site.close(resolve)));
    const siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const closed = await startChat(t);
    const listed = await startChat(t, { allowedOrigins: [siteOrigin] });
    const page = await browser.newPage();
    await page.goto(siteOrigin);
    const attempt = (url: string) =>
      page.evaluate(
        (target) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(target, "wynd-chat.v1");
            socket.onmessage = (event) => {
              resolve(`open: ${String((JSON.parse(String(event.data)) as { type: string }).type)}`);
              socket.close();
            };
            socket.onclose = (event) => resolve(`closed ${event.code}`);
          }),
        url,
      );
    assert.equal(await attempt(closed.ws), "closed 1006", "the handshake failed: 403");
    assert.equal(await attempt(listed.ws), "open: welcome");
  });
});
