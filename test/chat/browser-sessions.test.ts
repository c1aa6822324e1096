// Session resume (issue 14) end to end: the browser client of src/chat/public/ in headless
// Chromium against the real chat server with its default sessions, while another user (a raw
// JSON client) keeps talking. browser-resume.test.ts checks the page against a scripted server
// and sessions*.test.ts the server with raw clients; this file checks that the two agree.
//
// How the page goes offline: `context.setOffline(true)` does not close a WebSocket that is
// already open in headless Chromium (checked: the page stays "open" and the server keeps the
// connection), so the page reaches the server through a TCP proxy of this file, which cuts
// both halves of every connection (no close frame, as a dead network: the page sees 1006) and
// refuses new ones until it is switched back on.
import assert from "node:assert/strict";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it, type TestContext } from "node:test";
import type { Browser } from "playwright-core";
import { createChatServer, type ChatServer } from "../../src/chat/index.js";
import { launchChromium } from "../helpers/browser.js";
import { ChatPages, joinRoom, T, WAIT_MS, type ChatPage } from "./chat-pages.js";
import { type Client, jsonClient } from "./helpers.js";

/** A TCP proxy to `port` that can be cut (every connection destroyed, new ones refused) and restored. */
class CuttableProxy {
  readonly server: Server;
  readonly #open = new Set<Socket>();
  #offline = false;

