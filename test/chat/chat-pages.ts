// Shared by the browser tests of the chat: people's pages (each in its own browser context, so
// its own sessionStorage), driven through the page's controls found by their data-testid, with
// bounded waits that fail with what the page shows instead.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { createChatServer, type ChatServer, type ChatServerOptions } from "../../src/chat/index.js";
import { launchChromium } from "../helpers/browser.js";

/** Every wait of the browser tests is bounded by this (ms): generous, as the machine is shared. */
export const WAIT_MS = 10_000;
/** The bound of each browser test as a whole, for what has no timeout of its own. */
export const T = { timeout: 120_000 };
/** The two screens of issue 15: a desktop and a phone. */
export const SIZES = [
  { label: "desktop", width: 1280, height: 800 },
  { label: "phone", width: 390, height: 844 },
] as const;

/** One person's page, with what went wrong in it, for the failure messages. */
export interface ChatPage {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and warnings, uncaught exceptions, failed requests. */
  readonly problems: string[];
  /** Messages of every alert/confirm/prompt the page opened (there must be none). */
  readonly dialogs: string[];
}

/** Options of {@link ChatPages.open}. */
export interface OpenOptions {
  /** The page's address (default: the server's `/`). */
  readonly url?: string;
  /** Wait for the connection and set the name through the name dialog (default true; not with `?token=`). */
  readonly connected?: boolean;
  readonly viewport?: { readonly width: number; readonly height: number };
}

/** The pages of one test file, opened on one chat server. */
export class ChatPages {
  readonly #pages: ChatPage[] = [];
  readonly #browser: () => Browser | undefined;
  readonly #baseUrl: () => string;

  /** `browser` and `baseUrl` are read at each open: the test's `before` hook sets them later. */
  constructor(browser: () => Browser | undefined, baseUrl: () => string) {
    this.#browser = browser;
    this.#baseUrl = baseUrl;
  }

  /** Whether there is a browser (a test without one skips itself, see launchChromium). */
  get ready(): boolean {
    return this.#browser() !== undefined;
  }

