/**
 * A resume, step by step (docs/chat.md, "Sessions"): the session named by the connection's
 * `?session=` is taken over, then the client gets `welcome` (resumed), `room`, one `history` with
 * the room's messages after its `after`, its private messages after its `privateAfter`, and only
 * then live traffic; the old connection is closed last.
 *
 * @module
 */

import type { Handle } from "../index.js";
import type { ChatData } from "./core.js";
import type { ClientLimits } from "./events.js";
import type { CaughtUp, Fanout, Listener } from "./fanout.js";
import type { SessionKeeper } from "./sessions.js";
import { isId } from "./stores/ids.js";
import { isPending, type Answer, type MessageStore, type PresenceStore, type Replay, type Session } from "./stores/types.js";

/** What a resume changes of a connection (the core's member, structurally). */
export interface Resuming extends Listener {
  readonly id: string;
  readonly handle: Handle<ChatData>;
  session: Session | undefined;
  name: string | undefined;
  room: string;
  listening: boolean;
}

/** What a resume needs of the core. */
export interface ResumeContext {
  readonly keeper: SessionKeeper;
  readonly presence: PresenceStore;
  readonly messages: MessageStore;
  readonly fanout: Fanout;
  readonly limits: ClientLimits;
  /** Closes this node's other connections of the session (with 4000). */
  closeOthers(session: Session): void;
}

/** The room's messages after `after` (the recent ones when absent), and whether none is missing. */
export function replayOf(messages: MessageStore, room: string, after: string | undefined): Answer<Replay> {
  const failed = () => ({ messages: [], complete: false });
  try {
    if (after !== undefined) {
      const replay = messages.after(room, after);
      return isPending(replay) ? replay.catch(failed) : replay;
    }
    const recent = messages.recent(room);
    return isPending(recent) ? recent.then((found) => ({ messages: found, complete: true }), failed) : { messages: recent, complete: true };
  } catch {
    return failed();
  }
}

/**
 * Resumes the session `member` asks for, if alive and its name still its own (see the module
 * comment). False when there is nothing to resume (the caller makes a new session).
 */
export async function resumeSession(member: Resuming, context: ResumeContext): Promise<boolean> {
  const { keeper, fanout } = context;
  const request = member.handle.data.resume;
  const resumed = request === undefined ? undefined : await keeper.resume(request, context.presence, member.id, member.handle.data.fixedName);
  if (request === undefined || resumed === undefined) return false;
  const { session, announce } = resumed;
  member.session = session;
  member.name = session.name ?? undefined;
  member.room = session.room;
  fanout.send(member, { type: "welcome", room: session.room, name: session.name, limits: context.limits, session: request.token, resumed: true });
  fanout.send(member, { type: "room", room: session.room, initial: false });
  member.listening = true;
  const ready = fanout.ready(member, session.room, member.name);
  if (ready !== undefined) await ready;
  // Listening before the stores are read, live traffic held back until what was read is out (see
  // Fanout.hold): nothing stored after the reads is missed, nothing stored before is sent twice.
  fanout.hold(member);
  if (member.name !== undefined) fanout.addressAs(member, member.name, undefined);
  fanout.listen(member, session.room);
  // What the client has once the reads are sent; if a read fails, nothing was sent: all live traffic follows.
  let caughtUp: CaughtUp = { room: session.room };
  try {
    const replay = replayOf(context.messages, session.room, request.after);
    const { messages, complete } = isPending(replay) ? await replay : replay;
    const inbox = member.name === undefined ? [] : keeper.inbox(session, request.privateAfter);
    const privates = isPending(inbox) ? await inbox : inbox;
    fanout.send(member, { type: "history", room: session.room, messages, complete });
    for (const message of privates) fanout.send(member, { type: "private", ...message }, "others", message.ts);
    caughtUp = {
      room: session.room,
      // The last id the client now has, when it can be trusted to be this room's (see replayAfter).
      message: messages.at(-1)?.id ?? (complete && isId(request.after) ? request.after : undefined),
      privates: privates.at(-1)?.id ?? (isId(request.privateAfter) ? request.privateAfter : undefined),
    };
  } finally {
    fanout.release(member, caughtUp);
  }
  // The old connection goes only now: until the new one listens, it keeps this node subscribed to the rooms.
  keeper.takeOver(session, () => context.closeOthers(session));
  // Its name had been let go (its node shut down or died): the others were told it left.
  if (announce && member.name !== undefined) fanout.toRoom(member.room, { type: "join", room: member.room, name: member.name, reason: "chat" }, member);
  return true;
}