  constructor(port: number) {
    this.server = createServer((inbound) => {
      if (this.#offline) {
        inbound.destroy();
        return;
      }
      const outbound = tcpConnect(port, "127.0.0.1");
      for (const socket of [inbound, outbound]) {
        this.#open.add(socket);
        socket.on("error", () => undefined); // a cut or a reset: both halves are destroyed below
        socket.on("close", () => {
          this.#open.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.#offline = true;
    for (const socket of this.#open) socket.destroy();
  }

  restore(): void {
    this.#offline = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Waits (bounded) until `condition` holds, failing with `what`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeout = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A raw JSON user who records every event it receives (without `ts`), so that a test can look
 * for leave/join notices afterwards, and reads up to the event it waits for.
 */
class Watcher {
  readonly events: Array<Record<string, unknown>> = [];
  readonly client: Client;

  constructor(client: Client) {
    this.client = client;
  }

  /** Reads events until one of `type` (recorded like every other) and returns it. */
  async upTo(type: string): Promise<Record<string, unknown>> {
    for (;;) {
      const { ts: _ts, ...event } = await this.client.json();
      this.events.push(event);
      if (event["type"] === type) return event;
    }
  }

  async say(text: string): Promise<void> {
    this.client.sendJson({ type: "message", text });
    for (;;) if ((await this.upTo("message"))["text"] === text) return;
  }

  async whisper(to: string, text: string): Promise<void> {
    this.client.sendJson({ type: "private", to, text });
    const echo = await this.upTo("private");
    assert.deepEqual([echo["to"], echo["text"]], [to, text], `the private message to ${to} was not sent`);
  }

  async users(): Promise<string[]> {
    this.client.sendJson({ type: "users" });
    return (await this.upTo("users"))["users"] as string[];
  }

  /** The leave and join notices about `name` received so far (from the `from`th event on). */
  noticesAbout(name: string, from = 0): Array<Record<string, unknown>> {
    return this.events.slice(from).filter((e) => (e["type"] === "leave" || e["type"] === "join") && e["name"] === name);
  }
}

describe("chat sessions in Chromium against the real server", () => {
  let browser: Browser | undefined;
  let chat: ChatServer;
  let proxy: CuttableProxy;
  let proxyPort = 0;
  const errors: string[] = [];
  const pages = new ChatPages(() => browser, () => `http://127.0.0.1:${proxyPort}/`);

  before(async (t) => {
    browser = await launchChromium(t as never);
    chat = createChatServer({
      // Default sessions (the grace period of the CLI); no heartbeat: the proxy's cut is seen at once on both ends.
      heartbeatIntervalMs: 0,
      rateLimit: { ratePerSecond: 1000, burst: 1000 },
      onError: (error) => errors.push(error.message),
      onWarning: (message) => errors.push(`warning: ${message}`),
    });
    const { port } = await chat.listen(0, "127.0.0.1");
    proxy = new CuttableProxy(port);
    proxyPort = await proxy.listen();
  }, T);
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await chat?.close();
  }, T);

  /** The page of `name` as the server sees it: its connection (a browser's, by its User-Agent). */
  const pageConnections = () => chat.wynd.clients().filter((handle) => /Chrome/.test(handle.headers["user-agent"] ?? ""));

  /** [kind, text] of the entries on screen, in order. */
  function shown(chatPage: ChatPage): Promise<string[][]> {
    return chatPage.page
      .locator('[data-testid="entry"]')
      .evaluateAll((els) => els.map((el) => [el.getAttribute("data-kind") ?? "", el.querySelector(".text")?.textContent ?? el.textContent ?? ""]));
  }

  /** The page's problems, without the refused connections and HEAD probes of its time offline. */
  function problemsBesidesOffline(chatPage: ChatPage): string[] {
    return chatPage.problems.filter((p) => !/WebSocket connection to .* failed|request failed: .*net::ERR_|Failed to load resource: net::ERR_/.test(p));
  }

  /** A raw JSON user named `name` (a session keeps each name taken after its test: one per test). */
  async function watcher(t: TestContext, name: string): Promise<Watcher> {
    return new Watcher(await jsonClient(t, chat.url!.replace(/^http/, "ws"), name));
  }

  it("a page that goes offline while another user sends room and private messages shows each of them exactly once, in order, after it comes back, and the other user sees no leave or join", T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    const alice = await pages.open("alice");
    try {
      const b = await watcher(t, "bob");
      await pages.expectEntry(alice, "join", "bob");
      await b.say("before 1");
      await b.whisper("alice", "whisper before");
      await pages.expectEntry(alice, "message", "before 1");
      await pages.expectUnread(alice, "user", "bob", 1);

      proxy.cut();
      await pages.waitForState(alice, "reconnecting");
      await until(() => pageConnections().length === 0, "the server to see alice's connection gone");
      // Interleaved, all while alice has no connection: the server must keep them for her session.
      for (let i = 1; i <= 5; i++) {
        await b.say(`away ${i}`);
        if (i <= 3) await b.whisper("alice", `whisper away ${i}`);
      }
      assert.deepEqual(await b.users(), ["alice", "bob"], "alice stays online while her session lives");
      assert.equal(pageConnections().length, 0, "the page came back before the proxy let it");

      proxy.restore();
      // The page retries with backoff (its attempts while offline doubled it): allow for that.
      await pages.waitForState(alice, "open", 40_000);
      await pages.expectEntry(alice, "history", "away 5");
      await b.say("after 1");
      await pages.expectEntry(alice, "message", "after 1");

      const entries = await shown(alice);
      const said = entries.filter(([, text]) => /^(before|away|after) \d$/.test(text!)).map(([, text]) => text);
      assert.deepEqual(said, ["before 1", "away 1", "away 2", "away 3", "away 4", "away 5", "after 1"], `each room message once, in order:\n${await pages.describe(alice)}`);
      const kinds = entries.map(([kind]) => kind);
      assert.equal(kinds.filter((kind) => kind === "reconnected").length, 1, "one Reconnected marker");
      const marker = kinds.indexOf("reconnected");
      assert.ok(marker > entries.findIndex(([, text]) => text === "before 1") && marker < entries.findIndex(([, text]) => text === "after 1"), `the marker is not between before and after: ${kinds.join(" ")}`);
      assert.equal(kinds.includes("gap"), false, "nothing was trimmed: no missing-messages line");
      assert.equal(await alice.page.getByTestId("name-dialog").isHidden(), true, "the name was not asked again");

      await pages.expectUnread(alice, "user", "bob", 4);
      await pages.pick(alice, "user", "bob");
      const whispers = (await pages.texts(alice)).filter((text) => text.startsWith("whisper"));
      assert.deepEqual(whispers, ["whisper before", "whisper away 1", "whisper away 2", "whisper away 3"], "each private message once, in order");

      assert.deepEqual(await b.users(), ["alice", "bob"]);
      assert.deepEqual(b.noticesAbout("alice"), [], "bob saw alice leave or join");
      const [back] = pageConnections();
      assert.equal(pageConnections().length, 1);
      assert.ok(back !== undefined && back.query.get("session") !== null && back.query.get("after") !== null && back.query.get("privateAfter") !== null, `the page came back without resuming: ?${back?.query}`);
      assert.deepEqual(problemsBesidesOffline(alice), [], "alice's page reported problems");
      assert.deepEqual(alice.dialogs, []);
      assert.deepEqual(errors, [], "the server reported errors");
    } finally {
      await pages.closeAll();
    }
  });

  it("a reload resumes the session: name and room come back without the name dialog, and messages sent during the reload are shown once", T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    const dana = await pages.open("dana");
    try {
      // The lobby's conversation has a last id too, which a resume in #reload must not send.
      await pages.say(dana, "hello lobby");
      await pages.expectEntry(dana, "message", "hello lobby");
      await joinRoom(pages, dana, "reload");
      const eve = await watcher(t, "eve");
      eve.client.sendJson({ type: "join", room: "reload" });
      await eve.upTo("history");
      await pages.expectEntry(dana, "join", "eve");
      await eve.say("before reload");
      await eve.whisper("dana", "whisper before reload");
      await pages.expectEntry(dana, "message", "before reload");
      await pages.expectUnread(dana, "user", "eve", 1);
      const seen = eve.events.length;

      // The new document's script waits until eve has spoken: the old document's connection is
      // closed when the reload commits, and the new one cannot open before the script runs.
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      await dana.page.route("**/app.js", async (route) => {
        await gate;
        await route.continue();
      });
      await dana.page.reload({ waitUntil: "commit" });
      await until(() => pageConnections().length === 0, "the server to see the old page's connection gone");
      for (let i = 1; i <= 3; i++) await eve.say(`during reload ${i}`);
      await eve.whisper("dana", "whisper during reload");
      // (alice and bob of the first test are listed too: their sessions outlive their connections.)
      assert.ok((await eve.users()).includes("dana"), "dana stays online across the reload");
      release();

      await pages.waitForState(dana, "open", 20_000);
      await pages.expectView(dana, "#reload");
      await pages.waitUntil(dana, `document.querySelector('[data-testid="my-name"]').textContent === "dana"`, "dana's name after the reload");
      await pages.expectEntry(dana, "history", "during reload 3");
      assert.equal(await dana.page.getByTestId("name-dialog").isHidden(), true, "the name dialog opened after the reload");
      await eve.say("after reload");
      await pages.expectEntry(dana, "message", "after reload");
      const entries = await shown(dana);
      const said = entries.filter(([kind]) => kind === "message" || kind === "history").map(([, text]) => text);
      assert.deepEqual(said, ["before reload", "during reload 1", "during reload 2", "during reload 3", "after reload"], `each room message once, in order:\n${await pages.describe(dana)}`);

      // The resume asked for the messages after the last one seen in #reload, not in the lobby.
      assert.equal(entries.some(([kind]) => kind === "gap"), false, `a missing-messages line, with nothing trimmed:\n${await pages.describe(dana)}`);
      await pages.expectUnread(dana, "user", "eve", 2);
      await pages.pick(dana, "user", "eve");
      const whispers = (await pages.texts(dana)).filter((text) => text.startsWith("whisper"));
      assert.deepEqual(whispers, ["whisper before reload", "whisper during reload"], "each private message once, in order");

      const [back] = pageConnections();
      const lastSeen = eve.events.find((e) => e["type"] === "message" && e["text"] === "before reload")?.["id"];
      assert.ok(back !== undefined && back.query.get("session") !== null, `the reloaded page did not resume: ?${back?.query}`);
      assert.equal(back.query.get("after"), lastSeen, "the resume's after is not the last id seen in #reload");
      assert.deepEqual(eve.noticesAbout("dana", seen), [], "eve saw dana leave or join");
      assert.deepEqual(problemsBesidesOffline(dana), [], "dana's page reported problems");
      assert.deepEqual(dana.dialogs, []);
      assert.deepEqual(errors, [], "the server reported errors");
    } finally {
      await pages.closeAll();
    }
  });
});
