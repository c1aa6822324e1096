/**
 * The chat core: users, names, rooms, history, files and rate limits, on top of a `Wynd`
 * server and nothing else of wynd. It speaks {@link ChatCommand}s and {@link ChatEvent}s; the
 * text and JSON protocols (chosen per connection by the negotiated subprotocol) parse and render
 * them, so both kinds of clients share one chat and see the same things, each in its own form.
 *
 * Each chat room is a few Wynd rooms: one per protocol (a notice is rendered and framed once per
 * protocol, then written to every member) and one with everybody (for files, identical bytes
 * for all). Everyone starts in the lobby; a user "joins the chat" when their name is set. A
 * plain-text client receives nothing of its room before that (the tutorial's behaviour: its
 * history comes with the name); a JSON client sees its room at once.
 *
 * @module
 */

import type { Handle, Wynd } from "../index.js";
import { ErrorCode, type Audience, type ChatCommand, type ChatEvent, type ChatProtocol, type ClientLimits } from "./events.js";
import { isSingleScript } from "./confusables.js";
import { cleanText } from "./control-characters.js";
import { encodeFileFrame, isFileError, parseFileFrame, type FileHeader } from "./file-frames.js";
import type { HistoryStore } from "./history.js";
import { jsonProtocol } from "./json-protocol.js";
import { isValidName, LOBBY, MAX_NAME_LENGTH, nameKey, roomKey } from "./names.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limiter.js";
import { textProtocol } from "./text-protocol.js";

/** Per-connection data: the name an auth token fixed, if any. */
export interface ChatData {
  fixedName?: string | undefined;
}

/** What the core needs. */
export interface ChatCoreOptions {
  readonly history: HistoryStore;
  readonly maxMessageBytes: number;
  readonly maxFileBytes: number;
  readonly rateLimit: Required<RateLimitOptions>;
  /** The file byte-rate bucket (file-rate-limit.ts), in bytes. */
  readonly fileRateLimit: Required<RateLimitOptions>;
  /** Timestamps of events and history, in milliseconds since the epoch. */
  readonly clock: () => number;
}

/** The protocols, by subprotocol name; `""` (none offered) is the plain-text one. */
export const PROTOCOLS: readonly ChatProtocol[] = [textProtocol, jsonProtocol];

const NAME_RULES = `1-${MAX_NAME_LENGTH} characters, no spaces or control characters`;
const ONE_SCRIPT = "Please write your name in one script: letters of different alphabets that look alike are how impostors pose as others";
const NO_NAME = "Please set your name first with: /name <your_name>";

interface Member {
  readonly handle: Handle<ChatData>;
  readonly protocol: ChatProtocol;
  readonly fixedName: boolean;
  name: string | undefined;
  room: string;
  /** Whether it is in its room's Wynd rooms, receiving the room's traffic. */
  listening: boolean;
  /** Messages, files and commands that reach others. */
  readonly sends: RateLimiter;
  /** Read-only queries (rooms, users, help): their own bucket, so a client's polling never eats its messages. */
  readonly queries: RateLimiter;
  /** Shared file bytes. */
  readonly fileBytes: RateLimiter;
}

function everyoneIn(room: string): string {
  return `r:${room}`;
}

function protocolRoom(protocol: ChatProtocol, room: string): string {
  return `p:${protocol.name}:${room}`;
}

/** The chat core (see the module comment). */
export class ChatCore {
  readonly #wynd: Wynd<ChatData>;
  readonly #options: ChatCoreOptions;
  readonly #users = new Map<string, Member>();
  readonly #limits: ClientLimits;

