/**
 * The bytes a node publishes on a Redis channel: a small binary header, then the payload as it
 * is (the UTF-8 of a text message, the bytes of a binary one), never JSON or base64.
 *
 * ```
 * offset 0  FORMAT (1)          a version byte, so a future format can be told apart
 *        1  kind                0 room message, 1 message to everyone, 2 node message
 *        2  opcode              1 text, 2 binary (RFC 6455's opcodes)
 *        3  flags               bit 0: every node delivers it, the publishing one too
 *                               (publications made for the application to publish itself);
 *                               the other bits are reserved (0)
 *        4  N                   length of the node id
 *        5  node id (N bytes)   the publishing node, so it skips its own publications
 *    5 + N  payload
 * ```
 *
 * @module
 */

import { WyndError } from "../index.js";

/** What a publication is for. */
export const Kind = { ROOM: 0, EVERYONE: 1, NODE: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const FORMAT = 1;
const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
const FIXED_BYTES = 5;
/** Flag: the publishing node delivers it too (see the format above). */
export const EVERY_NODE = 1;

/** A decoded envelope from another node. */
export interface Envelope {
  readonly kind: Kind;
  readonly isBinary: boolean;
  /** A view into the received buffer. */
  readonly payload: Buffer;
}

/** Encodes and decodes the envelopes of one node (its id is written and recognised). */
export class EnvelopeCodec {
  readonly #nodeId: Buffer;

  /** `nodeId`: ASCII, 1 to 255 bytes. */
  constructor(nodeId: string) {
    const id = Buffer.from(nodeId, "latin1");
    if (id.byteLength === 0 || id.byteLength > 255) throw new RangeError("a node id takes 1 to 255 bytes");
    this.#nodeId = id;
  }

  /**
   * One buffer with the header and `data` (a string as text, bytes as binary), copied; `flags`
   * 0 or {@link EVERY_NODE}.
   */
  encode(kind: Kind, data: string | Uint8Array, flags = 0): Buffer {
    const id = this.#nodeId;
    const start = FIXED_BYTES + id.byteLength;
    const isText = typeof data === "string";
    const length = isText ? Buffer.byteLength(data, "utf8") : data.byteLength;
    const out = Buffer.allocUnsafe(start + length);
    out[0] = FORMAT;
    out[1] = kind;
    out[2] = isText ? OPCODE_TEXT : OPCODE_BINARY;
    out[3] = flags;
    out[4] = id.byteLength;
    id.copy(out, FIXED_BYTES);
    if (isText) out.write(data, start, length, "utf8");
    else out.set(data, start);
    return out;
  }

  /**
   * Decodes `message`: undefined when this node published it (it delivered it locally already),
   * unless it is flagged {@link EVERY_NODE}.
   * Throws `WyndError` `ERR_ADAPTER_BAD_ENVELOPE` for bytes that are not an envelope.
   */
  decode(message: Buffer): Envelope | undefined {
    if (message.byteLength < FIXED_BYTES || message[0] !== FORMAT) throw badEnvelope("unknown format");
    const kind = message[1]!;
    const opcode = message[2]!;
    const idLength = message[4]!;
    const start = FIXED_BYTES + idLength;
    if (kind > Kind.NODE || (opcode !== OPCODE_TEXT && opcode !== OPCODE_BINARY) || message.byteLength < start) {
      throw badEnvelope("bad header");
    }
    const id = this.#nodeId;
    const own = idLength === id.byteLength && message.compare(id, 0, idLength, FIXED_BYTES, start) === 0;
    if (own && (message[3]! & EVERY_NODE) === 0) return undefined;
    return { kind: kind as Kind, isBinary: opcode === OPCODE_BINARY, payload: message.subarray(start) };
  }
}

function badEnvelope(why: string): WyndError {
  return new WyndError("ERR_ADAPTER_BAD_ENVELOPE", `a message on a wynd channel is not a wynd envelope (${why})`);
}
