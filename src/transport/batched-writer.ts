/**
 * The output side of a connection: frames queued during a tick (or while one read chunk is
 * processed) leave in one socket write, small frames encoded straight into a shared slab.
 *
 * A base class of `WebSocketConnection` rather than an object it holds, so that an idle
 * connection costs no extra object; the connection answers the two questions it cannot
 * (its high-water mark, and what to do once writable again).
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { COPY_THRESHOLD_BYTES, encodeFrameInto } from "../protocol/frame-encoder.js";
import type { ConnectionEvents } from "./connection-events.js";
import { dropListenerTable, useLeanListenerTables } from "./lean-events.js";
import { scheduleFlush, scheduleFlushAfterMicrotasks, type Flushable } from "./write-batcher.js";

/** `#reading`: no read chunk is being processed... */
const NOT_READING = 0;
/** ...one is, its writes leave right after it... */
const READING = 1;
/** ...one is, its writes leave once the microtasks it started have run (see deferFlush). */
const READING_DEFERRED = 2;

/**
 * The buffer small frames are encoded into, shared by every connection (as Node's own Buffer
 * pool is): a region handed to socket.write is never written again; a full slab is replaced,
 * and collected once the writes holding views of it are done. 64 KiB: four frames of the
 * largest size encoded this way (COPY_THRESHOLD_BYTES) fit, and a new slab is one allocation
 * per 64 KiB written.
 */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** Batches above this size are written with writev instead of being copied together. */
const COALESCE_LIMIT_BYTES = 64 * 1024;

/**
 * Queues a connection's outgoing bytes and writes them in batches (see the module comment).
 * @internal
 */
export abstract class BatchedWriter extends EventEmitter<ConnectionEvents> implements Flushable {
  readonly #out: Socket;
  /** What waits to be written; made by the first write of a tick (an idle connection has none). */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  /** Whether a pending chunk is a payload too large to be copied into a batch. */
  #pendingLarge = false;
  #onWritten: (() => void) | undefined;
  /**
   * The open batch: small frames encoded back to back into the shared {@link slab} from
   * `#batchStart` to `#batchEnd`, not yet in `#pending` (see {@link BatchedWriter.writeFrame}).
   */
  #batchSlab: Buffer | undefined;
  #batchStart = 0;
  #batchEnd = 0;
  /**
   * NOT_READING, or READING while a read chunk is being processed (its writes are flushed right
   * after it), or READING_DEFERRED when work the chunk started finishes in microtasks (see
   * {@link deferFlush}).
   */
  #reading = NOT_READING;
  #flushScheduled = false;
  /** Set once socket.end() was called or the socket closed: nothing more may be written. */
  #ended = false;

  constructor(socket: Socket) {
    super();
    // No listener table until a listener comes (lean-events.ts): 184 B per idle connection.
    dropListenerTable(this);
    this.#out = socket;
  }

  /** The high-water mark: a write that may reach it asks to be told when it was written. */
  protected abstract get outputHighWaterMark(): number;

  /** Called when the output may have dropped below the high-water mark. */
  protected abstract outputWritable(): void;

  /** Whether a flush should call {@link outputWritable} once the socket is below the mark. */
  protected abstract get outputWaiting(): boolean;

  /** The socket written to (the connection's socket: it keeps no second reference). */
  protected get outputSocket(): Socket {
    return this.#out;
  }

  /** Bytes queued here, not yet handed to the socket. */
  protected get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Whether the output was ended (nothing more may be written). */
  protected get outputEnded(): boolean {
    return this.#ended;
  }

  /**
   * A read chunk is being processed: what it makes us write (echoes, pongs) is written as soon
   * as it is processed ({@link endRead}), in one write, instead of from a process.nextTick: the
   * batch is the same (everything the chunk produced), without the tick. Writes to other
   * connections still go through the write batcher.
   */
  protected beginRead(): void {
    this.#reading = READING;
  }

