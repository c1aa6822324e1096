/**
 * Sessions seen from the core: what a JSON client's session does when its connection opens,
 * resumes, is taken over, ends, or is kept through the grace period, on top of a
 * {@link SessionStore} (memory or Redis). The wire contract is in docs/chat.md ("Sessions").
 *
 * A connection that asks to resume (`?session=<token>&after=<id>&privateAfter=<id>`) and whose
 * session is alive becomes that session's connection: the old one, on whichever node, is closed
 * with 4000 (the takeover travels to the other nodes as a node message), and the user never left.
 * A connection that ends keeps its session, and its user online, for the grace period; when it
 * expires unresumed, its user leaves as if the connection had just ended.
 *
 * @module
 */

import type { Fanout } from "./fanout.js";
import { LOBBY } from "./names.js";
import { isPending, type Answer, type PresenceStore, type PrivateMessage, type Session, type SessionStore, type Stamped } from "./stores/types.js";

/** What a connection asks to resume, from its URL's query. */
export interface ResumeRequest {
  readonly token: string;
  readonly after?: string | undefined;
  readonly privateAfter?: string | undefined;
}

/** The resume request of an upgrade's query string (`session`, `after`, `privateAfter`), if any. */
export function parseResume(query: string): ResumeRequest | undefined {
  const params = new URLSearchParams(query);
  const token = params.get("session");
  if (token === null || token === "") return undefined;
  return { token, after: params.get("after") ?? undefined, privateAfter: params.get("privateAfter") ?? undefined };
}

/** The node message that closes a session's old connections on the other nodes. */
interface Takeover {
  readonly type: "wynd-chat-takeover";
  readonly session: string;
  readonly epoch: number;
}

function isTakeover(value: unknown): value is Takeover {
  const v = value as Partial<Takeover> | null;
  return typeof v === "object" && v !== null && v.type === "wynd-chat-takeover" && typeof v.session === "string" && typeof v.epoch === "number";
}

/** Sessions for the core (see the module comment). */
export class SessionKeeper {
  readonly #store: SessionStore;
  readonly #fanout: Fanout;
  readonly #timers = new Set<NodeJS.Timeout>();
  #shuttingDown = false;

  /** `closeLocal(id)`: closes this node's connections of session `id` (taken over on another node). */
  constructor(store: SessionStore, fanout: Fanout, closeLocal: (id: string) => void) {
    this.#store = store;
    this.#fanout = fanout;
    fanout.onNodeMessage((message) => {
      let value: unknown;
      try {
        value = JSON.parse(message);
      } catch {
        return; // another application's message
      }
      if (isTakeover(value)) closeLocal(value.session);
    });
  }

  /** A new session for a connection (its user's name, if a token fixed it); resolves with its token. */
  async create(name: string | null): Promise<{ token: string; session: Session }> {
    const created = await this.#store.create(LOBBY);
    if (name !== null) {
      created.session.name = name;
      await this.#store.save(created.session);
    }
    return created;
  }

  /**
   * The session `request` names, now held by `owner`, with its name claimed again for `owner`;
   * undefined when it is unknown, expired, for another fixed name, or its name was taken by
   * someone else meanwhile. `announce`: its name had been let go, so the others saw it leave.
   */
  async resume(
    request: ResumeRequest,
    presence: PresenceStore,
    owner: string,
    fixedName: string | undefined,
  ): Promise<{ session: Session; announce: boolean } | undefined> {
    const session = await this.#store.resume(request.token);
    if (session === undefined) return undefined;
    if (fixedName !== undefined && session.name !== fixedName) return undefined;
    if (session.name === null) return { session, announce: false };
    const holder = await presence.find(session.name);
    if (await presence.claim(owner, session.name, session.room, session.id)) return { session, announce: holder?.session !== session.id };
    await this.#store.end(session); // someone else has its name now: it cannot come back
    return undefined;
  }

  /** Closes the session's other connections: here through `closeLocal`, elsewhere through a node message. */
  takeOver(session: Session, closeLocal: () => void): void {
    closeLocal();
    const message: Takeover = { type: "wynd-chat-takeover", session: session.id, epoch: session.epoch };
    this.#fanout.toNodes(JSON.stringify(message));
  }

  /** Ends a session now. */
  end(session: Session): Promise<void> {
    return this.#store.end(session);
  }

  /** Keeps the session's name and room. */
  save(session: Session): Promise<void> {
    return this.#store.save(session);
  }

  /** The private messages of the session's inbox after `after` (all when absent or not an id). */
  inbox(session: Session, after: string | undefined): Answer<PrivateMessage[]> {
    return this.#store.inbox(session.id, after);
  }

  /**
   * Stores a private message in the recipient's inbox and the sender's (each numbers it its
   * own way), each with its publications (see `Stamped`); resolves with both ids (undefined for
   * one without a session).
   */
  deliver(
    message: Omit<PrivateMessage, "id">,
    to: string | undefined,
    from: string | undefined,
    toPublications?: readonly Stamped[],
    fromPublications?: readonly Stamped[],
  ): Answer<[string | undefined, string | undefined]> {
    const toId = to === undefined ? undefined : this.#store.deliver(to, message, toPublications);
    const fromId = from === undefined || from === to ? undefined : this.#store.deliver(from, message, fromPublications);
    if (!isPending(toId) && !isPending(fromId)) return [toId, from === to ? toId : fromId];
    return Promise.all([toId, fromId]).then(([t, f]) => [t, from === to ? t : f]);
  }

  /**
   * A session's connection ended: `"taken-over"` (a newer connection has it), `"kept"` (it lives
   * on for the grace period), or `"ended"` (the user quit, sessions have no grace, or the server
   * is shutting down: the user leaves now; after a shutdown its session can still resume on
   * another node within the grace period).
   */
  async closed(session: Session, quitting: boolean): Promise<"taken-over" | "kept" | "ended"> {
    if (quitting) {
      await this.#store.end(session);
      return "ended";
    }
    if (!(await this.#store.detach(session))) return "taken-over";
    return this.#shuttingDown || this.#store.graceMs === 0 ? "ended" : "kept";
  }

  /** Runs `gone` when the grace period is over, unless the session was resumed meanwhile. */
  expireLater(session: Session, gone: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#store.expire(session).then((expired) => (expired ? gone() : undefined), () => undefined);
    }, this.#store.graceMs);
    this.#timers.add(timer);
  }

  /** Session `id`'s node died: it expires after the grace period unless resumed. */
  orphan(id: string): void {
    void this.#store.orphan(id).catch(() => undefined);
  }

  /** The server stops: connections that end now end for good here; grace timers stop. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
