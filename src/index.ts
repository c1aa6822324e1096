/**
 * wynd: a zero-dependency WebSocket framework for Node.js.
 *
 * This entry point exports the Wynd API ({@link Wynd}, its connections, handles and rooms), the
 * engine it is built on: {@link WebSocketServer}, {@link connect} and the
 * {@link WebSocketConnection} both use, the error hierarchy and the wire constants. The sans-I/O
 * protocol core is exported separately as `wynd/protocol`.
 *
 * @module
 */

export {
  WyndError,
  ProtocolError,
  HandshakeError,
  InvalidStateError,
  ConnectionClosedError,
  TimeoutError,
} from "./errors.js";
export { CloseCode, Opcode, GUID } from "./protocol/constants.js";
export { ReadyState, type Role } from "./protocol/protocol.js";
export { prepareMessage, type PreparedMessage } from "./protocol/prepared-message.js";
export type { UpgradeRequest } from "./protocol/handshake.js";
export type { MessageLimits, HandshakeLimits } from "./protocol/limits.js";
export { DEFAULT_MESSAGE_LIMITS, DEFAULT_HANDSHAKE_LIMITS } from "./protocol/limits.js";
export {
  WebSocketConnection,
  type ConnectionEvents,
  type ConnectionInit,
} from "./transport/connection.js";
export {
  WebSocketServer,
  type ServerOptions,
  type ServerEvents,
  type ShutdownOptions,
  type UpgradeDecision,
  type UpgradeContext,
} from "./transport/server.js";
export { connect, type ClientOptions } from "./transport/client.js";
export {
  DEFAULT_DEFLATE_THRESHOLD_BYTES,
  type PerMessageDeflateOptions,
  type DeflateSetup,
} from "./transport/deflate.js";
export type { DeflateParams } from "./protocol/permessage-deflate.js";
export {
  DEFAULT_CONNECTION_OPTIONS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  type ConnectionOptions,
  type BackpressurePolicy,
} from "./transport/options.js";

// The Wynd API (issue 3): the event-driven face of the framework, built on the engine above.
export {
  Wynd,
  Connection,
  Handle,
  Room,
  type WyndOptions,
  type Middleware,
  type ConnectionHandler,
  type UpgradeHook,
  type ListeningHandler,
  type NodeMessageHandler,
  type AdapterStateHandler,
  InProcessAdapter,
  type Adapter,
  type AdapterListener,
  type AdapterState,
  type BroadcastOptions,
  type TextMessage,
  type BinaryMessage,
  type CloseEvent,
  type DefaultData,
  type HandlerResult,
  type OpenHandler,
  type TextHandler,
  type BinaryHandler,
  type CloseHandler,
  type ErrorHandler,
  type ControlHandler,
  type ServerErrorHandler,
} from "./api/index.js";
