// An axe-style check of the browser chat, written with the page's own DOM queries (no dev
// dependency: what is checked is the few WCAG rules the issue names, computed from
// getComputedStyle): every control has an accessible name, the log is a polite live region,
// every visible text meets AA contrast (4.5:1, 3:1 when large) in the light and the dark colour
// scheme, and every keyboard stop shows a focus ring that itself stands out (3:1).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SIZES, T, useChatInChromium, type ChatPage } from "./chat-pages.js";

/** Colour maths of WCAG 2.2 (relative luminance, contrast ratio), shared by the scripts below. */
const COLOR_HELPERS = `
  const parse = (c) => {
    const m = /^rgba?\\(([^)]+)\\)$/.exec(c);
    if (m === null) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p[3] ?? 1];
  };
  const channel = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const unparsed = [];
  const color = (value, where) => { const c = parse(value); if (c === null) unparsed.push(where + ": " + value); return c ?? [0, 0, 0, 1]; };
  /** The opaque colour behind el: its own and its ancestors' backgrounds, composed. */
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e !== null; e = e.parentElement) {
      const c = color(getComputedStyle(e).backgroundColor, "background of " + e.tagName);
      if (c[3] > 0) { layers.push(c); if (c[3] === 1) break; }
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const hiddenVisually = (el) => {
    for (let e = el; e !== null; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden" || s.clipPath !== "none" || Number(s.opacity) === 0) return true;
    }
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.height === 0 || r.bottom < 0 || r.right < 0 || r.top > innerHeight || r.left > innerWidth;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.dataset.testid ? "[" + el.dataset.testid + "]" : "") + (el.className ? "." + String(el.className).split(" ").join(".") : "");
`;

/** Controls without an accessible name, the log's live settings, and texts below AA contrast. */
const AUDIT_SCRIPT = `(() => {
  ${COLOR_HELPERS}
  const nameOf = (el) => {
    const labelled = el.getAttribute("aria-labelledby");
    const parts = [
      el.getAttribute("aria-label"),
      labelled && labelled.split(" ").map((id) => document.getElementById(id)?.textContent).join(" "),
      ...[...(el.labels ?? [])].map((l) => l.textContent),
      el.matches("button, a") ? el.textContent : "",
      el.getAttribute("title"),
    ];
    return parts.filter((p) => p && p.trim() !== "").join(" ").trim();
  };
  const unnamed = [...document.querySelectorAll("button, input, textarea, select, a[href], [role=log], dialog")]
    .filter((el) => nameOf(el) === "")
    .map(describe);
  const imagesWithoutAlt = [...document.querySelectorAll("img")].filter((img) => !img.hasAttribute("alt")).map(describe);
  const log = document.querySelector('[data-testid="messages"]');
  const failures = [];
  let checked = 0;
  const check = (el, fg, what) => {
    const s = getComputedStyle(el);
    const bg = backdrop(el);
    let opacity = 1;
    for (let e = el; e !== null; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const text = fg.slice(0, 3).concat(fg[3] * opacity);
    const value = ratio(over(text, bg), bg);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    checked += 1;
    if (value < needed) failures.push(what + " " + describe(el) + ": " + value.toFixed(2) + " < " + needed + " (" + fg.join(",") + " on " + bg.slice(0, 3).join(",") + ")");
  };
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("button:disabled")) continue; // inactive controls are exempt (WCAG 1.4.3)
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
    if (own && !hiddenVisually(el)) check(el, color(getComputedStyle(el).color, "color of " + describe(el)), JSON.stringify(el.textContent.trim().slice(0, 30)));
    if ((el.tagName === "TEXTAREA" || el.tagName === "INPUT") && el.placeholder && el.value === "" && !hiddenVisually(el)) {
      check(el, color(getComputedStyle(el, "::placeholder").color, "placeholder"), "placeholder " + JSON.stringify(el.placeholder));
    }
  }
  return { unnamed, imagesWithoutAlt, role: log.getAttribute("role"), live: log.getAttribute("aria-live"), logName: nameOf(log), failures, checked, unparsed };
})()`;

/** The focused element's focus ring: whether there is one, and its contrast with what is around. */
const FOCUS_SCRIPT = `(() => {
  ${COLOR_HELPERS}
  let el = document.activeElement;
  if (el === null || el === document.body) return null;
  // The file input is visually hidden: its label shows its focus.
  if (el.type === "file") el = el.labels[0];
  // A ring may be drawn around the control's box (the composer row around the message box).
  for (let i = 0; i < 2 && getComputedStyle(el).outlineStyle === "none" && el.parentElement !== null; i++) el = el.parentElement;
  const s = getComputedStyle(el);
  const width = parseFloat(s.outlineWidth);
  const ring = color(s.outlineColor, "outline of " + describe(el));
  const around = backdrop(el.parentElement ?? el);
  return { what: describe(el), style: s.outlineStyle, width, contrast: ratio(ring, around), unparsed };
})()`;

