// @ts-check
/**
 * The wynd chat browser client's connection: it speaks the `wynd-chat.v1` subprotocol of
 * docs/chat.md (JSON text frames both ways, files as binary frames: 4-byte big-endian header
 * length, JSON header, bytes), reconnects, resumes its session, and turns events into
 * conversations (state.js). app.js holds the user's actions.
 *
 * @module
 */

import { clearSaved, compareIds, rememberedName, rememberName, roomKey } from "./model.js";
import {
  addTo, conversations, notice, openView, outbox, pageToken, save, send, showMyName, state, updateSidebar,
} from "./state.js";
import { askName, PREVIEW_TYPES, showConnection, showError, str, ui } from "./view.js";

const PROTOCOL = "wynd-chat.v1";
/** Reconnect backoff: the ceiling doubles from 0.5 s up to 30 s; the delay is drawn in its upper
 * half ("equal jitter"), so that clients dropped together do not all come back in the same tick. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** The sidebar's rooms and people are refreshed this soon after an event that changes them, and
 * at most once per interval, which keeps these queries (2 per refresh) below the rate limit. */
const REFRESH_DELAY_MS = 100;
const REFRESH_INTERVAL_MS = 1000;
/** Rooms and users change in rooms we are not in, without an event to us: poll now and then. */
const POLL_MS = 20_000;
/** A name resent after a reload may still be held by this tab's previous connection for a
 * moment: it is retried this many times, this far apart, before the name dialog asks. */
const NAME_RETRIES = 5;
const NAME_RETRY_MS = 1000;
/** @typedef {Record<string, unknown>} Json */
/** @typedef {import("./model.js").Entry} Entry */

// ---------------------------------------------------------------- connection

/** The chat's WebSocket URL: this page's directory with ws:/wss:, the page's `?token=`, and the
 * session to resume with the last ids seen (docs/chat.md). */
function chatUrl() {
  const url = new URL("./", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  if (pageToken !== "") url.searchParams.set("token", pageToken);
  if (state.session !== null) {
    url.searchParams.set("session", state.session);
    const after = conversations.get(roomKey(state.room))?.lastId;
    if (after !== undefined) url.searchParams.set("after", after);
    if (state.privateAfter !== null) url.searchParams.set("privateAfter", state.privateAfter);
  }
  return url.href;
}

function clearRetry() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  state.retryTimer = state.countdownTimer = undefined;
}

export function connect() {
  clearRetry();
  state.stopped = false;
  showConnection("connecting", state.attempt === 0 ? "Connecting…" : "Reconnecting…");
  /** @type {WebSocket} */
  let ws;
  try {
    ws = new WebSocket(chatUrl(), PROTOCOL);
  } catch (error) {
    showConnection("closed", "Closed");
    showError(`Cannot connect: ${String(error)}`, "connection");
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    if (ws.protocol !== PROTOCOL) {
      showError(`This server does not speak ${PROTOCOL}: not a wynd chat server?`, "connection");
      state.stopped = true;
      ws.close(1000);
      return;
    }
    showConnection("open", "Connected");
  });
  ws.addEventListener("message", (event) => {
    if (ws !== state.ws) return;
    if (typeof event.data === "string") onText(event.data);
    else if (event.data instanceof ArrayBuffer) onFile(event.data);
  });
  ws.addEventListener("close", (event) => {
    if (ws !== state.ws) return;
    state.ws = null;
    outbox.lost();
    void onClosed(event, opened);
  });
}

/**
 * Decides whether to reconnect: not after leaving or a policy close (1008: flooding, or an auth
 * failure after the upgrade), and not when the page's server answers HTTP but keeps refusing the
 * upgrade (a 401 for a bad token looks to a browser like any failed connection).
 * @param {CloseEvent} event
 * @param {boolean} opened
 */
async function onClosed(event, opened) {
  clearTimeout(state.pollTimer);
  state.pollTimer = undefined;
  if (state.stopped) return showConnection("closed", "Closed");
  if (event.code === 4000) {
    // Another tab (a duplicated one shares our sessionStorage) took the session over: coming
    // back by ourselves would take it back, and the two would fight.
    state.stopped = true;
    state.session = null;
    showError("This chat continued in another tab or window.", "taken-over");
    return showConnection("closed", "Continued elsewhere");
  }
  if (event.code === 1008) {
    state.stopped = true;
    showError(`The server closed the connection: ${event.reason || "policy violation"}.`, "connection");
    return showConnection("closed", "Closed by the server");
  }
  if (!opened && (await pageReachable())) {
    // Twice in a row is a refusal (a bad token: 401). After a session, allow for a while more:
    // the server may not have noticed our old connection drop yet (a token's name is then
    // still online: 409).
    state.refusals += 1;
    if (state.refusals >= (state.welcomed ? 5 : 2)) {
      state.stopped = true;
      showError("The server refused the connection (is the ?token= in the address valid?).", "connection");
      return showConnection("closed", "Refused by the server");
    }
  } else {
    state.refusals = 0;
  }
  if (!state.stopped && state.ws === null) scheduleReconnect();
}

