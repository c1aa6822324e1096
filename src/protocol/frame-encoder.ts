/**
 * Frame encoding (RFC 6455 §5.2): header, optional masking key, payload.
 *
 * A small payload is copied next to its header so that the frame is one buffer (one `write`,
 * one iovec); a large unmasked payload is sent as {@link encodeFrameHeader} + the caller's bytes,
 * so a 1 MiB broadcast is never copied. Masked frames (client side) are always one buffer: the
 * payload has to be transformed anyway, and the caller's bytes must not be touched.
 *
 * @module
 */

import { MAX_CLOSE_REASON_BYTES, MAX_CONTROL_PAYLOAD_BYTES, Opcode } from "./constants.js";
import { isValidWireCloseCode } from "./close-codes.js";
import { maskInto, unmaskInPlace, writeMaskKey } from "./mask.js";

/**
 * Payloads up to this many bytes are copied next to the header into one buffer; larger unmasked
 * payloads should be written as {@link encodeFrameHeader} followed by the payload itself.
 *
 * Why 16 KiB: allocating and copying 16 KiB costs about 1.6 µs (Node 20, x64; 1 KiB 0.26 µs,
 * 64 KiB 4.1 µs), the same order as the fixed cost of one more chunk in a corked `writev`
 * (a write request, a callback, an iovec). Below it one buffer wins; above it the copy dominates
 * and grows linearly. It also matches the largest TLS record payload (2^14 bytes), so larger
 * frames are split across records anyway.
 */
export const COPY_THRESHOLD_BYTES = 16 * 1024;

/** The payload of a close frame without a status code. */
const EMPTY = new Uint8Array(0);

/** Size of the header for a payload of `length` bytes, mask key excluded (RFC 6455 §5.2). */
function headerSize(length: number): number {
  if (length < 126) return 2;
  if (length < 0x10000) return 4;
  return 10;
}

/**
 * Throws a RangeError for a frame RFC 6455 forbids sending: an undefined opcode, a fragmented
 * control frame, or a control payload over 125 bytes. These are caller bugs, not peer input.
 */
