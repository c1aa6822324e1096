/**
 * `wynd/chat`: the chat server of the tutorial and its next steps, as a library — plain-text
 * and JSON (`wynd-chat.v1`) protocols over one chat core, rooms, private messages, persistent
 * history, file sharing, optional token authentication and rate limits, and the browser
 * client's files. docs/chat.md documents it.
 *
 * @module
 */

export { createChatServer, DEFAULT_MAX_MESSAGE_BYTES, FILE_REFUSAL_SLACK_BYTES, type ChatServer, type ChatServerOptions } from "./server.js";
export { parseTokenList, readTokenFile, signedTokenAuthenticator, signToken, tokenFromRequest, type Authenticator, type SignOptions } from "./auth.js";
export { ErrorCode, type Audience, type ChatCommand, type ChatEvent, type ChatProtocol, type ClientLimits, type HistoryMessage } from "./events.js";
export { HELP_LINES, HELP_TEXT, WELCOME_TEXT } from "./help.js";
export { JSON_PROTOCOL, jsonProtocol } from "./json-protocol.js";
export { textProtocol } from "./text-protocol.js";
export {
  encodeFileFrame,
  parseFileFrame,
  isFileError,
  DEFAULT_MAX_FILE_BYTES,
  MAX_FILE_HEADER_BYTES,
  type FileError,
  type FileHeader,
  type IncomingFile,
} from "./file-frames.js";
export { HISTORY_FILE, DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_MAX_FILE_BYTES, MAX_HISTORY_ROOMS, type HistoryRecord } from "./history.js";
export { DEFAULT_BURST, DEFAULT_RATE_PER_SECOND, type RateLimitOptions } from "./rate-limiter.js";
export { isValidName, LOBBY, MAX_NAME_LENGTH } from "./names.js";
export type { ChatData } from "./core.js";
export { DEFAULT_FILE_BYTES_PER_SECOND, type FileRateLimitOptions } from "./file-rate-limit.js";
export { DataDirLockedError, LOCK_FILE, type LockOwner } from "./data-dir-lock.js";
