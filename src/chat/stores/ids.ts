/**
 * Message ids. Both history stores give every stored message an id of the form
 * `<milliseconds>-<sequence>` (the form of a Redis stream entry id), increasing within its room,
 * so a client sees the same kind of id whichever store the server uses and can compare two ids
 * of one room with {@link compareIds}.
 *
 * @module
 */

const ID = /^(\d{1,15})-(\d{1,15})$/;

/** A parsed id: milliseconds and sequence. */
export interface ParsedId {
  readonly ms: number;
  readonly seq: number;
}

/** Parses `id`, or undefined when it is not an id (`<digits>-<digits>`, each a safe integer). */
export function parseId(id: string): ParsedId | undefined {
  const match = ID.exec(id);
  if (match === null) return undefined;
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

/** Whether `id` is a well-formed id. */
export function isId(id: unknown): id is string {
  return typeof id === "string" && parseId(id) !== undefined;
}

/** Negative when `a` comes before `b`, positive after, 0 when equal. Both must be ids. */
export function compareIds(a: string, b: string): number {
  const x = parseId(a)!;
  const y = parseId(b)!;
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}

/**
 * The id after `last` (undefined: none yet) for a message stamped `ts`: `<ts>-0`, or the next
 * sequence number when the clock has not moved past `last` (the same millisecond, or a clock
 * that went back), so ids keep increasing whatever the clock does.
 */
export function nextId(last: string | undefined, ts: number): string {
  const ms = Math.max(0, Math.floor(ts));
  const previous = last === undefined ? undefined : parseId(last);
  if (previous === undefined || ms > previous.ms) return `${ms}-0`;
  return `${previous.ms}-${previous.seq + 1}`;
}
