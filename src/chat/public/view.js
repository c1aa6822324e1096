// @ts-check
/**
 * The page of the wynd chat client: the elements app.js works with, and how conversations,
 * the sidebar and the composer are shown. Nothing here talks to the network.
 *
 * Security rule of this file: everything that came from the network is put in the page with
 * `textContent`, `append(string)` or as an attribute value, never parsed as HTML; a link's
 * `href` is only ever an `http:`/`https:` URL (model.js `splitLinks`).
 *
 * @module
 */

import { splitLinks } from "./model.js";

/** @typedef {import("./model.js").Entry} Entry */
/** @typedef {import("./model.js").Conversation} Conversation */

/** Received images of these types are previewed. Never SVG: it can carry script. */
export const PREVIEW_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"]);
/** Within this distance of the bottom (px), the log counts as "at the bottom" and follows. */
const BOTTOM_SLACK_PX = 48;
/** Messages of one sender closer than this (ms) are grouped under one name. */
const GROUP_MS = 5 * 60_000;
/** Entries that are someone's words (with a sender line) rather than a notice. */
const SPOKEN = new Set(["message", "history", "private", "file"]);

/**
 * The element with `data-testid="<id>"`, checked to be of the expected class.
 * @template {Element} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
function byId(id, type) {
  const found = document.querySelector(`[data-testid="${id}"]`);
  if (!(found instanceof type)) throw new Error(`index.html lacks the ${type.name} [data-testid=${id}]`);
  return found;
}

/** The elements of index.html that the client reads or changes. */
export const ui = {
  sidebar: byId("sidebar", HTMLElement),
  drawerClose: byId("drawer-close", HTMLButtonElement),
  backdrop: byId("drawer-backdrop", HTMLElement),
  menu: byId("menu-button", HTMLButtonElement),
  menuUnread: byId("menu-unread", HTMLElement),
  rooms: byId("rooms-list", HTMLUListElement),
  joinForm: byId("join-form", HTMLFormElement),
  roomInput: byId("room-input", HTMLInputElement),
  users: byId("users-list", HTMLUListElement),
  peopleEmpty: byId("people-empty", HTMLElement),
  myName: byId("my-name", HTMLElement),
  nameChange: byId("name-change", HTMLButtonElement),
  quit: byId("quit-button", HTMLButtonElement),
  viewTitle: byId("view-title", HTMLElement),
  viewSub: byId("view-sub", HTMLElement),
  conn: byId("connection-state", HTMLElement),
  reconnect: byId("reconnect-button", HTMLButtonElement),
  leave: byId("leave-button", HTMLButtonElement),
  dropZone: byId("drop-zone", HTMLElement),
  dropHint: byId("drop-hint", HTMLElement),
  messages: byId("messages", HTMLOListElement),
  newMessages: byId("new-messages", HTMLButtonElement),
  composer: byId("composer", HTMLFormElement),
  error: byId("composer-error", HTMLElement),
  errorText: byId("composer-error-text", HTMLElement),
  errorClose: byId("composer-error-close", HTMLButtonElement),
  messageInput: byId("message-input", HTMLTextAreaElement),
  fileInput: byId("file-input", HTMLInputElement),
  nameDialog: byId("name-dialog", HTMLDialogElement),
  nameForm: byId("name-form", HTMLFormElement),
  nameInput: byId("name-input", HTMLInputElement),
  nameNote: byId("name-note", HTMLElement),
  nameCancel: byId("name-cancel", HTMLButtonElement),
};

/**
 * A network value as a string ("" for null or missing).
 * @param {unknown} value
 * @returns {string}
 */
export const str = (value) => (typeof value === "string" ? value : value === undefined || value === null ? "" : String(value));

/**
 * @param {number} bytes
 * @returns {string}
 */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Shows the connection state: text for people, `data-state` for styles and tests.
 * @param {"connecting" | "open" | "reconnecting" | "closed"} connState
 * @param {string} text
 */