  /** Serves the chat on `wynd`'s connections. */
  constructor(wynd: Wynd<ChatData>, options: ChatCoreOptions) {
    this.#wynd = wynd;
    this.#options = options;
    this.#limits = { maxMessageBytes: options.maxMessageBytes, maxFileBytes: options.maxFileBytes, maxNameLength: MAX_NAME_LENGTH };
    wynd.onConnection(async (conn, handle) => {
      const protocol = PROTOCOLS.find((p) => p.name === handle.protocol) ?? textProtocol;
      const member: Member = {
        handle,
        protocol,
        fixedName: handle.data.fixedName !== undefined,
        name: undefined,
        room: LOBBY,
        listening: false,
        sends: new RateLimiter(options.rateLimit),
        queries: new RateLimiter(options.rateLimit),
        fileBytes: new RateLimiter(options.fileRateLimit),
      };
      let opened = false;
      conn.onText((message) => this.#onText(member, message.data));
      conn.onBinary((message) => this.#onBinary(member, message.data));
      conn.onClose(() => {
        if (opened) this.#onClose(member);
      });
      await conn.onOpen(() => {
        opened = true;
        this.#open(member);
      });
    });
  }

  /** Whether someone online has this name (ignoring case). */
  isOnline(name: string): boolean {
    return this.#users.has(nameKey(name));
  }

  #open(member: Member): void {
    const fixed = member.handle.data.fixedName;
    if (fixed !== undefined && this.isOnline(fixed)) {
      // Two upgrades with the same token raced past the hook's check: the first one keeps it.
      void member.handle.close(1008, "this name is already connected");
      return;
    }
    this.#send(member, { type: "welcome", room: LOBBY, name: fixed ?? null, limits: this.#limits });
    if (fixed !== undefined) {
      member.name = fixed;
      this.#users.set(nameKey(fixed), member);
      this.#send(member, { type: "name", name: fixed });
    }
    this.#send(member, { type: "room", room: LOBBY, initial: true });
    this.#enter(member, LOBBY);
    if (member.name !== undefined) this.#toRoom(LOBBY, { type: "join", room: LOBBY, name: member.name, reason: "chat" }, member);
  }

  #onClose(member: Member): void {
    const name = member.name;
    if (name === undefined) return;
    if (this.#users.get(nameKey(name)) === member) this.#users.delete(nameKey(name));
    // The handle has already left every Wynd room: this reaches the others only.
    this.#toRoom(member.room, { type: "leave", room: member.room, name, reason: "chat" });
  }

  /** Applies the rate limit; false when the frame must be dropped. */
  #admit(member: Member, limiter: RateLimiter, cost = 1, notice = "You are sending messages too fast. Please slow down."): boolean {
    const decision = limiter.take(cost);
    if (decision === "allow") return true;
    if (decision === "flood") {
      void member.handle.close(1008, "rate limit exceeded");
    } else if (decision === "refuse-notify") {
      this.#error(member, ErrorCode.RATE_LIMITED, notice);
    }
    return false;
  }

  #onText(member: Member, frame: string): unknown {
    // A frame far over the limit is not even parsed (JSON escapes take up to 6 bytes a character).
    if (frame.length > 8 * this.#options.maxMessageBytes + 4096) {
      if (this.#admit(member, member.sends)) this.#tooLong(member);
      return undefined;
    }
    const command = member.protocol.parse(frame);
    const query = command.type === "rooms" || command.type === "users" || command.type === "help";
    // Every frame costs a token, empty lines included: a flood of nothing is still a flood.
    if (!this.#admit(member, query ? member.queries : member.sends)) return undefined;
    return this.#run(member, command);
  }

  #run(member: Member, command: ChatCommand): unknown {
    switch (command.type) {
      case "name":
        return this.#setName(member, command.name);
      case "message":
        return this.#message(member, command.text);
      case "private":
        return this.#private(member, command.to, command.text);
      case "join":
        return this.#join(member, command.room);
      case "leave":
        return this.#move(member, LOBBY);
      case "rooms":
        return this.#send(member, { type: "rooms", rooms: this.#roomList() });
      case "users":
        return this.#send(member, { type: "users", users: [...this.#users.values()].map((m) => m.name!) });
      case "help":
        return this.#send(member, { type: "help" });
      case "quit":
        this.#send(member, { type: "goodbye" });
        return member.handle.close(1000, "Goodbye");
      case "invalid":
        return this.#error(member, command.code, command.message);
      case "none":
        return undefined;
    }
  }

