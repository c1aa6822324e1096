/**
 * Streaming frame parser (RFC 6455 §5): bytes in, validated messages and control frames out.
 *
 * An integer state machine (header → extended length → masking key → payload), one small
 * method per state, running over every frame of a chunk in one pass. Header fields are read byte by
 * byte, so a header split across chunks costs no copy. A payload lying inside one chunk is
 * delivered as a view of that chunk, unmasked in place; only a payload spanning chunks is copied,
 * once, when its last byte has arrived (nothing is allocated from a declared length). Fragments
 * of a message are copied into one owned, growing buffer, so a 1-byte fragment never keeps a
 * 64 KiB socket chunk alive.
 *
 * Two things happen only while a frame spans reads, never to a frame inside one chunk:
 * - the arrived part of a text payload is unmasked in place and fed to a streaming
 *   {@link Utf8Validator}, so invalid UTF-8 fails the connection as soon as it arrives rather
 *   than when the frame ends (RFC 6455 §8.1; Autobahn 6.4.3, 6.4.4);
 * - small reads are copied into an owned accumulation buffer rather than held one Buffer each,
 *   so a frame trickled one byte per read costs O(frame size) memory, not ~100 bytes per byte.
 *
 * The unread input and every read across chunk boundaries are {@link InputQueue}
 * (`./input-queue.ts`); the error codes are `./frame-errors.ts` (re-exported here); a close
 * frame's payload is read by `readClosePayload` in `./close-codes.ts`.
 *
 * @module
 */

import { ProtocolError } from "../errors.js";
import { readClosePayload, tooBigReason, tooManyFragmentsReason } from "./close-codes.js";
import { CloseCode, MAX_CONTROL_PAYLOAD_BYTES, Opcode } from "./constants.js";
import { FrameErrorCode } from "./frame-errors.js";
import { isResolved, resolveMessageLimits, type MessageLimits } from "./limits.js";
import { InputQueue } from "./input-queue.js";
import { maskInto, unmaskInPlace } from "./mask.js";
import { isValidUtf8, Utf8Validator } from "./utf8.js";

/**
 * The most bytes a compressed message whose decompressed size is at most `limit` can take on the
 * wire: deflate stores incompressible data in blocks of at most 64 KiB with 5 bytes of header
 * each, and a sender may flush per fragment; 1/256 plus 1 KiB covers both with room to spare.
 */
export function compressedBound(limit: number): number {
  return limit + Math.ceil(limit / 256) + 1024;
}

export { FrameErrorCode } from "./frame-errors.js";
const E = FrameErrorCode;

/** Receives what the parser finds, synchronously and in wire order. */
export interface FrameParserHandler {
  /**
   * A complete message. Text is already UTF-8-validated. A single-frame message lying inside one
   * chunk is a zero-copy view of that chunk (unmasked in place), or of the buffer that small reads
   * were coalesced into (never written again below its end); a fragmented message is a view of
   * a buffer the parser hands over and never touches again.
   */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping; answering it is the caller's job (RFC 6455 §5.5.2). */
  onPing(data: Buffer): void;
  /** A pong. */
  onPong(data: Buffer): void;
  /**
   * A valid close frame: code 1005 and "" when its payload was empty. The parser has stopped and
   * discards anything that follows (RFC 6455 §5.5.1: "The application MUST NOT send any more
   * data frames after sending a Close frame").
   */
  onClose(code: number, reason: string): void;
  /** The first protocol violation; the parser has stopped and discards all further input. */
  onError(error: ProtocolError): void;
  /**
   * A complete message whose first frame had RSV1 set (only with `perMessageDeflate`): its
   * payload is still compressed, so it is neither UTF-8-checked nor limited here beyond its wire
   * size. The parser is suspended when this is called: it reads nothing more until
   * {@link FrameParser.resume} (so that what follows is handled after the inflated message).
   */
  onCompressedMessage?(data: Buffer, isBinary: boolean): void;
}

