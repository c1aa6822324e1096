// The browser client's half of session resume (issue 14), in headless Chromium. The page is served
// with its real files next to a small scripted server that speaks the contract of docs/chat.md
// exactly (welcome.session, the ?session=&after=&privateAfter= reconnect, welcome.resumed,
// history.complete, ids), so the client is checked against the contract itself: the reconnect URL,
// each message once and in order, the quiet "Reconnected" marker, the "missing" line, and a reload
// that resumes. The last test runs the real chat server with a session it never gave (as after a
// restart): it must ignore it, and the page must fall back to sending its name and room again.
// browser-sessions.test.ts runs the page against the real server's sessions.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { WebSocketServer, type WebSocket } from "ws";
import { launchChromium } from "../helpers/browser.js";
import { createStaticHandler, DEFAULT_PUBLIC_DIR } from "../../src/chat/static-files.js";
import { ChatPages, joinRoom, T, useChatInChromium, type ChatPage } from "./chat-pages.js";

const LIMITS = { maxMessageBytes: 4096, maxFileBytes: 1024, maxNameLength: 32 };
const TOKEN = "session-token-0123456789abcdef";

interface Stored {
  readonly id: string;
  readonly from: string;
  readonly text: string;
  readonly ts: number;
}

/**
 * One user's chat as the sessions contract has it: a room with increasing message ids, a private
 * inbox, and a session that a connection can resume. `trimmedBefore` simulates a history that
 * lost its oldest messages (a resume from before it gets `complete: false`).
 */
class ScriptedChat {
  readonly room: Stored[] = [];
  readonly inbox: Array<Stored & { to: string }> = [];
  /** Every connection's URL, and every frame the page sent. */
  readonly urls: string[] = [];
  readonly frames: Array<Record<string, unknown>> = [];
  name: string | null = null;
  trimmedBefore = 0;
  socket: WebSocket | undefined;
  /** While set, new connections wait here (see {@link hold}), so messages "sent while away" cannot race a fast reconnect. */
  #held: Array<() => void> | undefined;
  #ts = 1_800_000_000_000;

  /** Holds new connections until {@link release}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Lets the held connections (and any later one) in, in the order they came. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const admit of held) admit();
  }

  say(from: string, text: string): void {
    const message = { id: String(this.room.length + 1), from, text, ts: this.#ts++ };
    this.room.push(message);
    this.#send({ type: "message", room: "lobby", ...message });
  }

  whisper(from: string, text: string): void {
    const message = { id: String(this.inbox.length + 1), from, to: this.name ?? "", text, ts: this.#ts++ };
    this.inbox.push(message);
    this.#send({ type: "private", ...message });
  }

  /** A new connection: resumed when it names our session, else a fresh one. */
  accept(socket: WebSocket, url: URL): void {
    if (this.#held !== undefined) {
      this.#held.push(() => this.accept(socket, url));
      return;
    }
    this.socket = socket;
    this.urls.push(url.search);
    socket.on("message", (data) => this.#onFrame(JSON.parse(String(data)) as Record<string, unknown>));
    const resumed = url.searchParams.get("session") === TOKEN && this.name !== null;
    this.#send({ type: "welcome", protocol: "wynd-chat.v1", help: ["/help - Show this help message"], room: "lobby", name: resumed ? this.name : null, limits: LIMITS, session: TOKEN, resumed });
    this.#send({ type: "room", room: "lobby" });
    const afterId = Number(url.searchParams.get("after") ?? "0");
    const since = resumed ? this.room.filter((m) => Number(m.id) > afterId) : this.room.slice(-50);
    const kept = since.filter((m) => Number(m.id) > this.trimmedBefore);
    this.#send({ type: "history", room: "lobby", messages: kept, complete: kept.length === since.length });
    if (resumed) {
      const privateAfter = Number(url.searchParams.get("privateAfter") ?? "0");
      for (const m of this.inbox.filter((p) => Number(p.id) > privateAfter)) this.#send({ type: "private", ...m });
    }
  }

  #onFrame(frame: Record<string, unknown>): void {
    this.frames.push(frame);
    const ts = this.#ts++;
    switch (frame["type"]) {
      case "name":
        this.name = String(frame["name"]);
        this.#send({ type: "name", name: this.name, ts });
        return this.#send({ type: "join", room: "lobby", name: this.name, ts });
      case "message":
        return this.say(this.name ?? "?", String(frame["text"]));
      case "rooms":
        return this.#send({ type: "rooms", rooms: [{ name: "lobby", members: 2 }], ts });
      case "users":
        return this.#send({ type: "users", users: [this.name, "pat"].filter(Boolean), ts });
      default:
        return this.#send({ type: "error", code: "bad-request", message: "not in this script", ts });
    }
  }