/** True when this page's own URL answers over HTTP, i.e. the server is up. */
async function pageReachable() {
  try {
    const response = await fetch(new URL("./", location.href), { method: "HEAD", cache: "no-store" });
    return response.ok;
  } catch {
    return false;
  }
}

function scheduleReconnect() {
  clearRetry();
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  state.attempt += 1;
  const due = Date.now() + delay;
  const tick = () => {
    const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
    showConnection("reconnecting", `Reconnecting in ${seconds} s…`);
  };
  tick();
  state.countdownTimer = window.setInterval(tick, 1000);
  state.retryTimer = window.setTimeout(connect, delay);
}
/** Asks for fresh rooms and users lists soon, at most once per REFRESH_INTERVAL_MS. */
export function scheduleRefresh() {
  if (state.refreshTimer !== undefined) return;
  const delay = Math.max(REFRESH_DELAY_MS, state.lastRefresh + REFRESH_INTERVAL_MS - Date.now());
  state.refreshTimer = window.setTimeout(() => {
    state.refreshTimer = undefined;
    if (state.ws === null || state.ws.readyState !== WebSocket.OPEN) return;
    state.lastRefresh = Date.now();
    send({ type: "rooms" });
    send({ type: "users" });
  }, delay);
}

function poll() {
  clearTimeout(state.pollTimer);
  state.pollTimer = window.setTimeout(() => {
    if (document.visibilityState === "visible") scheduleRefresh();
    poll();
  }, POLL_MS);
}

// ---------------------------------------------------------------- incoming events

/** @param {string} data */
function onText(data) {
  /** @type {unknown} */
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return notice(data);
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) return;
  handleEvent(/** @type {Json} */ (event));
}

/** @param {unknown} value */
const tsOf = (value) => (typeof value === "number" && Number.isFinite(value) ? value : Date.now());
/** @param {unknown} value */
const idOf = (value) => (typeof value === "string" && value !== "" ? { id: value } : {});