export function showConnection(connState, text) {
  ui.conn.dataset["state"] = connState;
  ui.conn.textContent = text;
  ui.reconnect.hidden = connState === "open" || connState === "connecting";
  ui.reconnect.textContent = connState === "reconnecting" ? "Reconnect now" : "Reconnect";
  ui.quit.disabled = connState !== "open";
}

/**
 * Shows an error next to the composer, where the person who just sent is looking.
 * @param {string} text
 * @param {string} [code] the server's error code, or the page's own ("connection", "too-long"…)
 */
export function showError(text, code = "") {
  ui.error.hidden = false;
  ui.error.dataset["code"] = code;
  ui.errorText.textContent = text;
}

export function clearError() {
  ui.error.hidden = true;
  ui.errorText.textContent = "";
}

// ---------------------------------------------------------------- the log

/** Whether the log was at its bottom at the last scroll: kept, not recomputed, so that content
 * growing under it (an image loading) does not count as the reader scrolling up. */
let atBottom = true;
/** Messages appended to the shown conversation while the reader was scrolled up. */
let unseenBelow = 0;
/** The scrollTop the page itself last set: a scroll event that lands there is ours, not the
 * reader's, even if content grew in between (an image decoded before the event was dispatched). */
let pinnedTop = -1;

function measureBottom() {
  const log = ui.messages;
  return log.scrollTop + log.clientHeight >= log.scrollHeight - BOTTOM_SLACK_PX;
}

function pinToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  pinnedTop = ui.messages.scrollTop;
}

/** Scrolls the log to its end and forgets the "new messages" button. */
export function scrollToBottom() {
  pinToBottom();
  atBottom = true;
  unseenBelow = 0;
  ui.newMessages.hidden = true;
}

ui.messages.addEventListener("scroll", () => {
  if (atBottom && Math.abs(ui.messages.scrollTop - pinnedTop) < 1) return pinToBottom();
  atBottom = measureBottom();
  if (atBottom) {
    unseenBelow = 0;
    ui.newMessages.hidden = true;
  }
});
// The log follows its end whenever its content or its box changes size (an image decoded, a
// font loaded, the keyboard opened) while the reader was at the bottom.
const follow = new ResizeObserver(() => {
  if (atBottom) pinToBottom();
});
follow.observe(ui.messages);
// Content growing inside the log does not resize the log's own box: an image decoding after it
// was appended is caught by its load event (which does not bubble, hence the capture).
ui.messages.addEventListener(
  "load",
  () => {
    if (atBottom) pinToBottom();
  },
  true,
);
ui.newMessages.addEventListener("click", () => {
  scrollToBottom();
  ui.messages.focus({ preventScroll: true });
});

/**
 * @param {Date} date
 * @returns {HTMLTimeElement}
 */
function timeElement(date) {
  const time = document.createElement("time");
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  return time;
}

/**
 * Text with its web links made clickable, as text nodes and `<a>` elements.
 * @param {HTMLElement} into
 * @param {string} text
 */
function appendLinkified(into, text) {
  for (const part of splitLinks(text)) {
    if (part.href === undefined) {
      into.append(part.text);
      continue;
    }
    const link = document.createElement("a");
    link.href = part.href;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.textContent = part.text;
    link.dataset["testid"] = "message-link";
    into.append(link);
  }
}

/**
 * One entry as a list item.
 * @param {Entry} entry
 * @param {Entry | undefined} previous the entry above it, to group a sender's messages
 * @returns {HTMLLIElement}
 */
