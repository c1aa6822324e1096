/**
 * The plain-text protocol: what clients that offer no subprotocol get (`npx wscat -c …`). Its
 * strings are the chat tutorial's final program (docs/tutorial.md), and its next steps in the
 * same style. One line of input is one command or one message; one event is one text frame
 * (multi-line for the help and the history).
 *
 * @module
 */

import { ErrorCode, type Audience, type ChatCommand, type ChatEvent, type ChatProtocol } from "./events.js";
import { HELP_TEXT, WELCOME_TEXT } from "./help.js";

/** The tutorial's answer to an unknown command. */
export const UNKNOWN_COMMAND = "Unknown command. Type /help for available commands.";

/** The line before replayed history: history lines are never mistaken for live ones. */
export function historyHeader(room: string, count: number): string {
  return `--- History of room ${room}: the last ${count} message${count === 1 ? "" : "s"} ---`;
}

/** The line after replayed history. */
export const HISTORY_FOOTER = "--- End of history ---";

function usage(text: string): ChatCommand {
  return { type: "invalid", code: ErrorCode.BAD_REQUEST, message: `Usage: ${text}` };
}

/** Splits `text` at its first whitespace: `[head, rest trimmed]`. */
function splitWord(text: string): [string, string] {
  const match = /\s/.exec(text);
  if (match === null) return [text, ""];
  return [text.slice(0, match.index), text.slice(match.index + 1).trim()];
}

/**
 * User text made safe for a terminal: continuation lines are indented (a message cannot fake a
 * line from someone else, "hi\nbob: send me your password"), and other control characters —
 * ANSI escape sequences that would drive the reader's terminal — become U+FFFD.
 */
export function plain(text: string): string {
  return text.replace(/\r?\n/g, "\n  ").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "\ufffd");
}

/** `2026-11-26T01:02:03Z`: a timestamp without milliseconds. */
function stamp(ts: number): string {
  return `${new Date(ts).toISOString().slice(0, 19)}Z`;
}

/** The plain-text protocol (see the module comment). */
export const textProtocol: ChatProtocol = {
  name: "",
  listensBeforeName: false,

  parse(frame: string): ChatCommand {
    // The tutorial trims every line: "  hi " is "hi", and "/name  Bob " sets "Bob".
    const text = frame.trim();
    if (text === "") return { type: "none" };
    if (!text.startsWith("/")) return { type: "message", text };
    const [command, argument] = splitWord(text);
    switch (command) {
      case "/name":
        return argument === "" ? usage("/name <your_name>") : { type: "name", name: argument };
      case "/msg": {
        const [to, body] = splitWord(argument);
        return to === "" || body === "" ? usage("/msg <user> <text>") : { type: "private", to, text: body };
      }
      case "/join":
        return argument === "" ? usage("/join <room>") : { type: "join", room: argument };
      case "/leave":
        return { type: "leave" };
      case "/rooms":
        return { type: "rooms" };
      case "/users":
        return { type: "users" };
      case "/help":
        return { type: "help" };
      case "/quit":
        return { type: "quit" };
      default:
        return { type: "invalid", code: ErrorCode.BAD_REQUEST, message: UNKNOWN_COMMAND };
    }
  },

  render(event: ChatEvent, audience: Audience): string | undefined {
    const self = audience === "self";
    switch (event.type) {
      case "welcome":
        return WELCOME_TEXT;
      case "help":
        return HELP_TEXT;
      case "name":
        return `You are now known as ${event.name}`;
      case "message":
        // The tutorial does not echo a message to its sender: wscat already shows what was typed.
        return self ? undefined : `${event.from}: ${plain(event.text)}`;
      case "private":
        return self ? `[private to ${event.to}] ${plain(event.text)}` : `[private from ${event.from}] ${plain(event.text)}`;
      case "join":
        if (self) return undefined; // "You are now known as…" / "You are now in room…" said it
        return event.reason === "chat" ? `${event.name} joined the chat` : `${event.name} joined room ${event.room}`;
      case "leave":
        if (self) return undefined;
        return event.reason === "chat" ? `${event.name} left the chat` : `${event.name} left room ${event.room}`;
      case "rename":
        return self ? undefined : `${event.from} is now known as ${event.to}`;
      case "room":
        return event.initial ? undefined : `You are now in room ${event.room}`;
      case "rooms":
        return `Rooms: ${event.rooms.map((room) => `${room.name} (${room.members})`).join(", ")}`;
      case "users":
        return `Online users: ${event.users.join(", ")}`;
      case "history":
        if (event.messages.length === 0) return undefined;
        return [
          historyHeader(event.room, event.messages.length),
          ...event.messages.map((m) => `[${stamp(m.ts)}] ${m.from}: ${plain(m.text)}`),
          HISTORY_FOOTER,
        ].join("\n");
      case "file":
        return `${event.from} shared ${event.name} (${event.size} bytes)`;
      case "error":
        return event.message;
      case "goodbye":
        return "Goodbye!";
    }
  },
};
