/**
 * The vocabulary of the chat core: the commands a client sends (parsed from either protocol)
 * and the events the core emits (rendered by either protocol). The core speaks only these; the
 * text and JSON protocols translate them to and from the wire.
 *
 * @module
 */

/** The stable error codes of the JSON protocol's `error` event (docs/chat.md). */
export const ErrorCode = {
  BAD_REQUEST: "bad-request",
  NO_NAME: "no-name",
  INVALID_NAME: "invalid-name",
  NAME_TAKEN: "name-taken",
  NAME_FIXED: "name-fixed",
  UNKNOWN_USER: "unknown-user",
  INVALID_ROOM: "invalid-room",
  TOO_LONG: "too-long",
  RATE_LIMITED: "rate-limited",
  FILE_TOO_LARGE: "file-too-large",
  BAD_FILE: "bad-file",
  /** A store (Redis) could not be reached: try again later. */
  UNAVAILABLE: "unavailable",
} as const;
/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A client's request, whichever protocol carried it. */
export type ChatCommand =
  | { readonly type: "name"; readonly name: string }
  | { readonly type: "message"; readonly text: string }
  | { readonly type: "private"; readonly to: string; readonly text: string }
  | { readonly type: "join"; readonly room: string }
  | { readonly type: "leave" }
  | { readonly type: "rooms" }
  | { readonly type: "users" }
  | { readonly type: "help" }
  | { readonly type: "quit" }
  /** Nothing to do (an empty line). */
  | { readonly type: "none" }
  /** The frame could not be understood: answered with this error, nothing else happens. */
  | { readonly type: "invalid"; readonly code: ErrorCode; readonly message: string };

/** A stored or live chat message, as history keeps it. */
export interface HistoryMessage {
  /** Its id: increasing within its room, the same on every node (see `stores/ids.ts`). */
  readonly id: string;
  readonly from: string;
  readonly text: string;
  /** Milliseconds since the epoch. */
  readonly ts: number;
}

/** The limits a client is told in `welcome`. */
export interface ClientLimits {
  readonly maxMessageBytes: number;
  readonly maxFileBytes: number;
  readonly maxNameLength: number;
}

/**
 * What the core says. `join`/`leave` carry a `reason` the text protocol needs to choose between
 * the tutorial's "joined the chat" (a name was set, or the connection ended) and a room change;
 * the JSON protocol does not send it.
 */
export type ChatEvent =
  /** `session`: the session's token (JSON clients, sessions on); `resumed`: whether it is an old session come back. */
  | {
      readonly type: "welcome";
      readonly room: string;
      readonly name: string | null;
      readonly limits: ClientLimits;
      readonly session?: string;
      readonly resumed?: boolean;
    }
  | { readonly type: "name"; readonly name: string }
  /** `id`: the stored message's id; absent only when the store could not be reached (an outage). */
  | { readonly type: "message"; readonly room: string; readonly id?: string; readonly from: string; readonly text: string }
  /** `id`: its id in the inbox of whoever receives this event (sessions on). */
  | { readonly type: "private"; readonly id?: string; readonly from: string; readonly to: string; readonly text: string }
  | { readonly type: "join"; readonly room: string; readonly name: string; readonly reason: "chat" | "room" }
  | { readonly type: "leave"; readonly room: string; readonly name: string; readonly reason: "chat" | "room" }
  | { readonly type: "rename"; readonly room: string; readonly from: string; readonly to: string }
  /** `initial`: the room of a new connection (the text protocol's welcome already implies it). */
  | { readonly type: "room"; readonly room: string; readonly initial: boolean }
  | { readonly type: "rooms"; readonly rooms: ReadonlyArray<{ readonly name: string; readonly members: number }> }
  | { readonly type: "users"; readonly users: readonly string[] }
  /** `complete` (resumes only): false when messages after the client's last one were trimmed away. */
  | { readonly type: "history"; readonly room: string; readonly messages: readonly HistoryMessage[]; readonly complete?: boolean }
  | { readonly type: "help" }
  | { readonly type: "file"; readonly room: string; readonly from: string; readonly name: string; readonly size: number }
  | { readonly type: "error"; readonly code: ErrorCode; readonly message: string }
  | { readonly type: "goodbye" };

/**
 * Who an event is rendered for: the connection it is about (`self`: "You are now known as…")
 * or everyone else who sees it (`others`: "alice joined the chat").
 */
export type Audience = "self" | "others";

/** One wire protocol: how frames become commands and events become frames. */
export interface ChatProtocol {
  /** The subprotocol name (`""` for the plain-text protocol, offered by nobody). */
  readonly name: string;
  /**
   * Whether a client without a name already receives its room's messages and history. The
   * tutorial's text chat shows nothing until `/name`; the browser shows the room at once.
   */
  readonly listensBeforeName: boolean;
  /** Parses one text frame. Never throws: bad input is an `invalid` command. */
  parse(frame: string): ChatCommand;
  /**
   * Renders `event` for `audience` at time `ts`, or undefined when this protocol shows nothing
   * for it (the tutorial's text does not echo a message to its sender).
   */
  render(event: ChatEvent, audience: Audience, ts: number): string | undefined;
  /**
   * The stored message a frame this protocol rendered carries (its kind, room and id), or
   * undefined when it carries none. Absent when the protocol shows no ids: then a connection
   * catching up from the stores cannot tell a live copy of what it was just sent.
   */
  storedIn?(frame: string): StoredMessageRef | undefined;
}

/** Which stored message an event carries: a room's message, or a private one (by its inbox id). */
export type StoredMessageRef =
  | { readonly kind: "message"; readonly room: string; readonly id: string }
  | { readonly kind: "private"; readonly id: string };