function entryElement(entry, previous) {
  const li = document.createElement("li");
  const spoken = SPOKEN.has(entry.kind);
  const continued =
    spoken && previous !== undefined && SPOKEN.has(previous.kind) && previous.from === entry.from && entry.ts - previous.ts < GROUP_MS;
  li.className = `entry entry-${entry.kind}${spoken ? " spoken" : " notice"}${entry.mine === true ? " mine" : ""}${continued ? " continued" : ""}`;
  li.dataset["testid"] = "entry";
  li.dataset["kind"] = entry.kind;
  if (entry.id !== undefined) li.dataset["id"] = entry.id;
  if (entry.code !== undefined) li.dataset["code"] = entry.code;
  const time = timeElement(new Date(entry.ts));
  const text = document.createElement("div");
  text.className = "text";
  if (spoken) {
    const meta = document.createElement("div");
    meta.className = "meta";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = entry.from ?? "";
    meta.append(from, " ", time);
    li.append(meta, text);
  } else {
    li.append(text, " ", time);
  }
  if (entry.file === undefined) {
    appendLinkified(text, entry.text);
  } else {
    appendFile(text, entry.file);
  }
  return li;
}

/**
 * A shared file: a download link (while its bytes are in this page) and, for an image, a preview.
 * @param {HTMLElement} into
 * @param {NonNullable<Entry["file"]>} file
 */
function appendFile(into, file) {
  if (file.url === undefined) {
    into.append(`shared ${file.name} (${formatSize(file.size)}, no longer available after a reload)`);
    return;
  }
  const link = document.createElement("a");
  link.href = file.url;
  link.download = file.name;
  link.dataset["testid"] = "file-link";
  link.textContent = file.name;
  into.append("shared ", link, ` (${formatSize(file.size)})`);
  if (file.preview === true) {
    const img = document.createElement("img");
    img.src = file.url;
    img.alt = `Preview of ${file.name}`;
    img.className = "preview";
    img.dataset["testid"] = "file-preview";
    into.append(img);
  }
}

/**
 * Shows a whole conversation in the log (after switching to it), at its end.
 * @param {Conversation} conversation
 */
export function renderLog(conversation) {
  const entries = conversation.entries;
  ui.messages.replaceChildren(...entries.map((entry, i) => entryElement(entry, entries[i - 1])));
  scrollToBottom();
}

/**
 * Shows one new entry of the shown conversation: appended when it is the last (following the
 * end if the reader was there, else counting it for the "new messages" button), or the whole
 * log again when a replayed message belongs further up.
 * @param {Conversation} conversation
 * @param {Entry} entry
 * @param {boolean} atEnd
 */
export function showEntry(conversation, entry, atEnd) {
  if (!atEnd) return void renderLogKeepingPlace(conversation);
  const entries = conversation.entries;
  const log = ui.messages;
  while (log.childElementCount >= entries.length && log.firstElementChild !== null) log.firstElementChild.remove();
  log.append(entryElement(entry, entries[entries.length - 2]));
  if (atBottom || entry.mine === true) return scrollToBottom();
  if (SPOKEN.has(entry.kind) || entry.kind === "error") {
    unseenBelow += 1;
    ui.newMessages.textContent = unseenBelow === 1 ? "1 new message ↓" : `${unseenBelow} new messages ↓`;
    ui.newMessages.hidden = false;
  }
}

/** @param {Conversation} conversation */
function renderLogKeepingPlace(conversation) {
  const follow = atBottom;
  const top = ui.messages.scrollTop;
  const entries = conversation.entries;
  ui.messages.replaceChildren(...entries.map((entry, i) => entryElement(entry, entries[i - 1])));
  if (follow) scrollToBottom();
  else ui.messages.scrollTop = top;
}

/**
 * Frees the bytes of files that left memory.
 * @param {Entry[]} entries
 */
export function releaseFiles(entries) {
  for (const entry of entries) if (entry.file?.url !== undefined) URL.revokeObjectURL(entry.file.url);
}

// ---------------------------------------------------------------- header and sidebar

/**
 * The header of the shown conversation.
 * @param {Conversation} conversation
 * @param {string} subtitle
 * @param {boolean} leavable whether "Leave room" applies
 */
export function showHeader(conversation, subtitle, leavable) {
  ui.viewTitle.textContent = conversation.kind === "room" ? `#${conversation.name}` : conversation.name;
  ui.viewTitle.dataset["view"] = conversation.key;
  ui.viewSub.textContent = subtitle;
  ui.leave.hidden = !leavable;
  ui.leave.textContent = `Leave #${conversation.name}`;
  ui.messageInput.placeholder = conversation.kind === "room" ? `Message #${conversation.name}` : `Message ${conversation.name} privately`;
}

