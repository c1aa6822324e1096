// The browser chat as a modern chat app (issue 15), in headless Chromium at a desktop's and a
// phone's size: a conversation per room and per person with unread counts, the composer inside
// the screen, the log following its end, refused text kept, and a reload that keeps the name and
// the room.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodePng } from "../helpers/png.js";
import { joinRoom, SIZES, T, useChatInChromium, WAIT_MS, type ChatPage } from "./chat-pages.js";

/** Where the log is: at its end when the last pixel is in view. */
const LOG_SCRIPT = `(() => {
  const log = document.querySelector('[data-testid="messages"]');
  return { top: log.scrollTop, height: log.clientHeight, scrollHeight: log.scrollHeight,
    atBottom: log.scrollTop + log.clientHeight >= log.scrollHeight - 2 };
})()`;

interface LogPlace {
  top: number;
  height: number;
  scrollHeight: number;
  atBottom: boolean;
}

describe("the browser chat's conversations, layout and composer, at a desktop's and a phone's size", () => {
    // Generous limits: these tests send 50 messages in a burst (the limit has its own tests).
  const pages = useChatInChromium({ heartbeatIntervalMs: 0, rateLimit: { ratePerSecond: 1000, burst: 1000 } });

  /** The texts of the entries on screen that contain `text`. */
  async function shown(chatPage: ChatPage, text: string): Promise<string[]> {
    return (await pages.texts(chatPage)).filter((t) => t.includes(text));
  }

  async function logPlace(chatPage: ChatPage): Promise<LogPlace> {
    return (await chatPage.page.evaluate(LOG_SCRIPT)) as LogPlace;
  }

  /** Waits until the log is at its end (it may still be scrolling there). */
  async function expectAtBottom(chatPage: ChatPage, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    let place = await logPlace(chatPage);
    while (!place.atBottom && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      place = await logPlace(chatPage);
    }
    assert.ok(place.atBottom, `${chatPage.name}'s log is not at its end ${what}: ${JSON.stringify(place)}`);
  }

  for (const size of SIZES) {
    const viewport = { width: size.width, height: size.height };
    const at = `at ${size.width}×${size.height}`;

    it(`${at}: two people, two rooms and a private conversation; each view shows only its own messages, and the unread counts move as they are read`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const alice = await pages.open(`alice${size.width}`, { viewport });
      const bob = await pages.open(`bob${size.width}`, { viewport });
      const [a, b] = [alice.name, bob.name];
      const dev = `dev${size.width}`;
      try {
        await joinRoom(pages, alice, dev);
        await pages.pick(bob, "room", dev);
        await pages.say(alice, "dev hello");
        await pages.expectEntry(bob, "message", "dev hello");

        // bob writes to alice privately: alice, reading the room, gets an unread count, not the text.
        await pages.pick(bob, "user", a);
        await pages.say(bob, "private ping");
        await pages.expectEntry(bob, "private", "private ping");
        await pages.expectUnread(alice, "user", b, 1);
        assert.deepEqual(await shown(alice, "private ping"), [], "a private message in the room's view");
        if (size.label === "phone") {
          // The drawer is closed on a phone: the menu button carries the count.
          assert.equal(await alice.page.getByTestId("menu-unread").textContent(), "1");
        }

        // alice talks in the room while bob reads their conversation: his room gets the count.
        await pages.say(alice, "dev second");
        await pages.expectEntry(alice, "message", "dev second");
        await pages.expectUnread(bob, "room", dev, 1);
        assert.deepEqual(await shown(bob, "dev second"), [], "a room message in the private view");

        // Reading a conversation clears its count and shows only its own messages.
        await pages.pick(alice, "user", b);
        await pages.expectEntry(alice, "private", "private ping");
        await pages.expectUnread(alice, "user", b, 0);
        assert.deepEqual(await shown(alice, "dev hello"), [], "a room message in the private view");
        await pages.pick(bob, "room", dev);
        await pages.expectEntry(bob, "message", "dev second");
        await pages.expectUnread(bob, "room", dev, 0);
        assert.deepEqual(await shown(bob, "private ping"), [], "a private message in the room's view");

        // alice goes back to the lobby: the dev conversation stays in her sidebar, to go back to.
        await pages.pick(alice, "room", "lobby");
        await pages.expectEntry(bob, "leave", `${a} left #${dev}`);
        assert.deepEqual(await shown(alice, "dev hello"), [], "a dev message in the lobby's view");
        await pages.say(bob, "said while alice was away");
        await pages.expectEntry(bob, "message", "said while alice was away");
        await pages.pick(alice, "room", dev);
        await pages.expectEntry(alice, "history", "said while alice was away");
        assert.deepEqual(await shown(alice, "dev hello"), ["dev hello"], "the conversation is kept, each message once");
        assert.equal(await alice.page.getByTestId("menu-unread").isHidden(), true, "no unread left");
        pages.assertNoProblems(alice, bob);
      } finally {
        await pages.closeAll();
      }
    });

    it(`${at}: the composer is entirely on screen, the page does not scroll sideways, and the rooms and people are ${size.label === "phone" ? "a drawer" : "a column"}`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const carol = await pages.open(`carol${size.width}`, { viewport });
      try {
        // Enough messages to fill the log, and a long word.
        for (let i = 0; i < 30; i++) await pages.say(carol, i === 29 ? `last ${"w".repeat(300)}` : `filler ${i}`);
        await pages.expectEntry(carol, "message", "last www");
        for (const id of ["composer", "message-input", "send-button"]) {
          const box = await carol.page.getByTestId(id).boundingBox();
          assert.ok(box !== null, `${id} is not shown`);
          assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= size.width && box.y + box.height <= size.height, `${id} is outside the ${size.width}×${size.height} screen: ${JSON.stringify(box)}`);
        }
        const widths = (await carol.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")) as number[];
        assert.deepEqual(widths, [size.width, size.height], "the page itself scrolls (only the log should)");
        const sidebar = carol.page.getByTestId("sidebar");
        if (size.label === "phone") {
          assert.equal(await carol.page.getByTestId("rooms-list").isVisible(), false, "the drawer is open from the start");
          await pages.showSidebar(carol);
          assert.equal(await carol.page.getByTestId("menu-button").getAttribute("aria-expanded"), "true");
          // The drawer has the focus, and the conversation under it is out of reach meanwhile.
          assert.equal(await carol.page.evaluate(`document.querySelector('[data-testid="sidebar"]').contains(document.activeElement)`), true);
          assert.equal(await carol.page.evaluate(`document.querySelector("main").inert`), true);
          await carol.page.keyboard.press("Escape");
          await pages.waitUntil(carol, `getComputedStyle(document.querySelector('[data-testid="sidebar"]')).visibility === "hidden"`, "the drawer closed by Escape");
          assert.equal(await carol.page.evaluate(`document.activeElement?.dataset.testid`), "menu-button");
          assert.equal(await carol.page.evaluate(`document.querySelector("main").inert`), false);
        } else {
          assert.equal(await sidebar.isVisible(), true);
          assert.equal(await carol.page.getByTestId("menu-button").isVisible(), false);
        }
        pages.assertNoProblems(carol);
      } finally {
        await pages.closeAll();
      }
    });

    it(`${at}: the log stays at its end after an image arrives and after 50 more messages, and offers "new messages" when scrolled up`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const dan = await pages.open(`dan${size.width}`, { viewport });
      const eva = await pages.open(`eva${size.width}`, { viewport });
      try {
        for (let i = 0; i < 10; i++) await pages.say(eva, `warm-up ${i}`);
        await pages.expectEntry(dan, "message", "warm-up 9");
        await expectAtBottom(dan, "before the image");
        // A tall image: its preview grows the log once decoded, after the entry was appended.
        const png = encodePng(300, 900, (x, y) => [x % 256, y % 256, 160]);
        await eva.page.getByTestId("file-input").setInputFiles([{ name: "tall.png", mimeType: "image/png", buffer: png }]);
        await pages.waitVisible(dan, dan.page.getByTestId("file-preview"), "dan's preview");
        await pages.waitUntil(dan, `document.querySelector('[data-testid="file-preview"]').complete && document.querySelector('[data-testid="file-preview"]').naturalHeight === 900`, "the tall image decoded");
        await expectAtBottom(dan, "after the image loaded");

        await eva.page.evaluate(SEND_MANY_SCRIPT(50, "burst"));
        await pages.expectEntry(dan, "message", "burst 49");
        await expectAtBottom(dan, "after 50 more messages");
        assert.equal(await dan.page.getByTestId("new-messages").isHidden(), true);

        // Scrolled up, a new message does not move the log: a button says it is there.
        // (The scroll event is dispatched at once rather than at the next frame, so the page has
        // seen the reader leave the end before the next message, however slow the machine.)
        await dan.page.evaluate(`(() => {
          const log = document.querySelector('[data-testid="messages"]');
          log.scrollTop = 0;
          log.dispatchEvent(new Event("scroll"));
        })()`);
        await pages.say(eva, "while dan reads back");
        await pages.waitVisible(dan, dan.page.getByTestId("new-messages"), "the new messages button");
        assert.match((await dan.page.getByTestId("new-messages").textContent()) ?? "", /1 new message/);
        assert.ok((await logPlace(dan)).top < 50, "the log moved while dan read back");
        await dan.page.getByTestId("new-messages").click();
        await expectAtBottom(dan, "after the new messages button");
        assert.equal(await dan.page.getByTestId("new-messages").isHidden(), true);
        pages.assertNoProblems(dan, eva);
      } finally {
        await pages.closeAll();
      }
    });

    it(`${at}: a reload keeps the name, the room, the conversation on screen and the private conversations, and shows each message once`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const fay = await pages.open(`fay${size.width}`, { viewport });
      const gus = await pages.open(`gus${size.width}`, { viewport });
      const ops = `ops${size.width}`;
      try {
        await pages.pick(gus, "user", fay.name);
        await pages.say(gus, "a private hello");
        await joinRoom(pages, fay, ops);
        await pages.say(fay, "before the reload");
        await pages.expectEntry(fay, "message", "before the reload");
        await pages.expectUnread(fay, "user", gus.name, 1);

        await fay.page.reload();
        await pages.waitForState(fay, "open");
        await pages.expectView(fay, `#${ops}`);
        // (On a phone the name is in the closed drawer: read, not seen.)
        await pages.waitUntil(fay, `document.querySelector('[data-testid="my-name"]').textContent === ${JSON.stringify(fay.name)}`, "fay's name after the reload");
        // Back in the room on the server too: a message reaches it.
        await pages.say(fay, "after the reload");
        await pages.expectEntry(fay, "message", "after the reload");
        assert.equal(await fay.page.getByTestId("name-dialog").isHidden(), true, "the name was asked again");
        assert.deepEqual(await shown(fay, "before the reload"), ["before the reload"], "shown once after the reload");
        await pages.expectUnread(fay, "user", gus.name, 1);
        await pages.pick(fay, "user", gus.name);
        await pages.expectEntry(fay, "private", "a private hello");
        pages.assertNoProblems(gus);
      } finally {
        await pages.closeAll();
      }
    });
  }

  it("Enter sends and Shift+Enter breaks the line; links are clickable only for http(s), opened without referrer; a message typed before a name stays and asks for one", T, async (t) => {
    if (!pages.ready) return t.skip("no browser");
    const hal = await pages.open("hal");
    const ivy = await pages.open("ivy", { connected: false });
    try {
      const input = hal.page.getByTestId("message-input");
      await input.fill("first line");
      await input.press("Shift+Enter");
      await input.pressSequentially("second line");
      assert.equal(await input.inputValue(), "first line\nsecond line");
      await input.press("Enter");
      const entry = await pages.expectEntry(hal, "message", "second line");
      assert.equal(await entry.locator(".text").textContent(), "first line\nsecond line");
      assert.equal(await input.inputValue(), "", "the composer was not cleared");

      await pages.say(hal, "see https://example.com/a?b=1. not javascript:alert(1) nor <a href=x>x</a> but http://example.org");
      const links = await pages.expectEntry(hal, "message", "see https://example.com");
      const found = await links.locator("a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.getAttribute("rel"), a.getAttribute("target"), a.textContent]));
      assert.deepEqual(found, [
        ["https://example.com/a?b=1", "noopener noreferrer", "_blank", "https://example.com/a?b=1"],
        ["http://example.org/", "noopener noreferrer", "_blank", "http://example.org"],
      ]);
      assert.equal(await links.locator(".text").textContent(), "see https://example.com/a?b=1. not javascript:alert(1) nor <a href=x>x</a> but http://example.org");

      // ivy's page asks for a name at once, in a focused dialog; a message typed after "Not now"
      // opens it again and stays in the composer.
      await pages.waitForState(ivy, "open");
      await pages.waitVisible(ivy, ivy.page.getByTestId("name-dialog"), "ivy's name dialog");
      assert.equal(await ivy.page.evaluate("document.activeElement?.dataset.testid"), "name-input");
      await ivy.page.getByTestId("name-cancel").click();
      await pages.say(ivy, "hello before a name");
      await pages.waitVisible(ivy, ivy.page.getByTestId("name-dialog"), "ivy's name dialog, again");
      assert.equal(await ivy.page.getByTestId("message-input").inputValue(), "hello before a name");
      await pages.chooseName(ivy, "ivy");
      await ivy.page.getByTestId("message-input").press("Enter");
      await pages.expectEntry(hal, "message", "hello before a name");
      pages.assertNoProblems(hal, ivy);
    } finally {
      await pages.closeAll();
    }
  });
});

