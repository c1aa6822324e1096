// @ts-check
/**
 * What the chat page knows, without the DOM: one conversation per room and per person, each with
 * its entries, its unread count and the message keys it has seen (so a replayed history or a
 * resumed session never shows a message twice), and how all that survives a reload in
 * `sessionStorage`.
 *
 * @module
 */

/** A conversation keeps this many entries in memory; older ones go (and their object URLs). */
export const MAX_ENTRIES = 1000;
/** What a reload restores: this many entries per conversation, this many conversations. */
const STORED_ENTRIES = 200;
const STORED_CONVERSATIONS = 30;
const STORAGE_KEY = "wynd-chat.v1";

/**
 * One line of a conversation. `file` is set for a shared file (`url` only while its bytes are in
 * this page: a reload keeps the line, not the bytes).
 * @typedef {{
 *   kind: string,
 *   ts: number,
 *   text: string,
 *   from?: string,
 *   to?: string,
 *   mine?: boolean,
 *   id?: string,
 *   code?: string,
 *   file?: { name: string, size: number, url?: string, preview?: boolean },
 * }} Entry
 */

/**
 * @typedef {{
 *   key: string,
 *   kind: "room" | "private",
 *   name: string,
 *   entries: Entry[],
 *   seen: Set<string>,
 *   unread: number,
 *   lastId: string | undefined,
 * }} Conversation
 */

/** Kinds that are someone's message: they count as unread and are deduplicated. */
const MESSAGE_KINDS = new Set(["message", "history", "private", "file"]);

/** @param {string} room */
export const roomKey = (room) => `room:${room.toLowerCase()}`;
/** @param {string} name */
export const personKey = (name) => `user:${name.toLowerCase()}`;

/**
 * The key that says two entries are the same message: its `id` when the server gave one (a
 * private id is unique per inbox, hence sender and recipient), else time, sender and text.
 * @param {Entry} entry
 * @returns {string | undefined} undefined for entries that are not messages
 */
export function messageKey(entry) {
  if (!MESSAGE_KINDS.has(entry.kind)) return undefined;
  if (entry.id !== undefined) return entry.kind === "private" ? `p:${entry.from}>${entry.to}#${entry.id}` : `id:${entry.id}`;
  return `t:${entry.ts}|${entry.from ?? ""}|${entry.file === undefined ? entry.text : `file:${entry.file.name}`}`;
}

/**
 * Orders two message ids. Ids are strings increasing per room or inbox; they may be decimal
 * numbers or Redis stream ids ("1700000000000-3"), so compare part by part as numbers when both
 * parts are digits, as strings otherwise.
 * @param {string} a
 * @param {string} b
 * @returns {number} negative, 0 or positive
 */
