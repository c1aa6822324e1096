/**
 * permessage-deflate in the transport (RFC 7692 §7.2): the options, and the compression and
 * decompression of one connection's messages with node:zlib raw deflate, context takeover kept
 * or reset as negotiated, every zlib operation going through the process-wide limiter.
 *
 * Memory: a side that keeps its context (context takeover) creates its zlib stream on its first
 * compressed message and keeps it (it is the context); a side without context takeover borrows
 * a reset stream from a shared pool for one message and gives it back, so it holds nothing
 * between messages. Decompression stops as soon as the output passes `maxMessageBytes`.
 *
 * @module
 */

import { Opcode } from "../protocol/constants.js";
import { COPY_THRESHOLD_BYTES, encodeFrame, encodeFrameHeader } from "../protocol/frame-encoder.js";
import {
  resolveNegotiationOptions,
  type DeflateNegotiationOptions,
  type DeflateParams,
} from "../protocol/permessage-deflate.js";
import type { PreparedMessage } from "../protocol/prepared-message.js";
import type { Role } from "../protocol/protocol.js";
import {
  borrowCodec,
  DEFAULT_ZLIB_CONCURRENCY,
  limiterFor,
  releaseCodec,
  ZlibCodec,
  type CodecCallback,
  type DeflateConfig,
  type ZlibLimiter,
} from "./zlib-codec.js";

/** Options of permessage-deflate: the negotiation parameters, and how to compress. */
export interface PerMessageDeflateOptions extends DeflateNegotiationOptions {
  /** zlib compression level, 0-9, or -1 for zlib's default (6). Default -1. */
  readonly level?: number;
  /** zlib memLevel, 1-9: memory for the compression state (9: 512 KiB, 8: 256 KiB...). Default 8. */
  readonly memLevel?: number;
  /** Messages smaller than this are sent uncompressed. Default 1024 bytes. */
  readonly thresholdBytes?: number;
  /**
   * The most zlib operations in flight at once, across the process, for every connection
   * configured with the same value (others wait in order). Default 10.
   */
  readonly concurrency?: number;
}

/** {@link PerMessageDeflateOptions} with every default filled in. */
export interface ResolvedDeflateOptions extends Required<PerMessageDeflateOptions> {}

/** Default threshold: smaller messages are sent as they are (compressing them gains little). */
export const DEFAULT_DEFLATE_THRESHOLD_BYTES = 1024;

/**
 * Resolves the `perMessageDeflate` option: undefined when off. `byDefault` is what undefined
 * means (off for a server, on for a client).
 *
 * @throws TypeError or RangeError for an invalid value.
 */
