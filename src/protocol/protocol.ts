/**
 * The per-connection protocol state machine, without I/O: bytes in through
 * {@link Protocol.receiveData}, events out through a {@link ProtocolHandler}, bytes out through
 * {@link ProtocolHandler.write}. The transport binds it to a socket; tests drive it with bytes.
 *
 * It owns what RFC 6455 says about the *order* of things: no data after a Close frame was sent
 * (§5.5.1), a Close frame answered with a Close frame echoing the code (§5.5.1), a protocol
 * violation turned into a Close frame with the right code at one boundary (§7.1.7).
 *
 * @module
 */

import { closeReasonFor } from "./close-codes.js";
import { MAX_CONTROL_PAYLOAD_BYTES, Opcode } from "./constants.js";
import type { ProtocolError } from "../errors.js";
import { InvalidStateError } from "../errors.js";
import {
  COPY_THRESHOLD_BYTES,
  encodeCloseFrame,
  encodeFrame,
  encodeFrameHeader,
  encodeTextFrame,
} from "./frame-encoder.js";
import { FrameParser, type FrameParserHandler } from "./frame-parser.js";
import type { MessageLimits } from "./limits.js";

/** The states of RFC 6455 §4 and §7, as a WebSocket API user sees them. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
/** One of {@link ReadyState}'s values. */
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** Which end of the connection this is. Servers expect masked frames, clients send them. */
export type Role = "server" | "client";

/** What the protocol tells its owner. Every call is synchronous, in wire order. */
export interface ProtocolHandler {
  /** Bytes to send to the peer, in order. The owner batches them into as few writes as it can. */
  write(chunk: Buffer): void;
  /**
   * Optional: a whole unmasked frame (server side) with a payload of at most
   * `COPY_THRESHOLD_BYTES` — bytes, or a string whose UTF-8 is the payload — for the owner to
   * encode where it likes (with `encodeFrameInto`), in order with `write`. Without it such
   * frames come through `write` as one Buffer each.
   */
  writeFrame?(opcode: number, payload: Uint8Array | string, fin: boolean): void;
  /** A complete message; text is valid UTF-8. May be a view of the chunk passed to receiveData. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping arrived. The owner decides when to answer (it knows the backpressure). */
  onPing(data: Buffer): void;
  /** A pong arrived. */
  onPong(data: Buffer): void;
  /**
   * The peer's Close frame arrived (code 1005 when it carried none). If we had not sent a Close
   * frame yet, the echo has already been written when this is called.
   */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke the protocol; a Close frame with `error.closeCode` has been written. */
  onProtocolError(error: ProtocolError): void;
  /**
   * A compressed message (with `perMessageDeflate`). Receiving is suspended until
   * {@link Protocol.resumeReceiving}: inflate it, deliver it, then resume.
   */
  onCompressedMessage?(data: Buffer, isBinary: boolean): void;
}

/** Options of {@link Protocol}. */
export interface ProtocolOptions extends Partial<MessageLimits> {
  /** Which end this is. */
  readonly role: Role;
  /** permessage-deflate was negotiated: RSV1 marks compressed messages (RFC 7692 §6). */
  readonly perMessageDeflate?: boolean;
}

/** A close frame sent or received: its code (1005 for none) and reason. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** The RFC 6455 state machine of one connection, from the end of the opening handshake on. */
export class Protocol implements FrameParserHandler {
  readonly role: Role;
  #handler: ProtocolHandler;
  #parser: FrameParser;
  #masked: boolean;
  #state: ReadyState = ReadyState.OPEN;
  #closeSent: CloseInfo | undefined;
  #closeReceived: CloseInfo | undefined;
  #error: ProtocolError | undefined;
  /** Opcode of the fragmented message being sent, or -1 when none is open. */
  #sendingOpcode = -1;

  constructor(handler: ProtocolHandler, options: ProtocolOptions) {
    this.role = options.role;
    this.#handler = handler;
    this.#masked = options.role === "client"; // RFC 6455 §5.3: clients MUST mask, servers MUST NOT
    this.#parser = new FrameParser(this, options);
  }

  /** OPEN until a Close frame is sent or received, CLOSING until both are, then CLOSED. */
  get state(): ReadyState {
    return this.#state;
  }

