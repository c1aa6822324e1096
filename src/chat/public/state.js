// @ts-check
/**
 * The chat page's state and the glue between it and the screen: the conversations, what is being
 * typed in each, the requests waiting for an answer, and how a change reaches the log, the
 * sidebar and `sessionStorage`. connection.js feeds it from the network, app.js from the user.
 *
 * @module
 */

import { Conversations, loadSaved, Outbox, personKey, roomKey, storeSaved } from "./model.js";
import { fitComposer, releaseFiles, renderLog, renderSidebar, setDrawer, showEntry, showError, showHeader, str, ui } from "./view.js";

/** An unanswered request is given up after this long (the server dropped it silently). */
const ANSWER_TIMEOUT_MS = 10_000;
/** @typedef {Record<string, unknown>} Json */
/** @typedef {import("./model.js").Entry} Entry */

export const saved = loadSaved();
export const pageToken = new URLSearchParams(location.search).get("token") ?? "";
export const state = {
  /** @type {WebSocket | null} */ ws: null,
  /** The name the server acknowledged. @type {string | null} */ name: null,
  /** The name to (re)send after every (re)connect. @type {string | null} */ wantedName: typeof saved.name === "string" ? saved.name : null,
  /** Set when an auth token fixed the name (welcome.name). */ nameFixed: false,
  /** The room the server has us in: after a reload, the session's, whose last id a resume sends. */
  room: typeof saved.sessionRoom === "string" ? saved.sessionRoom : "lobby",
  /** The room to be in (rejoined after a reconnect). */ wantedRoom: typeof saved.room === "string" ? saved.room : "lobby",
  /** The session token of the server's `welcome` (issue 14), and the last private id seen. */
  /** @type {string | null} */ session: typeof saved.session === "string" ? saved.session : null,
  /** @type {string | null} */ privateAfter: typeof saved.privateAfter === "string" ? saved.privateAfter : null,
  /** Whether this page was ever welcomed: the next welcome is a reconnect. */ welcomed: false,
  /** A marker to put in a room's conversation after its history. @type {{ room: string, kind: string, text: string } | null} */
  marker: null,
  /** Requests to send once the server has shown us our first room. @type {Json[] | null} */ afterOpen: null,
  nameRetries: 0,
  /** Reconnect attempts since the last welcome. */ attempt: 0,
  /** Consecutive upgrades refused while the page itself was reachable. */ refusals: 0,
  /** No automatic reconnect: the user left, or the server refused us. */ stopped: false,
  /** The user left the chat: nothing is saved for a reload until the next welcome. */ left: false,
  limits: { maxMessageBytes: 4096, maxFileBytes: 5 * 1024 * 1024, maxNameLength: 32 },
  /** @type {string[]} */ help: [],
  /** @type {string[]} */ users: [],
  /** @type {Array<{ name: string, members: number }>} */ roomList: [],
  /** @type {number | undefined} */ retryTimer: undefined,
  /** @type {number | undefined} */ countdownTimer: undefined,
  /** @type {number | undefined} */ refreshTimer: undefined,
  lastRefresh: 0,
  /** @type {number | undefined} */ pollTimer: undefined,
  /** @type {number | undefined} */ saveTimer: undefined,
};
export const conversations = new Conversations();
conversations.restore(saved.conversations);
conversations.ensure("room", "lobby");
conversations.ensure("room", state.wantedRoom);
conversations.active = typeof saved.active === "string" && conversations.get(saved.active) !== undefined ? saved.active : roomKey(state.wantedRoom);
/** What was typed in each conversation's composer and not sent. @type {Map<string, string>} */
export const drafts = new Map();
export const outbox = new Outbox((text, view, reason) => {
  restoreDraft(text, view);
  if (reason !== "refused") showError(DROPPED[reason], "not-sent");
});
/** Why a message's text came back to the composer, when no `error` said it. */
const DROPPED = {
  skipped: "Not sent: you are sending too fast. Your message is back in the box.",
  lost: "The connection was lost before your message was confirmed; it is back in the box.",
  expired: "The server did not confirm your message; it is back in the box.",
};
window.setInterval(() => outbox.expire(Date.now(), ANSWER_TIMEOUT_MS), 2000);

/**
 * Sends one JSON request, tracked by the outbox until the server answers it.
 * @param {Json} request
 * @param {import("./model.js").Tracking} [tracking]
 * @returns {boolean} whether it was sent
 */
export function send(request, tracking = {}) {
  const ws = state.ws;
  if (ws === null || ws.readyState !== WebSocket.OPEN) {
    showError("Not connected: nothing was sent.", "offline");
    return false;
  }
  ws.send(JSON.stringify(request));
  outbox.sent(str(request["type"]), tracking);
  return true;
}

/** Saves what a reload needs, soon (several events in a row cost one write). */
export function save() {
  if (state.saveTimer !== undefined) return;
  state.saveTimer = window.setTimeout(saveNow, 250);
}