export function resolvePerMessageDeflate(
  value: boolean | PerMessageDeflateOptions | undefined,
  byDefault: boolean,
): ResolvedDeflateOptions | undefined {
  const enabled = value ?? byDefault;
  if (enabled === false) return undefined;
  if (enabled !== true && (typeof enabled !== "object" || enabled === null)) {
    throw new TypeError("perMessageDeflate must be a boolean or an options object");
  }
  const options: PerMessageDeflateOptions = enabled === true ? {} : enabled;
  const resolved: ResolvedDeflateOptions = {
    ...resolveNegotiationOptions(options),
    level: options.level ?? -1,
    memLevel: options.memLevel ?? 8,
    thresholdBytes: options.thresholdBytes ?? DEFAULT_DEFLATE_THRESHOLD_BYTES,
    concurrency: options.concurrency ?? DEFAULT_ZLIB_CONCURRENCY,
  };
  checkInteger("level", resolved.level, -1, 9);
  checkInteger("memLevel", resolved.memLevel, 1, 9);
  checkInteger("thresholdBytes", resolved.thresholdBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger("concurrency", resolved.concurrency, 1, 1_000_000);
  return resolved;
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`perMessageDeflate.${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/** What a connection needs to run permessage-deflate: the agreed parameters and the options. */
export interface DeflateSetup {
  readonly params: DeflateParams;
  readonly options: ResolvedDeflateOptions;
}

/** The frame of a compressed message: RSV1 on its only frame (RFC 7692 §6). */
export function compressedFrame(payload: Buffer, isBinary: boolean, masked: boolean): Buffer[] {
  const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
  if (masked || payload.length <= COPY_THRESHOLD_BYTES) return [encodeFrame(opcode, payload, true, masked, true)];
  return [encodeFrameHeader(opcode, payload.length, true, true), payload];
}

/**
 * The payload of a prepared (unmasked, single-frame) message: a view, read from its header.
 */
export function preparedPayload(message: PreparedMessage): Buffer {
  const first = message.chunks[0]!;
  if (message.chunks.length > 1) return message.chunks[1]!;
  const length7 = first[1]! & 0x7f;
  return first.subarray(length7 < 126 ? 2 : length7 === 126 ? 4 : 10);
}

/**
 * The compression and decompression of one connection. Each direction runs one message at a
 * time (the caller orders them); every operation holds a slot of the limiter while it runs.
 */
export class MessageDeflate {
  readonly #limiter: ZlibLimiter;
  readonly #deflateConfig: DeflateConfig;
  readonly #inflateConfig: { windowBits: number };
  readonly #deflateTakeover: boolean;
  readonly #inflateTakeover: boolean;
  readonly #poolSize: number;
  /** Our compression context, when we keep one; created on the first compressed message. */
  #deflater: ZlibCodec | undefined;
  /** The peer's compression context, when it keeps one; created on the first such message. */
  #inflater: ZlibCodec | undefined;
  #closed = false;

  constructor(setup: DeflateSetup, role: Role) {
    const { params, options } = setup;
    const server = role === "server";
    this.#limiter = limiterFor(options.concurrency);
    this.#poolSize = options.concurrency;
    // RFC 7692 §7.1.2: each side compresses with at most its own max window, and the other side
    // inflates with that window.
    this.#deflateConfig = {
      level: options.level,
      memLevel: options.memLevel,
      windowBits: server ? params.serverMaxWindowBits : params.clientMaxWindowBits,
    };
    this.#inflateConfig = { windowBits: server ? params.clientMaxWindowBits : params.serverMaxWindowBits };
    // RFC 7692 §7.1.1: "no context takeover" on a side means it compresses every message with
    // an empty window, and the other side may decompress every message afresh.
    this.#deflateTakeover = !(server ? params.serverNoContextTakeover : params.clientNoContextTakeover);
    this.#inflateTakeover = !(server ? params.clientNoContextTakeover : params.serverNoContextTakeover);
  }

  /** Whether our side keeps no compression context (its messages can be shared by recipients). */
  get sharesCompression(): boolean {
    return !this.#deflateTakeover;
  }

  /** The configuration of our compressor (the key of a shared compression). */
  get deflateConfig(): DeflateConfig {
    return this.#deflateConfig;
  }

  /** zlib streams this connection holds between messages (0 without context takeover). */
  get heldStreams(): number {
    return (this.#deflater === undefined ? 0 : 1) + (this.#inflater === undefined ? 0 : 1);
  }

  /** Compresses one message; `callback` gets the payload to send (trailer removed). */
  compress(data: Buffer, callback: CodecCallback): void {
    this.#limiter.run(() => {
      if (this.#closed) {
        this.#limiter.release();
        return;
      }
      if (this.#deflateTakeover) {
        const codec = (this.#deflater ??= new ZlibCodec(false, this.#deflateConfig));
        codec.run(data, Infinity, (error, output) => {
          this.#limiter.release();
          if (codec.broken) this.#deflater = undefined;
          callback(error, output);
        });
      } else {
        runPooled(this.#limiter, false, this.#deflateConfig, this.#poolSize, data, Infinity, callback);
      }
    });
  }

  /**
   * Inflates one message, failing with an `InflateLimitError` as soon as its output passes
   * `limit` bytes.
   */
  inflate(data: Buffer, limit: number, callback: CodecCallback): void {
    this.#limiter.run(() => {
      if (this.#closed) {
        this.#limiter.release();
        return;
      }
      if (this.#inflateTakeover) {
        const codec = (this.#inflater ??= new ZlibCodec(true, this.#inflateConfig));
        codec.run(data, limit, (error, output) => {
          this.#limiter.release();
          // A final block ends the peer's stream: the next message starts a new one.
          if (codec.broken) this.#inflater = undefined;
          callback(error, output);
        });
      } else {
        runPooled(this.#limiter, true, this.#inflateConfig, this.#poolSize, data, limit, callback);
      }
    });
  }

  /**
   * Compresses one message with a pooled, reset stream, whatever the context takeover and even
   * once this connection is closed (other recipients of a shared compression wait for it).
   */
  compressDetached(data: Buffer, callback: CodecCallback): void {
    const limiter = this.#limiter;
    const config = this.#deflateConfig;
    const poolSize = this.#poolSize;
    limiter.run(() => runPooled(limiter, false, config, poolSize, data, Infinity, callback));
  }

  /** Frees the zlib streams; later callbacks are not called. */
  close(): void {
    this.#closed = true;
    this.#deflater?.close();
    this.#inflater?.close();
    this.#deflater = undefined;
    this.#inflater = undefined;
  }
}

/** Runs one message on a pooled codec (inside a limiter slot) and gives the codec back. */
function runPooled(
  limiter: ZlibLimiter,
  inflate: boolean,
  config: { windowBits: number; level?: number; memLevel?: number },
  poolSize: number,
  data: Buffer,
  limit: number,
  callback: CodecCallback,
): void {
  const codec = borrowCodec(inflate, config);
  codec.run(data, limit, (error, output) => {
    releaseCodec(codec, inflate, config, poolSize);
    limiter.release();
    callback(error, output);
  });
}

/** One compression of a prepared message, shared by every recipient with the same configuration. */
interface SharedCompression {
  frames: Buffer[] | undefined;
  error: Error | undefined;
  waiters: Array<(error: Error | undefined, frames: Buffer[] | undefined) => void> | undefined;
}

const sharedCompressions = new WeakMap<PreparedMessage, Map<string, SharedCompression>>();

/**
 * The compressed frame of a prepared message for recipients that keep no compression context
 * (server side): compressed once per distinct configuration, then the same bytes for everyone.
 * `callback` may be called synchronously when the frame is already known.
 */
export function compressPrepared(
  message: PreparedMessage,
  deflate: MessageDeflate,
  callback: (error: Error | undefined, frames: Buffer[] | undefined) => void,
): void {
  const config = deflate.deflateConfig;
  const key = `${config.windowBits}:${config.level}:${config.memLevel}`;
  let byKey = sharedCompressions.get(message);
  if (byKey === undefined) sharedCompressions.set(message, (byKey = new Map()));
  let shared = byKey.get(key);
  if (shared !== undefined) {
    if (shared.waiters === undefined) callback(shared.error, shared.frames);
    else shared.waiters.push(callback);
    return;
  }
  const entry: SharedCompression = { frames: undefined, error: undefined, waiters: [callback] };
  byKey.set(key, (shared = entry));
  deflate.compressDetached(preparedPayload(message), (error, output) => {
    entry.error = error;
    entry.frames = output === undefined ? undefined : compressedFrame(output, message.isBinary, false);
    const waiters = entry.waiters!;
    entry.waiters = undefined;
    for (const waiter of waiters) waiter(entry.error, entry.frames);
  });
}