  /** The Close frame we sent, if any. */
  get closeSent(): CloseInfo | undefined {
    return this.#closeSent;
  }

  /** The Close frame the peer sent, if any. */
  get closeReceived(): CloseInfo | undefined {
    return this.#closeReceived;
  }

  /** The protocol violation that failed the connection, if any. */
  get error(): ProtocolError | undefined {
    return this.#error;
  }

  /** Bytes held by the parser while it waits for the rest of a frame. */
  get bufferedIncomingBytes(): number {
    return this.#parser.bufferedBytes;
  }

  /** Feeds bytes received from the peer. Never throws for anything the peer sends. */
  receiveData(chunk: Buffer): void {
    this.#parser.push(chunk);
  }

  /** Whether receiving waits for {@link Protocol.resumeReceiving} (a compressed message). */
  get suspended(): boolean {
    return this.#parser.suspended;
  }

  /** Continues receiving after a compressed message was handled; parses what is buffered. */
  resumeReceiving(): void {
    this.#parser.resume();
  }

  /**
   * Fails the connection for a violation found outside the parser (an inflated message that is
   * too big or not UTF-8, corrupt compressed data): stops receiving, then does what a parser
   * error does. Ignored once the connection failed or the peer's Close frame arrived.
   */
  fail(error: ProtocolError): void {
    if (this.#error !== undefined || this.#closeReceived !== undefined) return;
    this.#parser.stop();
    this.onError(error);
  }

  /**
   * Whether a message may be sent now, by the rules of {@link Protocol.sendMessage}: false after
   * our Close frame; throws InvalidStateError while a fragmented message is open. For a
   * transport that sends the message later, compressed (RFC 7692).
   */
  canSendMessage(): boolean {
    return this.#canSendMessage();
  }

  /** Stops processing incoming bytes (the connection is being torn down). */
  stopReceiving(): void {
    this.#parser.stop();
  }

  /** Whether data frames may still be sent: RFC 6455 §5.5.1, none after our Close frame. */
  get canSend(): boolean {
    return this.#closeSent === undefined;
  }

  /**
   * Sends a text message in one frame. Returns false (and sends nothing) once our Close frame
   * has been sent.
   */
  sendText(text: string): boolean {
    if (!this.#canSendMessage()) return false;
    // At most 3 UTF-8 bytes per UTF-16 code unit: short enough to be a small frame.
    if (!this.#masked && text.length <= MAX_DIRECT_TEXT_LENGTH && this.#handler.writeFrame !== undefined) {
      this.#handler.writeFrame(Opcode.TEXT, text, true);
    } else {
      this.#handler.write(encodeTextFrame(text, true, this.#masked));
    }
    return true;
  }

  /**
   * Sends a message in one frame: binary, or text when `isBinary` is false (the bytes must then
   * be valid UTF-8, e.g. a received text message being echoed). Returns false once our Close
   * frame has been sent.
   */
  sendMessage(data: Uint8Array, isBinary: boolean): boolean {
    if (!this.#canSendMessage()) return false;
    this.#writeData(isBinary ? Opcode.BINARY : Opcode.TEXT, data, true);
    return true;
  }

  /**
   * Sends one fragment of a message. The first fragment carries `isBinary`; later ones are
   * continuations until one has `fin` set. Another message cannot start before that.
   */
  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): boolean {
    if (!this.canSend) return false;
    let opcode: number;
    if (this.#sendingOpcode === -1) {
      opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
      this.#sendingOpcode = fin ? -1 : opcode;
    } else {
      opcode = Opcode.CONTINUATION;
      if (fin) this.#sendingOpcode = -1;
    }
    this.#writeData(opcode, data, fin);
    return true;
  }

  /**
   * Sends bytes that already form complete frames (a broadcast encoded once with
   * {@link encodeFrame}). Server side only: client frames must be masked per connection.
   */
  sendEncoded(frames: Buffer): boolean {
    if (this.#masked) throw new InvalidStateError("pre-encoded frames are unmasked: server only");
    if (!this.#canSendMessage()) return false;
    this.#handler.write(frames);
    return true;
  }

  /** Sends a ping (at most 125 bytes, RFC 6455 §5.5). */
  sendPing(data: Uint8Array = EMPTY): boolean {
    return this.#sendControl(Opcode.PING, data);
  }

  /** Sends a pong (at most 125 bytes, RFC 6455 §5.5). */
  sendPong(data: Uint8Array = EMPTY): boolean {
    return this.#sendControl(Opcode.PONG, data);
  }

  /**
   * Starts (or completes) the closing handshake. `code` undefined sends a Close frame without a
   * status code. Throws RangeError for a code that may not be sent or a reason over 123 bytes.
   * Returns false if our Close frame was already sent.
   */
  sendClose(code?: number, reason = ""): boolean {
    if (this.#closeSent !== undefined) return false;
    const frame = encodeCloseFrame(code, reason, this.#masked); // validates before any state change
    this.#closeSent = { code: code ?? 1005, reason };
    this.#state = this.#closeReceived === undefined ? ReadyState.CLOSING : ReadyState.CLOSED;
    this.#handler.write(frame);
    return true;
  }

  // ----- FrameParserHandler: called by the parser, in wire order -----

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    this.#handler.onMessage(data, isBinary);
  }

  /** @internal */
  onCompressedMessage(data: Buffer, isBinary: boolean): void {
    this.#handler.onCompressedMessage!(data, isBinary);
  }

  /** @internal */
  onPing(data: Buffer): void {
    this.#handler.onPing(data);
  }

  /** @internal */
  onPong(data: Buffer): void {
    this.#handler.onPong(data);
  }

  /** @internal */
  onClose(code: number, reason: string): void {
    this.#closeReceived = { code, reason };
    if (this.#closeSent === undefined) {
      // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a
      // Close frame, the endpoint MUST send a Close frame in response. (When sending a Close
      // frame in response, the endpoint typically echos the status code it received.)"
      this.sendClose(code === 1005 ? undefined : code, "");
    }
    this.#state = ReadyState.CLOSED;
    this.#handler.onCloseFrame(code, reason);
  }

  /** @internal */
  onError(error: ProtocolError): void {
    this.#error = error;
    // RFC 6455 §7.1.7: to _Fail the WebSocket Connection_, an endpoint sends a Close frame with
    // an appropriate status code (if it has not sent one) and closes the connection.
    // The reason says which limit a 1009 passed (see closeReasonFor); other codes go without.
    if (this.#closeSent === undefined) this.sendClose(error.closeCode, closeReasonFor(error));
    this.#state = ReadyState.CLOSED;
    this.#handler.onProtocolError(error);
  }

  /**
   * False once our Close frame is sent (RFC 6455 §5.5.1), even with a fragmented message left
   * open, since it can no longer be finished; otherwise throws while one is open (RFC 6455 §5.4:
   * fragments of different messages MUST NOT be interleaved).
   */
  #canSendMessage(): boolean {
    if (this.#closeSent !== undefined) return false;
    if (this.#sendingOpcode !== -1) {
      throw new InvalidStateError("a fragmented message is being sent: finish it first");
    }
    return true;
  }

  #writeData(opcode: number, data: Uint8Array, fin: boolean): void {
    if (!this.#masked && data.byteLength <= COPY_THRESHOLD_BYTES && this.#handler.writeFrame !== undefined) {
      this.#handler.writeFrame(opcode, data, fin);
    } else if (this.#masked || data.byteLength <= COPY_THRESHOLD_BYTES) {
      this.#handler.write(encodeFrame(opcode, data, fin, this.#masked));
    } else {
      // Large server payloads are written after their header without being copied.
      this.#handler.write(encodeFrameHeader(opcode, data.byteLength, fin));
      this.#handler.write(toBuffer(data));
    }
  }

  #sendControl(opcode: number, data: Uint8Array): boolean {
    if (data.byteLength > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(`control frame payload is ${data.byteLength} bytes; at most 125`);
    }
    if (this.#closeSent !== undefined) return false;
    this.#handler.write(encodeFrame(opcode, data, true, this.#masked));
    return true;
  }
}

const EMPTY = new Uint8Array(0);

/** Strings up to this many UTF-16 code units encode to at most COPY_THRESHOLD_BYTES of UTF-8. */
const MAX_DIRECT_TEXT_LENGTH = Math.floor(COPY_THRESHOLD_BYTES / 3);

/** A Buffer view of `data` without copying. */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
