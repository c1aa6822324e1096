/**
 * The JSON protocol `wynd-chat.v1`, negotiated as a WebSocket subprotocol by the browser client:
 * every text frame, both ways, is one JSON object with a `type` (docs/chat.md lists them). It
 * carries the same commands and events as the plain-text protocol, structured and timestamped.
 *
 * @module
 */

import { ErrorCode, type ChatCommand, type ChatEvent, type ChatProtocol, type StoredMessageRef } from "./events.js";
import { HELP_LINES } from "./help.js";

/** The subprotocol name the browser client offers. */
export const JSON_PROTOCOL = "wynd-chat.v1";

function badRequest(message: string): ChatCommand {
  return { type: "invalid", code: ErrorCode.BAD_REQUEST, message };
}

/** The string field `key` of `object`, or undefined when missing or not a string. */
function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  return typeof value === "string" ? value : undefined;
}

/** The JSON protocol (see the module comment). */
export const jsonProtocol: ChatProtocol = {
  name: JSON_PROTOCOL,
  listensBeforeName: true,

  parse(frame: string): ChatCommand {
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      return badRequest("not JSON: every frame must be one JSON object");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return badRequest("every frame must be one JSON object with a type");
    }
    const object = value as Record<string, unknown>;
    const type = object["type"];
    switch (type) {
      case "name": {
        const name = stringField(object, "name");
        return name === undefined ? badRequest("name needs a string name") : { type, name };
      }
      case "message": {
        const text = stringField(object, "text");
        return text === undefined ? badRequest("message needs a string text") : { type, text };
      }
      case "private": {
        const to = stringField(object, "to");
        const text = stringField(object, "text");
        return to === undefined || text === undefined ? badRequest("private needs string to and text") : { type, to, text };
      }
      case "join": {
        const room = stringField(object, "room");
        return room === undefined ? badRequest("join needs a string room") : { type, room };
      }
      case "leave":
      case "rooms":
      case "users":
      case "help":
      case "quit":
        return { type };
      default:
        if (typeof type === "string") return badRequest(`unknown type: ${type.slice(0, 64)}`);
        return badRequest(type === undefined ? "missing type" : "type must be a string");
    }
  },

  render(event: ChatEvent, _audience, ts: number): string | undefined {
    switch (event.type) {
      case "file":
        // A file reaches JSON clients as the relayed binary frame alone: its header says it all.
        return undefined;
      case "welcome":
        return JSON.stringify({
          type: "welcome",
          protocol: JSON_PROTOCOL,
          help: HELP_LINES,
          room: event.room,
          name: event.name,
          limits: event.limits,
          ...(event.session === undefined ? {} : { session: event.session, resumed: event.resumed ?? false }),
          ts,
        });
      case "help":
        return JSON.stringify({ type: "help", help: HELP_LINES, ts });
      case "room":
        return JSON.stringify({ type: "room", room: event.room, ts });
      case "join":
      case "leave":
        // `reason` only chooses the text protocol's wording.
        return JSON.stringify({ type: event.type, room: event.room, name: event.name, ts });
      default:
        return JSON.stringify({ ...event, ts });
    }
  },

  storedIn(frame: string): StoredMessageRef | undefined {
    let event: Record<string, unknown> | null;
    try {
      event = JSON.parse(frame) as Record<string, unknown> | null;
    } catch {
      return undefined; // not one of ours
    }
    const id = event?.["id"];
    if (typeof id !== "string") return undefined;
    if (event!["type"] === "private") return { kind: "private", id };
    const room = event!["room"];
    if (event!["type"] === "message" && typeof room === "string") return { kind: "message", room, id };
    return undefined;
  },
};
