/**
 * The Wynd API: the event-driven face of wynd, after the Rust crate Wynd.
 *
 * @module
 */

export {
  Wynd,
  type WyndOptions,
  type Middleware,
  type ConnectionHandler,
  type UpgradeHook,
  type ListeningHandler,
} from "./wynd.js";
export { Connection } from "./connection.js";
export { Handle } from "./handle.js";
export { Room, type BroadcastOptions } from "./rooms.js";
export type {
  TextMessage,
  BinaryMessage,
  CloseEvent,
  DefaultData,
  HandlerResult,
  OpenHandler,
  TextHandler,
  BinaryHandler,
  CloseHandler,
  ErrorHandler,
  ControlHandler,
  ServerErrorHandler,
} from "./events.js";
