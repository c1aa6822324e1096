/**
 * One rule for control characters in chat text, whichever protocol a message came by: it is
 * applied before a message is stored or relayed (and to history read back from an older file),
 * so a text client, a JSON client and the history all see the same text.
 *
 * Line breaks stay (a message may have several lines): CR LF and a lone CR become LF. A tab
 * stays. Every other C0 control (U+0000–U+001F), DEL (U+007F) and C1 control (U+0080–U+009F)
 * becomes U+FFFD: they have no visible form, and ESC and CSI sequences drive the terminal of a
 * plain-text reader (colours, cursor moves, a title that hides lines).
 *
 * @module
 */

const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** `text` under the rule above. */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(CONTROLS, "\ufffd");
}
