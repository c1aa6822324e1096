/**
 * The chat core: users, names, rooms, history, files and rate limits, on top of a `Wynd`
 * server and nothing else of wynd. It speaks {@link ChatCommand}s and {@link ChatEvent}s; the
 * text and JSON protocols (chosen per connection by the negotiated subprotocol) parse and render
 * them, so both kinds of clients share one chat and see the same things, each in its own form.
 *
 * Its state is behind stores (`stores/types.ts`): who is online in a {@link PresenceStore}, the
 * rooms' history in a {@link MessageStore}; delivery goes through Wynd rooms ({@link Fanout}).
 * With the local stores that is one process; with the Redis ones and a Redis adapter, many
 * processes make one chat, and this file does not change. A connection's commands run one
 * after the other ({@link SerialQueue}), so its messages keep their order although storing one
 * may wait; a message is delivered only once stored, with its id.
 *
 * Everyone starts in the lobby; a user "joins the chat" when their name is set. A plain-text
 * client receives nothing of its room before that (the tutorial's behaviour: its history comes
 * with the name); a JSON client sees its room at once.
 *
 * @module
 */

import type { Handle, Wynd } from "../index.js";
import { isSingleScript } from "./confusables.js";
import { cleanText } from "./control-characters.js";
import { ErrorCode, type ChatCommand, type ChatEvent, type ChatProtocol, type ClientLimits, type HistoryMessage } from "./events.js";
import { Fanout, type Stamping } from "./fanout.js";
import { encodeFileFrame, isFileError, parseFileFrame, type FileHeader } from "./file-frames.js";
import { jsonProtocol } from "./json-protocol.js";
import { isValidName, LOBBY, MAX_NAME_LENGTH, nameKey, roomKey } from "./names.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limiter.js";
import { SerialQueue } from "./serial-queue.js";
import { JSON_PROTOCOL } from "./json-protocol.js";
import { resumeSession, type ResumeContext } from "./resume.js";
import { SessionKeeper, type ResumeRequest } from "./sessions.js";
import { isPending, type MessageStore, type OnlineUser, type PresenceStore, type Session, type SessionStore } from "./stores/types.js";
import { textProtocol } from "./text-protocol.js";

/** Per-connection data: the name an auth token fixed, if any, and the session it asks to resume. */
export interface ChatData {
  fixedName?: string | undefined;
  resume?: ResumeRequest | undefined;
}

/** What the core needs. */
export interface ChatCoreOptions {
  readonly messages: MessageStore;
  readonly presence: PresenceStore;
  /** Sessions (JSON clients resume after a drop); undefined: off. */
  readonly sessions?: SessionStore | undefined;
  readonly maxMessageBytes: number;
  readonly maxFileBytes: number;
  readonly rateLimit: Required<RateLimitOptions>;
  /** The file byte-rate bucket (file-rate-limit.ts), in bytes. */
  readonly fileRateLimit: Required<RateLimitOptions>;
  /** Timestamps of events and history, in milliseconds since the epoch. */
  readonly clock: () => number;
  /** A command that failed (a bug, or a store that could not be reached). */
  readonly onError: (error: Error) => void;
}

/** The protocols, by subprotocol name; `""` (none offered) is the plain-text one. */
export const PROTOCOLS: readonly ChatProtocol[] = [textProtocol, jsonProtocol];

const NAME_RULES = `1-${MAX_NAME_LENGTH} characters, no spaces or control characters`;
const ONE_SCRIPT = "Please write your name in one script: letters of different alphabets that look alike are how impostors pose as others";
const NO_NAME = "Please set your name first with: /name <your_name>";
const UNAVAILABLE = "The chat cannot reach its store right now; please try again in a moment";

interface Member {
  /** Unique within this process: the owner of its name in the presence store. */
  readonly id: string;
  readonly handle: Handle<ChatData>;
  readonly protocol: ChatProtocol;
  readonly fixedName: boolean;
  name: string | undefined;
  room: string;
  /** Whether it is in its room's Wynd rooms, receiving the room's traffic. */
  listening: boolean;
  /** Its session (JSON clients, sessions on). */
  session: Session | undefined;
  /** It asked to quit: its session ends with it. */
  quitting: boolean;
  /** Its commands, in order. */
  readonly tasks: SerialQueue;
  /** Messages, files and commands that reach others. */
  readonly sends: RateLimiter;
  /** Read-only queries (rooms, users, help): their own bucket, so a client's polling never eats its messages. */
  readonly queries: RateLimiter;
  /** Shared file bytes. */
  readonly fileBytes: RateLimiter;
}