/**
 * One sidebar row: a button with a name, a secondary note and an unread badge.
 * @typedef {{ key: string, label: string, note: string, unread: number, current: boolean, dim?: boolean,
 *   testId: string, data: Record<string, string>, onClick: () => void }} Row
 */

/**
 * @param {HTMLUListElement} list
 * @param {Row[]} rows
 */
function renderRows(list, rows) {
  list.replaceChildren(
    ...rows.map((row) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `row${row.dim === true ? " dim" : ""}`;
      button.dataset["testid"] = row.testId;
      for (const [key, value] of Object.entries(row.data)) button.dataset[key] = value;
      button.addEventListener("click", row.onClick);
      const label = document.createElement("span");
      label.className = "row-label";
      label.textContent = row.label;
      button.append(label);
      if (row.unread > 0) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.dataset["testid"] = "unread";
        badge.textContent = String(row.unread);
        badge.setAttribute("aria-label", row.unread === 1 ? "1 unread message" : `${row.unread} unread messages`);
        button.append(badge);
      }
      if (row.note !== "") {
        const note = document.createElement("span");
        note.className = "row-note";
        note.textContent = row.note;
        if (/^\d+$/.test(row.note)) {
          // A bare count on screen; "3 online" for a screen reader.
          const unit = document.createElement("span");
          unit.className = "visually-hidden";
          unit.textContent = " online";
          note.append(unit);
        }
        button.append(note);
      }
      if (row.current) button.setAttribute("aria-current", "page");
      const li = document.createElement("li");
      li.append(button);
      return li;
    }),
  );
}

/**
 * Fills the sidebar.
 * @param {Row[]} rooms
 * @param {Row[]} people
 * @param {number} totalUnread for the menu button's badge (the drawer is closed on a phone)
 */
export function renderSidebar(rooms, people, totalUnread) {
  renderRows(ui.rooms, rooms);
  renderRows(ui.users, people);
  ui.peopleEmpty.hidden = people.length > 0;
  ui.menuUnread.hidden = totalUnread === 0;
  ui.menuUnread.textContent = String(totalUnread);
  ui.menu.setAttribute("aria-label", totalUnread === 0 ? "Rooms and people" : `Rooms and people, ${totalUnread} unread`);
  document.title = totalUnread === 0 ? "wynd chat" : `(${totalUnread}) wynd chat`;
}

/**
 * Opens or closes the drawer (on a phone; on a wide screen the sidebar is always there).
 * @param {boolean} open
 */
export function setDrawer(open) {
  const phone = window.matchMedia("(max-width: 760px)").matches;
  const wasOpen = document.body.classList.contains("drawer-open");
  document.body.classList.toggle("drawer-open", open);
  ui.menu.setAttribute("aria-expanded", String(open));
  // While the drawer covers it, the conversation is out of reach of the keyboard and of screen
  // readers; when the drawer closes, focus goes back to the button that opened it.
  ui.dropZone.inert = open && phone;
  if (open) ui.sidebar.querySelector("button")?.focus();
  else if (wasOpen && phone && ui.sidebar.contains(document.activeElement)) ui.menu.focus();
}

// ---------------------------------------------------------------- composer and name dialog

/** Grows the composer with its lines, up to the height the stylesheet allows. */
export function fitComposer() {
  const input = ui.messageInput;
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight + 2}px`;
}

/**
 * Opens the name dialog, focused on its input.
 * @param {string} value the name to offer
 * @param {string} note why it is asked again ("" the first time)
 */
export function askName(value, note) {
  ui.nameInput.value = value;
  ui.nameNote.textContent = note;
  if (!ui.nameDialog.open) ui.nameDialog.showModal();
  ui.nameInput.focus();
  ui.nameInput.select();
}
