// @ts-check
/**
 * The wynd chat browser client: plain browser JavaScript (ES modules, no build step, no
 * framework), type-checked by `tsconfig.public.json`. This module is the entry point and holds
 * the user's actions: the composer and its slash commands, files, the name dialog, the sidebar's
 * drawer. connection.js talks to the server, state.js keeps the page's state, model.js is the
 * data without the DOM, view.js shows it, always as text.
 *
 * @module
 */

import { connect } from "./connection.js";
import { personKey, rememberedName, roomKey } from "./model.js";
import { conversations, drafts, goToRoom, notice, openView, outbox, saveNow, send, showMyName, state, updateSidebar } from "./state.js";
import { askName, clearError, fitComposer, formatSize, releaseFiles, renderLog, setDrawer, showConnection, showError, ui } from "./view.js";

const encoder = new TextEncoder();

/**
 * Sets or changes the name (from the dialog or `/name`).
 * @param {string} name
 */
function setName(name) {
  if (state.nameFixed) {
    ui.nameDialog.close();
    return showError("Your name is set by your login token.", "name-fixed");
  }
  if (state.ws === null || state.ws.readyState !== WebSocket.OPEN) {
    // Sent as soon as the connection is back.
    state.wantedName = name;
    ui.nameDialog.close();
    return;
  }
  send({ type: "name", name }, { user: true, name });
}

/**
 * The composer's text: a slash command (the plain-text protocol's, for muscle memory) or a
 * message to the conversation on screen.
 * @param {string} text
 * @returns {boolean} whether the composer can be cleared
 */
function submitText(text) {
  const command = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(text);
  const view = conversations.get(conversations.active);
  if (command === null) {
    if (view === undefined) return false;
    if (state.name === null) {
      askName(rememberedName(), "Choose a name first: your message stays in the box.");
      return false;
    }
    if (encoder.encode(text).byteLength > state.limits.maxMessageBytes) {
      showError(`Message too long: over ${state.limits.maxMessageBytes} bytes.`, "too-long");
      return false;
    }
    const tracking = { user: true, body: text, text, view: view.key };
    return view.kind === "room" ? send({ type: "message", text }, tracking) : send({ type: "private", to: view.name, text }, tracking);
  }
  const argument = (command[2] ?? "").trim();
  switch (command[1]) {
    case "name":
      if (argument === "") askName(state.name ?? rememberedName(), "");
      else setName(argument);
      return true;
    case "msg": {
      const space = argument.search(/\s/);
      if (space === -1) {
        showError("Usage: /msg <user> <text>", "bad-request");
        return false;
      }
      const to = argument.slice(0, space);
      const body = argument.slice(space + 1).trim();
      return send({ type: "private", to, text: body }, { user: true, body, text, view: view?.key ?? personKey(to) });
    }
    case "join":
      return argument !== "" && send({ type: "join", room: argument.replace(/^#/, "") }, { user: true });
    case "leave":
      leaveRoom();
      return true;
    case "rooms":
    case "users":
      return send({ type: command[1] }, { show: true });
    case "help":
      notice(state.help.join("\n") || "No help from the server yet.");
      return true;
    case "quit":
      quit();
      return true;
    default:
      showError("Unknown command. Type /help for the commands.", "bad-request");
      return false;
  }
}

/** Leaves the room on screen for the lobby, and forgets its conversation. */
function leaveRoom() {
  const view = conversations.get(conversations.active);
  if (view === undefined || view.kind !== "room" || view.name === "lobby") return;
  if (view.name === state.room && !send({ type: "leave" }, { user: true })) return;
  state.wantedRoom = "lobby";
  openView(roomKey("lobby"));
  releaseFiles(conversations.remove(view.key)?.entries ?? []);
  drafts.delete(view.key);
  updateSidebar();
}

function quit() {
  state.stopped = true;
  if (!send({ type: "quit" }, { user: true })) showConnection("closed", "Closed");
}

/** Sends files as binary frames: 4-byte big-endian header length, JSON header, bytes.
 * @param {Iterable<File>} files */
async function sendFiles(files) {
  for (const file of files) {
    if (file.size > state.limits.maxFileBytes) {
      showError(`${file.name} is too large (${formatSize(file.size)}; the limit is ${formatSize(state.limits.maxFileBytes)}).`, "file-too-large");
      continue;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const header = encoder.encode(JSON.stringify({ name: file.name, type: file.type || "application/octet-stream", size: bytes.byteLength }));
    const frame = new Uint8Array(4 + header.byteLength + bytes.byteLength);
    new DataView(frame.buffer).setUint32(0, header.byteLength);
    frame.set(header, 4);
    frame.set(bytes, 4 + header.byteLength);
    const ws = state.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return showError("Not connected: nothing was sent.", "offline");
    ws.send(frame);
    outbox.sent("file", { user: true });
  }
}

// ---------------------------------------------------------------- the composer

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.messageInput.value.trim();
  if (text === "") return;
  if (!submitText(text)) return;
  clearError();
  // A command that changed the view (/leave) already took its draft; the sent text goes.
  if (ui.messageInput.value.trim() === text) ui.messageInput.value = "";
  drafts.delete(conversations.active);
  fitComposer();
});
ui.messageInput.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter breaks the line; Enter that confirms an IME composition does neither.
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  ui.composer.requestSubmit();
});
ui.messageInput.addEventListener("input", fitComposer);
ui.errorClose.addEventListener("click", () => {
  clearError();
  ui.messageInput.focus();
});
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

// ---------------------------------------------------------------- name, rooms, drawer, connection

ui.nameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.nameInput.value.trim();
  if (name === "") return;
  if (name === state.name) return ui.nameDialog.close();
  setName(name);
});
ui.nameCancel.addEventListener("click", () => ui.nameDialog.close());
ui.nameChange.addEventListener("click", () => askName(state.name ?? rememberedName(), ""));
ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim().replace(/^#/, "");
  if (room === "") return;
  const known = conversations.get(roomKey(room));
  if (known !== undefined) {
    goToRoom(known.name);
    ui.roomInput.value = "";
  } else if (send({ type: "join", room }, { user: true })) {
    ui.roomInput.value = "";
  }
});
ui.leave.addEventListener("click", leaveRoom);
ui.quit.addEventListener("click", quit);
ui.menu.addEventListener("click", () => setDrawer(true));
ui.drawerClose.addEventListener("click", () => setDrawer(false));
ui.backdrop.addEventListener("click", () => setDrawer(false));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.body.classList.contains("drawer-open")) setDrawer(false);
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
window.addEventListener("pagehide", saveNow);

// What the last page of this tab left (model.js), then the connection.
const active = conversations.get(conversations.active);
if (active !== undefined) renderLog(active);
showMyName();
updateSidebar();
connect();
