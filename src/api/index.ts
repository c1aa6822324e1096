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
  type NodeMessageHandler,
  type AdapterStateHandler,
} from "./wynd.js";
export { InProcessAdapter, type Adapter, type AdapterListener, type AdapterState } from "./adapter.js";
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
