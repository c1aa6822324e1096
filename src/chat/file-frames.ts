/**
 * File sharing frames (both protocols): one binary WebSocket message is a 4-byte big-endian
 * header length H, then H bytes of UTF-8 JSON header, then the file's bytes.
 *
 * - client → server header: `{ name, type, size }` — `size` equals the bytes that follow, `name`
 *   is 1–255 characters without path separators or control characters, `type` a MIME type;
 * - server → room header: `{ type: "file", room, from, name, mime, size, ts }`.
 *
 * @module
 */

import { ErrorCode } from "./events.js";

/** Default largest file, in bytes: 5 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

/** The largest header accepted, in bytes: a name, a type and a size fit many times over. */
export const MAX_FILE_HEADER_BYTES = 4096;

/** The longest file name, in characters. */
export const MAX_FILE_NAME_LENGTH = 255;

/** A file as a client sent it. */
export interface IncomingFile {
  readonly name: string;
  /** The client's MIME type (relayed as `mime`). */
  readonly type: string;
  readonly size: number;
  /** The file's bytes (a view of the received message). */
  readonly bytes: Uint8Array;
}

/** The header of a relayed file. */
export interface FileHeader {
  readonly type: "file";
  readonly room: string;
  readonly from: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly ts: number;
}

/** A refused file frame: the error code and message sent back to the sender. */
export interface FileError {
  readonly code: typeof ErrorCode.BAD_FILE | typeof ErrorCode.FILE_TOO_LARGE;
  readonly message: string;
}

const BAD_NAME = /[/\\\p{C}]/u;
// type "/" subtype, RFC 6838 restricted-name characters, optional parameters.
const MIME = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;[\x20-\x7e]*)?$/;

function bad(message: string): FileError {
  return { code: ErrorCode.BAD_FILE, message };
}

/** Parses a client's file frame; a {@link FileError} when malformed or over `maxFileBytes`. */
export function parseFileFrame(data: Uint8Array, maxFileBytes: number): IncomingFile | FileError {
  if (data.length < 4) return bad("a file frame starts with a 4-byte header length");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = view.getUint32(0);
  if (headerLength > MAX_FILE_HEADER_BYTES) return bad(`the file header is over ${MAX_FILE_HEADER_BYTES} bytes`);
  if (4 + headerLength > data.length) return bad("the file header is longer than the frame");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(4, 4 + headerLength)));
  } catch {
    return bad("the file header is not UTF-8 JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return bad("the file header must be a JSON object");
  const { name, type, size } = header as Record<string, unknown>;
  const bytes = data.subarray(4 + headerLength);
  if (bytes.length > maxFileBytes || (typeof size === "number" && size > maxFileBytes)) {
    return { code: ErrorCode.FILE_TOO_LARGE, message: `File too large (max ${maxFileBytes} bytes)` };
  }
  if (typeof name !== "string" || name.length === 0 || [...name].length > MAX_FILE_NAME_LENGTH || BAD_NAME.test(name) || name === "." || name === "..") {
    return bad(`the file name must be 1-${MAX_FILE_NAME_LENGTH} characters, without path separators or control characters`);
  }
  if (typeof type !== "string" || !MIME.test(type)) return bad("the file type must be a MIME type such as text/plain");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size !== bytes.length) {
    return bad(`the file header's size must equal the ${bytes.length} bytes that follow it`);
  }
  return { name, type, size, bytes };
}

/** Whether `value` is a {@link FileError} rather than a file. */
export function isFileError(value: IncomingFile | FileError): value is FileError {
  return "code" in value;
}

/** Builds a file frame: the header length, the JSON header, the bytes. */
export function encodeFileFrame(header: object, bytes: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const frame = Buffer.allocUnsafe(4 + json.length + bytes.length);
  frame.writeUInt32BE(json.length, 0);
  json.copy(frame, 4);
  frame.set(bytes, 4 + json.length);
  return frame;
}
