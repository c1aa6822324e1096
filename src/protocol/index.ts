/**
 * The sans-I/O protocol core of wynd (`wynd/protocol`): RFC 6455 without sockets or timers.
 * Bytes in, events and bytes out — usable with any transport, and testable with bytes alone.
 *
 * @module
 */

export * from "./constants.js";
export { isValidWireCloseCode } from "./close-codes.js";
export * from "./limits.js";
export * from "./mask.js";
export * from "./utf8.js";
export * from "./frame-encoder.js";
export * from "./frame-parser.js";
export * from "./http-parser.js";
export * from "./handshake.js";
export * from "./prepared-message.js";
export * from "./protocol.js";
export * from "./extensions.js";
export * from "./permessage-deflate.js";