/** The chat core (see the module comment). */
export class ChatCore {
  readonly #options: ChatCoreOptions;
  readonly #presence: PresenceStore;
  readonly #messages: MessageStore;
  readonly #fanout: Fanout;
  readonly #sessions: SessionKeeper | undefined;
  readonly #members = new Map<string, Member>();
  readonly #limits: ClientLimits;
  #nextId = 0;

  /** Serves the chat on `wynd`'s connections. */
  constructor(wynd: Wynd<ChatData>, options: ChatCoreOptions) {
    this.#options = options;
    this.#presence = options.presence;
    this.#messages = options.messages;
    this.#fanout = new Fanout(wynd, PROTOCOLS, options.presence.shared, options.clock);
    this.#limits = { maxMessageBytes: options.maxMessageBytes, maxFileBytes: options.maxFileBytes, maxNameLength: MAX_NAME_LENGTH };
    this.#presence.onDeparted((users) => this.#departed(users));
    this.#presence.onConflict((owner) => this.#lostName(owner));
    this.#presence.onRestored((owners) => this.#restored(owners));
    this.#sessions = options.sessions === undefined ? undefined : new SessionKeeper(options.sessions, this.#fanout, (id) => this.#takenOver(id));
    wynd.onConnection(async (conn, handle) => {
      const protocol = PROTOCOLS.find((p) => p.name === handle.protocol) ?? textProtocol;
      const member: Member = {
        id: String(this.#nextId++),
        handle,
        protocol,
        fixedName: handle.data.fixedName !== undefined,
        name: undefined,
        room: LOBBY,
        listening: false,
        session: undefined,
        quitting: false,
        tasks: new SerialQueue((error) => this.#failed(member, error)),
        sends: new RateLimiter(options.rateLimit),
        queries: new RateLimiter(options.rateLimit),
        fileBytes: new RateLimiter(options.fileRateLimit),
      };
      let opened = false;
      conn.onText((message) => this.#onText(member, message.data));
      conn.onBinary((message) => this.#onBinary(member, message.data));
      conn.onClose(() => {
        if (opened) member.tasks.run(() => this.#onClose(member));
      });
      await conn.onOpen(() => {
        opened = true;
        this.#members.set(member.id, member);
        member.tasks.run(() => this.#open(member));
      });
    });
  }

  /** Whether someone online (on any node) has this name (compared by `nameKey`). */
  async isOnline(name: string): Promise<boolean> {
    return (await this.#presence.find(name)) !== undefined;
  }

  /** The server is shutting down: connections end as if for good (their sessions stay resumable elsewhere). */
  shutdown(): void {
    this.#sessions?.shutdown();
  }

  async #open(member: Member): Promise<void> {
    const sessions = member.protocol.name === JSON_PROTOCOL ? this.#sessions : undefined;
    if (sessions !== undefined && (await resumeSession(member, this.#resumeContext(sessions, member)))) return;
    const fixed = member.handle.data.fixedName;
    const created = sessions === undefined ? undefined : await sessions.create(fixed ?? null);
    if (fixed !== undefined && !(await this.#presence.claim(member.id, fixed, LOBBY, created?.session.id))) {
      // Two upgrades with the same token raced past the hook's check: the first one keeps it.
      if (created !== undefined) await sessions?.end(created.session);
      void member.handle.close(1008, "this name is already connected");
      return;
    }
    member.session = created?.session;
    const token = created?.token;
    this.#send(member, { type: "welcome", room: LOBBY, name: fixed ?? null, limits: this.#limits, ...(token === undefined ? {} : { session: token, resumed: false }) });
    if (fixed !== undefined) {
      member.name = fixed;
      this.#fanout.addressAs(member, fixed, undefined);
      this.#send(member, { type: "name", name: fixed });
    }
    this.#send(member, { type: "room", room: LOBBY, initial: true });
    await this.#enter(member, LOBBY);
    if (member.name !== undefined) this.#fanout.toRoom(LOBBY, { type: "join", room: LOBBY, name: member.name, reason: "chat" }, member);
  }

  /** Settles once every open connection's queued commands have run (closing ones: their "left" notices). */
  async settled(): Promise<void> {
    await Promise.all([...this.#members.values()].map((member) => member.tasks.idle()));
  }

  #resumeContext(keeper: SessionKeeper, member: Member): ResumeContext {
    const closeOthers = (session: Session) => this.#takenOver(session.id, member);
    return { keeper, presence: this.#presence, messages: this.#messages, fanout: this.#fanout, limits: this.#limits, closeOthers };
  }

  /** Keeps `member`'s name and room in its session, if it has one. */
  async #saveSession(member: Member): Promise<void> {
    const session = member.session;
    if (session === undefined || this.#sessions === undefined) return;
    session.name = member.name ?? null;
    session.room = member.room;
    await this.#sessions.save(session);
  }

  /** A newer connection took session `id` over: the old ones here close with 4000. */
  #takenOver(id: string, except?: Member): void {
    for (const member of this.#members.values()) {
      if (member === except || member.session?.id !== id) continue;
      void member.handle.close(4000, "session taken over");
    }
  }

  async #onClose(member: Member): Promise<void> {
    try {
      const session = member.session;
      if (session !== undefined && this.#sessions !== undefined) {
        const after = await this.#sessions.closed(session, member.quitting);
        // Taken over: the new connection is the user now. Kept: it stays online for the grace period.
        if (after === "taken-over") return await this.#presence.release(member.id);
        if (after === "kept") return this.#sessions.expireLater(session, () => this.#gone(member));
      }
      await this.#gone(member);
    } finally {
      this.#members.delete(member.id);
    }
  }

  /** `member`'s user left the chat: its name is free, its room is told. */
  async #gone(member: Member): Promise<void> {
    const name = member.name;
    if (name === undefined) return;
    await this.#presence.release(member.id);
    // The handle has already left every Wynd room: this reaches the others only.
    this.#fanout.toRoom(member.room, { type: "leave", room: member.room, name, reason: "chat" });
  }

  /** Users whose node died: this node was chosen to say they left (their sessions may still resume elsewhere). */
  #departed(users: readonly OnlineUser[]): void {
    for (const { name, room, session } of users) {
      this.#fanout.toRoom(room, { type: "leave", room, name, reason: "chat" });
      if (session !== undefined) this.#sessions?.orphan(session);
    }
  }

  /** After an outage, these members were taken for gone elsewhere: they are back. */
  #restored(owners: readonly string[]): void {
    for (const owner of owners) {
      const member = this.#members.get(owner);
      if (member?.name !== undefined) this.#fanout.toRoom(member.room, { type: "join", room: member.room, name: member.name, reason: "chat" }, member);
    }
  }

  /** During an outage, someone elsewhere took this member's name: it cannot keep it. */
  #lostName(owner: string): void {
    const member = this.#members.get(owner);
    if (member === undefined) return;
    this.#error(member, ErrorCode.NAME_TAKEN, `While the chat was cut off, someone else took the name ${member.name ?? ""}`);
    member.name = undefined; // its name is someone else's now: no "left" notice under it
    void member.handle.close(1008, "name taken during an outage");
  }

  #failed(member: Member, error: Error): void {
    this.#options.onError(error);
    this.#error(member, ErrorCode.UNAVAILABLE, UNAVAILABLE);
  }

  /** Applies the rate limit; false when the frame must be dropped. */
  #admit(member: Member, limiter: RateLimiter, cost = 1, notice = "You are sending messages too fast. Please slow down."): boolean {
    const decision = limiter.take(cost);
    if (decision === "allow") return true;
    // Queued, both: they come after the answers to the frames admitted before them.
    if (decision === "flood") {
      if (!member.tasks.run(() => member.handle.close(1008, "rate limit exceeded"))) void member.handle.close(1008, "rate limit exceeded");
    } else if (decision === "refuse-notify") {
      member.tasks.run(() => this.#error(member, ErrorCode.RATE_LIMITED, notice));
    }
    return false;
  }

  /** Queues a command; a connection that queues far more than the rate limit allows is told so. */
  #queue(member: Member, task: () => unknown): void {
    if (!member.tasks.run(task)) this.#error(member, ErrorCode.RATE_LIMITED, "You are sending messages too fast. Please slow down.");
  }

  #onText(member: Member, frame: string): void {
    // A frame far over the limit is not even parsed (JSON escapes take up to 6 bytes a character).
    if (frame.length > 8 * this.#options.maxMessageBytes + 4096) {
      if (this.#admit(member, member.sends)) this.#queue(member, () => this.#tooLong(member));
      return;
    }
    const command = member.protocol.parse(frame);
    const query = command.type === "rooms" || command.type === "users" || command.type === "help";
    // Every frame costs a token, empty lines included: a flood of nothing is still a flood.
    if (!this.#admit(member, query ? member.queries : member.sends)) return;
    this.#queue(member, () => this.#run(member, command));
  }

  async #run(member: Member, command: ChatCommand): Promise<unknown> {
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
        return this.#send(member, { type: "rooms", rooms: roomList(await this.#presence.users()) });
      case "users":
        return this.#send(member, { type: "users", users: (await this.#presence.users()).map((user) => user.name) });
      case "help":
        return this.#send(member, { type: "help" });
      case "quit":
        member.quitting = true;
        this.#send(member, { type: "goodbye" });
        return member.handle.close(1000, "Goodbye");
      case "invalid":
        return this.#error(member, command.code, command.message);
      case "none":
        return undefined;
    }
  }

  async #setName(member: Member, name: string): Promise<void> {
    if (member.fixedName) {
      return this.#error(member, ErrorCode.NAME_FIXED, "Your name is set by your login token and cannot be changed");
    }
    const previous = member.name;
    // Taken before valid: `аlice` (Cyrillic а, refused as mixed-script anyway) next to an online
    // `alice` is told the truth that matters, that it looks like someone else's name.
    const holder = await this.#presence.find(name);
    if (holder !== undefined && (previous === undefined || nameKey(previous) !== nameKey(name))) {
      return this.#error(member, ErrorCode.NAME_TAKEN, `The name ${name} is already taken`);
    }
    if (!isValidName(name)) return this.#error(member, ErrorCode.INVALID_NAME, isSingleScript(name) ? `Please provide a valid name (${NAME_RULES})` : ONE_SCRIPT);
    if (previous === name) return this.#send(member, { type: "name", name });
    if (!(await this.#presence.claim(member.id, name, member.room, member.session?.id))) {
      return this.#error(member, ErrorCode.NAME_TAKEN, `The name ${name} is already taken`);
    }
    member.name = name;
    await this.#saveSession(member);
    this.#fanout.addressAs(member, name, previous);
    // With an adapter, its private messages (its own copies too) reach this node once "name" is out.
    const subscribed = this.#fanout.subscribed();
    if (subscribed !== undefined) await subscribed;
    this.#send(member, { type: "name", name });
    const room = member.room;
    if (!member.listening) await this.#enter(member, room); // a text client starts hearing its room
    if (previous === undefined) this.#fanout.toRoom(room, { type: "join", room, name, reason: "chat" }, member);
    else this.#fanout.toRoom(room, { type: "rename", room, from: previous, to: name }, member);
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

  async #message(member: Member, raw: string): Promise<void> {
    const text = cleanText(raw); // one rule for both protocols, before storing and relaying
    if (!this.#checkText(member, text)) return;
    const ts = this.#options.clock();
    const from = member.name!;
    const room = member.room;
    // With Redis, the store publishes it to the clients that see ids, in the step that stores it.
    const stamping = this.#fanout.stampForRoom(room, (id) => ({ type: "message", room, id, from, text }), ts);
    let id: string | undefined;
    try {
      // A local store answers at once: stored and sent in one step, so no reader of history can come between.
      const stored = this.#messages.append({ room, from, text, ts }, stamping?.publications);
      id = isPending(stored) ? await stored : stored;
    } catch {
      // The store reported its outage; the node keeps serving: the message goes out without an id.
    }
    const event: ChatEvent = id === undefined ? { type: "message", room, from, text } : { type: "message", room, id, from, text };
    this.#fanout.toRoom(room, event, member, ts, id === undefined ? undefined : stamping?.covered);
  }

  async #private(member: Member, to: string, raw: string): Promise<void> {
    const text = cleanText(raw);
    if (!this.#checkText(member, text)) return;
    const target = await this.#presence.find(to);
    if (target === undefined) {
      return this.#error(member, ErrorCode.UNKNOWN_USER, `No such user: ${[...to].slice(0, MAX_NAME_LENGTH).join("")}`);
    }
    const ts = this.#options.clock();
    const message = { from: member.name!, to: target.name, text };
    const toSelf = nameKey(target.name) === nameKey(member.name!);
    let ids: [string | undefined, string | undefined] = [undefined, undefined];
    let toStamp: Stamping | undefined;
    let fromStamp: Stamping | undefined;
    try {
      // Kept in the inboxes first (sessions on), so a recipient who is reconnecting gets it on its resume;
      // with Redis, published by the store to the clients that see ids, in the step that stores it.
      if (this.#sessions !== undefined) {
        const stamp = (name: string) => this.#fanout.stampForUser(name, (id) => ({ type: "private", id, ...message }), ts);
        toStamp = target.session === undefined ? undefined : stamp(target.name);
        fromStamp = member.session === undefined || toSelf ? undefined : stamp(member.name!);
        const stored = this.#sessions.deliver({ ...message, ts }, target.session, member.session?.id, toStamp?.publications, fromStamp?.publications);
        ids = isPending(stored) ? await stored : stored;
      }
    } catch {
      // The store reported its outage; the message goes out live, without ids.
    }
    const [toId, fromId] = ids;
    this.#fanout.toUser(target.name, { type: "private", ...(toId === undefined ? {} : { id: toId }), ...message }, ts, toId === undefined ? undefined : toStamp?.covered);
    const selfCovered = fromId !== undefined && fromStamp?.covered.has(member.protocol) === true;
    if (!toSelf && !selfCovered) {
      this.#fanout.send(member, { type: "private", ...(fromId === undefined ? {} : { id: fromId }), ...message }, "self", ts);
    }
  }

  #join(member: Member, room: string): Promise<void> | void {
    if (!isValidName(room)) return this.#error(member, ErrorCode.INVALID_ROOM, `Please provide a valid room name (${NAME_RULES})`);
    return this.#move(member, roomKey(room));
  }

  /** Moves `member` to `room`: leave notice in the old one, room/history to it, join notice in the new one. */
  async #move(member: Member, room: string): Promise<void> {
    const old = member.room;
    const name = member.name;
    if (old === room) return this.#send(member, { type: "room", room, initial: false });
    member.listening = false;
    this.#fanout.unlisten(member, old);
    if (name !== undefined) {
      await this.#presence.move(member.id, room);
      member.room = room;
      await this.#saveSession(member);
      this.#fanout.toRoom(old, { type: "leave", room: old, name, reason: "room" });
    }
    this.#send(member, { type: "room", room, initial: false });
    await this.#enter(member, room);
    if (name !== undefined) this.#fanout.toRoom(room, { type: "join", room, name, reason: "room" }, member);
  }

  /** Puts `member` in `room`; if it may listen, it gets the room's history and then its traffic. */
  async #enter(member: Member, room: string): Promise<void> {
    member.room = room;
    if (member.name === undefined && !member.protocol.listensBeforeName) return;
    member.listening = true;
    const ready = this.#fanout.ready(member, room);
    if (ready !== undefined) await ready;
    // Listening before the read, live traffic held back until the history is out: nothing stored
    // after the read is missed, and what was stored before it but heard after is not sent twice.
    this.#fanout.hold(member);
    this.#fanout.listen(member, room);
    let messages: HistoryMessage[] = [];
    try {
      const found = this.#messages.recent(room);
      messages = isPending(found) ? await found : found;
    } catch {
      this.#error(member, ErrorCode.UNAVAILABLE, UNAVAILABLE);
    }
    this.#send(member, { type: "history", room, messages });
    this.#fanout.release(member, { room, message: messages.at(-1)?.id });
  }

  #onBinary(member: Member, data: Uint8Array): void {
    if (!this.#admit(member, member.sends)) return;
    this.#queue(member, () => this.#file(member, data));
  }

  #file(member: Member, data: Uint8Array): void {
    if (member.name === undefined) return this.#error(member, ErrorCode.NO_NAME, NO_NAME);
    const file = parseFileFrame(data, this.#options.maxFileBytes);
    if (isFileError(file)) return this.#error(member, file.code, file.message);
    const perSecond = this.#options.fileRateLimit.ratePerSecond;
    if (!this.#admit(member, member.fileBytes, file.size, `You are sharing files too fast (${perSecond} bytes per second). Please wait a moment.`)) return;
    const ts = this.#options.clock();
    const room = member.room;
    const header: FileHeader = { type: "file", room, from: member.name, name: file.name, mime: file.type, size: file.size, ts };
    // Everyone in the room gets the same bytes, the sender included (its confirmation).
    this.#fanout.bytesToRoom(room, encodeFileFrame(header, file.bytes));
    this.#fanout.toRoom(room, { type: "file", room, from: member.name, name: file.name, size: file.size }, undefined, ts);
  }

  #tooLong(member: Member): void {
    this.#error(member, ErrorCode.TOO_LONG, `Message too long (max ${this.#options.maxMessageBytes} bytes)`);
  }

  #error(member: Member, code: ErrorCode, message: string): void {
    this.#send(member, { type: "error", code, message });
  }

  #send(member: Member, event: ChatEvent): void {
    this.#fanout.send(member, event);
  }
}

/** The lobby, then every room with someone named in it, by name; `members` counts the named. */
function roomList(users: readonly OnlineUser[]): Array<{ name: string; members: number }> {
  const counts = new Map<string, number>([[LOBBY, 0]]);
  for (const { room } of users) counts.set(room, (counts.get(room) ?? 0) + 1);
  const names = [...counts.keys()].filter((name) => name !== LOBBY).sort();
  return [LOBBY, ...names].map((name) => ({ name, members: counts.get(name)! }));
}
