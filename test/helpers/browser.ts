/**
 * Headless Chromium for the browser tests, driven by `playwright-core` (a dev dependency that
 * never downloads a browser of its own: it drives Debian's `chromium`, which `.ci/run` installs).
 *
 * `.ci/run` sets `WYND_REQUIRE_BROWSER=1`, and then a missing browser fails the test. Elsewhere a
 * machine without Chromium skips the browser tests with a message saying how to install it, so
 * `npm test` stays usable on a laptop without it.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { after, before, type TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * The flags this sandbox needs: as root Chromium needs `--no-sandbox`; there is no GPU; and the
 * network is closed, so background fetches (component updates, sync, safe browsing) would only
 * produce refused connections and noise.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/**
 * Launches headless Chromium, or returns `undefined` after marking the test skipped when the
 * browser is not installed and `WYND_REQUIRE_BROWSER` is not set. Close the browser in `after`.
 */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM_PATH)) {
    const message = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
    if (process.env.WYND_REQUIRE_BROWSER === "1") throw new Error(message);
    t.skip(message);
    return undefined;
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** The page {@link useChromiumPage} opened: undefined before its hook ran or without a browser. */
export interface SharedPage {
  readonly page: Page | undefined;
}

/**
 * Declares, in the current `describe`, one headless Chromium and one page for all its tests:
 * launched in a `before` hook (skipped as {@link launchChromium} says) and closed in `after`.
 * A test reads `.page` and skips itself when it is undefined.
 */
export function useChromiumPage(): SharedPage {
  let browser: Browser | undefined;
  let page: Page | undefined;
  before(async (t) => {
    browser = await launchChromium(t as never);
    if (browser !== undefined) page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
  });
  return {
    get page() {
      return page;
    },
  };
}
