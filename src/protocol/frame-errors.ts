/**
 * The stable error codes of the frame parser: one per RFC 6455 rule a frame or message can
 * break, each reported as a {@link ProtocolError} with the close code to send. Kept apart from
 * the parser so that callers (the protocol, the transport, tests) name the codes without
 * depending on the state machine.
 *
 * @module
 */

import type { ProtocolError } from "../errors.js";

/** The stable `code` of every {@link ProtocolError} the frame parser reports. */
export const FrameErrorCode = {
  /** An RSV bit is set but no extension defines it (1002). */
  RESERVED_BITS: "ERR_RESERVED_BITS",
  /** Opcode 3-7 or 0xB-0xF (1002). */
  INVALID_OPCODE: "ERR_INVALID_OPCODE",
  /** A control frame with FIN clear (1002). */
  FRAGMENTED_CONTROL_FRAME: "ERR_FRAGMENTED_CONTROL_FRAME",
  /** A control frame with more than 125 bytes of payload (1002). */
  CONTROL_FRAME_TOO_LONG: "ERR_CONTROL_FRAME_TOO_LONG",
  /** A server received a frame without the MASK bit (1002). */
  UNMASKED_FRAME: "ERR_UNMASKED_FRAME",
  /** A client received a frame with the MASK bit (1002). */
  MASKED_FRAME: "ERR_MASKED_FRAME",
  /** A 64-bit payload length with its most significant bit set (1002). */
  INVALID_FRAME_LENGTH: "ERR_INVALID_FRAME_LENGTH",
  /** A continuation frame with no fragmented message open (1002). */
  UNEXPECTED_CONTINUATION: "ERR_UNEXPECTED_CONTINUATION",
  /** A new text or binary frame while a fragmented message is open (1002). */
  EXPECTED_CONTINUATION: "ERR_EXPECTED_CONTINUATION",
  /** A text message or close reason that is not valid UTF-8 (1007). */
  INVALID_UTF8: "ERR_INVALID_UTF8",
  /** A close frame with a 1-byte payload (1002). */
  INVALID_CLOSE_PAYLOAD: "ERR_INVALID_CLOSE_PAYLOAD",
  /** A close frame with a status code that may not be sent (1002). */
  INVALID_CLOSE_CODE: "ERR_INVALID_CLOSE_CODE",
  /** A frame payload over `maxFrameBytes` (1009). */
  FRAME_TOO_BIG: "ERR_FRAME_TOO_BIG",
  /** A message over `maxMessageBytes` (1009). */
  MESSAGE_TOO_BIG: "ERR_MESSAGE_TOO_BIG",
  /** A message of more than `maxFragmentsPerMessage` frames (1009). */
  TOO_MANY_FRAGMENTS: "ERR_TOO_MANY_FRAGMENTS",
} as const;
/** One of the {@link FrameErrorCode} strings. */
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];
