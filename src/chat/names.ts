/**
 * The rules for user and room names, shared by every command that takes one.
 *
 * A name is 1–32 characters (code points, so an emoji counts as one), with no whitespace and no
 * control, format or other invisible characters: a name is typed by others in `/msg <user>` and
 * shown in every line, so it must be visible and a single word. Uniqueness ignores case (and
 * Unicode normalization form), so `Alice` and `alice` cannot both be online.
 *
 * @module
 */

/** The longest user or room name, in characters (code points). */
export const MAX_NAME_LENGTH = 32;

/** The room everyone starts in, and returns to with `/leave`. */
export const LOBBY = "lobby";

// \p{Z}: separators (spaces of every kind); \p{C}: control, format (zero-width joiners, bidi
// overrides), surrogates, private use and unassigned code points; \s for the ASCII whitespace.
const FORBIDDEN = /[\s\p{Z}\p{C}]/u;

/** Whether `name` follows the rules above. */
export function isValidName(name: string): boolean {
  if (name.length === 0) return false;
  let length = 0;
  for (const _ of name) {
    if (++length > MAX_NAME_LENGTH) return false;
  }
  return !FORBIDDEN.test(name);
}

/** The key two names are compared by: equal keys are "the same name". */
export function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/**
 * A room's canonical name: room names are case-insensitive (as IRC channels), so `/join Dev`
 * and `/join dev` meet in the same room, shown lower-cased.
 */
export function roomKey(room: string): string {
  return room.normalize("NFC").toLowerCase();
}
