/**
 * The rule of a replay after an id, shared by both history stores: given what a room's history
 * still holds and the highest id it trimmed away, which messages follow `after`, and whether
 * that is all of them.
 *
 * @module
 */

import type { HistoryMessage } from "../events.js";
import { compareIds, isId } from "./ids.js";
import type { Replay } from "./types.js";

/**
 * `held`: the room's messages still in history, oldest first; `trimmed`: the highest id trimmed
 * from it (undefined: none); `size`: the most messages a replay gives.
 */
export function replayAfter(held: readonly HistoryMessage[], trimmed: string | undefined, after: string, size: number): Replay {
  const last = (messages: readonly HistoryMessage[]) => messages.slice(Math.max(0, messages.length - size));
  if (!isId(after)) return { messages: last(held), complete: false };
  const index = held.findIndex((message) => message.id === after);
  let following: readonly HistoryMessage[];
  let complete: boolean;
  if (index >= 0) {
    following = held.slice(index + 1);
    complete = true;
  } else if (trimmed !== undefined && compareIds(after, trimmed) <= 0) {
    // `after` was trimmed: what followed it is here, but for those trimmed after it.
    following = held.filter((message) => compareIds(message.id, after) > 0);
    complete = compareIds(after, trimmed) === 0;
  } else {
    // Not an id of this room (another room's, or a made-up one): the client cannot trust its gap.
    return { messages: last(held), complete: false };
  }
  if (following.length > size) return { messages: last(following), complete: false };
  return { messages: [...following], complete };
}
