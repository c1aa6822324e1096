#!/usr/bin/env node
// Generates the screenshots of docs/chat.md: docs/chat-desktop.png (1280×800) and
// docs/chat-phone.png (390×844), from a real chat server (the compiled one in dist/) and headless
// Chromium (playwright-core driving /usr/bin/chromium, or CHROMIUM_PATH), with three people
// chatting. Run it with `npm run screenshots` (which builds first).
import { chromium } from "playwright-core";
import { createChatServer } from "../dist/src/chat/index.js";
import { encodePng } from "../dist/test/helpers/png.js";

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WAIT_MS = 15_000;
const root = new URL("../", import.meta.url);

/** A small PNG (a soft diagonal gradient with a sun over a hill), so the log shows an image preview. */
function picture(width, height) {
  return encodePng(width, height, (x, y) => {
    const t = (x / width + y / height) / 2;
    if ((x - width * 0.7) ** 2 + (y - height * 0.35) ** 2 < (height * 0.18) ** 2) return [255, 214, 120];
    if (y > height * (0.72 - 0.12 * Math.sin((x / width) * Math.PI))) return [46, 125, 90 + 40 * t];
    return [90 + 120 * t, 140 + 70 * t, 220 - 30 * t];
  });
}

const chat = createChatServer({ heartbeatIntervalMs: 0, rateLimit: { ratePerSecond: 100, burst: 100 } });
const { port } = await chat.listen(0, "127.0.0.1");
const url = `http://127.0.0.1:${port}/`;
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

/** A person's page: connected and named. */
async function person(name, contextOptions = {}) {
  const context = await browser.newContext({ colorScheme: "light", ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(url);
  await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
  await page.getByTestId("name-input").fill(name);
  await page.getByTestId("name-input").press("Enter");
  await page.locator('[data-testid="entry"]').filter({ hasText: `You are now known as ${name}.` }).waitFor();
  return page;
}

/** Says `text` in the page's conversation and waits for it to come back from the server. */
async function say(page, text) {
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("message-input").press("Enter");
  await page.locator('[data-testid="entry"].mine').filter({ hasText: text.split("\n")[0] }).last().waitFor();
}

try {
  const ada = await person("ada", { viewport: { width: 1280, height: 800 } });
  const grace = await person("grace");
  const linus = await person("linus");
  const mo = await person("mo", { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

  await say(grace, "Morning! The standup notes are at https://example.com/notes/standup");
  await say(linus, "Thanks. I'll read them after coffee.");
  await say(ada, "Reviewing the reconnect patch now.\nIt resumes by message id, so nothing is shown twice.");
  await say(grace, "Nice. Ping me when it lands?");
  await say(ada, "Will do.");
  await grace.getByTestId("file-input").setInputFiles([{ name: "hills.png", mimeType: "image/png", buffer: picture(480, 270) }]);
  await ada.locator('[data-testid="file-preview"]').waitFor();
  await say(linus, "Where is that?");
  await say(mo, "Looks like the view from the office");
  // A private conversation (unread in ada's sidebar) and another room with someone in it.
  await grace.locator('[data-testid="user"][data-name="ada"]').click();
  await say(grace, "Lunch at 12:30?");
  await grace.getByTestId("message-input").fill("/msg mo Coffee after lunch?");
  await grace.getByTestId("message-input").press("Enter");
  await mo.locator('[data-testid="menu-unread"]').waitFor();
  await linus.getByTestId("room-input").fill("ops");
  await linus.getByTestId("room-input").press("Enter");
  await ada.locator('[data-testid="user"][data-name="grace"] [data-testid="unread"]').waitFor();
  await ada.locator('[data-testid="room"][data-room="ops"]').waitFor();
  for (const page of [ada, mo]) {
    await page.waitForFunction(() => [...document.querySelectorAll("img")].every((img) => img.complete));
    await page.getByTestId("message-input").fill("");
    await page.getByTestId("message-input").blur();
  }
  await ada.screenshot({ path: new URL("docs/chat-desktop.png", root).pathname });
  await mo.screenshot({ path: new URL("docs/chat-phone.png", root).pathname });
  console.log("wrote docs/chat-desktop.png and docs/chat-phone.png");
} finally {
  await browser.close();
  await chat.close();
}