/** Options of {@link FrameParser}: the role, and limits (see `MessageLimits` for defaults). */
export interface FrameParserOptions extends Partial<MessageLimits> {
  /** "server" expects masked frames, "client" unmasked ones (RFC 6455 §5.1). */
  readonly role: "server" | "client";
  /**
   * permessage-deflate was negotiated (RFC 7692 §6): RSV1 marks the first frame of a compressed
   * message, delivered through `onCompressedMessage`. Default false: RSV1 fails with 1002.
   */
  readonly perMessageDeflate?: boolean;
}

// Parser states: small integers so that the dispatch is a jump table.
const HEADER = 0;
const LENGTH_16 = 1;
const LENGTH_64 = 2;
const MASK_KEY = 3;
const PAYLOAD = 4;
const STOPPED = 5;
/** Waiting for a compressed message to be inflated (see {@link FrameParser.resume}). */
const SUSPENDED = 6;

const PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR; // 1002
const INVALID_PAYLOAD = CloseCode.INVALID_PAYLOAD; // 1007
const TOO_BIG = CloseCode.MESSAGE_TOO_BIG; // 1009

/** First capacity of the buffer assembling a fragmented message; it doubles from there. */
const MIN_MESSAGE_CAPACITY_BYTES = 1024;

/** Stands for the key of unmasked frames, which is never used (written to harmlessly). */
const NO_KEY = new Uint8Array(8);

/** What a parser reads of its options (see {@link configOf}). */
interface ParserConfig {
  readonly server: boolean;
  readonly perMessageDeflate: boolean;
  readonly maxFrameBytes: number;
  readonly maxMessageBytes: number;
  readonly maxFragments: number;
}

/** The config of each resolved options object (a server's, shared by its connections). */
const CONFIGS = new WeakMap<object, ParserConfig>();

/**
 * The parser's view of `options`, one object for every parser made with the same resolved
 * options: five fields fewer per connection (40 B) for one more load when a limit is read.
 */
function configOf(options: FrameParserOptions): ParserConfig {
  const shared = isResolved(options);
  const cached = shared ? CONFIGS.get(options) : undefined;
  if (cached !== undefined) return cached;
  const limits = resolveMessageLimits(options);
  const config: ParserConfig = Object.freeze({
    server: options.role === "server",
    perMessageDeflate: options.perMessageDeflate === true,
    maxFrameBytes: limits.maxFrameBytes,
    maxMessageBytes: limits.maxMessageBytes,
    maxFragments: limits.maxFragmentsPerMessage,
  });
  if (shared) CONFIGS.set(options, config);
  return config;
}

/**
 * The streaming frame parser of one connection. `push` never throws for any peer input: a
 * violation is reported once through `onError` and everything after it is discarded.
 *
 * @example
 * ```ts
 * const parser = new FrameParser(handler, { role: "server", maxMessageBytes: 64 * 1024 });
 * socket.on("data", (chunk) => parser.push(chunk));
 * ```
 */
export class FrameParser {
  readonly #handler: FrameParserHandler;
  /** The role and limits, shared with the other parsers of the same options. */
  readonly #config: ParserConfig;
  /** Whether the message being read is compressed (RSV1 on its first frame, RFC 7692 §6). */
  #compressed = false;

  #state: number = HEADER;
  /** True while the loop runs, so that a `push` from inside a handler only queues its chunk. */
  #running = false;
  /** Unread input, consumed from the front. */
  readonly #input = new InputQueue();

  // The frame being read.
  #fin = false;
  #opcode = 0;
  #masked = false;
  #payloadLength = 0;
  /**
   * The masking key in bytes 0-3; {@link FrameParser.#validateArrived} repeats it in bytes 4-7 so
   * that `#maskKey[p .. p+4]` is the key at phase p, for a payload unmasked in several parts.
   */
  #maskKey: Uint8Array | null = null; // allocated with the first masked frame: idle connections have none
  /** Payload bytes of the current text frame already unmasked in place and validated. */
  #validated = 0;

  // The fragmented message being assembled (#messageOpcode 0: none open).
  #messageOpcode = 0;
  #fragments = 0;
  /** Declared payload bytes of the message so far, the current frame included. */
  #messageBytes = 0;
  #message: Buffer | null = null;
  #messageLength = 0;
  #utf8: Utf8Validator | null = null;