  #setName(member: Member, name: string): void {
    if (member.fixedName) {
      return this.#error(member, ErrorCode.NAME_FIXED, "Your name is set by your login token and cannot be changed");
    }
    // Taken before valid: `аlice` (Cyrillic а, refused as mixed-script anyway) next to an online
    // `alice` is told the truth that matters, that it looks like someone else's name.
    const key = nameKey(name);
    const holder = this.#users.get(key);
    if (holder !== undefined && holder !== member) {
      return this.#error(member, ErrorCode.NAME_TAKEN, `The name ${name} is already taken`);
    }
    if (!isValidName(name)) return this.#error(member, ErrorCode.INVALID_NAME, isSingleScript(name) ? `Please provide a valid name (${NAME_RULES})` : ONE_SCRIPT);
    const previous = member.name;
    if (previous === name) return this.#send(member, { type: "name", name });
    if (previous !== undefined) this.#users.delete(nameKey(previous));
    member.name = name;
    this.#users.set(key, member);
    this.#send(member, { type: "name", name });
    const room = member.room;
    if (!member.listening) this.#enter(member, room); // a text client starts hearing its room
    if (previous === undefined) this.#toRoom(room, { type: "join", room, name, reason: "chat" }, member);
    else this.#toRoom(room, { type: "rename", room, from: previous, to: name }, member);
  }

  /** Checks a message's text: false (and the client told) when it may not be sent. */
  #checkText(member: Member, text: string): boolean {
    if (member.name === undefined) {
      this.#error(member, ErrorCode.NO_NAME, NO_NAME);
      return false;
    }
    if (Buffer.byteLength(text, "utf8") > this.#options.maxMessageBytes) {
      this.#tooLong(member);
      return false;
    }
    if (text.trim() === "") {
      this.#error(member, ErrorCode.BAD_REQUEST, "Empty messages are not sent");
      return false;
    }
    return true;
  }

  #message(member: Member, raw: string): void {
    const text = cleanText(raw); // one rule for both protocols, before storing and relaying
    if (!this.#checkText(member, text)) return;
    const ts = this.#options.clock();
    const from = member.name!;
    this.#options.history.append({ room: member.room, from, text, ts });
    this.#toRoom(member.room, { type: "message", room: member.room, from, text }, member, ts);
  }

  #private(member: Member, to: string, raw: string): void {
    const text = cleanText(raw);
    if (!this.#checkText(member, text)) return;
    const target = this.#users.get(nameKey(to));
    if (target === undefined) {
      return this.#error(member, ErrorCode.UNKNOWN_USER, `No such user: ${[...to].slice(0, MAX_NAME_LENGTH).join("")}`);
    }
    const event: ChatEvent = { type: "private", from: member.name!, to: target.name!, text };
    const ts = this.#options.clock();
    this.#send(target, event, "others", ts);
    if (target !== member) this.#send(member, event, "self", ts);
  }

  #join(member: Member, room: string): void {
    if (!isValidName(room)) return this.#error(member, ErrorCode.INVALID_ROOM, `Please provide a valid room name (${NAME_RULES})`);
    this.#move(member, roomKey(room));
  }

  /** Moves `member` to `room`: leave notice in the old one, room/history to it, join notice in the new one. */
  #move(member: Member, room: string): void {
    const old = member.room;
    const name = member.name;
    if (old === room) return this.#send(member, { type: "room", room, initial: false });
    this.#exit(member, old);
    if (name !== undefined) this.#toRoom(old, { type: "leave", room: old, name, reason: "room" });
    this.#send(member, { type: "room", room, initial: false });
    this.#enter(member, room);
    if (name !== undefined) this.#toRoom(room, { type: "join", room, name, reason: "room" }, member);
  }

  /** Puts `member` in `room`; if it may listen, it gets the room's history and then its traffic. */
  #enter(member: Member, room: string): void {
    member.room = room;
    if (member.name === undefined && !member.protocol.listensBeforeName) return;
    member.listening = true;
    this.#send(member, { type: "history", room, messages: this.#options.history.recent(room) });
    member.handle.join(everyoneIn(room)).join(protocolRoom(member.protocol, room));
  }

  #exit(member: Member, room: string): void {
    member.listening = false;
    member.handle.leave(everyoneIn(room)).leave(protocolRoom(member.protocol, room));
  }

  /** The lobby, then every room with someone named in it, by name; `members` counts the named. */
  #roomList(): Array<{ name: string; members: number }> {
    const counts = new Map<string, number>([[LOBBY, 0]]);
    for (const member of this.#users.values()) counts.set(member.room, (counts.get(member.room) ?? 0) + 1);
    const names = [...counts.keys()].filter((name) => name !== LOBBY).sort();
    return [LOBBY, ...names].map((name) => ({ name, members: counts.get(name)! }));
  }

  #onBinary(member: Member, data: Uint8Array): void {
    if (!this.#admit(member, member.sends)) return;
    if (member.name === undefined) return this.#error(member, ErrorCode.NO_NAME, NO_NAME);
    const file = parseFileFrame(data, this.#options.maxFileBytes);
    if (isFileError(file)) return this.#error(member, file.code, file.message);
    const perSecond = this.#options.fileRateLimit.ratePerSecond;
    if (!this.#admit(member, member.fileBytes, file.size, `You are sharing files too fast (${perSecond} bytes per second). Please wait a moment.`)) return;
    const ts = this.#options.clock();
    const room = member.room;
    const header: FileHeader = { type: "file", room, from: member.name, name: file.name, mime: file.type, size: file.size, ts };
    // Everyone in the room gets the same bytes, the sender included (its confirmation).
    this.#wynd.to(everyoneIn(room)).broadcast(encodeFileFrame(header, file.bytes));
    this.#toRoom(room, { type: "file", room, from: member.name, name: file.name, size: file.size }, undefined, ts);
  }

  #tooLong(member: Member): void {
    this.#error(member, ErrorCode.TOO_LONG, `Message too long (max ${this.#options.maxMessageBytes} bytes)`);
  }

  #error(member: Member, code: ErrorCode, message: string): void {
    this.#send(member, { type: "error", code, message });
  }

  /** Sends `event` to one member. A send that fails means the peer is gone: nothing to do. */
  #send(member: Member, event: ChatEvent, audience: Audience = "self", ts = this.#options.clock()): void {
    const frame = member.protocol.render(event, audience, ts);
    if (frame !== undefined) void member.handle.sendText(frame);
  }

  /**
   * Sends `event` to everyone in `room`, rendered once per protocol: `self` (when given and in
   * the room) gets the `self` rendering, everyone else the `others` one.
   */
  #toRoom(room: string, event: ChatEvent, self?: Member, ts = this.#options.clock()): void {
    for (const protocol of PROTOCOLS) {
      const members = this.#wynd.to(protocolRoom(protocol, room));
      if (members.size === 0) continue;
      const others = protocol.render(event, "others", ts);
      if (self === undefined || self.protocol !== protocol || !members.has(self.handle)) {
        if (others !== undefined) members.broadcast(others);
        continue;
      }
      const mine = protocol.render(event, "self", ts);
      if (others !== undefined && others === mine) {
        members.broadcast(others);
        continue;
      }
      if (others !== undefined) members.broadcast(others, { except: self.handle });
      if (mine !== undefined) void self.handle.sendText(mine);
    }
  }
}