interface Audit {
  unnamed: string[];
  imagesWithoutAlt: string[];
  role: string | null;
  live: string | null;
  logName: string;
  failures: string[];
  checked: number;
  unparsed: string[];
}

interface Focus {
  what: string;
  style: string;
  width: number;
  contrast: number;
  unparsed: string[];
}

describe("the browser chat's accessibility: names, live log, contrast and focus, in light and dark", () => {
  const pages = useChatInChromium({ heartbeatIntervalMs: 0, rateLimit: { ratePerSecond: 100, burst: 100 } });

  /** Audits the page in both colour schemes; returns every problem found, labelled. */
  async function audit(chatPage: ChatPage, label: string): Promise<string[]> {
    const problems: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      await chatPage.page.emulateMedia({ colorScheme });
      const result = (await chatPage.page.evaluate(AUDIT_SCRIPT)) as Audit;
      const where = `${label}, ${colorScheme}`;
      assert.ok(result.checked > 10, `${where}: only ${result.checked} texts were checked`);
      problems.push(
        ...result.unnamed.map((e) => `${where}: no accessible name: ${e}`),
        ...result.imagesWithoutAlt.map((e) => `${where}: an image without alt: ${e}`),
        ...result.failures.map((f) => `${where}: contrast ${f}`),
        ...result.unparsed.map((u) => `${where}: a colour the check cannot read: ${u}`),
      );
      if (result.role !== "log" || result.live !== "polite" || result.logName === "") problems.push(`${where}: the log is not a named polite live region: ${JSON.stringify(result)}`);
    }
    return problems;
  }

  for (const size of SIZES) {
    it(`at ${size.width}×${size.height}: every control is named, the log is a live region, and every text meets WCAG AA contrast in light and dark, the drawer and the name dialog included`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const viewport = { width: size.width, height: size.height };
      const lee = await pages.open(`lee${size.width}`, { viewport });
      const max = await pages.open(`max${size.width}`, { viewport });
      try {
        // Something of everything: others' and own messages, a link, notices, an unread badge, an error.
        await pages.say(max, "hello, see https://example.com/docs");
        await pages.say(lee, "my own message");
        await pages.pick(max, "user", lee.name);
        await pages.say(max, "psst");
        await pages.expectUnread(lee, "user", max.name, 1);
        await pages.say(lee, "/dance");
        await pages.expectError(lee, "Unknown command");
        await pages.expectEntry(lee, "message", "hello, see");

        const problems = await audit(lee, "the conversation");
        await pages.showSidebar(lee);
        problems.push(...(await audit(lee, "with the sidebar shown")));
        await lee.page.getByTestId("name-change").click(); // in the drawer, on a phone
        await pages.waitVisible(lee, lee.page.getByTestId("name-dialog"), "the name dialog");
        problems.push(...(await audit(lee, "the name dialog")));
        assert.deepEqual(problems, []);
        pages.assertNoProblems(lee, max);
      } finally {
        await pages.closeAll();
      }
    });

    it(`at ${size.width}×${size.height}: every keyboard stop shows a focus ring of 2 px or more that stands out 3:1 from its surroundings, in light and dark`, T, async (t) => {
      if (!pages.ready) return t.skip("no browser");
      const viewport = { width: size.width, height: size.height };
      const noa = await pages.open(`noa${size.width}`, { viewport });
      try {
        await pages.say(noa, "a message with a link: https://example.com/");
        const problems: string[] = [];
        for (const colorScheme of ["light", "dark"] as const) {
          await noa.page.emulateMedia({ colorScheme });
          await noa.page.evaluate("document.activeElement?.blur()");
          const seen = new Set<string>();
          for (let i = 0; i < 30; i++) {
            await noa.page.keyboard.press("Tab");
            const focus = (await noa.page.evaluate(FOCUS_SCRIPT)) as Focus | null;
            if (focus === null) continue;
            seen.add(focus.what);
            if (focus.style === "none" || focus.width < 2 || focus.contrast < 3 || focus.unparsed.length > 0) {
              problems.push(`${colorScheme}: ${focus.what}: outline ${focus.style} ${focus.width}px, contrast ${focus.contrast.toFixed(2)} ${focus.unparsed.join(" ")}`);
            }
          }
          // The stops that matter are among them.
          for (const stop of ["div.composer-row", "button[send-button]", "ol[messages]", "a[message-link]"]) {
            assert.ok([...seen].some((what) => what.startsWith(stop)), `${colorScheme}: the keyboard never reached ${stop}: ${[...seen].join(", ")}`);
          }
        }
        assert.deepEqual(problems, []);
      } finally {
        await pages.closeAll();
      }
    });
  }
});
