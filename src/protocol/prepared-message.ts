/**
 * A message framed once and sent to many connections (gorilla/websocket's PreparedMessage):
 * server frames are unmasked, so every recipient gets the same bytes.
 *
 * @module
 */

import { Opcode } from "./constants.js";
import { COPY_THRESHOLD_BYTES, encodeFrame, encodeFrameHeader, encodeTextFrame } from "./frame-encoder.js";

/** The frame bytes of one server-to-client message, ready to be written to any connection. */
export interface PreparedMessage {
  /** The frame: one buffer, or header and payload for a large payload (not copied). */
  readonly chunks: readonly Buffer[];
  /** Total bytes on the wire. */
  readonly byteLength: number;
  readonly isBinary: boolean;
}

/**
 * Frames `data` once: a string becomes a text message; bytes become a binary message, or a text
 * message when `isBinary` is false (the bytes must then be valid UTF-8). The payload of a large
 * message is referenced, not copied: do not modify it until it has been sent.
 */
export function prepareMessage(data: string | Uint8Array, isBinary = typeof data !== "string"): PreparedMessage {
  if (typeof data === "string") {
    const frame = encodeTextFrame(data, true, false);
    return { chunks: [frame], byteLength: frame.byteLength, isBinary: false };
  }
  const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
  if (data.byteLength <= COPY_THRESHOLD_BYTES) {
    const frame = encodeFrame(opcode, data, true, false);
    return { chunks: [frame], byteLength: frame.byteLength, isBinary };
  }
  const header = encodeFrameHeader(opcode, data.byteLength, true);
  const payload = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { chunks: [header, payload], byteLength: header.byteLength + data.byteLength, isBinary };
}

/**
 * The payload of a prepared message (its frame without the header): a view of the frame's bytes,
 * not a copy. Server frames are unmasked, so the header is 2, 4 or 10 bytes (RFC 6455 §5.2).
 */
export function payloadOf(message: PreparedMessage): Buffer {
  const [first, second] = message.chunks as [Buffer, Buffer | undefined];
  if (second !== undefined) return second;
  const length = first[1]! & 0x7f;
  return first.subarray(length === 126 ? 4 : length === 127 ? 10 : 2);
}
