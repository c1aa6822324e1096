// @ts-check
/**
 * The page of the wynd chat client: the elements app.js works with, and how each chat event is
 * shown. Nothing here talks to the network.
 *
 * Security rule of this file: everything that came from the network is put in the page with
 * `textContent`, `append(string)` or as an attribute value, never parsed as HTML.
 *
 * @module
 */

/** The message list keeps this many entries; older ones go (and their object URLs with them). */
const MAX_ENTRIES = 1000;
/** Received images of these types are previewed. Never SVG: it can carry script. */
const PREVIEW_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"]);

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
  conn: byId("connection-state", HTMLElement),
  reconnect: byId("reconnect-button", HTMLButtonElement),
  quit: byId("quit-button", HTMLButtonElement),
  nameForm: byId("name-form", HTMLFormElement),
  nameInput: byId("name-input", HTMLInputElement),
  nameNote: byId("name-note", HTMLElement),
  rooms: byId("rooms-list", HTMLUListElement),
  joinForm: byId("join-form", HTMLFormElement),
  roomInput: byId("room-input", HTMLInputElement),
  leave: byId("leave-button", HTMLButtonElement),
  currentRoom: byId("current-room", HTMLElement),
  dropZone: byId("drop-zone", HTMLElement),
  dropHint: byId("drop-hint", HTMLElement),
  messages: byId("messages", HTMLOListElement),
  composer: byId("composer", HTMLFormElement),
  privateTarget: byId("private-target", HTMLElement),
  privateName: byId("private-target-name", HTMLElement),
  privateCancel: byId("private-cancel", HTMLButtonElement),
  messageInput: byId("message-input", HTMLInputElement),
  fileInput: byId("file-input", HTMLInputElement),
  users: byId("users-list", HTMLUListElement),
};

/** Object URLs of received files, per entry, revoked when the entry is trimmed. */
const objectUrls = new WeakMap();

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
 * Appends one entry to the message list, as text only.
 * @param {string} kind message, private, join, leave, rename, room, history, file, error, system
 * @param {{ ts?: unknown, from?: string, text: string, code?: string, mine?: boolean }} parts
 * @returns {HTMLLIElement}
 */
export function addEntry(kind, parts) {
  const list = ui.messages;
  // Follow new entries only when the reader is at the bottom, not while they scroll back.
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  const li = document.createElement("li");
  li.className = `entry entry-${kind}${parts.mine === true ? " mine" : ""}`;
  li.dataset["testid"] = "entry";
  li.dataset["kind"] = kind;
  if (parts.code !== undefined) li.dataset["code"] = parts.code;
  const date = new Date(typeof parts.ts === "number" && Number.isFinite(parts.ts) ? parts.ts : Date.now());
  const time = document.createElement("time");
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  li.append(time, " ");
  if (parts.from !== undefined && parts.from !== "") {
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = parts.from;
    li.append(from, " ");
  }
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = parts.text;
  li.append(text);
  list.append(li);
  while (list.childElementCount > MAX_ENTRIES && list.firstElementChild !== null) {
    const old = list.firstElementChild;
    const url = objectUrls.get(old);
    if (url !== undefined) URL.revokeObjectURL(url);
    old.remove();
  }
  if (stick) list.scrollTop = list.scrollHeight;
  return li;
}

/**
 * Shows a received file: a download link with its name and, for a known image type, a preview.
 * @param {{ ts: unknown, from: string, name: string, mime: string, bytes: Uint8Array<ArrayBuffer>, mine: boolean }} file
 */
export function addFileEntry(file) {
  // Anything but a known image type is given to the browser as opaque bytes, so a received
  // text/html file opened from its blob: URL cannot run as a page of this origin.
  const preview = PREVIEW_TYPES.has(file.mime);
  const url = URL.createObjectURL(new Blob([file.bytes], { type: preview ? file.mime : "application/octet-stream" }));
  const li = addEntry("file", { ts: file.ts, from: file.from, text: "", mine: file.mine });
  objectUrls.set(li, url);
  const text = li.querySelector(".text") ?? li;
  const link = document.createElement("a");
  link.href = url;
  link.download = file.name;
  link.dataset["testid"] = "file-link";
  link.textContent = file.name;
  text.append("shared ", link, ` (${formatSize(file.bytes.byteLength)})`);
  if (preview) {
    const img = document.createElement("img");
    img.src = url;
    img.alt = `Preview of ${file.name}`;
    img.className = "preview";
    img.dataset["testid"] = "file-preview";
    text.append(img);
  }
}

/**
 * Shows a room's history: the messages sent before we entered it.
 * @param {unknown} room
 * @param {unknown} messages `{ from, text, ts }[]`
 * @param {unknown} ts
 */
export function addHistory(room, messages, ts) {
  if (!Array.isArray(messages) || messages.length === 0) return;
  addEntry("room", { ts, text: `Earlier in #${str(room)}:` });
  for (const message of messages) {
    const m = /** @type {Record<string, unknown>} */ (message ?? {});
    addEntry("history", { ts: m["ts"], from: str(m["from"]), text: str(m["text"]) });
  }
}

/**
 * A list item holding one button.
 * @param {string} testId
 * @param {() => void} onClick
 * @returns {[HTMLLIElement, HTMLButtonElement]}
 */
function buttonItem(testId, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset["testid"] = testId;
  button.addEventListener("click", onClick);
  const li = document.createElement("li");
  li.append(button);
  return [li, button];
}

/**
 * Fills the rooms pane from a `rooms` event.
 * @param {unknown} rooms `{ name, members }[]`
 * @param {string} current the room we are in
 * @param {(room: string) => void} onJoin
 */
export function renderRooms(rooms, current, onJoin) {
  if (!Array.isArray(rooms)) return;
  ui.rooms.replaceChildren(
    ...rooms.map((entry) => {
      const room = /** @type {Record<string, unknown>} */ (entry ?? {});
      const name = str(room["name"]);
      const [li, button] = buttonItem("room", () => name !== current && onJoin(name));
      button.dataset["room"] = name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = str(room["members"]);
      count.setAttribute("aria-label", `${str(room["members"])} members`);
      button.append(`#${name}`, count);
      if (name === current) button.setAttribute("aria-current", "true");
      return li;
    }),
  );
}

/**
 * Fills the users pane from a `users` event.
 * @param {unknown} users names
 * @param {string | null} me our own name (shown, not selectable)
 * @param {string | null} privateTo the user selected for private messages
 * @param {(name: string) => void} onPick
 */
export function renderUsers(users, me, privateTo, onPick) {
  if (!Array.isArray(users)) return;
  ui.users.replaceChildren(
    ...users.map((user) => {
      const name = str(user);
      const [li, button] = buttonItem("user", () => onPick(name));
      button.dataset["name"] = name;
      button.textContent = name === me ? `${name} (you)` : name;
      button.disabled = name === me;
      button.setAttribute("aria-pressed", String(name === privateTo));
      return li;
    }),
  );
}

/**
 * Shows who private messages go to (null: to the room).
 * @param {string | null} name
 */
export function showPrivateTarget(name) {
  ui.privateTarget.hidden = name === null;
  ui.privateName.textContent = name ?? "";
  for (const button of ui.users.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset["name"] === name));
  }
  ui.messageInput.placeholder = name === null ? "Message (Enter to send, /help for commands)" : `Private message to ${name}`;
  ui.messageInput.focus();
}