  #send(event: Record<string, unknown>): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify({ ts: this.#ts++, ...event }));
  }
}

describe("the browser client resumes its session by the contract of docs/chat.md", () => {
  let browser: Browser | undefined;
  let http: Server;
  let wss: WebSocketServer;
  let script = new ScriptedChat();
  const pages = new ChatPages(() => browser, () => `http://127.0.0.1:${(http.address() as AddressInfo).port}/`);

  before(async (t) => {
    browser = await launchChromium(t as never);
    http = createServer(createStaticHandler(DEFAULT_PUBLIC_DIR, (error) => console.error(error)));
    wss = new WebSocketServer({ server: http, handleProtocols: (offered) => (offered.has("wynd-chat.v1") ? "wynd-chat.v1" : false) });
    wss.on("connection", (socket, request) => script.accept(socket, new URL(request.url ?? "/", "http://localhost")));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  }, T);
  after(async () => {
    await browser?.close();
    for (const client of wss?.clients ?? []) client.terminate();
    await new Promise((resolve) => wss?.close(resolve));
    await new Promise((resolve) => http?.close(resolve));
  }, T);

  /** Cuts the page's connection from the server's side, as a dead network would. */
  async function drop(chatPage: ChatPage): Promise<void> {
    // The page may reconnect before the test has "sent while away": hold it until release().
    script.hold();
    script.socket?.terminate();
    await pages.waitForState(chatPage, "reconnecting");
  }

  /** The ids of the room's messages on screen, in order. */
  function shownIds(chatPage: ChatPage): Promise<string[]> {
    return chatPage.page.locator('[data-testid="entry"][data-id]').evaluateAll((els) => els.map((el) => el.getAttribute("data-id") ?? ""));
  }

  it("reconnects with ?session=&after=&privateAfter=, shows what was missed once and in order with a quiet marker, and does not send its name again", T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    script = new ScriptedChat();
    for (let i = 1; i <= 8; i++) script.say("pat", `early ${i}`);
    const sam = await pages.open("sam");
    try {
      await pages.expectEntry(sam, "history", "early 8");
      script.whisper("pat", "first whisper");
      await pages.expectUnread(sam, "user", "pat", 1);
      await pages.say(sam, "before the drop");
      await pages.expectEntry(sam, "message", "before the drop");

      await drop(sam);
      // Sent while sam was away: ids 10 to 12 cross from one digit to two (compared as numbers).
      for (let i = 10; i <= 12; i++) script.say("pat", `while away ${i}`);
      script.whisper("pat", "second whisper");
      script.release();
      await pages.waitForState(sam, "open", 20_000);
      await pages.expectEntry(sam, "history", "while away 12");

      assert.equal(script.urls.length, 2);
      const resumeUrl = new URLSearchParams(script.urls[1]);
      assert.deepEqual([resumeUrl.get("session"), resumeUrl.get("after"), resumeUrl.get("privateAfter")], [TOKEN, "9", "1"]);
      assert.deepEqual(await shownIds(sam), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"], "each message once, in order");
      assert.equal(await pages.entries(sam, "reconnected", "Reconnected").count(), 1);
      assert.equal(script.frames.filter((f) => f["type"] === "name").length, 1, "the name was sent again on a resumed session");
      await pages.expectUnread(sam, "user", "pat", 2);
      await pages.pick(sam, "user", "pat");
      assert.deepEqual((await pages.texts(sam)).filter((x) => x.includes("whisper")), ["first whisper", "second whisper"]);
      pages.assertNoProblems(sam);
    } finally {
      await pages.closeAll();
    }
  });

  it('shows "some earlier messages are missing" when the resumed history is not complete, and resumes after a reload without asking the name', T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    script = new ScriptedChat();
    const kit = await pages.open("kit");
    try {
      script.say("pat", "seen 1");
      await pages.expectEntry(kit, "message", "seen 1");
      await drop(kit);
      for (let i = 2; i <= 6; i++) script.say("pat", `missed ${i}`);
      script.trimmedBefore = 4; // 2 to 4 are gone from the history
      script.release();
      await pages.waitForState(kit, "open", 20_000);
      await pages.expectEntry(kit, "history", "missed 6");
      await pages.expectEntry(kit, "gap", "Some earlier messages are missing");
      assert.deepEqual(await shownIds(kit), ["1", "5", "6"]);
      const order = await kit.page.locator('[data-testid="entry"]').evaluateAll((els) => els.map((el) => el.getAttribute("data-kind")));
      assert.ok(order.indexOf("gap") > order.indexOf("message") && order.indexOf("gap") < order.indexOf("history"), `the gap line is not between the seen and the replayed: ${order.join(" ")}`);

      // A reload resumes too: the name comes back from the session, no dialog, nothing twice.
      script.trimmedBefore = 0;
      await kit.page.reload();
      await pages.waitForState(kit, "open");
      await pages.waitUntil(kit, `document.querySelector('[data-testid="my-name"]').textContent === "kit"`, "kit's name after the reload");
      assert.equal(await kit.page.getByTestId("name-dialog").isHidden(), true);
      assert.equal(new URLSearchParams(script.urls.at(-1)).get("session"), TOKEN);
      assert.deepEqual(await shownIds(kit), ["1", "5", "6"]);
      assert.equal(script.frames.filter((f) => f["type"] === "name").length, 1);
      pages.assertNoProblems(kit);
    } finally {
      await pages.closeAll();
    }
  });
});

