// End to end in headless Chromium: the chat server serves the page (src/chat/public/) and the
// chat; pages in separate browser contexts (separate users) drive it as a person would, through
// the page's controls, found by their data-testid attributes.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Locator } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { ChatPages, T, WAIT_MS, type ChatPage } from "./chat-pages.js";
import { createChatServer, parseTokenList } from "../../src/chat/index.js";

/** The reconnect backoff after a server restart takes a few seconds at most. */
const RECONNECT_WAIT_MS = 20_000;
const XSS = "<img src=x onerror=alert(1)>";

type ChatServer = ReturnType<typeof createChatServer>;

describe("the chat's browser client in headless Chromium", () => {
  let browser: Browser | undefined;
  let chat: ChatServer;
  let port = 0;
  let dataDir = "";
  const pages = new ChatPages(() => browser, () => `http://127.0.0.1:${port}/`);
  const expectView = (p: ChatPage, title: string) => pages.expectView(p, title);
  const expectEntry = (p: ChatPage, kind: string, text: string, timeout?: number) => pages.expectEntry(p, kind, text, timeout);
  const waitVisible = (p: ChatPage, locator: Locator, what: string) => pages.waitVisible(p, locator, what);
  const waitForState = (p: ChatPage, state: string, timeout?: number) => pages.waitForState(p, state, timeout);
  const say = (p: ChatPage, text: string) => pages.say(p, text);

  before(async (t) => {
    dataDir = await mkdtemp(join(tmpdir(), "wynd-chat-browser-"));
    browser = await launchChromium(t as never);
    chat = createChatServer({ dataDir });
    port = (await chat.listen(0, "127.0.0.1")).port;
  }, T);
  after(async () => {
    await browser?.close();
    await chat?.close();
    if (dataDir !== "") await rm(dataDir, { recursive: true, force: true });
  }, T);

  const openChat = (name: string) => pages.open(name);
  const openChatAt = (url: string, name: string, connected = true) => pages.open(name, { url, connected });
  const closeAll = () => pages.closeAll();
  const assertNoProblems = (...chatPages: ChatPage[]) => pages.assertNoProblems(...chatPages);
  const entriesOf = (chatPage: ChatPage) => chatPage.page.getByTestId("entry").allTextContents();

  it("serves the page under its Content-Security-Policy, and two pages that set names see each other's messages, each other in the users pane, and a rename", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const alice = await openChat("alice");
    const bob = await openChat("bob");
    try {
      await expectEntry(alice, "join", "bob joined #lobby");
      await say(alice, "hello bob");
      await expectEntry(bob, "message", "hello bob");
      await say(bob, "hi alice");
      await expectEntry(alice, "message", "hi alice");
      // Each message shows its sender and a timestamp.
      const entry = await expectEntry(bob, "message", "hello bob");
      assert.equal(await entry.locator(".from").textContent(), "alice");
      assert.match((await entry.locator("time").getAttribute("datetime")) ?? "", /^\d{4}-\d\d-\d\dT/);
      await waitVisible(alice, alice.page.locator('[data-testid="user"][data-name="bob"]'), "bob in alice's users pane");
      await waitVisible(bob, bob.page.locator('[data-testid="user"][data-name="alice"]'), "alice in bob's users pane");
      await waitVisible(bob, bob.page.locator('[data-testid="room"][data-room="lobby"]'), "the lobby in bob's rooms pane");

      // A rename (through "Change name", which opens the name dialog again) is announced as one,
      // and the users pane follows it.
      await bob.page.getByTestId("name-change").click();
      await bob.page.getByTestId("name-input").fill("robert");
      await bob.page.getByTestId("name-button").click();
      await expectEntry(alice, "rename", "bob is now known as robert");
      await waitVisible(alice, alice.page.locator('[data-testid="user"][data-name="robert"]'), "robert in alice's users pane");
      assert.equal(await bob.page.getByTestId("my-name").textContent(), "robert");
      assert.equal(await bob.page.getByTestId("name-dialog").isHidden(), true, "the name dialog stayed open");
      assert.equal(await alice.page.locator('[data-testid="user"][data-name="bob"]').count(), 0, "bob is still listed");
      assertNoProblems(alice, bob);
    } finally {
      await closeAll();
    }
  });

  it("fits a 360 px wide screen without sideways scrolling, with a label for every input and a live message list", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const peggy = await openChat("peggy");
    try {
      await peggy.page.setViewportSize({ width: 360, height: 740 });
      await say(peggy, "a long word: " + "x".repeat(200));
      await expectEntry(peggy, "message", "a long word");
      const layout = (await peggy.page.evaluate(LAYOUT_SCRIPT)) as { scrollWidth: number; unlabelled: string[]; live: string | null };
      assert.ok(layout.scrollWidth <= 360, `the page is ${layout.scrollWidth} px wide`);
      assert.deepEqual(layout.unlabelled, [], "inputs without a label");
      assert.equal(layout.live, "polite");
      assertNoProblems(peggy);
    } finally {
      await closeAll();
    }
  });

  it("keeps messages in their room: a page joins a room by name, another by clicking it in the rooms pane, and both leave back to the lobby", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const carol = await openChat("carol");
    const dave = await openChat("dave");
    try {
      assert.equal(await carol.page.getByTestId("leave-button").isHidden(), true, "leave is offered in the lobby");
      await carol.page.getByTestId("room-input").fill("dev");
      await carol.page.getByTestId("room-input").press("Enter");
      await expectEntry(carol, "room", "You are in #dev");
      await expectView(carol, "#dev");
      await say(carol, "only in dev");
      await expectEntry(carol, "message", "only in dev");

      // dave, in the lobby, sees carol leave it; his rooms pane then lists dev with one member.
      await expectEntry(dave, "leave", "carol left #lobby");
      const devButton = await waitVisible(dave, dave.page.locator('[data-testid="room"][data-room="dev"]').filter({ hasText: "1" }), "dev (1) in dave's rooms pane");
      assert.deepEqual((await entriesOf(dave)).filter((e) => e.includes("only in dev")), [], "a dev message reached the lobby");

      await devButton.click();
      await expectView(dave, "#dev");
      await expectEntry(dave, "room", "You are in #dev");
      // Entering the room replays its history.
      await expectEntry(dave, "history", "only in dev");
      await expectEntry(carol, "join", "dave joined #dev");
      await say(dave, "dave in dev");
      await expectEntry(carol, "message", "dave in dev");

      await carol.page.getByTestId("leave-button").click();
      await expectView(carol, "#lobby");
      await expectEntry(carol, "room", "You are back in #lobby");
      // The room left is forgotten: no longer in carol's sidebar once nobody she knows is there.
      assert.equal(await carol.page.locator('[data-testid="room"][data-room="dev"] [data-testid="unread"]').count(), 0);
      await expectEntry(dave, "leave", "carol left #dev");
      await say(dave, "carol is gone");
      await expectEntry(dave, "message", "carol is gone");
      await say(carol, "back in the lobby");
      await expectEntry(carol, "message", "back in the lobby");
      assert.deepEqual((await entriesOf(carol)).filter((e) => e.includes("carol is gone")), [], "a dev message reached the lobby");
      assertNoProblems(carol, dave);
    } finally {
      await closeAll();
    }
  });

  it("sends a private message in the conversation of the person clicked in the sidebar, and to the room again from the room's view", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const erin = await openChat("erin");
    const frank = await openChat("frank");
    const grace = await openChat("grace");
    try {
      await pages.pick(erin, "user", "frank");
      await say(erin, "just between us");
      await expectEntry(erin, "private", "just between us");
      // frank, in the lobby, is told by an unread count, and finds it in erin's conversation.
      await pages.expectUnread(frank, "user", "erin", 1);
      await pages.pick(frank, "user", "erin");
      const received = await expectEntry(frank, "private", "just between us");
      assert.equal(await received.locator(".from").textContent(), "erin");

      await pages.pick(erin, "room", "lobby");
      await say(erin, "for everyone");
      await expectEntry(grace, "message", "for everyone");
      assert.deepEqual((await entriesOf(grace)).filter((e) => e.includes("just between us")), [], "grace saw a private message");
      // The /msg command of the text protocol works in the composer too.
      await say(frank, "/msg erin reply by command");
      await pages.expectUnread(erin, "user", "frank", 1);
      await pages.pick(erin, "user", "frank");
      await expectEntry(erin, "private", "reply by command");
      assertNoProblems(erin, frank, grace);
    } finally {
      await closeAll();
    }
  });

  it("shares files picked or dropped: the other page receives them, downloads the same bytes and previews an image", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const heidi = await openChat("heidi");
    const ivan = await openChat("ivan");
    try {
      const bytes = Buffer.alloc(70_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
      await heidi.page.getByTestId("file-input").setInputFiles([
        { name: "data.bin", mimeType: "application/octet-stream", buffer: bytes },
        { name: "dot.png", mimeType: "image/png", buffer: PNG_1X1 },
      ]);
      const link = await waitVisible(ivan, ivan.page.locator('[data-testid="file-link"]').filter({ hasText: "data.bin" }), "ivan's link to data.bin");
      assert.equal(await link.getAttribute("download"), "data.bin");
      const fileEntry = await expectEntry(ivan, "file", "data.bin");
      assert.equal(await fileEntry.locator(".from").textContent(), "heidi");
      const [download] = await Promise.all([ivan.page.waitForEvent("download", { timeout: WAIT_MS }), link.click()]);
      assert.equal(download.suggestedFilename(), "data.bin");
      const saved = await withTimeout(download.path(), WAIT_MS, "the download to finish");
      assert.ok(saved !== null, "the download was not saved");
      assert.ok((await readFile(saved)).equals(bytes), "the downloaded bytes differ from the sent ones");
      // The sender sees its own file relayed too.
      await waitVisible(heidi, heidi.page.locator('[data-testid="file-link"]').filter({ hasText: "data.bin" }), "heidi's own data.bin");

      // The image is previewed from its blob: URL (allowed by the CSP's img-src) and decodes.
      const preview = await waitVisible(ivan, ivan.page.locator('[data-testid="file-preview"]'), "ivan's preview of dot.png");
      await ivan.page.waitForFunction(`document.querySelector('[data-testid="file-preview"]').naturalWidth === 1`, undefined, { timeout: WAIT_MS });
      assert.equal(await preview.getAttribute("alt"), "Preview of dot.png");

      // Drag and drop onto the message pane sends too.
      await heidi.page.evaluate(DROP_SCRIPT);
      await expectEntry(ivan, "file", "dropped.txt");
      assertNoProblems(heidi, ivan);
    } finally {
      await closeAll();
    }
  });

  it(`shows ${XSS} as text in messages and private messages: no element is created and no dialog opens`, T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const judy = await openChat("judy");
    const mallory = await openChat("mallory");
    try {
      await say(mallory, XSS);
      const entry = await expectEntry(judy, "message", XSS);
      assert.equal(await entry.locator(".text").textContent(), XSS);
      await pages.pick(mallory, "user", "judy");
      await say(mallory, `psst ${XSS}`);
      await pages.expectUnread(judy, "user", "mallory", 1);
      await pages.pick(judy, "user", "mallory");
      const privateEntry = await expectEntry(judy, "private", `psst ${XSS}`);
      assert.equal(await privateEntry.locator(".text").textContent(), `psst ${XSS}`);
      // A round trip later (judy answers in the conversation she opened), an image that had been
      // created would have fired its onerror.
      await say(judy, "still here");
      await expectEntry(mallory, "private", "still here");
      for (const chatPage of [judy, mallory]) {
        assert.equal(await chatPage.page.locator('[data-testid="messages"] img').count(), 0, `${chatPage.name}'s page created an <img>`);
      }
      assertNoProblems(judy, mallory);
    } finally {
      await closeAll();
    }
  });

  it("passes the page's ?token= to the WebSocket, whose name then is fixed; quits without reconnecting; stops retrying a refused token", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const authDir = await mkdtemp(join(tmpdir(), "wynd-chat-browser-auth-"));
    const authed = createChatServer({ dataDir: authDir, auth: parseTokenList("tok-trent-1234 trent\n") });
    const authedPort = (await authed.listen(0, "127.0.0.1")).port;
    try {
      const trent = await openChatAt(`http://127.0.0.1:${authedPort}/?token=tok-trent-1234`, "trent");
      await expectEntry(trent, "system", "You are now known as trent.");
      assert.equal(await trent.page.getByTestId("name-input").inputValue(), "trent");
      assert.equal(await trent.page.getByTestId("name-input").getAttribute("readonly"), "");
      await say(trent, "signed in");
      assert.equal(await (await expectEntry(trent, "message", "signed in")).locator(".from").textContent(), "trent");

      // Quit: the server says goodbye and closes; the page stays closed until asked.
      await trent.page.getByTestId("quit-button").click();
      await expectEntry(trent, "system", "You left the chat");
      await waitForState(trent, "closed");
      await waitVisible(trent, trent.page.getByTestId("reconnect-button"), "the reconnect button");
      await trent.page.getByTestId("reconnect-button").click();
      await waitForState(trent, "open");
      await expectSecondEntry(trent, "system", "You are now known as trent.");

      // A bad token: the upgrade is refused (401) while the page loads fine; the page gives up.
      const eve = await openChatAt(`http://127.0.0.1:${authedPort}/?token=not-a-token`, "eve", false);
      await waitForState(eve, "closed");
      assert.equal(await eve.page.getByTestId("connection-state").textContent(), "Refused by the server");
      await pages.expectError(eve, "refused the connection");
      assertNoProblems(trent);
      assert.deepEqual(eve.dialogs, []);
    } finally {
      await closeAll();
      await authed.close();
      await rm(authDir, { recursive: true, force: true });
    }
  });

  it("does not reconnect after the server closes a flooding page with 1008", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const oscar = await openChat("oscar");
    try {
      await oscar.page.evaluate(FLOOD_SCRIPT);
      await waitForState(oscar, "closed");
      await pages.expectError(oscar, "The server closed the connection");
      // The first reconnect would come within 0.5 s: a while later, the page is still closed.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(await oscar.page.getByTestId("connection-state").getAttribute("data-state"), "closed");
      assert.deepEqual(oscar.dialogs, []);
    } finally {
      await closeAll();
    }
  });

  it("shows reconnecting while the server is down, reconnects when it is back, sends the name again, rejoins its room and merges its history without showing a message twice", T, async (t) => {
    if (browser === undefined) return t.skip("no browser");
    const kim = await openChat("kim");
    try {
      await kim.page.getByTestId("room-input").fill("ops");
      await kim.page.getByTestId("room-input").press("Enter");
      await expectEntry(kim, "room", "You are in #ops");
      await say(kim, "before the restart");
      await expectEntry(kim, "message", "before the restart");
      await chat.close();
      await waitForState(kim, "reconnecting");
      assert.match((await kim.page.getByTestId("connection-state").textContent()) ?? "", /Reconnecting in \d+ s/);
      chat = createChatServer({ dataDir });
      await chat.listen(port, "127.0.0.1");
      await waitForState(kim, "open", RECONNECT_WAIT_MS);
      // The name is set again on the new connection (quietly), the page goes back to its room,
      // whose history survived on disk and is merged with what the page shows: once each.
      await expectEntry(kim, "reconnected", "Reconnected");
      await expectView(kim, "#ops");
      await waitVisible(kim, kim.page.getByTestId("my-name").filter({ hasText: "kim" }), "kim's name");
      await say(kim, "after the restart");
      await expectEntry(kim, "message", "after the restart");
      const texts = await pages.texts(kim);
      assert.deepEqual(texts.filter((text) => text === "before the restart"), ["before the restart"], "shown once");
      // (kim named herself in the lobby: the quiet resend adds nothing here.)
      assert.deepEqual(texts.filter((text) => text.startsWith("You are now known as")), [], "the name's resend was announced");
      // The restart's refused connections are expected console noise; nothing else is.
      assert.deepEqual(kim.problems.filter((p) => !/WebSocket|ERR_CONNECTION_REFUSED|net::/.test(p)), []);
      assert.deepEqual(kim.dialogs, []);
    } finally {
      await closeAll();
    }
  });

  /** The second entry of `kind` containing `text` (one per connection: a token's "You are now known as…"). */
  async function expectSecondEntry(chatPage: ChatPage, kind: string, text: string): Promise<void> {
    const locator = chatPage.page.locator(`[data-testid="entry"][data-kind="${kind}"]`).filter({ hasText: text }).nth(1);
    await waitVisible(chatPage, locator, `${chatPage.name}: a second ${kind} entry ${JSON.stringify(text)}`);
  }
});

/** A 1×1 PNG. */
const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** Drops a small text file on the message pane, as a drag from the desktop would (a string,
 * so that this file needs no DOM types). */
const DROP_SCRIPT = `(() => {
  const data = new DataTransfer();
  data.items.add(new File(["dropped!"], "dropped.txt", { type: "text/plain" }));
  const zone = document.querySelector('[data-testid="drop-zone"]');
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
})()`;

/** Sends 80 messages at once through the composer, far past the rate limit's burst. */
const FLOOD_SCRIPT = `(() => {
  const form = document.querySelector('[data-testid="composer"]');
  const input = document.querySelector('[data-testid="message-input"]');
  for (let i = 0; i < 80; i++) {
    input.value = "flood " + i;
    form.requestSubmit();
  }
})()`;

/** The page's width, its inputs without a label, and the message list's aria-live. */
const LAYOUT_SCRIPT = `(() => ({
  scrollWidth: document.documentElement.scrollWidth,
  unlabelled: [...document.querySelectorAll("input, textarea")].filter((input) => input.labels.length === 0).map((input) => input.outerHTML),
  live: document.querySelector('[data-testid="messages"]').getAttribute("aria-live"),
}))()`;

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
async function withTimeout<V>(promise: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