function assertFrame(opcode: number, length: number, fin: boolean): void {
  // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved.
  const reserved = opcode > Opcode.BINARY && opcode < Opcode.CLOSE;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > Opcode.PONG || reserved) {
    throw new RangeError(`invalid opcode ${opcode}`);
  }
  if (opcode >= Opcode.CLOSE) {
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and
    // MUST NOT be fragmented."
    if (!fin) throw new RangeError("control frames must not be fragmented");
    if (length > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(`control frame payload of ${length} bytes exceeds 125`);
    }
  }
  // The 64-bit form allows up to 2^63-1; a JavaScript number is exact up to 2^53-1.
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid payload length ${length}`);
  }
}

/**
 * Writes the header of a frame into `target` at `offset` (default 0) and returns the index where
 * the payload (or the masking key, when `masked`) begins.
 */
function writeHeader(
  target: Buffer,
  opcode: number,
  length: number,
  fin: boolean,
  rsv1: boolean,
  masked: boolean,
  offset = 0,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  // RFC 6455 §5.2: "in all cases, the minimal number of bytes MUST be used to encode the length".
  if (length < 126) {
    target[offset + 1] = maskBit | length;
    return offset + 2;
  }
  if (length < 0x10000) {
    target[offset + 1] = maskBit | 126;
    target.writeUInt16BE(length, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = maskBit | 127;
  // 64-bit big-endian length; the most significant bit stays 0 since length < 2^53.
  target.writeUInt32BE(Math.floor(length / 0x100000000), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

/**
 * Encodes one frame as a single buffer: header, a fresh random masking key when `masked`
 * (RFC 6455 §5.3: a client MUST mask every frame it sends), and the payload (masked copy when
 * `masked`, otherwise a plain copy). `payload` is never modified.
 *
 * @param opcode - One of {@link Opcode}.
 * @param payload - The frame payload.
 * @param fin - Whether this is the final fragment of its message.
 * @param masked - Whether to mask (client to server).
 * @param rsv1 - Sets RSV1 (only for a negotiated extension such as permessage-deflate).
 * @returns The whole frame.
 * @throws RangeError for an undefined opcode, or a control frame that is fragmented or whose
 *   payload exceeds 125 bytes.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  masked: boolean,
  rsv1 = false,
): Buffer {
  const length = payload.length;
  assertFrame(opcode, length, fin);
  const keySize = masked ? 4 : 0;
  const frame = Buffer.allocUnsafe(headerSize(length) + keySize + length);
  const keyOffset = writeHeader(frame, opcode, length, fin, rsv1, masked);
  const payloadOffset = keyOffset + keySize;
  if (masked) {
    writeMaskKey(frame, keyOffset);
    maskInto(payload, frame, payloadOffset, frame, keyOffset);
  } else {
    frame.set(payload, payloadOffset);
  }
  return frame;
}

/**
 * Writes an unmasked frame (server side) into `target` at `offset`: header, then the payload —
 * bytes copied, or the UTF-8 of a string written in place (`payloadBytes` must then be its
 * `Buffer.byteLength`). The caller checked that `target` has room for the header (2 or 4 bytes
 * here, as the payload is under 64 KiB) and the payload. Returns the offset after the frame.
 *
 * This is how a connection lays the small frames of one tick out back to back in one buffer:
 * no Buffer object per frame, and no second copy to join them for the write.
 *
 * @throws RangeError for an invalid opcode or control frame, or a payload of 64 KiB or more.
 */
export function encodeFrameInto(
  target: Buffer,
  offset: number,
  opcode: number,
  payload: Uint8Array | string,
  payloadBytes: number,
  fin: boolean,
): number {
  assertFrame(opcode, payloadBytes, fin);
  if (payloadBytes >= 0x10000) throw new RangeError("encodeFrameInto takes payloads under 64 KiB");
  const at = writeHeader(target, opcode, payloadBytes, fin, false, false, offset);
  if (typeof payload === "string") target.write(payload, at, payloadBytes, "utf8");
  else target.set(payload, at);
  return at + payloadBytes;
}

/**
 * Encodes a complete or partial text message. The UTF-8 of `text` is written straight into the
 * frame buffer: no intermediate Buffer. Lone surrogates become U+FFFD, as with `Buffer.from`.
 *
 * @param text - The text (or the text of this fragment).
 * @param fin - Whether this is the final fragment of its message.
 * @param masked - Whether to mask (client to server).
 * @returns The whole frame, opcode TEXT.
 */
export function encodeTextFrame(text: string, fin: boolean, masked: boolean): Buffer {
  return encodeStringFrame(Opcode.TEXT, text, fin, masked);
}

/** Encodes a frame whose payload is the UTF-8 of `text`, written in place. */
function encodeStringFrame(opcode: number, text: string, fin: boolean, masked: boolean): Buffer {
  const length = Buffer.byteLength(text, "utf8");
  assertFrame(opcode, length, fin);
  const keySize = masked ? 4 : 0;
  const frame = Buffer.allocUnsafe(headerSize(length) + keySize + length);
  const keyOffset = writeHeader(frame, opcode, length, fin, false, masked);
  const payloadOffset = keyOffset + keySize;
  frame.write(text, payloadOffset, length, "utf8");
  if (masked) {
    writeMaskKey(frame, keyOffset);
    unmaskInPlace(frame.subarray(payloadOffset), frame, keyOffset);
  }
  return frame;
}

/**
 * Encodes an unmasked frame header alone, so that a large payload can be written after it
 * without being copied (server side; see {@link COPY_THRESHOLD_BYTES}).
 *
 * @param opcode - One of {@link Opcode}.
 * @param payloadLength - Length of the payload that will follow, 0 .. 2^53-1.
 * @param fin - Whether this is the final fragment of its message.
 * @param rsv1 - Sets RSV1 (only for a negotiated extension).
 * @returns 2, 4 or 10 bytes.
 * @throws RangeError for an undefined opcode, a bad length, or an invalid control frame.
 */
export function encodeFrameHeader(
  opcode: number,
  payloadLength: number,
  fin: boolean,
  rsv1 = false,
): Buffer {
  assertFrame(opcode, payloadLength, fin);
  const header = Buffer.allocUnsafe(headerSize(payloadLength));
  writeHeader(header, opcode, payloadLength, fin, rsv1, false);
  return header;
}

/**
 * Encodes a close frame (RFC 6455 §5.5.1): the 2-byte status code then the UTF-8 reason, or an
 * empty payload when `code` is undefined.
 *
 * @param code - The status code, or undefined for a close frame without one.
 * @param reason - The reason; must be "" when `code` is undefined.
 * @param masked - Whether to mask (client to server).
 * @returns The whole frame.
 * @throws RangeError if `code` may not be sent (see `isValidWireCloseCode`), if a reason is given
 *   without a code, or if the reason exceeds 123 UTF-8 bytes.
 */
export function encodeCloseFrame(
  code: number | undefined,
  reason: string,
  masked: boolean,
): Buffer {
  if (code === undefined) {
    // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    // unsigned integer"; a reason cannot travel without a code.
    if (reason !== "") throw new RangeError("a close reason requires a close code");
    return encodeFrame(Opcode.CLOSE, EMPTY, true, masked);
  }
  // RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
  // frame by an endpoint"; codes outside the defined and registered ranges are invalid too.
  if (!Number.isInteger(code) || !isValidWireCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent`);
  }
  const reasonLength = Buffer.byteLength(reason, "utf8");
  // RFC 6455 §5.5: control frame payloads are at most 125 bytes, 2 of which hold the code.
  if (reasonLength > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason of ${reasonLength} UTF-8 bytes exceeds 123`);
  }
  const length = 2 + reasonLength;
  const keySize = masked ? 4 : 0;
  const frame = Buffer.allocUnsafe(2 + keySize + length);
  const keyOffset = writeHeader(frame, Opcode.CLOSE, length, true, false, masked);
  const payloadOffset = keyOffset + keySize;
  frame.writeUInt16BE(code, payloadOffset);
  frame.write(reason, payloadOffset + 2, reasonLength, "utf8");
  if (masked) {
    writeMaskKey(frame, keyOffset);
    unmaskInPlace(frame.subarray(payloadOffset), frame, keyOffset);
  }
  return frame;
}
