/**
 * The permessage-deflate side of one connection: it sits between the protocol core and the
 * connection (it is the core's handler) and keeps everything in order although zlib is
 * asynchronous.
 *
 * - Sending: a message at or above the threshold is compressed; it takes its place in an output
 *   queue at once, and whatever the core writes after it (uncompressed messages, pings, pongs,
 *   the Close frame) waits behind it. The connection ends its socket only once the queue is
 *   empty. So a connection's messages leave in the order they were sent.
 * - Receiving: the core suspends on a compressed message; the socket is paused, the message is
 *   inflated (stopping past `maxMessageBytes`, 1009), checked (UTF-8, 1007) and delivered, then
 *   the core resumes with what follows. So messages, control frames and the Close frame are
 *   handled in wire order, and a peer cannot make us buffer while we inflate.
 *
 * @module
 */

import { InvalidStateError, ProtocolError } from "../errors.js";
import { tooBigReason } from "../protocol/close-codes.js";
import { CloseCode } from "../protocol/constants.js";
import type { PreparedMessage } from "../protocol/prepared-message.js";
import { toBuffer, type Protocol, type ProtocolHandler, type Role } from "../protocol/protocol.js";
import { isValidUtf8 } from "../protocol/utf8.js";
import { compressedFrame, compressPrepared, MessageDeflate, preparedPayload, type DeflateSetup } from "./deflate.js";
import { InflateLimitError } from "./zlib-codec.js";

/** What the channel needs from its connection, besides the core's events. */
export interface DeflateHost extends ProtocolHandler {
  /** Stops reading the socket while a message is inflated. */
  pauseInput(): void;
  /** Resumes the core (and the socket) after an inflated message was handled. */
  resumeInput(): void;
  /** The output queue is empty again after {@link DeflateChannel.deferEnd} returned true. */
  outputIdle(): void;
}

/** A compressed message in its place in the output queue, waiting for its bytes. */
class Slot {
  readonly bytes: number;
  frames: Buffer[] | undefined;
  done = false;

  constructor(bytes: number) {
    this.bytes = bytes;
  }
}

interface Job {
  readonly slot: Slot;
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** The permessage-deflate channel of one connection (see the module comment). */
export class DeflateChannel implements ProtocolHandler {
  readonly #host: DeflateHost;
  readonly #deflate: MessageDeflate;
  readonly #threshold: number;
  readonly #masked: boolean;
  readonly #maxMessageBytes: number;
  #core: Protocol | undefined;
  /** Frames waiting behind a compression, in send order. */
  #queue: Array<Buffer | Slot> = [];
  #queuedBytes = 0;
  /** Compressions not started yet, in order: one runs at a time (the context is sequential). */
  #jobs: Job[] = [];
  #compressing = false;
  #endWanted = false;
  #closed = false;

