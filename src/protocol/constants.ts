/**
 * Wire constants of RFC 6455.
 *
 * @module
 */

/** RFC 6455 §1.3: the GUID appended to `Sec-WebSocket-Key` to compute `Sec-WebSocket-Accept`. */
export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §5.2: frame opcodes. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
/** One of the defined frame opcodes. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §7.4.1 (and the IANA registry): close status codes with a name. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Never on the wire: reported locally when a close frame carried no code. */
  NO_STATUS: 1005,
  /** Never on the wire: reported locally when the TCP connection ended without a close frame. */
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  /** Never on the wire: reported locally when the TLS handshake failed. */
  TLS_HANDSHAKE: 1015,
} as const;
/** One of the named close codes. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The protocol version this library speaks (RFC 6455 §4.1). */
export const WEBSOCKET_VERSION = "13";

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;

/** RFC 6455 §5.5.1: a close reason fits in a control frame after the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;