export function saveNow() {
  clearTimeout(state.saveTimer);
  state.saveTimer = undefined;
  if (state.left) return;
  storeSaved({
    name: state.name ?? state.wantedName,
    room: state.wantedRoom,
    sessionRoom: state.room,
    session: state.session,
    privateAfter: state.privateAfter,
    active: conversations.active,
    conversations: conversations.toJSON(),
  });
}


/**
 * Adds an entry to a conversation and shows it if that conversation is on screen.
 * @param {import("./model.js").Conversation} conversation
 * @param {Entry} entry
 * @param {{ countUnread?: boolean, inOrder?: boolean }} [options]
 */
export function addTo(conversation, entry, options) {
  const { added, atEnd, trimmed } = conversations.add(conversation, entry, options);
  releaseFiles(trimmed);
  if (added && conversation.key === conversations.active) showEntry(conversation, entry, atEnd);
  if (added) {
    updateSidebar();
    save();
  }
}

/**
 * A notice in the conversation on screen ("You are now known as…", /help).
 * @param {string} text
 * @param {unknown} [ts]
 */
export function notice(text, ts) {
  const conversation = conversations.get(conversations.active) ?? conversations.ensure("room", state.room);
  addTo(conversation, { kind: "system", ts: typeof ts === "number" ? ts : Date.now(), text });
}

/**
 * Shows conversation `key`, with its draft in the composer.
 * @param {string} key
 */
export function openView(key) {
  drafts.set(conversations.active, ui.messageInput.value);
  const conversation = conversations.activate(key);
  if (conversation === undefined) return;
  ui.messageInput.value = drafts.get(key) ?? "";
  fitComposer();
  renderLog(conversation);
  updateSidebar();
  setDrawer(false);
  save();
}

/** @param {string} room */
function membersOf(room) {
  const members = state.roomList.find((r) => r.name === room)?.members;
  return members === undefined ? "" : `${members} online`;
}

export function updateSidebar() {
  const active = conversations.get(conversations.active) ?? conversations.ensure("room", state.room);
  const online = new Set(state.users.map((u) => u.toLowerCase()));
  if (active.kind === "room") showHeader(active, [membersOf(active.name), active.name === state.room ? "" : "joining…"].filter(Boolean).join(" · "), active.name !== "lobby");
  else showHeader(active, online.has(active.name.toLowerCase()) ? "Private conversation" : "Private conversation · offline", false);
  const roomNames = [...new Set([...conversations.all().filter((c) => c.kind === "room").map((c) => c.name), ...state.roomList.map((r) => r.name)])];
  roomNames.sort((a, b) => (a === "lobby" ? -1 : b === "lobby" ? 1 : a.localeCompare(b)));
  const rooms = roomNames.map((name) => ({
    key: roomKey(name),
    label: `#${name}`,
    note: String(state.roomList.find((r) => r.name === name)?.members ?? ""),
    unread: conversations.get(roomKey(name))?.unread ?? 0,
    current: conversations.active === roomKey(name),
    testId: "room",
    data: { room: name },
    onClick: () => goToRoom(name),
  }));
  const me = (state.name ?? "").toLowerCase();
  /** @type {Map<string, string>} */
  const names = new Map();
  for (const user of state.users) names.set(user.toLowerCase(), user);
  for (const c of conversations.all()) if (c.kind === "private" && !names.has(c.name.toLowerCase())) names.set(c.name.toLowerCase(), c.name);
  names.delete(me);
  const people = [...names.values()]
    .sort((a, b) => Number(!online.has(a.toLowerCase())) - Number(!online.has(b.toLowerCase())) || a.localeCompare(b))
    .map((name) => ({
      key: personKey(name),
      label: name,
      note: online.has(name.toLowerCase()) ? "" : "offline",
      dim: !online.has(name.toLowerCase()),
      unread: conversations.get(personKey(name))?.unread ?? 0,
      current: conversations.active === personKey(name),
      testId: "user",
      data: { name },
      onClick: () => openPerson(name),
    }));
  renderSidebar(rooms, people, conversations.totalUnread());
}

/** @param {string} room */
export function goToRoom(room) {
  conversations.ensure("room", room);
  if (room !== state.room && room !== state.wantedRoom) {
    if (!send({ type: "join", room }, { user: true })) return;
    state.wantedRoom = room;
  }
  openView(roomKey(room));
}

/** @param {string} name */
export function openPerson(name) {
  conversations.ensure("private", name);
  openView(personKey(name));
  ui.messageInput.focus();
}

/**
 * Puts the text of a message the server refused (or never answered) back in the composer of its
 * conversation, before whatever was typed since.
 * @param {string} text
 * @param {string} view
 */
export function restoreDraft(text, view) {
  const current = view === conversations.active ? ui.messageInput.value : (drafts.get(view) ?? "");
  const merged = current === "" || current === text ? text : `${text}\n${current}`;
  if (view === conversations.active) {
    ui.messageInput.value = merged;
    fitComposer();
  } else {
    drafts.set(view, merged);
  }
}


export function showMyName() {
  ui.myName.textContent = state.name ?? "not named yet";
}