  /** The read chunk was processed (or threw): write what it produced. */
  protected endRead(): void {
    const deferred = this.#reading === READING_DEFERRED;
    this.#reading = NOT_READING;
    if (this.#pendingBytes === 0 || this.#flushScheduled) return;
    if (!deferred) {
      this.flush();
      return;
    }
    this.#flushScheduled = true;
    scheduleFlushAfterMicrotasks(this);
  }

  /**
   * @internal The read chunk being processed started work that finishes in microtasks (an API
   * handler returned a promise: `await handle.sendText(…)` resumes one microtask later, and the
   * next queued message runs after it). Its writes then leave in one write once those
   * microtasks are done, instead of the first answer alone at the end of the read and the rest
   * in a second write (two syscalls per read chunk: 44% of the server's time on the pipelined
   * echo through the API). Does nothing outside a read.
   */
  deferFlush(): void {
    if (this.#reading === READING) this.#reading = READING_DEFERRED;
  }

  /** Flushes what is queued and ends the socket's writable side. */
  protected endOutput(): void {
    if (this.#pendingBytes > 0) this.flush();
    this.#ended = true;
    this.#out.end();
  }

  /** The socket closed: nothing more may be written. */
  protected outputClosed(): void {
    this.#ended = true;
  }

  /** Forgets everything queued (the connection is over). */
  protected discardOutput(): void {
    this.#pending = undefined;
    this.#batchSlab = undefined;
    this.#pendingBytes = 0;
    this.#pendingLarge = false;
  }

  /** @internal Queues bytes; everything written in one tick leaves in one write. */
  write(chunk: Buffer): void {
    if (this.#ended) return;
    if (this.#batchSlab !== undefined) this.#closeBatch();
    (this.#pending ??= []).push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (chunk.byteLength > COPY_THRESHOLD_BYTES) this.#pendingLarge = true;
    if (!this.#flushScheduled && this.#reading === NOT_READING) {
      this.#flushScheduled = true;
      scheduleFlush(this);
    }
  }

  /**
   * @internal Encodes a small frame straight into the shared slab, after this connection's
   * previous frame of the tick when nothing else was encoded in between (the common case: a
   * read chunk answered with several frames), so the tick's frames are one buffer without a
   * Buffer per frame or a copy to join them.
   */
  writeFrame(opcode: number, payload: Uint8Array | string, fin: boolean): void {
    if (this.#ended) return;
    const payloadBytes = typeof payload === "string" ? Buffer.byteLength(payload, "utf8") : payload.byteLength;
    const frameBytes = (payloadBytes < 126 ? 2 : 4) + payloadBytes;
    if (this.#batchSlab !== slab || this.#batchEnd !== slabUsed || slabUsed + frameBytes > SLAB_BYTES) {
      if (this.#batchSlab !== undefined) this.#closeBatch();
      if (slabUsed + frameBytes > SLAB_BYTES) {
        // The old slab is kept alive by the views still waiting to be written, then collected.
        slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
        slabUsed = 0;
      }
      this.#batchSlab = slab;
      this.#batchStart = slabUsed;
    }
    slabUsed = encodeFrameInto(slab, slabUsed, opcode, payload, payloadBytes, fin);
    this.#batchEnd = slabUsed;
    this.#pendingBytes += frameBytes;
    if (!this.#flushScheduled && this.#reading === NOT_READING) {
      this.#flushScheduled = true;
      scheduleFlush(this);
    }
  }

  /** Moves the open batch into `#pending` as one view of the slab. */
  #closeBatch(): void {
    (this.#pending ??= []).push(this.#batchSlab!.subarray(this.#batchStart, this.#batchEnd));
    this.#batchSlab = undefined;
  }

  /**
   * Writes everything queued this tick in one system call.
   * @internal Called by the write batcher.
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#batchSlab !== undefined) this.#closeBatch();
    const pending = this.#pending;
    const socket = this.#out;
    if (pending === undefined || pending.length === 0 || socket.destroyed) return;
    const count = pending.length;
    const highWaterMark = this.outputHighWaterMark;
    // When this write may leave us at or above the high-water mark, its callback tells us when
    // it has reached the kernel. The socket's own 'drain' is not enough: it only fires after a
    // write that crossed the socket's high-water mark (16 KiB), which may be above ours.
    const callback = this.#pendingBytes + socket.writableLength >= highWaterMark ? this.#writeCallback() : undefined;
    if (count === 1) {
      socket.write(pending[0]!, callback);
    } else if (this.#pendingBytes <= COALESCE_LIMIT_BYTES && !this.#pendingLarge) {
      // Small frames are copied into one buffer: one write, one syscall, one callback.
      socket.write(Buffer.concat(pending, this.#pendingBytes), callback);
    } else {
      // Large payloads are not copied (see COPY_THRESHOLD_BYTES): one writev for the batch.
      socket.cork();
      for (let i = 0; i < count - 1; i++) socket.write(pending[i]!);
      socket.write(pending[count - 1]!, callback);
      socket.uncork();
    }
    this.#pending = undefined;
    this.#pendingBytes = 0;
    this.#pendingLarge = false;
    if (this.outputWaiting && socket.writableLength < highWaterMark) this.outputWritable();
  }

  /** The write callback of this connection, made once: no closure per write. */
  #writeCallback(): () => void {
    return (this.#onWritten ??= () => this.outputWritable());
  }
}

useLeanListenerTables(BatchedWriter.prototype);