export function compareIds(a, b) {
  const pa = a.split("-");
  const pb = b.split("-");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return x.length !== y.length ? x.length - y.length : x < y ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Every conversation of the page, and which one is shown. */
export class Conversations {
  /** @type {Map<string, Conversation>} */
  #map = new Map();
  /** The key of the conversation on screen. */
  active = roomKey("lobby");

  /**
   * The conversation of `kind` and `name`, created when new.
   * @param {"room" | "private"} kind
   * @param {string} name
   * @returns {Conversation}
   */
  ensure(kind, name) {
    const key = kind === "room" ? roomKey(name) : personKey(name);
    let conversation = this.#map.get(key);
    if (conversation === undefined) {
      conversation = { key, kind, name, entries: [], seen: new Set(), unread: 0, lastId: undefined };
      this.#map.set(key, conversation);
    } else if (kind === "private") {
      conversation.name = name; // the latest spelling of the name
    }
    return conversation;
  }

  /** @param {string} key */
  get(key) {
    return this.#map.get(key);
  }

  /** @returns {Conversation[]} */
  all() {
    return [...this.#map.values()];
  }

  /** @param {string} key */
  remove(key) {
    const conversation = this.#map.get(key);
    this.#map.delete(key);
    return conversation;
  }

  /**
   * Moves a person's conversation to their new name (a rename).
   * @param {string} from
   * @param {string} to
   */
  rename(from, to) {
    const conversation = this.#map.get(personKey(from));
    if (conversation === undefined || this.#map.has(personKey(to))) return;
    this.#map.delete(conversation.key);
    conversation.key = personKey(to);
    conversation.name = to;
    this.#map.set(conversation.key, conversation);
    if (this.active === personKey(from)) this.active = conversation.key;
  }

  /**
   * Adds `entry` to `conversation`, unless it is a message already there.
   * @param {Conversation} conversation
   * @param {Entry} entry
   * @param {{ countUnread?: boolean, inOrder?: boolean }} [options] `countUnread`: count it as unread when
   *   not on screen; `inOrder`: a replayed message, placed by its time (live ones are appended)
   * @returns {{ added: boolean, atEnd: boolean, trimmed: Entry[] }}
   */
  add(conversation, entry, options = {}) {
    const key = messageKey(entry);
    if (key !== undefined) {
      if (conversation.seen.has(key)) return { added: false, atEnd: true, trimmed: [] };
      conversation.seen.add(key);
    }
    if (entry.id !== undefined && entry.kind !== "private" && (conversation.lastId === undefined || compareIds(entry.id, conversation.lastId) > 0)) {
      conversation.lastId = entry.id;
    }
    const entries = conversation.entries;
    let at = entries.length;
    if (options.inOrder === true) while (at > 0 && (entries[at - 1]?.ts ?? 0) > entry.ts) at--;
    entries.splice(at, 0, entry);
    if (options.countUnread === true && conversation.key !== this.active && entry.mine !== true && key !== undefined) conversation.unread += 1;
    const trimmed = entries.length > MAX_ENTRIES ? entries.splice(0, entries.length - MAX_ENTRIES) : [];
    for (const old of trimmed) {
      const oldKey = messageKey(old);
      if (oldKey !== undefined) conversation.seen.delete(oldKey);
    }
    return { added: true, atEnd: at === entries.length - 1, trimmed };
  }

  /**
   * Shows `key`: it becomes the active conversation and is read.
   * @param {string} key
   */
  activate(key) {
    this.active = key;
    const conversation = this.#map.get(key);
    if (conversation !== undefined) conversation.unread = 0;
    return conversation;
  }

  /** Unread messages in every conversation. */
  totalUnread() {
    let total = 0;
    for (const conversation of this.#map.values()) total += conversation.unread;
    return total;
  }

  /** What a reload restores (files without their bytes). */
  toJSON() {
    return this.all()
      .slice(-STORED_CONVERSATIONS)
      .map((c) => ({
        kind: c.kind,
        name: c.name,
        unread: c.unread,
        lastId: c.lastId,
        entries: c.entries.slice(-STORED_ENTRIES).map((e) => (e.file === undefined ? e : { ...e, file: { name: e.file.name, size: e.file.size } })),
      }));
  }

  /**
   * Restores what {@link toJSON} saved; anything malformed is skipped.
   * @param {unknown} saved
   */
  restore(saved) {
    if (!Array.isArray(saved)) return;
    for (const item of saved) {
      if (typeof item !== "object" || item === null) continue;
      const c = /** @type {Record<string, unknown>} */ (item);
      if ((c["kind"] !== "room" && c["kind"] !== "private") || typeof c["name"] !== "string" || c["name"] === "") continue;
      const conversation = this.ensure(c["kind"], c["name"]);
      if (typeof c["unread"] === "number") conversation.unread = c["unread"];
      if (typeof c["lastId"] === "string") conversation.lastId = c["lastId"];
      for (const e of Array.isArray(c["entries"]) ? c["entries"] : []) {
        if (isEntry(e)) this.add(conversation, e, { inOrder: true });
      }
    }
  }
}

/**
 * @param {unknown} value
 * @returns {value is Entry}
 */
function isEntry(value) {
  if (typeof value !== "object" || value === null) return false;
  const e = /** @type {Record<string, unknown>} */ (value);
  return typeof e["kind"] === "string" && typeof e["ts"] === "number" && typeof e["text"] === "string";
}

/**
 * What the page keeps for a reload, in `sessionStorage` (per tab: another tab is another user).
 * @typedef {{
 *   name: string | null,
 *   room: string,
 *   sessionRoom: string,
 *   session: string | null,
 *   privateAfter: string | null,
 *   active: string,
 *   conversations: unknown,
 * }} Saved
 */

/** @returns {Partial<Saved>} what the last page of this tab saved (nothing when unreadable) */
export function loadSaved() {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}

/** @param {Saved} saved */
export function storeSaved(saved) {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(saved));
  } catch {
    // Storage full or disabled: a reload will then start afresh, nothing else is lost.
  }
}

/** Forgets the saved state (after "Leave chat"). */
export function clearSaved() {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing to forget
  }
}

/** The name last chosen on this browser, to prefill the name dialog (localStorage). */
export function rememberedName() {
  try {
    return localStorage.getItem("wynd-chat.name") ?? "";
  } catch {
    return "";
  }
}

/** @param {string} name */
export function rememberName(name) {
  try {
    localStorage.setItem("wynd-chat.name", name);
  } catch {
    // private mode: the dialog will simply be empty next time
  }
}

/**
 * Splits text into plain parts and web links: only `http:` and `https:` URLs become links.
 * @param {string} text
 * @returns {Array<{ text: string, href?: string }>}
 */
export function splitLinks(text) {
  /** @type {Array<{ text: string, href?: string }>} */
  const parts = [];
  const pattern = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    let candidate = match[0];
    // Sentence punctuation after a link is not part of it ("see https://x.org/a."), nor is a
    // closing parenthesis it did not open ("(at https://x.org/A_(b))").
    const count = (/** @type {string} */ c) => candidate.split(c).length - 1;
    for (let last = candidate.at(-1); last !== undefined; last = candidate.at(-1)) {
      if (!(".,;:!?'\"]}".includes(last) || (last === ")" && count(")") > count("(")))) break;
      candidate = candidate.slice(0, -1);
    }
    const start = match.index;
    /** @type {URL | undefined} */
    let url;
    try {
      url = new URL(candidate);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: candidate, href: url.href });
    last = start + candidate.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/**
 * How a request is tracked: `user` (the person asked for it, not the page), `auto` (resent by
 * the page after a reconnect), `show` (show the answer in the log); for a message, `body` (what
 * the server will echo), and `text` and `view` (what was typed, and in which conversation), to
 * give the text back if the server refuses it.
 * @typedef {{ user?: boolean, auto?: boolean, show?: boolean, body?: string, text?: string, view?: string, name?: string }} Tracking
 */
/** @typedef {Tracking & { type: string, at: number }} Request */
/** @typedef {"skipped" | "refused" | "lost" | "expired"} DropReason */

/** The event that answers each request of the JSON protocol (an `error` may answer any). */
const ANSWERS = /** @type {Record<string, string>} */ ({
  message: "message",
  private: "private",
  name: "name",
  join: "room",
  leave: "room",
  rooms: "rooms",
  users: "users",
  help: "help",
  quit: "goodbye",
  file: "file",
});

/**
 * The requests sent on the current connection and not answered yet. The server answers every
 * request in order, with its event or an `error`, except those it drops silently (the rate
 * limiter answers only the first refusal of a streak): a request skipped by a later answer was
 * dropped. So a refused message is known, and its text can go back to the composer.
 */
export class Outbox {
  /** @type {Request[]} */
  #queue = [];
  /** @type {(text: string, view: string, reason: DropReason) => void} */
  #onDropped;

  /** @param {(text: string, view: string, reason: DropReason) => void} onDropped gets back the text of a message that was not sent */
  constructor(onDropped) {
    this.#onDropped = onDropped;
  }

  /**
   * @param {string} type the request's type ("file" for a file frame)
   * @param {Tracking} tracking
   */
  sent(type, tracking) {
    this.#queue.push({ type, at: Date.now(), ...tracking });
  }

  /**
   * An answer of type `event` arrived (for a message echo, with its `body`): returns the request
   * it answers (undefined when it answers none: an event the server sent by itself); requests
   * before it were dropped. The body tells a message's echo from an earlier message's, which
   * the server may have dropped silently.
   * @param {string} event
   * @param {string} [body]
   * @returns {Request | undefined}
   */
  answered(event, body) {
    /** @param {Request} r */
    const answers = (r) => ANSWERS[r.type] === event && (body === undefined || r.body === undefined || r.body === body);
    if (!this.#queue.some(answers)) return undefined;
    for (let r = this.#queue.shift(); r !== undefined; r = this.#queue.shift()) {
      if (answers(r)) return r;
      this.#drop(r, "skipped");
    }
    return undefined;
  }

  /** An `error` arrived: it refuses the oldest request, returned. */
  refused() {
    const r = this.#queue.shift();
    if (r !== undefined) this.#drop(r, "refused");
    return r;
  }

  /** The connection ended: nothing more will be answered. */
  lost() {
    for (const r of this.#queue.splice(0)) this.#drop(r, "lost");
  }

  /**
   * Requests older than `ms` are given up (a silent drop with no later answer to reveal it).
   * @param {number} now
   * @param {number} ms
   */
  expire(now, ms) {
    while (this.#queue[0] !== undefined && now - this.#queue[0].at > ms) this.#drop(/** @type {Request} */ (this.#queue.shift()), "expired");
  }

  /** Requests waiting for an answer. */
  get size() {
    return this.#queue.length;
  }

  /**
   * @param {Request} r
   * @param {DropReason} reason
   */
  #drop(r, reason) {
    if (r.text !== undefined && r.view !== undefined) this.#onDropped(r.text, r.view, reason);
  }
}