describe("the real chat server with a page that offers to resume", () => {
  // No sessions kept: the page's old connection lets its name go at once, as after a server
  // restart, which is when a page offers a session the server does not know.
  const pages = useChatInChromium({ heartbeatIntervalMs: 0, sessionGraceMs: 0 });

  it("accepts ?session=&after=&privateAfter= on / (unknown parameters are ignored), and the page, not resumed, sends its name and room again", T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    const uma = await pages.open("uma");
    try {
      await joinRoom(pages, uma, "resume");
      await pages.say(uma, "said once");
      await pages.expectEntry(uma, "message", "said once");
      // As if an earlier server had given a session: the page offers it on its next connection.
      // (Written as the next document starts: the page saves its own state as it unloads.)
      await uma.context.addInitScript(`(() => {
        const saved = JSON.parse(sessionStorage.getItem("wynd-chat.v1"));
        saved.session = "a-session-this-server-never-gave";
        saved.privateAfter = "7";
        sessionStorage.setItem("wynd-chat.v1", JSON.stringify(saved));
      })()`);
      const upgrade = uma.page.waitForEvent("websocket", { predicate: (ws) => ws.url().includes("session=") });
      await uma.page.reload({ waitUntil: "commit" });
      // after: the last id seen in #resume, the room the page was in (not the lobby's, which has none).
      assert.match((await upgrade).url(), /\?session=a-session-this-server-never-gave&after=\d+-\d+&privateAfter=7$/);
      await pages.waitForState(uma, "open");
      await pages.expectView(uma, "#resume");
      await pages.say(uma, "after the reload");
      await pages.expectEntry(uma, "message", "after the reload");
      assert.deepEqual((await pages.texts(uma)).filter((x) => x === "said once"), ["said once"]);
      pages.assertNoProblems(uma);
    } finally {
      await pages.closeAll();
    }
  });
});