/** @param {Json} e */
function handleEvent(e) {
  const ts = tsOf(e["ts"]);
  switch (e["type"]) {
    case "welcome":
      return onWelcome(e);
    case "name":
      return onName(str(e["name"]), ts);
    case "message": {
      const from = str(e["from"]);
      const mine = from === state.name;
      if (mine) outbox.answered("message", str(e["text"]));
      const conversation = conversations.ensure("room", str(e["room"]) || state.room);
      return addTo(conversation, { kind: "message", ts, from, text: str(e["text"]), mine, ...idOf(e["id"]) }, { countUnread: true });
    }
    case "private":
      return onPrivate(e, ts);
    case "join":
    case "leave": {
      const verb = e["type"] === "join" ? "joined" : "left";
      roomNotice(e, e["type"], `${str(e["name"])} ${verb} #${str(e["room"])}`, ts);
      return scheduleRefresh();
    }
    case "rename":
      conversations.rename(str(e["from"]), str(e["to"]));
      roomNotice(e, "rename", `${str(e["from"])} is now known as ${str(e["to"])}`, ts);
      return scheduleRefresh();
    case "room":
      return onRoom(str(e["room"]) || "lobby");
    case "history":
      return onHistory(e, ts);
    case "rooms":
      if (Array.isArray(e["rooms"])) {
        state.roomList = e["rooms"].map((r) => ({ name: str(r?.name), members: Number(r?.members) || 0 })).filter((r) => r.name !== "");
      }
      if (outbox.answered("rooms")?.show === true) notice(`Rooms: ${state.roomList.map((r) => `#${r.name} (${r.members})`).join(", ")}`, ts);
      return updateSidebar();
    case "users":
      if (Array.isArray(e["users"])) state.users = e["users"].map(str).filter(Boolean);
      if (outbox.answered("users")?.show === true) notice(`Online: ${state.users.join(", ")}`, ts);
      return updateSidebar();
    case "error":
      return onError(str(e["code"]), str(e["message"]) || "Error");
    case "help":
      if (Array.isArray(e["help"])) state.help = e["help"].map(str);
      outbox.answered("help");
      return notice(state.help.join("\n"), ts);
    case "goodbye":
      outbox.answered("goodbye");
      state.stopped = true;
      state.left = true;
      state.session = null;
      clearSaved();
      return notice("You left the chat. Reconnect to come back.", ts);
    default:
      return; // a newer server's event: nothing to show
  }
}

/**
 * A join/leave/rename line, in its room's conversation when the page has one.
 * @param {Json} e
 * @param {string} kind
 * @param {string} text
 * @param {number} ts
 */
function roomNotice(e, kind, text, ts) {
  const conversation = conversations.get(roomKey(str(e["room"]) || state.room));
  if (conversation !== undefined) addTo(conversation, { kind, ts, text });
}

/**
 * @param {Json} e
 * @param {number} ts
 */
function onPrivate(e, ts) {
  const from = str(e["from"]);
  const to = str(e["to"]);
  const mine = from === state.name;
  if (mine) outbox.answered("private", str(e["text"]));
  const id = typeof e["id"] === "string" && e["id"] !== "" ? e["id"] : undefined;
  // privateAfter names the last message of our own inbox (ids increase per recipient).
  if (id !== undefined && to === state.name && (state.privateAfter === null || compareIds(id, state.privateAfter) > 0)) state.privateAfter = id;
  const conversation = conversations.ensure("private", mine ? to : from);
  addTo(conversation, { kind: "private", ts, from, to, text: str(e["text"]), mine, ...(id === undefined ? {} : { id }) }, { countUnread: true });
  if (!state.users.some((u) => u.toLowerCase() === conversation.name.toLowerCase())) scheduleRefresh();
}

/** @param {Json} e */
function onWelcome(e) {
  const reconnect = state.welcomed;
  state.welcomed = true;
  state.left = false;
  state.attempt = 0;
  state.refusals = 0;
  const limits = e["limits"];
  if (typeof limits === "object" && limits !== null) {
    for (const key of /** @type {const} */ (["maxMessageBytes", "maxFileBytes", "maxNameLength"])) {
      const value = /** @type {Json} */ (limits)[key];
      if (typeof value === "number" && value > 0) state.limits[key] = value;
    }
  }
  if (Array.isArray(e["help"])) state.help = e["help"].map(str);
  if (typeof e["session"] === "string" && e["session"] !== "") state.session = e["session"];
  const room = str(e["room"]) || "lobby";
  state.room = room;
  state.marker = reconnect ? { room: state.wantedRoom, kind: "reconnected", text: "Reconnected" } : null;
  /** @type {Json[]} */
  const requests = [];
  if (e["resumed"] === true) {
    // The server kept our session: name, room and everything missed come back by themselves.
    state.name = state.wantedName = str(e["name"]) || state.wantedName;
    state.wantedRoom = room;
    if (state.marker !== null) state.marker.room = room;
  } else if (typeof e["name"] === "string") {
    // An auth token fixed the name: nothing to choose, nothing to resend.
    state.nameFixed = true;
    state.name = state.wantedName = e["name"];
    ui.nameInput.value = e["name"];
    ui.nameInput.readOnly = true;
    ui.nameNote.textContent = "Your name is set by your login token.";
    ui.nameChange.hidden = true;
    if (ui.nameDialog.open) ui.nameDialog.close();
  } else {
    state.name = null;
    if (state.wantedName !== null) requests.push({ type: "name", name: state.wantedName });
    else if (!ui.nameDialog.open) askName(rememberedName(), "");
  }
  if (e["resumed"] !== true && state.wantedRoom !== room) requests.push({ type: "join", room: state.wantedRoom });
  // Sent once the server has shown us our first room (its `history`), so that the `room` of the
  // open is not taken for the answer to our `join`.
  state.afterOpen = requests;
  showMyName();
  scheduleRefresh();
  poll();
}

/**
 * @param {string} name
 * @param {number} ts
 */
function onName(name, ts) {
  const request = outbox.answered("name");
  state.name = state.wantedName = name;
  state.nameRetries = 0;
  showMyName();
  if (!state.nameFixed) rememberName(name);
  if (ui.nameDialog.open && request?.user === true) {
    ui.nameDialog.close();
    ui.messageInput.focus();
  }
  if (request?.auto !== true) notice(`You are now known as ${name}.`, ts);
  updateSidebar();
  scheduleRefresh();
  save();
}


/** @param {string} room the room the server has us in now */
function onRoom(room) {
  const request = outbox.answered("room");
  const asked = request?.user === true;
  if (asked) state.wantedRoom = room;
  state.room = room;
  const conversation = conversations.ensure("room", room);
  const activeKind = conversations.get(conversations.active)?.kind;
  if (room === state.wantedRoom) {
    if (state.marker === null) {
      const first = conversation.entries.length === 0;
      if (first || asked) state.marker = { room, kind: "room", text: first ? `You are in #${room}` : `You are back in #${room}` };
    }
    if (conversations.active !== conversation.key && (asked || activeKind === "room")) openView(conversation.key);
  }
  updateSidebar();
  scheduleRefresh();
  save();
}

/**
 * A room's history: the messages before we entered it (or, on a resumed session, the ones we
 * missed); merged with what the conversation already shows, each message once.
 * @param {Json} e
 * @param {number} ts
 */
function onHistory(e, ts) {
  const room = str(e["room"]) || state.room;
  const conversation = conversations.ensure("room", room);
  const messages = Array.isArray(e["messages"]) ? e["messages"] : [];
  const hadMessages = conversation.entries.some((entry) => entry.kind === "message" || entry.kind === "history");
  /** @type {Entry[]} */
  const entries = messages.map((message) => {
    const m = /** @type {Json} */ (message ?? {});
    const from = str(m["from"]);
    return { kind: "history", ts: tsOf(m["ts"]), from, text: str(m["text"]), mine: from === state.name, ...idOf(m["id"]) };
  });
  const first = entries[0];
  // complete: false says messages were trimmed between what we saw and what is replayed.
  if (e["complete"] === false && hadMessages && first !== undefined) {
    addTo(conversation, { kind: "gap", ts: first.ts, text: "Some earlier messages are missing." }, { inOrder: true });
  }
  for (const entry of entries) addTo(conversation, entry, { inOrder: true });
  if (state.marker !== null && state.marker.room === room) {
    addTo(conversation, { kind: state.marker.kind, ts: Math.max(ts, conversation.entries.at(-1)?.ts ?? 0), text: state.marker.text });
    state.marker = null;
  }
  const requests = state.afterOpen;
  state.afterOpen = null;
  for (const request of requests ?? []) send(request, { auto: true });
}

/**
 * An `error` event: it answers our oldest unanswered request; a refused message's text goes back
 * to the composer, and the error shows next to it.
 * @param {string} code
 * @param {string} message
 */
function onError(code, message) {
  const request = outbox.refused();
  if (request?.type === "name" && request.auto === true && code === "name-taken" && state.nameRetries < NAME_RETRIES) {
    // After a reload, our previous connection may hold the name for a moment yet.
    state.nameRetries += 1;
    const name = state.wantedName;
    window.setTimeout(() => name !== null && state.name === null && send({ type: "name", name }, { auto: true }), NAME_RETRY_MS);
    return;
  }
  if (code === "no-name" || request?.type === "name") {
    if (request?.type === "name") state.wantedName = state.name;
    askName(request?.type === "name" ? (request.name ?? "") : rememberedName(), code === "no-name" ? "Choose a name first." : message);
    if (code !== "no-name") return;
  }
  showError(message, code);
}

/**
 * A received file frame: 4-byte big-endian header length, the JSON header, the file's bytes.
 * @param {ArrayBuffer} buffer
 */
function onFile(buffer) {
  const view = new DataView(buffer);
  const headerLength = buffer.byteLength >= 4 ? view.getUint32(0) : Infinity;
  /** @type {unknown} */
  let header = null;
  if (4 + headerLength <= buffer.byteLength) {
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(buffer, 4, headerLength)));
    } catch {
      header = null;
    }
  }
  if (typeof header !== "object" || header === null) return showError("Received a malformed file.", "bad-file");
  const h = /** @type {Json} */ (header);
  const bytes = new Uint8Array(buffer, 4 + headerLength);
  const from = str(h["from"]);
  const mine = from === state.name;
  if (mine) outbox.answered("file");
  // Anything but a known image type is given to the browser as opaque bytes, so a received
  // text/html file opened from its blob: URL cannot run as a page of this origin.
  const preview = PREVIEW_TYPES.has(str(h["mime"]));
  const url = URL.createObjectURL(new Blob([bytes], { type: preview ? str(h["mime"]) : "application/octet-stream" }));
  const conversation = conversations.ensure("room", str(h["room"]) || state.room);
  const name = str(h["name"]) || "file";
  addTo(conversation, { kind: "file", ts: tsOf(h["ts"]), from, mine, text: name, file: { name, size: bytes.byteLength, url, preview } }, { countUnread: true });
}

