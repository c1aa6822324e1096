/**
 * Plain reference implementations, written for clarity, not speed: what the optimised code of
 * `src/protocol/` is measured against (and checked against, before timing).
 *
 * @module
 */

import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §5.3 as written: octet i XOR key octet i mod 4, in place. */
export function referenceUnmask(data: Uint8Array, key: Uint8Array): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key[i % 4]!;
}

/** RFC 3629 validation, one byte at a time (the table of §4). */
export function referenceIsUtf8(bytes: Uint8Array): boolean {
  const state = { needed: 0, low: 0x80, high: 0xbf };
  for (let i = 0; i < bytes.length; i++) if (!referenceUtf8Step(state, bytes[i]!)) return false;
  return state.needed === 0;
}

/** One byte of the RFC 3629 automaton; `state` carries the open sequence across fragments. */
export function referenceUtf8Step(state: { needed: number; low: number; high: number }, byte: number): boolean {
  if (state.needed === 0) {
    if (byte <= 0x7f) return true;
    if (byte >= 0xc2 && byte <= 0xdf) state.needed = 1;
    else if (byte >= 0xe0 && byte <= 0xef) {
      state.needed = 2;
      if (byte === 0xe0) state.low = 0xa0;
      if (byte === 0xed) state.high = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      state.needed = 3;
      if (byte === 0xf0) state.low = 0x90;
      if (byte === 0xf4) state.high = 0x8f;
    } else return false;
    return true;
  }
  if (byte < state.low || byte > state.high) return false;
  state.needed--;
  state.low = 0x80;
  state.high = 0xbf;
  return true;
}

/** A frame header built field by field, then concatenated with the payload. */
export function referenceEncodeFrame(opcode: number, payload: Uint8Array, masked: boolean, key?: Uint8Array): Buffer {
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const maskKey = key ?? Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload);
  referenceUnmask(body, maskKey);
  return Buffer.concat([header, maskKey, body]);
}

/** A message as the reference parser reports it. */
export interface ReferenceMessage {
  readonly opcode: number;
  readonly data: Buffer;
}

/**
 * A straightforward frame parser: concatenate what is buffered with the new chunk, then cut
 * whole frames off the front, copying and unmasking each payload. No fragmentation support
 * (every frame FIN) — enough for the cases measured.
 */
export class ReferenceParser {
  #buffer = Buffer.alloc(0);
  readonly messages: ReferenceMessage[] = [];

  push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const keyOffset = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const data = Buffer.from(b.subarray(offset, offset + length));
      if (masked) referenceUnmask(data, b.subarray(keyOffset, keyOffset + 4));
      if (opcode === 1 && !referenceIsUtf8(data)) throw new Error("invalid UTF-8");
      this.messages.push({ opcode, data });
      this.#buffer = b.subarray(offset + length);
    }
  }
}

/** Parses and validates an upgrade request the obvious way, and builds the 101 response. */
export function referenceHandshake(request: Buffer): Buffer {
  const text = request.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) throw new Error("incomplete");
  const [requestLine, ...lines] = text.slice(0, end).split("\r\n");
  const [method, , version] = (requestLine ?? "").split(" ");
  if (method !== "GET" || version !== "HTTP/1.1") throw new Error("bad request line");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error("bad header");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  if (!/\bwebsocket\b/i.test(headers.get("upgrade") ?? "")) throw new Error("no upgrade");
  if (!/\bupgrade\b/i.test(headers.get("connection") ?? "")) throw new Error("no connection: upgrade");
  if (headers.get("sec-websocket-version") !== "13") throw new Error("bad version");
  const key = headers.get("sec-websocket-key") ?? "";
  if (Buffer.from(key, "base64").length !== 16) throw new Error("bad key");
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  return Buffer.from(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    "latin1",
  );
}