describe("the browser chat keeps a refused message in the composer", () => {
    // A small bucket, so that the fifth message of a burst is refused (the page's own queries,
    // at most 2 a second, fit in theirs); many strikes before a close.
  // No sessions: a page closed here leaves at once (with a grace period it would stay online).
  const pages = useChatInChromium({ heartbeatIntervalMs: 0, sessionGraceMs: 0, rateLimit: { ratePerSecond: 2, burst: 4, floodStrikes: 50 } });

  for (const size of SIZES) {
    it(`at ${size.width}×${size.height}: a rate-limited message, and one to a person who left, come back to the composer with the error beside it`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const viewport = { width: size.width, height: size.height };
      const jo = await pages.open(`jo${size.width}`, { viewport });
      const kai = await pages.open(`kai${size.width}`, { viewport });
      try {
        await new Promise((resolve) => setTimeout(resolve, 2500)); // the bucket refills after naming
        // Named per screen size: the lobby's history holds the other run's.
        const burst = `burst${size.width}`;
        await jo.page.evaluate(SEND_MANY_SCRIPT(5, burst));
        await pages.expectEntry(kai, "message", `${burst} 3`);
        await pages.expectError(jo, "too fast");
        assert.equal(await jo.page.getByTestId("message-input").inputValue(), `${burst} 4`);
        assert.deepEqual(await shown(kai, `${burst} 4`), [], "the refused message was shown");
        const error = await jo.page.getByTestId("composer-error").boundingBox();
        const composer = await jo.page.getByTestId("message-input").boundingBox();
        assert.ok(error !== null && composer !== null && error.y + error.height <= composer.y + 1 && composer.y - error.y < 120, "the error is not beside the composer");
        // Sent again once the bucket has refilled: it goes, and the error goes away.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await jo.page.getByTestId("message-input").press("Enter");
        await pages.expectEntry(kai, "message", `${burst} 4`);
        assert.equal(await jo.page.getByTestId("composer-error").isHidden(), true);

        // A private message to someone who left: refused (unknown-user), the text stays.
        await pages.pick(jo, "user", kai.name);
        await kai.context.close();
        await pages.waitVisible(jo, jo.page.getByTestId("view-sub").filter({ hasText: "offline" }), `${kai.name} offline`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await pages.say(jo, "are you there?");
        await pages.expectError(jo, "No such user");
        assert.equal(await jo.page.getByTestId("message-input").inputValue(), "are you there?");
        pages.assertNoProblems(jo);
      } finally {
        await pages.closeAll();
      }
    });
  }

  /** The texts of the entries on screen that contain `text`. */
  async function shown(chatPage: ChatPage, text: string): Promise<string[]> {
    return (await pages.texts(chatPage)).filter((t) => t.includes(text));
  }
});

/** Sends `count` messages "<prefix> 0".."<prefix> count-1" through the composer in one go. */
function SEND_MANY_SCRIPT(count: number, prefix: string): string {
  return `(() => {
    const form = document.querySelector('[data-testid="composer"]');
    const input = document.querySelector('[data-testid="message-input"]');
    for (let i = 0; i < ${count}; i++) {
      input.value = ${JSON.stringify(prefix)} + " " + i;
      form.requestSubmit();
    }
  })()`;
}
