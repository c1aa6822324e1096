// @ts-check
/**
 * The wynd chat browser client: plain browser JavaScript (ES modules, no build step, no
 * framework), type-checked by `tsconfig.public.json`. It speaks the `wynd-chat.v1` subprotocol of
 * docs/chat.md: JSON text frames both ways, files as binary frames (4-byte big-endian header
 * length, JSON header, bytes). This module holds the connection and the user's actions;
 * view.js shows things, always as text.
 *
 * @module
 */

import { addEntry, addFileEntry, addHistory, formatSize, renderRooms, renderUsers, showConnection, showPrivateTarget, str, ui } from "./view.js";

const PROTOCOL = "wynd-chat.v1";
/** Reconnect backoff: the ceiling doubles from 0.5 s up to 30 s; the delay is drawn in its upper
 * half ("equal jitter"), so that clients dropped together do not all come back in the same tick. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** The rooms/users panes are refreshed this soon after an event that changes them, and at most
 * once per interval, which keeps these requests (2 per refresh) below the server's rate limit
 * (5/s). */
const REFRESH_DELAY_MS = 100;
const REFRESH_INTERVAL_MS = 1000;
/** Rooms and users change in rooms we are not in, without an event to us: poll now and then. */
const POLL_MS = 20_000;
/** @typedef {Record<string, unknown>} Json */

const state = {
  /** @type {WebSocket | null} */ ws: null,
  /** The name the server acknowledged. @type {string | null} */ name: null,
  /** The name to (re)send after every (re)connect. @type {string | null} */ wantedName: null,
  /** Set when an auth token fixed the name (welcome.name). */ nameFixed: false,
  room: "lobby",
  /** The room to rejoin after a reconnect. */ wantedRoom: "lobby",
  /** @type {string | null} */ privateTo: null,
  /** Reconnect attempts since the last welcome. */ attempt: 0,
  /** Consecutive upgrades refused while the page itself was reachable. */ refusals: 0,
  /** Whether a connection of this page ever got its welcome. */ welcomed: false,
  /** No automatic reconnect: the user quit, or the server refused us. */ stopped: false,
  limits: { maxMessageBytes: 4096, maxFileBytes: 5 * 1024 * 1024, maxNameLength: 32 },
  /** @type {string[]} */ help: [],
  /** @type {number | undefined} */ retryTimer: undefined,
  /** @type {number | undefined} */ countdownTimer: undefined,
  /** @type {number | undefined} */ refreshTimer: undefined,
  lastRefresh: 0,
  /** @type {number | undefined} */ pollTimer: undefined,
};

const encoder = new TextEncoder();

// ---------------------------------------------------------------- connection

/** The chat's WebSocket URL: this page's directory with ws:/wss:, and the page's `?token=`. */
function chatUrl() {
  const url = new URL("./", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  const token = new URLSearchParams(location.search).get("token");
  if (token !== null && token !== "") url.searchParams.set("token", token);
  return url.href;
}

function clearRetry() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  state.retryTimer = state.countdownTimer = undefined;
}

function connect() {
  clearRetry();
  state.stopped = false;
  showConnection("connecting", state.attempt === 0 ? "Connecting…" : "Reconnecting…");
  /** @type {WebSocket} */
  let ws;
  try {
    ws = new WebSocket(chatUrl(), PROTOCOL);
  } catch (error) {
    showConnection("closed", "Closed");
    addEntry("error", { text: `Cannot connect: ${String(error)}` });
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    if (ws.protocol !== PROTOCOL) {
      addEntry("error", { text: `This server does not speak ${PROTOCOL}: not a wynd chat server?` });
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
    void onClosed(event, opened);
  });
}

/**
 * Decides whether to reconnect: not after a quit or a policy close (1008: flooding, or an auth
 * failure after the upgrade), and not when the page's server answers HTTP but keeps refusing the
 * upgrade (a 401 for a bad token looks to a browser like any failed connection).
 * @param {CloseEvent} event
 * @param {boolean} opened
 */