  constructor(host: DeflateHost, setup: DeflateSetup, role: Role, maxMessageBytes: number) {
    this.#host = host;
    this.#deflate = new MessageDeflate(setup, role);
    this.#threshold = setup.options.thresholdBytes;
    this.#masked = role === "client";
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Binds the core this channel is the handler of. */
  attach(core: Protocol): void {
    this.#core = core;
  }

  /** Bytes of messages waiting for their compression or behind one (uncompressed sizes). */
  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  /** zlib streams held between messages (0 for a side without context takeover). */
  get heldStreams(): number {
    return this.#deflate.heldStreams;
  }

  // ----- sending -----

  /** Sends a text message, compressed when it reaches the threshold. */
  sendText(text: string): void {
    const core = this.#core!;
    if (!core.canSendMessage()) return;
    // One UTF-16 code unit is at most 3 UTF-8 bytes: most short strings skip the encoding here.
    if (text.length * 3 < this.#threshold) {
      core.sendText(text);
      return;
    }
    const data = Buffer.from(text, "utf8");
    if (data.length < this.#threshold) core.sendMessage(data, false);
    else this.#enqueue(data, false);
  }

  /** Sends bytes as a binary or (valid UTF-8) text message, compressed past the threshold. */
  sendMessage(data: Uint8Array, isBinary: boolean): void {
    const core = this.#core!;
    if (!core.canSendMessage()) return;
    if (data.byteLength < this.#threshold) core.sendMessage(data, isBinary);
    else this.#enqueue(toBuffer(data), isBinary);
  }

  /**
   * Sends a prepared message: as it is below the threshold; compressed once for every recipient
   * with the same configuration when our side keeps no context; else compressed for us alone.
   */
  sendPrepared(message: PreparedMessage): void {
    const core = this.#core!;
    if (this.#masked) throw new InvalidStateError("pre-encoded frames are unmasked: server only");
    if (!core.canSendMessage()) return;
    const payload = preparedPayload(message);
    if (payload.length < this.#threshold) {
      for (const chunk of message.chunks) core.sendEncoded(chunk);
      return;
    }
    if (!this.#deflate.sharesCompression) {
      this.#enqueue(payload, message.isBinary);
      return;
    }
    const slot = this.#push(payload.length);
    compressPrepared(message, this.#deflate, (error, frames) => this.#fill(slot, error, frames));
  }

  /**
   * Asks whether ending the socket must wait: true while frames wait in the queue, in which
   * case `outputIdle` is called once they have been written.
   */
  deferEnd(): boolean {
    if (this.#queue.length === 0 || this.#closed) return false;
    this.#endWanted = true;
    return true;
  }

  /** The connection is over: drops what waits and frees the zlib streams. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#jobs = [];
    this.#queuedBytes = 0;
    this.#deflate.close();
  }

  #push(bytes: number): Slot {
    const slot = new Slot(bytes);
    this.#queue.push(slot);
    this.#queuedBytes += bytes;
    return slot;
  }

  #enqueue(data: Buffer, isBinary: boolean): void {
    this.#jobs.push({ slot: this.#push(data.length), data, isBinary });
    this.#nextJob();
  }

  #nextJob(): void {
    if (this.#compressing || this.#jobs.length === 0) return;
    const job = this.#jobs.shift()!;
    this.#compressing = true;
    this.#deflate.compress(job.data, (error, output) => {
      this.#compressing = false;
      this.#fill(job.slot, error, output === undefined ? undefined : compressedFrame(output, job.isBinary, this.#masked));
      this.#nextJob();
    });
  }

  #fill(slot: Slot, error: Error | undefined, frames: Buffer[] | undefined): void {
    if (this.#closed) return;
    slot.frames = frames;
    slot.done = true;
    if (error !== undefined) {
      // Our own zlib failed: nothing the peer did. RFC 6455 §7.4.1: 1011 "an unexpected
      // condition that prevented it from fulfilling the request".
      this.#core!.fail(new ProtocolError("ERR_COMPRESSION_FAILED", CloseCode.INTERNAL_ERROR, error.message));
    }
    this.#drain();
  }

  /** Writes the head of the queue up to the first compression still running. */
  #drain(): void {
    const queue = this.#queue;
    const host = this.#host;
    while (queue.length > 0) {
      const head = queue[0]!;
      if (head instanceof Slot) {
        if (!head.done) break;
        queue.shift();
        this.#queuedBytes -= head.bytes;
        if (head.frames !== undefined) for (const frame of head.frames) host.write(frame);
      } else {
        queue.shift();
        this.#queuedBytes -= head.length;
        host.write(head);
      }
    }
    if (queue.length === 0 && this.#endWanted) {
      this.#endWanted = false;
      host.outputIdle();
    }
  }

  // ----- ProtocolHandler: the core's events -----

  /** @internal Frames from the core wait behind running compressions. */
  write(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#queue.length === 0) {
      this.#host.write(chunk);
    } else {
      this.#queue.push(chunk);
      this.#queuedBytes += chunk.length;
    }
  }

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    this.#host.onMessage(data, isBinary);
  }

  /** @internal */
  onPing(data: Buffer): void {
    this.#host.onPing(data);
  }

  /** @internal */
  onPong(data: Buffer): void {
    this.#host.onPong(data);
  }

  /** @internal */
  onCloseFrame(code: number, reason: string): void {
    this.#host.onCloseFrame(code, reason);
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.#host.onProtocolError(error);
  }

  /** @internal The core is suspended: inflate, deliver, resume. */
  onCompressedMessage(data: Buffer, isBinary: boolean): void {
    this.#host.pauseInput();
    this.#deflate.inflate(data, this.#maxMessageBytes, (error, output) => this.#inflated(error, output, isBinary));
  }

  #inflated(error: Error | undefined, output: Buffer | undefined, isBinary: boolean): void {
    const core = this.#core!;
    // Terminated meanwhile, or failed for another reason: nothing to deliver.
    if (this.#closed || !core.suspended) return;
    try {
      if (error !== undefined) {
        core.fail(
          error instanceof InflateLimitError
            ? // RFC 6455 §7.4.1: 1009, "a message that is too big for it to process".
              new ProtocolError("ERR_MESSAGE_TOO_BIG", CloseCode.MESSAGE_TOO_BIG, tooBigReason("message", this.#maxMessageBytes))
            : // RFC 7692 §8: data that does not decompress is an invalid payload.
              new ProtocolError("ERR_INVALID_COMPRESSED_DATA", CloseCode.INVALID_PAYLOAD, `invalid compressed data: ${error.message}`),
        );
      } else if (!isBinary && !isValidUtf8(output!)) {
        // RFC 7692 §8 / RFC 6455 §8.1: the inflated text must be valid UTF-8.
        core.fail(new ProtocolError("ERR_INVALID_UTF8", CloseCode.INVALID_PAYLOAD, "invalid UTF-8 in a text message"));
      } else {
        this.#host.onMessage(output!, isBinary);
      }
    } finally {
      // Even when a listener threw: the connection must go on reading (or finish failing).
      this.#host.resumeInput();
    }
  }
}
