/**
 * The help text: the one source of truth for the text protocol's welcome and `/help`, and for
 * the `help` lines of the JSON protocol's `welcome` event.
 *
 * The first four entries and the text's layout are the chat tutorial's final program
 * (docs/tutorial.md, step 6); the others are the tutorial's "next steps", in the same style.
 *
 * @module
 */

/** One line per command: usage, then what it does. */
export const HELP_LINES: readonly string[] = Object.freeze([
  "/name <name> - Set your display name",
  "/users - List all online users",
  "/msg <user> <text> - Send a private message to one user",
  "/join <room> - Join a room (created if needed)",
  "/leave - Leave your room and go back to the lobby",
  "/rooms - List the rooms and how many are in each",
  "/help - Show this help message",
  "/quit - Disconnect from the server",
]);

/** What `/help` answers (the tutorial's layout). */
export const HELP_TEXT = ["Available commands:", ...HELP_LINES.map((line) => `- ${line}`)].join("\n");

/** The first message of a plain-text connection (the tutorial's welcome). */
export const WELCOME_TEXT = `Welcome to the chat! ${HELP_TEXT}`;