async function onClosed(event, opened) {
  clearTimeout(state.pollTimer);
  state.pollTimer = undefined;
  if (state.stopped) return showConnection("closed", "Closed");
  if (event.code === 1008) {
    state.stopped = true;
    addEntry("error", { text: `The server closed the connection: ${event.reason || "policy violation"}.` });
    return showConnection("closed", "Closed by the server");
  }
  if (!opened && (await pageReachable())) {
    // Twice in a row is a refusal (a bad token: 401). After a session, allow for a while more:
    // the server may not have noticed our old connection drop yet (a token's name is then
    // still online: 409).
    state.refusals += 1;
    if (state.refusals >= (state.welcomed ? 5 : 2)) {
      state.stopped = true;
      addEntry("error", { text: "The server refused the connection (is the ?token= in the address valid?)." });
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

/**
 * Sends one JSON request, or says in the message list why it could not.
 * @param {Json} request
 * @returns {boolean} whether it was sent
 */
function send(request) {
  const ws = state.ws;
  if (ws === null || ws.readyState !== WebSocket.OPEN) {
    addEntry("error", { text: "Not connected: nothing was sent." });
    return false;
  }
  ws.send(JSON.stringify(request));
  return true;
}

/** Asks for fresh rooms and users lists soon, at most once per REFRESH_INTERVAL_MS: a burst
 * of join/leave events costs one pair of requests. */
function scheduleRefresh() {
  if (state.refreshTimer !== undefined) return;
  const delay = Math.max(REFRESH_DELAY_MS, state.lastRefresh + REFRESH_INTERVAL_MS - Date.now());
  state.refreshTimer = window.setTimeout(() => {
    state.refreshTimer = undefined;
    const ws = state.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    state.lastRefresh = Date.now();
    ws.send(JSON.stringify({ type: "rooms" }));
    ws.send(JSON.stringify({ type: "users" }));
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
    addEntry("system", { text: data });
    return;
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) return;
  handleEvent(/** @type {Json} */ (event));
}

/** @param {Json} e */
function handleEvent(e) {
  const ts = e["ts"];
  switch (e["type"]) {
    case "welcome":
      return onWelcome(e);
    case "name":
      state.name = state.wantedName = str(e["name"]);
      ui.nameInput.value = state.name;
      addEntry("system", { ts, text: `You are now known as ${state.name}.` });
      return scheduleRefresh();
    case "message":
      return void addEntry("message", { ts, from: str(e["from"]), text: str(e["text"]), mine: e["from"] === state.name });
    case "private": {
      const mine = e["from"] === state.name;
      const label = mine ? `private to ${str(e["to"])}` : `private from ${str(e["from"])}`;
      return void addEntry("private", { ts, from: label, text: str(e["text"]), mine });
    }
    case "join":
      addEntry("join", { ts, text: `${str(e["name"])} joined #${str(e["room"])}` });
      return scheduleRefresh();
    case "leave":
      addEntry("leave", { ts, text: `${str(e["name"])} left #${str(e["room"])}` });
      return scheduleRefresh();
    case "rename":
      addEntry("rename", { ts, text: `${str(e["from"])} is now known as ${str(e["to"])}` });
      return scheduleRefresh();
    case "room":
      state.wantedRoom = str(e["room"]);
      enterRoom(state.wantedRoom);
      addEntry("room", { ts, text: `You are in #${state.room}` });
      return scheduleRefresh();
    case "rooms":
      return renderRooms(e["rooms"], state.room, (room) => send({ type: "join", room }));
    case "users":
      return renderUsers(e["users"], state.name, state.privateTo, setPrivateTarget);
    case "history":
      return addHistory(e["room"], e["messages"], ts);
    case "error":
      addEntry("error", { ts, text: str(e["message"]) || "Error", code: str(e["code"]) });
      if (e["code"] === "no-name") ui.nameInput.focus();
      return;
    case "help":
      if (Array.isArray(e["help"])) state.help = e["help"].map(str);
      return void addEntry("system", { ts, text: state.help.join("\n") });
    case "goodbye":
      state.stopped = true;
      return void addEntry("system", { ts, text: "Goodbye!" });
    default:
      return; // a newer server's event: nothing to show
  }
}

/** @param {string} room the room we are now in */
function enterRoom(room) {
  state.room = room;
  ui.currentRoom.textContent = room;
  ui.leave.disabled = room === "lobby";
}

/** @param {Json} e */
function onWelcome(e) {
  state.welcomed = true;
  state.attempt = 0;
  state.refusals = 0;
  const limits = e["limits"];
  if (typeof limits === "object" && limits !== null) {
    for (const key of /** @type {const} */ (["maxMessageBytes", "maxFileBytes", "maxNameLength"])) {
      const value = /** @type {Json} */ (limits)[key];
      if (typeof value === "number" && value > 0) state.limits[key] = value;
    }
  }
  const firstWelcome = state.help.length === 0;
  const help = e["help"];
  if (Array.isArray(help)) state.help = help.map(str);
  if (firstWelcome && state.help.length > 0) addEntry("system", { ts: e["ts"], text: state.help.join("\n") });
  enterRoom(str(e["room"]) || "lobby");
  if (typeof e["name"] === "string") {
    // An auth token fixed the name: nothing to choose, nothing to resend.
    state.nameFixed = true;
    state.name = state.wantedName = e["name"];
    ui.nameInput.value = e["name"];
    ui.nameInput.readOnly = true;
    ui.nameNote.textContent = "set by your token";
  } else if (state.wantedName !== null) {
    send({ type: "name", name: state.wantedName }); // after a reconnect: same name again
  }
  if (state.wantedRoom !== state.room) send({ type: "join", room: state.wantedRoom });
  scheduleRefresh();
  poll();
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
  if (typeof header !== "object" || header === null) {
    addEntry("error", { text: "Received a malformed file." });
    return;
  }
  const h = /** @type {Json} */ (header);
  const bytes = new Uint8Array(buffer, 4 + headerLength);
  addFileEntry({ ts: h["ts"], from: str(h["from"]), name: str(h["name"]) || "file", mime: str(h["mime"]), bytes, mine: h["from"] === state.name });
}

// ---------------------------------------------------------------- user actions

/** @param {string | null} name */
function setPrivateTarget(name) {
  state.privateTo = name;
  showPrivateTarget(name);
}

/** @param {string} name */
function setName(name) {
  if (state.nameFixed) return void addEntry("error", { text: "Your name is set by your token." });
  state.wantedName = name;
  send({ type: "name", name });
}

/**
 * The composer's text: a slash command (the plain-text protocol's, for muscle memory) or a
 * message to the room, or to the selected user.
 * @param {string} text
 * @returns {boolean} whether the input can be cleared
 */
function submitText(text) {
  const command = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(text);
  if (command === null) {
    if (encoder.encode(text).byteLength > state.limits.maxMessageBytes) {
      addEntry("error", { text: `Message too long (over ${state.limits.maxMessageBytes} bytes).` });
      return false;
    }
    return state.privateTo === null
      ? send({ type: "message", text })
      : send({ type: "private", to: state.privateTo, text });
  }
  const argument = (command[2] ?? "").trim();
  switch (command[1]) {
    case "name":
      if (argument !== "") setName(argument);
      return argument !== "";
    case "msg": {
      const space = argument.search(/\s/);
      if (space === -1) {
        addEntry("error", { text: "Usage: /msg <user> <text>" });
        return false;
      }
      return send({ type: "private", to: argument.slice(0, space), text: argument.slice(space + 1).trim() });
    }
    case "join":
      return argument !== "" && send({ type: "join", room: argument });
    case "leave":
    case "rooms":
    case "users":
      return send({ type: command[1] });
    case "quit":
      state.stopped = true;
      return send({ type: "quit" });
    case "help":
      addEntry("system", { text: state.help.join("\n") || "No help from the server yet." });
      return true;
    default:
      addEntry("error", { text: "Unknown command. Type /help for available commands." });
      return false;
  }
}

/** Sends files as binary frames: 4-byte big-endian header length, JSON header, bytes.
 * @param {Iterable<File>} files */
async function sendFiles(files) {
  for (const file of files) {
    if (file.size > state.limits.maxFileBytes) {
      addEntry("error", { text: `${file.name} is too large (${formatSize(file.size)}; the limit is ${formatSize(state.limits.maxFileBytes)}).` });
      continue;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const header = encoder.encode(JSON.stringify({ name: file.name, type: file.type || "application/octet-stream", size: bytes.byteLength }));
    const frame = new Uint8Array(4 + header.byteLength + bytes.byteLength);
    new DataView(frame.buffer).setUint32(0, header.byteLength);
    frame.set(header, 4);
    frame.set(bytes, 4 + header.byteLength);
    const ws = state.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return void addEntry("error", { text: "Not connected: nothing was sent." });
    ws.send(frame);
  }
}

ui.nameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.nameInput.value.trim();
  if (name !== "" && name !== state.name) setName(name);
});
ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim().replace(/^#/, "");
  if (room !== "" && send({ type: "join", room })) ui.roomInput.value = "";
});
ui.leave.addEventListener("click", () => send({ type: "leave" }));
ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.messageInput.value;
  if (text.trim() !== "" && submitText(text.trim())) ui.messageInput.value = "";
});
ui.messageInput.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.privateTo !== null) setPrivateTarget(null);
});
ui.privateCancel.addEventListener("click", () => setPrivateTarget(null));
ui.fileInput.addEventListener("change", () => {
  const files = [...(ui.fileInput.files ?? [])];
  ui.fileInput.value = ""; // the same file can be picked again
  void sendFiles(files);
});
ui.dropZone.addEventListener("dragover", (event) => {
  if (!event.dataTransfer?.types.includes("Files")) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  ui.dropZone.classList.add("dragging");
  ui.dropHint.hidden = false;
});
ui.dropZone.addEventListener("dragleave", (event) => {
  if (event.relatedTarget instanceof Node && ui.dropZone.contains(event.relatedTarget)) return;
  ui.dropZone.classList.remove("dragging");
  ui.dropHint.hidden = true;
});
ui.dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.dropZone.classList.remove("dragging");
  ui.dropHint.hidden = true;
  void sendFiles(event.dataTransfer?.files ?? []);
});
ui.quit.addEventListener("click", () => {
  state.stopped = true;
  if (!send({ type: "quit" })) showConnection("closed", "Closed");
});
ui.reconnect.addEventListener("click", () => {
  state.attempt = 0;
  state.refusals = 0;
  if (state.ws === null) connect();
});
// Back online: no need to wait out the backoff.
window.addEventListener("online", () => {
  if (state.retryTimer !== undefined) connect();
});

connect();
