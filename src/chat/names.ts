/**
 * The rules for user and room names, shared by every command that takes one.
 *
 * A name is 1–32 characters (code points, so an emoji counts as one), with no whitespace and no
 * control, format or other invisible characters: a name is typed by others in `/msg <user>` and
 * shown in every line, so it must be visible and a single word, and written in a single script
 * (`аlice` with a Cyrillic а is refused: see confusables.ts). Uniqueness ignores case,
 * normalization form and the common look-alike letters, so `Alice` and `alice`, or the Latin
 * `aee` and the Cyrillic `аее`, cannot both be online.
 *
 * @module
 */

import { confusableKey, isSingleScript } from "./confusables.js";

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
  return !FORBIDDEN.test(name) && isSingleScript(name);
}

/** The key two names are compared by: equal keys are "the same name" (they look alike). */
export function nameKey(name: string): string {
  return confusableKey(name);
}

/**
 * A room's canonical name: room names are case-insensitive (as IRC channels), so `/join Dev`
 * and `/join dev` meet in the same room, shown lower-cased.
 */
export function roomKey(room: string): string {
  return room.normalize("NFC").toLowerCase();
}
