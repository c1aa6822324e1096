/**
 * Which close codes may travel on the wire (RFC 6455 §7.4), and reading the payload of a close
 * frame received: its code and UTF-8 reason, checked as the frame parser must (§5.5.1).
 *
 * @module
 */

import { ProtocolError } from "../errors.js";
import { CloseCode, MAX_CLOSE_REASON_BYTES } from "./constants.js";
import { FrameErrorCode } from "./frame-errors.js";
import { isValidUtf8 } from "./utf8.js";

/**
 * Whether `code` may appear in a close frame. RFC 6455 §7.4.1/§7.4.2: 1000-1003 and 1007-1011
 * are defined; 1012-1014 were registered with IANA later and are sent by real servers;
 * 1004 is reserved, and 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
 * frame by an endpoint". 3000-3999 are registered for libraries and frameworks, 4000-4999 are
 * for private use. Everything else (0-999, 1016-2999, >= 5000) is invalid.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}

/** What a valid close frame carries. */
export interface ClosePayload {
  /** The status code; 1005 (no status) when the payload was empty. */
  readonly code: number;
  /** The reason, decoded; "" when there was none. */
  readonly reason: string;
}

/**
 * Reads the payload of a received close frame (already unmasked): its code and reason, or the
 * {@link ProtocolError} it breaks (1002 for the code or length, 1007 for the reason).
 */
export function readClosePayload(data: Buffer): ClosePayload | ProtocolError {
  const length = data.length;
  if (length === 0) return { code: CloseCode.NO_STATUS, reason: "" };
  // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
  // unsigned integer (in network byte order) representing a status code".
  if (length === 1) {
    return new ProtocolError(FrameErrorCode.INVALID_CLOSE_PAYLOAD, CloseCode.PROTOCOL_ERROR, "close payload of 1 byte");
  }
  const code = data.readUInt16BE(0);
  // RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
  // frame by an endpoint"; §7.4.2: other codes outside the ranges are not defined.
  if (!isValidWireCloseCode(code)) {
    return new ProtocolError(FrameErrorCode.INVALID_CLOSE_CODE, CloseCode.PROTOCOL_ERROR, `close code ${code}`);
  }
  // RFC 6455 §5.5.1: "Following the 2-byte integer, the body MAY contain UTF-8-encoded data";
  // data that is not UTF-8 fails the connection with 1007 as in a text message (§8.1).
  if (length > 2 && !isValidUtf8(data.subarray(2))) {
    return new ProtocolError(FrameErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD, "invalid UTF-8 in a close reason");
  }
  return { code, reason: length === 2 ? "" : data.toString("utf8", 2) };
}

/**
 * The message (and close reason) of a 1009 failure: which limit was passed, in at most 55 ASCII
 * bytes for any safe-integer limit, so that it always fits the 123 bytes a close reason may
 * take (RFC 6455 §5.5.1). `what` names the thing over the limit ("message", "frame").
 */
export function tooBigReason(what: "message" | "frame", limit: number): string {
  return `${what} too big (limit ${limit} bytes)`;
}

/** The 1009 reason for a message of more than `limit` frames (see {@link tooBigReason}). */
export function tooManyFragmentsReason(limit: number): string {
  return `message too fragmented (limit ${limit} frames)`;
}

/**
 * The reason sent in the Close frame that fails a connection for `error`: for 1009 its message
 * (says which limit, see {@link tooBigReason}: a peer cut for size should learn why), empty
 * otherwise. Never more than the 123 bytes a reason may take: a longer message is left out
 * rather than cut inside a character.
 */
export function closeReasonFor(error: ProtocolError): string {
  if (error.closeCode !== CloseCode.MESSAGE_TOO_BIG) return "";
  const reason = error.message;
  return Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES ? reason : "";
}