  /**
   * @param handler - Receives messages, control frames and the first error.
   * @param options - The role and optional limits.
   * @throws RangeError if a limit is not a positive integer.
   */
  constructor(handler: FrameParserHandler, options: FrameParserOptions) {
    this.#handler = handler;
    this.#config = configOf(options);
  }

  /** Whether the parser has stopped (after a close frame, an error or {@link FrameParser.stop}). */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Whether the parser waits for {@link FrameParser.resume} after a compressed message. */
  get suspended(): boolean {
    return this.#state === SUSPENDED;
  }

  /**
   * Continues after a compressed message was handled (inflated and delivered): parses what is
   * already buffered, synchronously. Does nothing unless suspended.
   */
  resume(): void {
    if (this.#state !== SUSPENDED) return;
    this.#state = HEADER;
    if (this.#running) return; // resumed from inside a handler: the running loop continues
    this.#running = true;
    try {
      this.#run();
      this.#input.releaseIfEmpty();
    } finally {
      this.#running = false;
    }
  }

  /** Bytes held waiting for the rest of a frame (a partial header or payload). */
  get bufferedBytes(): number {
    return this.#input.length;
  }

  /**
   * How many buffers hold the {@link FrameParser.bufferedBytes}: about one per 1 KiB at most,
   * however the peer slices its writes, since small reads are coalesced (for diagnostics).
   */
  get bufferedChunks(): number {
    return this.#input.chunkCount;
  }

  /**
   * Parses the next bytes from the peer, calling the handler synchronously for everything that
   * completes. Masked payloads are unmasked in place: the chunk may be modified (a small chunk
   * arriving while a frame is incomplete is copied, not kept). Ignored once stopped.
   *
   * @param chunk - The next bytes read from the connection.
   */
  push(chunk: Buffer): void {
    const length = chunk.length;
    if (this.#state === STOPPED || length === 0) return;
    this.#input.push(chunk);
    if (this.#running) return;
    this.#running = true;
    try {
      this.#run();
      this.#input.releaseIfEmpty(); // an idle connection keeps no accumulation buffer
    } finally {
      this.#running = false; // a handler that throws must not wedge the parser
    }
  }

  /** Discards all further input; safe to call from inside a handler (the loop stops at once). */
  stop(): void {
    this.#state = STOPPED;
    this.#input.clear();
    this.#validated = 0;
    this.#message = null;
    this.#messageLength = 0;
    this.#utf8 = null;
    this.#compressed = false;
  }

  #run(): void {
    for (;;) {
      let progressed: boolean;
      switch (this.#state) {
        case HEADER:
          progressed = this.#readHeader();
          break;
        case LENGTH_16:
          progressed = this.#readLength16();
          break;
        case LENGTH_64:
          progressed = this.#readLength64();
          break;
        case MASK_KEY:
          progressed = this.#readMaskKey();
          break;
        case PAYLOAD:
          progressed = this.#readPayload();
          break;
        default:
          return;
      }
      if (!progressed) return;
    }
  }

  #readHeader(): boolean {
    const input = this.#input;
    if (input.length < 2) return false;
    // Fast path: the two bytes (and below, the masking key) lie in the current chunk, as they
    // do for every frame but one cut by a read: read them by index, and consume them (with the
    // key) in one skip below. A failure in between needs no skip: it stops and clears the input.
    const chunk = input.first!;
    const at = input.offset;
    const inChunk = chunk.length - at;
    let b0: number;
    let b1: number;
    let pending = 0; // header bytes read from `chunk` by index and not consumed yet
    if (inChunk >= 2) {
      b0 = chunk[at]!;
      b1 = chunk[at + 1]!;
      pending = 2;
    } else {
      b0 = input.readByte();
      b1 = input.readByte();
    }
    // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings
    // for non-zero values. If a nonzero value is received and none of the negotiated extensions
    // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
    // WebSocket Connection_." Only permessage-deflate (RSV1) may be negotiated.
    if ((b0 & 0x70) !== 0 && !this.#acceptReservedBits(b0)) return false;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const length7 = b1 & 0x7f;
    if (!this.#acceptOpcode(opcode, fin, length7)) return false;
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#config.server) {
      // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not
      // masked" and "A client MUST close a connection if it detects a masked frame."
      return this.#config.server
        ? this.#fail(E.UNMASKED_FRAME, PROTOCOL_ERROR, "unmasked frame from a client")
        : this.#fail(E.MASKED_FRAME, PROTOCOL_ERROR, "masked frame from a server");
    }
    this.#fin = fin;
    this.#opcode = opcode;
    this.#masked = masked;
    if (length7 >= 126) {
      if (pending !== 0) input.skip(chunk, pending);
      this.#state = length7 === 126 ? LENGTH_16 : LENGTH_64;
      return true;
    }
    if (!this.#haveLength(length7)) return false;
    if (this.#state === MASK_KEY && inChunk >= 6) {
      const key = (this.#maskKey ??= new Uint8Array(8));
      key[0] = chunk[at + 2]!;
      key[1] = chunk[at + 3]!;
      key[2] = chunk[at + 4]!;
      key[3] = chunk[at + 5]!;
      input.skip(chunk, 6);
      this.#state = PAYLOAD;
    } else if (pending !== 0) {
      input.skip(chunk, pending);
    }
    return true;
  }

  /**
   * RFC 7692 §6: with permessage-deflate, RSV1 is "the 'Per-Message Compressed' bit": set on the
   * first frame of a compressed message only; "An endpoint MUST NOT set the 'Per-Message
   * Compressed' bit of control frames and non-first fragments of a data message", and a
   * receiver fails the connection otherwise. RSV2 and RSV3 stay undefined.
   */
  #acceptReservedBits(b0: number): boolean {
    const opcode = b0 & 0x0f;
    if (!this.#config.perMessageDeflate || (b0 & 0x30) !== 0) {
      return this.#fail(E.RESERVED_BITS, PROTOCOL_ERROR, "RSV bit set");
    }
    if (opcode !== Opcode.TEXT && opcode !== Opcode.BINARY) {
      return this.#fail(E.RESERVED_BITS, PROTOCOL_ERROR, "RSV1 on a control or continuation frame");
    }
    // A new text/binary frame inside an open message fails in #acceptOpcode right after.
    this.#compressed = true;
    return true;
  }

  /** Checks the opcode against FIN, the 7-bit length and the open message; false on failure. */
  #acceptOpcode(opcode: number, fin: boolean, length7: number): boolean {
    if (opcode >= Opcode.CLOSE) {
      // RFC 6455 §5.2: opcodes 0xB-0xF "are reserved for further control frames"; "If an
      // unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
      if (opcode > Opcode.PONG) {
        return this.#fail(E.INVALID_OPCODE, PROTOCOL_ERROR, `opcode ${opcode}`);
      }
      // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and
      // MUST NOT be fragmented." (126 and 127 announce an extended length, hence > 125.)
      if (!fin) {
        return this.#fail(E.FRAGMENTED_CONTROL_FRAME, PROTOCOL_ERROR, "fragmented control frame");
      }
      if (length7 > MAX_CONTROL_PAYLOAD_BYTES) {
        return this.#fail(E.CONTROL_FRAME_TOO_LONG, PROTOCOL_ERROR, "control frame over 125 bytes");
      }
    } else if (opcode === Opcode.CONTINUATION) {
      // RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN bit clear
      // and an opcode other than 0, followed by zero or more frames with the FIN bit clear and
      // the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode
      // of 0." A continuation frame outside such a message is invalid.
      if (this.#messageOpcode === 0) {
        return this.#fail(E.UNEXPECTED_CONTINUATION, PROTOCOL_ERROR, "no message to continue");
      }
    } else if (opcode <= Opcode.BINARY) {
      // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
      // fragments of another message unless an extension has been negotiated that can interpret
      // the interleaving."
      if (this.#messageOpcode !== 0) {
        return this.#fail(E.EXPECTED_CONTINUATION, PROTOCOL_ERROR, "new message inside another");
      }
    } else {
      // RFC 6455 §5.2: opcodes 0x3-0x7 "are reserved for further non-control frames".
      return this.#fail(E.INVALID_OPCODE, PROTOCOL_ERROR, `opcode ${opcode}`);
    }
    return true;
  }

  #readLength16(): boolean {
    if (this.#input.length < 2) return false;
    return this.#haveLength((this.#input.readByte() << 8) | this.#input.readByte());
  }

  #readLength64(): boolean {
    if (this.#input.length < 8) return false;
    const high = this.#input.readUint32();
    const low = this.#input.readUint32();
    // RFC 6455 §5.2: in the 64-bit form "the most significant bit MUST be 0".
    if (high >= 0x80000000) {
      return this.#fail(E.INVALID_FRAME_LENGTH, PROTOCOL_ERROR, "64-bit length with top bit set");
    }
    // Not exact above 2^53, but then it exceeds every limit anyway, which is all that matters.
    // Non-minimal length encodings are accepted: RFC 6455 §5.2 puts the "minimal number of
    // bytes" MUST on the sender and asks nothing of the receiver.
    return this.#haveLength(high * 0x100000000 + low);
  }

  /** Checks the limits from the header alone, before a byte of payload is buffered. */
  #haveLength(length: number): boolean {
    const opcode = this.#opcode;
    if (opcode < Opcode.CLOSE) {
      // RFC 6455 §10.4: "implementations SHOULD impose a limit on frame sizes and the total
      // message size after reassembly from multiple frames"; 1009 is the code for "a message
      // that is too big for it to process" (§7.4.1).
      if (length > this.#config.maxFrameBytes && !this.#withinCompressedBound(length, this.#config.maxFrameBytes)) {
        // A frame over a limit at least the message limit is a message over it too: say so.
        const reason = this.#config.maxFrameBytes >= this.#config.maxMessageBytes
          ? tooBigReason("message", this.#config.maxMessageBytes)
          : tooBigReason("frame", this.#config.maxFrameBytes);
        return this.#fail(E.FRAME_TOO_BIG, TOO_BIG, reason);
      }
      const total = opcode === Opcode.CONTINUATION ? this.#messageBytes + length : length;
      if (total > this.#config.maxMessageBytes && !this.#withinCompressedBound(total, this.#config.maxMessageBytes)) {
        return this.#fail(E.MESSAGE_TOO_BIG, TOO_BIG, tooBigReason("message", this.#config.maxMessageBytes));
      }
      if (opcode === Opcode.CONTINUATION) {
        // A compressed message gets the wire allowance of the byte limits here too: the default
        // bound is one frame per byte, and its bytes may pass maxMessageBytes on the wire.
        if (this.#fragments >= this.#config.maxFragments && !this.#withinCompressedBound(this.#fragments + 1, this.#config.maxFragments)) {
          return this.#fail(E.TOO_MANY_FRAGMENTS, TOO_BIG, tooManyFragmentsReason(this.#config.maxFragments));
        }
        this.#fragments++;
        this.#messageBytes = total;
      } else if (!this.#fin) {
        this.#messageOpcode = opcode;
        this.#fragments = 1;
        this.#messageBytes = length;
      }
    }
    this.#payloadLength = length;
    this.#state = this.#masked ? MASK_KEY : PAYLOAD;
    return true;
  }

  /**
   * The limits are on the decompressed size (checked while inflating); deflate may make
   * incompressible data slightly larger, so a compressed message may exceed the limit on the
   * wire by a little (see {@link compressedBound}). Only runs when a limit is exceeded.
   */
  #withinCompressedBound(length: number, limit: number): boolean {
    return this.#compressed && length <= compressedBound(limit);
  }

  #readMaskKey(): boolean {
    if (this.#input.length < 4) return false;
    const key = (this.#maskKey ??= new Uint8Array(8));
    key[0] = this.#input.readByte();
    key[1] = this.#input.readByte();
    key[2] = this.#input.readByte();
    key[3] = this.#input.readByte();
    this.#state = PAYLOAD;
    return true;
  }

  #readPayload(): boolean {
    const input = this.#input;
    const length = this.#payloadLength;
    if (input.length < length) return this.#validateArrived();
    const opcode = this.#opcode;
    if (this.#messageOpcode !== 0 && opcode < Opcode.CLOSE) return this.#readFragment(length);
    const validated = this.#validated; // 0 unless the frame spanned reads
    let data: Buffer;
    const first = input.first; // undefined only for an empty payload with nothing left
    const at = input.offset;
    if (first !== undefined && at + length <= first.length) {
      // The common case, a payload inside one chunk: a view, consumed here rather than through
      // take(), which would read the chunk and offset again (callgrind: parser-loop.ts).
      input.skip(first, length);
      data = first.subarray(at, at + length);
      if (this.#masked) {
        unmaskInPlace(validated === 0 ? data : data.subarray(validated), this.#maskKey!, validated & 3);
      }
    } else if (this.#masked && validated === 0 && first !== undefined) {
      data = input.takeUnmasked(length, this.#maskKey!); // spans reads: copied and unmasked in one pass
    } else {
      data = input.take(length);
      if (this.#masked) {
        unmaskInPlace(validated === 0 ? data : data.subarray(validated), this.#maskKey!, validated & 3);
      }
    }
    // The state is set before any handler runs, so that a stop() from inside it sticks.
    this.#state = HEADER;
    this.#validated = 0;
    switch (opcode) {
      case Opcode.TEXT:
        if (this.#compressed) return this.#deliverCompressed(data, false);
        // RFC 6455 §8.1: an endpoint that finds a text payload is not valid UTF-8 "MUST _Fail
        // the WebSocket Connection_"; §7.4.1: 1007 is for "data within a message that was not
        // consistent with the type of the message". One isUtf8 over a whole frame; the rest of
        // a frame validated in part as it arrived goes through the streaming validator.
        if (validated === 0 ? !isValidUtf8(data) : !this.#endUtf8(data.subarray(validated))) {
          return this.#fail(E.INVALID_UTF8, INVALID_PAYLOAD, "invalid UTF-8 in a text message");
        }
        this.#handler.onMessage(data, false);
        return true;
      case Opcode.BINARY:
        if (this.#compressed) return this.#deliverCompressed(data, true);
        this.#handler.onMessage(data, true);
        return true;
      case Opcode.PING:
        this.#handler.onPing(data);
        return true;
      case Opcode.PONG:
        this.#handler.onPong(data);
        return true;
      default:
        return this.#readClose(data);
    }
  }

  /**
   * Unmasks in place and validates the bytes of a text frame that arrived since the last call:
   * RFC 6455 §8.1 fail-fast within a frame, so that a peer cannot make us hold a frame that is
   * already known to be invalid (Autobahn 6.4.3, 6.4.4). Kept out of {@link FrameParser.#readPayload}
   * so that the path of a frame inside one chunk stays small. Returns false: the frame is
   * incomplete.
   */
  #validateArrived(): false {
    const opcode = this.#opcode === Opcode.CONTINUATION ? this.#messageOpcode : this.#opcode;
    // A compressed payload is validated once inflated.
    if (opcode !== Opcode.TEXT || this.#input.length === this.#validated || this.#compressed) return false;
    // A client's parser (unmasked frames) never allocates a key.
    const key = this.#maskKey ?? NO_KEY;
    key[4] = key[0]!;
    key[5] = key[1]!;
    key[6] = key[2]!;
    key[7] = key[3]!;
    const validator = this.#utf8 ?? (this.#utf8 = new Utf8Validator());
    // Nothing is consumed while a payload is incomplete, so the new bytes are the newest
    // `length - #validated` pending ones.
    const count = this.#input.length - this.#validated;
    if (!this.#input.unmaskAndValidateNewest(count, this.#masked ? key : null, this.#validated, validator)) {
      return this.#fail(E.INVALID_UTF8, INVALID_PAYLOAD, "invalid UTF-8 in a text message");
    }
    this.#validated += count;
    return false;
  }

  /**
   * Validates the rest of a single-frame text message checked in part as it arrived. A validator
   * that ends clean is ready for the next message; one that fails is dropped by stop().
   */
  #endUtf8(rest: Buffer): boolean {
    const validator = this.#utf8!;
    return validator.push(rest) && validator.end();
  }

  /** Appends a fragment to the message being assembled, delivering it on the final one. */
  #readFragment(length: number): boolean {
    const start = this.#messageLength;
    const end = start + length;
    const validated = this.#validated; // bytes already unmasked in the chunks and validated
    this.#validated = 0;
    const message = this.#capacity(end);
    const chunk = this.#input.first;
    if (validated === 0 && chunk !== undefined && this.#input.offset + length <= chunk.length) {
      // The whole fragment is in one chunk: copy (and unmask) it in one pass.
      const from = this.#input.offset;
      if (this.#masked) {
        maskInto(chunk.subarray(from, from + length), message, start, this.#maskKey!, 0);
      } else {
        chunk.copy(message, start, from, from + length);
      }
      this.#input.skip(chunk, length);
    } else if (length > 0) {
      this.#input.copyTo(message, start, length);
      if (this.#masked) {
        unmaskInPlace(message.subarray(start + validated, end), this.#maskKey!, validated & 3);
      }
    }
    this.#messageLength = end;
    this.#state = HEADER;
    if (this.#messageOpcode === Opcode.TEXT && !this.#compressed) {
      // Fail fast (RFC 6455 §8.1): on the fragment that makes valid UTF-8 impossible, not at the
      // end of the message.
      const validator = this.#utf8 ?? (this.#utf8 = new Utf8Validator());
      const rest = message.subarray(start + validated, end);
      if (!validator.push(rest) || (this.#fin && !validator.end())) {
        return this.#fail(E.INVALID_UTF8, INVALID_PAYLOAD, "invalid UTF-8 in a text message");
      }
    }
    if (!this.#fin) return true;
    const isBinary = this.#messageOpcode === Opcode.BINARY;
    // Hand the buffer over: the next message gets a new one.
    this.#message = null;
    this.#messageLength = 0;
    this.#messageOpcode = 0;
    this.#fragments = 0;
    this.#messageBytes = 0;
    this.#utf8?.reset();
    if (this.#compressed) return this.#deliverCompressed(message.subarray(0, end), isBinary);
    this.#handler.onMessage(message.subarray(0, end), isBinary);
    return true;
  }

  /** Suspends, then hands a compressed message over (see `onCompressedMessage`). */
  #deliverCompressed(data: Buffer, isBinary: boolean): boolean {
    this.#compressed = false;
    this.#state = SUSPENDED;
    this.#handler.onCompressedMessage!(data, isBinary);
    return this.#state === HEADER; // resumed synchronously: go on
  }

  /** Validates a close frame, stops, and reports it (RFC 6455 §5.5.1). */
  #readClose(data: Buffer): boolean {
    const close = readClosePayload(data);
    this.stop();
    if (close instanceof ProtocolError) this.#handler.onError(close);
    else this.#handler.onClose(close.code, close.reason);
    return false;
  }

  /** Stops and reports `code`; returns false so that the caller's loop ends. */
  #fail(code: FrameErrorCode, closeCode: number, message: string): false {
    this.stop();
    this.#handler.onError(new ProtocolError(code, closeCode, message));
    return false;
  }

  /**
   * The message buffer with room for `needed` bytes, doubling (capped at the most the message
   * may take on the wire), so that a message costs O(its size) in copies however it is
   * fragmented. The cap must be the wire bound, not `maxMessageBytes`: a compressed message may
   * pass that by a little, and a buffer grown to exactly `needed` there would be copied whole
   * for every further fragment (quadratic in the number of fragments).
   */
  #capacity(needed: number): Buffer {
    const current = this.#message;
    if (current !== null && needed <= current.length) return current;
    const wanted = current === null ? MIN_MESSAGE_CAPACITY_BYTES : current.length * 2;
    const cap = this.#compressed ? compressedBound(this.#config.maxMessageBytes) : this.#config.maxMessageBytes;
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(wanted, cap)));
    if (current !== null) current.copy(grown, 0, 0, this.#messageLength);
    this.#message = grown;
    return grown;
  }
}