  /** Opens the chat in a new context (a separate person); see {@link OpenOptions}. */
  async open(name: string, options: OpenOptions = {}): Promise<ChatPage> {
    const browser = this.#browser();
    assert.ok(browser !== undefined);
    const context = await browser.newContext({ acceptDownloads: true, viewport: options.viewport ?? { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const chatPage: ChatPage = { name, context, page, problems: [], dialogs: [] };
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") chatPage.problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => chatPage.problems.push(`uncaught: ${error.message}`));
    page.on("requestfailed", (request) => chatPage.problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ""}`));
    page.on("dialog", (dialog) => {
      chatPage.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    this.#pages.push(chatPage);
    const url = options.url ?? this.#baseUrl();
    await page.goto(url);
    if (options.connected === false) return chatPage;
    await this.waitForState(chatPage, "open");
    if (!url.includes("?token=")) await this.chooseName(chatPage, name);
    return chatPage;
  }

  /** Types `name` in the name dialog (which the page opens by itself) and waits for the server's yes. */
  async chooseName(chatPage: ChatPage, name: string): Promise<void> {
    await this.waitVisible(chatPage, chatPage.page.getByTestId("name-dialog"), `${chatPage.name}: the name dialog`);
    await chatPage.page.getByTestId("name-input").fill(name);
    await chatPage.page.getByTestId("name-input").press("Enter");
    await this.expectEntry(chatPage, "system", `You are now known as ${name}.`);
  }

  async closeAll(): Promise<void> {
    for (const chatPage of this.#pages.splice(0)) await chatPage.context.close();
  }

  /** What a page shows, for failure messages: its connection state, view, entries, error and problems. */
  async describe(chatPage: ChatPage): Promise<string> {
    const text = (id: string) => chatPage.page.getByTestId(id).textContent({ timeout: 1000 }).catch(() => "?");
    const entries = await chatPage.page.getByTestId("entry").allTextContents().catch(() => []);
    return [
      `${chatPage.name}'s page: connection "${await text("connection-state")}", view "${await text("view-title")}", error "${await text("composer-error-text")}"`,
      `  entries:\n${entries.map((e) => `    ${e}`).join("\n")}`,
      `  problems: ${chatPage.problems.length === 0 ? "none" : chatPage.problems.join("\n    ")}`,
    ].join("\n");
  }

  /** Waits for `locator`, failing with what the page shows instead. */
  async waitVisible(chatPage: ChatPage, locator: Locator, what: string, timeout = WAIT_MS): Promise<Locator> {
    try {
      await locator.first().waitFor({ state: "visible", timeout });
    } catch (error) {
      throw new Error(`${what} did not appear within ${timeout} ms\n${await this.describe(chatPage)}`, { cause: error });
    }
    return locator.first();
  }

  /** Entries of `kind` containing `text`, in the conversation on screen. */
  entries(chatPage: ChatPage, kind: string, text: string): Locator {
    return chatPage.page.locator(`[data-testid="entry"][data-kind="${kind}"]`).filter({ hasText: text });
  }

  /** Waits for an entry of `kind` whose text contains `text`, in the conversation on screen. */
  expectEntry(chatPage: ChatPage, kind: string, text: string, timeout = WAIT_MS): Promise<Locator> {
    return this.waitVisible(chatPage, this.entries(chatPage, kind, text), `${chatPage.name}: a ${kind} entry containing ${JSON.stringify(text)}`, timeout);
  }

  /** Waits for the error next to the composer to contain `text`. */
  async expectError(chatPage: ChatPage, text: string, timeout = WAIT_MS): Promise<Locator> {
    const locator = chatPage.page.getByTestId("composer-error").filter({ hasText: text });
    return this.waitVisible(chatPage, locator, `${chatPage.name}: the error ${JSON.stringify(text)} next to the composer`, timeout);
  }

  async waitForState(chatPage: ChatPage, state: string, timeout = WAIT_MS): Promise<void> {
    const locator = chatPage.page.locator(`[data-testid="connection-state"][data-state="${state}"]`);
    await this.waitVisible(chatPage, locator, `${chatPage.name}: connection state ${state}`, timeout);
  }

  /**
   * Waits until `expression` (evaluated in the page, as a test's code: the page's CSP forbids
   * eval, so no `waitForFunction` string) is true, failing with `what` and what the page shows.
   */
  async waitUntil(chatPage: ChatPage, expression: string, what: string, timeout = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeout;
    while ((await chatPage.page.evaluate(expression)) !== true) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms\n${await this.describe(chatPage)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until the conversation on screen is `title` ("#dev", "bob"). */
  async expectView(chatPage: ChatPage, title: string): Promise<void> {
    const locator = chatPage.page.getByTestId("view-title").filter({ hasText: new RegExp(`^${title.replace(/[#.*+?^${}()|[\]\\]/g, "\\$&")}$`) });
    await this.waitVisible(chatPage, locator, `${chatPage.name}: the conversation ${title} on screen`);
  }

  async say(chatPage: ChatPage, text: string): Promise<void> {
    const input = chatPage.page.getByTestId("message-input");
    await input.fill(text);
    await input.press("Enter");
  }

  /** The texts of the entries on screen. */
  texts(chatPage: ChatPage): Promise<string[]> {
    return chatPage.page.locator('[data-testid="entry"] .text').allTextContents();
  }

  /** Opens the drawer on a phone (the sidebar is always there on a wide screen). */
  async showSidebar(chatPage: ChatPage): Promise<void> {
    const menu = chatPage.page.getByTestId("menu-button");
    if (await menu.isVisible()) {
      if ((await menu.getAttribute("aria-expanded")) !== "true") await menu.click();
      await this.waitVisible(chatPage, chatPage.page.getByTestId("rooms-list"), `${chatPage.name}: the drawer`);
    }
  }

  /** Clicks a room (`data-room`) or a person (`data-name`) in the sidebar. */
  async pick(chatPage: ChatPage, testId: "room" | "user", name: string): Promise<void> {
    await this.showSidebar(chatPage);
    const attribute = testId === "room" ? "room" : "name";
    const row = chatPage.page.locator(`[data-testid="${testId}"][data-${attribute}="${name}"]`);
    await (await this.waitVisible(chatPage, row, `${chatPage.name}: ${name} in the sidebar`)).click();
    await this.expectView(chatPage, testId === "room" ? `#${name}` : name);
  }

  /** The unread count the sidebar shows for a room or person (0 without a badge). */
  async unread(chatPage: ChatPage, testId: "room" | "user", name: string): Promise<number> {
    const attribute = testId === "room" ? "room" : "name";
    const badge = chatPage.page.locator(`[data-testid="${testId}"][data-${attribute}="${name}"] [data-testid="unread"]`);
    return (await badge.count()) === 0 ? 0 : Number(await badge.textContent());
  }

  /** Waits until the sidebar shows `count` unread for a room or person. */
  async expectUnread(chatPage: ChatPage, testId: "room" | "user", name: string, count: number): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    let seen = await this.unread(chatPage, testId, name);
    while (seen !== count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await this.unread(chatPage, testId, name);
    }
    assert.equal(seen, count, `${chatPage.name}: unread of ${name}\n${await this.describe(chatPage)}`);
  }

  assertNoProblems(...chatPages: ChatPage[]): void {
    for (const chatPage of chatPages) {
      assert.deepEqual(chatPage.problems, [], `${chatPage.name}'s page reported problems`);
      assert.deepEqual(chatPage.dialogs, [], `${chatPage.name}'s page opened dialogs`);
    }
  }
}

/** Joins (or creates) `room` with the sidebar's form, and waits for its conversation on screen. */
export async function joinRoom(pages: ChatPages, chatPage: ChatPage, room: string): Promise<void> {
  await pages.showSidebar(chatPage);
  await chatPage.page.getByTestId("room-input").fill(room);
  await chatPage.page.getByTestId("room-input").press("Enter");
  await pages.expectView(chatPage, `#${room}`);
}

/**
 * Declares, in the current `describe`, headless Chromium and a chat server created with
 * `options` (started in a `before` hook, closed in `after`), and returns the pages to open on it.
 */
export function useChatInChromium(options: ChatServerOptions): ChatPages {
  let browser: Browser | undefined;
  let chat: ChatServer | undefined;
  let port = 0;
  before(async (t) => {
    browser = await launchChromium(t as never);
    chat = createChatServer(options);
    port = (await chat.listen(0, "127.0.0.1")).port;
  }, T);
  after(async () => {
    await browser?.close();
    await chat?.close();
  }, T);
  return new ChatPages(() => browser, () => `http://127.0.0.1:${port}/`);
}
