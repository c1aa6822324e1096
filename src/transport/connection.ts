/**
 * One WebSocket connection over a `node:net` (or `node:tls`) socket: binds the sans-I/O
 * {@link Protocol} to the socket, batches writes, applies backpressure, runs the close and
 * heartbeat timers, and reports exactly one `close` however the connection ends.
 *
 * @module
 */

import type { Socket } from "node:net";
import { ConnectionClosedError, InvalidStateError, type ProtocolError, WyndError } from "../errors.js";
import type { UpgradeRequest } from "../protocol/handshake.js";
import { markResolved } from "../protocol/limits.js";
import { Protocol, ReadyState, type ProtocolHandler, type ProtocolOptions, type Role } from "../protocol/protocol.js";
import type { PreparedMessage } from "../protocol/prepared-message.js";
import { resolveConnectionOptions, type ResolvedConnectionOptions } from "./options.js";
import { BatchedWriter } from "./batched-writer.js";
import {
  SINK_CLOSE,
  SINK_DRAIN,
  SINK_ERROR,
  SINK_MESSAGE,
  SINK_PING,
  SINK_PONG,
  type ConnectionInit,
  type ConnectionSink,
} from "./connection-events.js";
import { DeadlineQueue } from "./deadlines.js";
import { DeflateChannel } from "./deflate-channel.js";

export {
  SINK_CLOSE,
  SINK_DRAIN,
  SINK_ERROR,
  SINK_MESSAGE,
  SINK_PING,
  SINK_PONG,
  type ConnectionEvents,
  type ConnectionInit,
  type ConnectionSink,
} from "./connection-events.js";

const SOCKET_CONNECTION = Symbol("wynd.connection");
type BoundSocket = Socket & { [SOCKET_CONNECTION]?: WebSocketConnection };

let nextConnectionId = 1;

// Bits of WebSocketConnection.#flags.
/** A send returned false: emit 'drain' once below the high-water mark. */
const FLAG_NEED_DRAIN = 1;
/** start() was called. */
const FLAG_STARTED = 2;
/** pause() holds incoming data back. */
const FLAG_PAUSED = 4;
/** The socket emitted 'close'. */
const FLAG_SOCKET_CLOSED = 8;
/** The close timeout was started. */
const FLAG_CLOSE_ARMED = 16;
/** Data arrived since the last heartbeat tick. */
const FLAG_RECEIVED_SINCE_HEARTBEAT = 32;
/** A heartbeat ping waits for a sign of life. */
const FLAG_PING_OUTSTANDING = 64;

/**
 * An open WebSocket connection. Create one with `WebSocketServer` (server side) or `connect()`
 * (client side); it starts OPEN.
 *
 * Incoming data is processed as soon as the creator calls `start()` (the server does so right
 * after emitting `connection`, the client one macrotask after `connect()` resolved), so listeners
 * attached synchronously in those places see every message.
 */
export class WebSocketConnection extends BatchedWriter implements ProtocolHandler {
  /** A process-unique number, increasing. */
  readonly id: number = nextConnectionId++;
  readonly role: Role;
  /** The negotiated subprotocol, "" when none. */
  readonly protocol: string;
  /** The negotiated extensions, "" when none. */
  readonly extensions: string;
  /** The upgrade request this connection was accepted with (server side). */
  readonly request: UpgradeRequest | undefined;
  /** Messages not sent because of the "drop" backpressure policy. */
  droppedMessages = 0;

  #core: Protocol;
  #sink: ConnectionSink | undefined;
  /** Told first when the connection is over (its server forgets it): not a listener (lean-events.ts). */
  #onFinished: ((connection: WebSocketConnection) => void) | undefined;
  /** permessage-deflate (undefined when not negotiated: then nothing of it runs). */
  #deflate: DeflateChannel | undefined;
  #options: ResolvedConnectionOptions;
  #state: ReadyState = ReadyState.OPEN;
  #pendingPong: Buffer | undefined;
  /** Chunks read while paused or not started; made when one comes (an idle connection has none). */
  #queued: Buffer[] | undefined;
  #error: Error | undefined;
  /**
   * The connection's yes/no state, one bit each (see the FLAG_ constants), read and written
   * through the accessors below: seven fields fewer per connection (56 B).
   */
  #flags = 0;

  get #needDrain(): boolean {
    return (this.#flags & FLAG_NEED_DRAIN) !== 0;
  }
  set #needDrain(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_NEED_DRAIN : this.#flags & ~FLAG_NEED_DRAIN;
  }
  get #started(): boolean {
    return (this.#flags & FLAG_STARTED) !== 0;
  }
  set #started(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_STARTED : this.#flags & ~FLAG_STARTED;
  }
  get #paused(): boolean {
    return (this.#flags & FLAG_PAUSED) !== 0;
  }
  set #paused(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_PAUSED : this.#flags & ~FLAG_PAUSED;
  }
  get #socketClosed(): boolean {
    return (this.#flags & FLAG_SOCKET_CLOSED) !== 0;
  }
  set #socketClosed(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_SOCKET_CLOSED : this.#flags & ~FLAG_SOCKET_CLOSED;
  }
  /** Whether the close timeout was started (see #armCloseTimer). */
  get #closeArmed(): boolean {
    return (this.#flags & FLAG_CLOSE_ARMED) !== 0;
  }
  set #closeArmed(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_CLOSE_ARMED : this.#flags & ~FLAG_CLOSE_ARMED;
  }
  get #receivedSinceHeartbeat(): boolean {
    return (this.#flags & FLAG_RECEIVED_SINCE_HEARTBEAT) !== 0;
  }
  set #receivedSinceHeartbeat(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_RECEIVED_SINCE_HEARTBEAT : this.#flags & ~FLAG_RECEIVED_SINCE_HEARTBEAT;
  }
  get #pingOutstanding(): boolean {
    return (this.#flags & FLAG_PING_OUTSTANDING) !== 0;
  }
  set #pingOutstanding(on: boolean) {
    this.#flags = on ? this.#flags | FLAG_PING_OUTSTANDING : this.#flags & ~FLAG_PING_OUTSTANDING;
  }

  constructor(socket: Socket, init: ConnectionInit) {
    super(socket);
    this.role = init.role;
    this.protocol = init.protocol ?? "";
    this.extensions = init.extensions ?? "";
    this.request = init.request;
    this.#options = resolveConnectionOptions(init.options);
    const options = protocolOptions(this.#options, init.role);
    if (init.deflate === undefined) {
      this.#core = new Protocol(this, options);
    } else {
      // The channel is the core's handler: it orders compressed messages (deflate-channel.ts).
      const channel = (this.#deflate = new DeflateChannel(this, init.deflate, init.role, this.#options.maxMessageBytes));
      this.#core = new Protocol(channel, protocolOptions(this.#options, init.role, true));
      channel.attach(this.#core);
    }
    (socket as BoundSocket)[SOCKET_CONNECTION] = this;
    if (init.head !== undefined && init.head.byteLength > 0) this.#queued = [init.head];
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.pause();
    socket.on("data", WebSocketConnection.#onSocketData);
    socket.on("end", WebSocketConnection.#onSocketEnd);
    socket.on("close", WebSocketConnection.#onSocketClose);
    socket.on("error", WebSocketConnection.#onSocketError);
    socket.on("drain", WebSocketConnection.#onSocketDrain);
    // One shared timer per interval instead of a Timeout per connection (deadlines.ts).
    if (this.#options.heartbeatIntervalMs > 0) heartbeatDeadlines(this.#options.heartbeatIntervalMs).add(this);
  }

  // Socket listeners are shared functions (not per-connection closures) to keep an idle
  // connection small; they find their connection through a symbol on the socket.
  static #onSocketData = function (this: BoundSocket, chunk: Buffer): void {
    const conn = this[SOCKET_CONNECTION]!;
    conn.#receivedSinceHeartbeat = true;
    if (conn.#paused || !conn.#started) {
      (conn.#queued ??= []).push(chunk);
      this.pause();
      return;
    }
    // What the chunk makes us write leaves in one write right after it (see beginRead()).
    conn.beginRead();
    try {
      conn.#core.receiveData(chunk);
    } finally {
      conn.endRead();
    }
  };

  static #onSocketEnd = function (this: BoundSocket): void {
    // The peer will send nothing more. Finish our side too (sockets from an http.Server are
    // half-open capable, so this is not automatic).
    const conn = this[SOCKET_CONNECTION]!;
    if (conn.#state === ReadyState.OPEN) conn.#state = ReadyState.CLOSING;
    conn.#endSocket();
  };

  static #onSocketClose = function (this: BoundSocket): void {
    const conn = this[SOCKET_CONNECTION]!;
    conn.#socketClosed = true;
    conn.outputClosed();
    // Messages that arrived before the close but wait behind a pause are still delivered first.
    // So are messages being inflated (resumeInput finishes once they are delivered).
    const queued = conn.#queued;
    if (((queued === undefined || queued.length === 0) && !conn.#core.suspended) || conn.#core.state === ReadyState.CLOSED) {
      conn.#finish();
    }
  };

  static #onSocketError = function (this: BoundSocket, error: Error): void {
    const conn = this[SOCKET_CONNECTION]!;
    conn.#error ??= error;
    conn.#emitError(error);
  };

  static #onSocketDrain = function (this: BoundSocket): void {
    this[SOCKET_CONNECTION]!.#afterDrain();
  };

  /** OPEN, CLOSING (a Close frame was sent or received, or the socket is ending) or CLOSED. */
  get readyState(): ReadyState {
    return this.#state;
  }

  /** Bytes queued but not yet handed to the kernel. */
  get bufferedAmount(): number {
    const deflated = this.#deflate === undefined ? 0 : this.#deflate.bufferedBytes;
    return this.pendingBytes + this.outputSocket.writableLength + deflated;
  }

  /** The peer's IP address (undefined once the socket is destroyed on some platforms). */
  get remoteAddress(): string | undefined {
    return this.outputSocket.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.outputSocket.remotePort;
  }

  /** Sends a text message. Returns false when the caller should wait for 'drain'. */
  sendText(text: string): boolean {
    // The exact UTF-8 length is computed only near the limit: one UTF-16 code unit is at most
    // 3 UTF-8 bytes, so `text.length * 3` bounds it without scanning the string.
    const buffered = this.bufferedAmount;
    const bound = this.#frameBytes(text.length * 3);
    const bytes = buffered + bound <= this.#options.maxBufferedBytes ? bound : this.#frameBytes(Buffer.byteLength(text));
    if (!this.#admit(bytes, buffered)) return false;
    if (this.#deflate === undefined) this.#core.sendText(text);
    else this.#deflate.sendText(text);
    return this.#belowHighWater();
  }

  /** Sends a binary message. Returns false when the caller should wait for 'drain'. */
  sendBinary(data: Uint8Array): boolean {
    return this.sendMessage(data, true);
  }

  /**
   * Sends bytes as a binary message, or as a text message when `isBinary` is false — the bytes
   * must then be valid UTF-8 (a received text message can be echoed or forwarded this way
   * without decoding it). Returns false when the caller should wait for 'drain'.
   */
  sendMessage(data: Uint8Array, isBinary: boolean): boolean {
    if (!this.#admit(this.#frameBytes(data.byteLength))) return false;
    if (this.#deflate === undefined) this.#core.sendMessage(data, isBinary);
    else this.#deflate.sendMessage(data, isBinary);
    return this.#belowHighWater();
  }

  /** Sends a text (string) or binary (Uint8Array) message. */
  send(data: string | Uint8Array): boolean {
    return typeof data === "string" ? this.sendText(data) : this.sendBinary(data);
  }

  /**
   * Sends a message as several frames of at most `fragmentBytes` payload bytes each (RFC 6455
   * §5.4), e.g. to interleave pings with a very large message.
   */
  sendFragmented(data: string | Uint8Array, fragmentBytes: number): boolean {
    if (!Number.isSafeInteger(fragmentBytes) || fragmentBytes <= 0) {
      throw new RangeError("fragmentBytes must be a positive integer");
    }
    const isBinary = typeof data !== "string";
    const bytes = isBinary ? data : Buffer.from(data, "utf8");
    const full = Math.floor(bytes.byteLength / fragmentBytes);
    const last = bytes.byteLength - full * fragmentBytes;
    let wireBytes = full * this.#frameBytes(fragmentBytes);
    if (last > 0 || full === 0) wireBytes += this.#frameBytes(last);
    if (!this.#admit(wireBytes)) return false;
    let offset = 0;
    do {
      const end = Math.min(offset + fragmentBytes, bytes.byteLength);
      this.#core.sendFragment(bytes.subarray(offset, end), isBinary, end === bytes.byteLength);
      offset = end;
    } while (offset < bytes.byteLength);
    return this.#belowHighWater();
  }

  /**
   * Sends a message encoded once for many recipients (see `prepareMessage`): the same bytes are
   * written to every connection.
   */
  sendPrepared(message: PreparedMessage): boolean {
    if (!this.#admit(message.byteLength)) return false;
    if (this.#deflate !== undefined) {
      this.#deflate.sendPrepared(message);
      return this.#belowHighWater();
    }
    for (const chunk of message.chunks) {
      if (!this.#core.sendEncoded(chunk)) break;
    }
    return this.#belowHighWater();
  }

  /** Sends a ping with up to 125 bytes of payload. */
  ping(data: Uint8Array | string = EMPTY): boolean {
    if (this.#state !== ReadyState.OPEN) return false;
    this.#core.sendPing(typeof data === "string" ? Buffer.from(data) : data);
    return this.#belowHighWater();
  }

  /** Sends an unsolicited pong with up to 125 bytes of payload (a unidirectional heartbeat). */
  pong(data: Uint8Array | string = EMPTY): boolean {
    if (this.#state !== ReadyState.OPEN) return false;
    this.#core.sendPong(typeof data === "string" ? Buffer.from(data) : data);
    return this.#belowHighWater();
  }

  /**
   * Starts the closing handshake with `code` (default 1000) and `reason` (at most 123 UTF-8
   * bytes). The socket is destroyed if the handshake has not finished after `closeTimeoutMs`.
   * Throws RangeError for a code that may not be sent (1005, 1006, 1015, < 1000, ...).
   */
  close(code = 1000, reason = ""): void {
    if (this.#state === ReadyState.CLOSED || this.#core.closeSent !== undefined) return;
    this.#core.sendClose(code, reason);
    this.#state = ReadyState.CLOSING;
    this.#armCloseTimer();
    // If the peer's Close frame already arrived, our frame completed the handshake.
    if (this.#core.state === ReadyState.CLOSED) this.#afterCloseHandshake();
  }

  /** Destroys the socket at once, without a closing handshake. `close` reports 1006. */
  terminate(): void {
    this.#abort(false);
  }

  /**
   * An abortive close: messages held back by pause() are discarded, so that `close` does not
   * wait for a resume() that may never come. With `reset`, the TCP connection is reset (RST)
   * rather than ended (FIN): see {@link resetSocket}.
   */
  #abort(reset: boolean): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSING;
    this.#core.stopReceiving();
    this.#queued = undefined;
    if (reset) resetSocket(this.outputSocket);
    else this.outputSocket.destroy();
  }

  /** Stops delivering incoming messages (from the next received chunk on) until resume(). */
  pause(): void {
    this.#paused = true;
  }

  /** Delivers what arrived while paused, then resumes reading. */
  resume(): void {
    this.#paused = false;
    if (this.#started) this.#drainQueue();
  }

  /** Whether incoming data is being held back by pause(). */
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Begins processing incoming data. Called by the server after `connection` was emitted and by
   * the client after `connect()` resolved; calling it again does nothing.
   * @internal
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (!this.#paused) this.#drainQueue();
  }

  /**
   * Sends this connection's events to `sink` (see {@link ConnectionSink}). Set it before
   * `start()`, once.
   * @internal
   */
  setSink(sink: ConnectionSink): void {
    this.#sink = sink;
  }

  /**
   * Calls `hook` once the connection is over, before the `close` listeners: how a server
   * forgets its connections without giving each a listener (and so a listener table).
   * @internal
   */
  setFinishedHook(hook: (connection: WebSocketConnection) => void): void {
    this.#onFinished = hook;
  }

  // ----- permessage-deflate hooks (called by the DeflateChannel) -----

  /** @internal A compressed message is being inflated: read nothing more meanwhile. */
  pauseInput(): void {
    this.outputSocket.pause();
  }

  /** @internal The inflated message was handled: the core goes on, then the socket. */
  resumeInput(): void {
    this.#core.resumeReceiving();
    if (this.#started && !this.#paused && !this.#core.suspended) this.#drainQueue();
  }

  /** @internal Compressed messages that delayed the end of the socket have been written. */
  outputIdle(): void {
    this.#endSocket();
  }

  /** @internal zlib streams this connection holds between messages (for tests). */
  get deflateStreams(): number {
    return this.#deflate === undefined ? 0 : this.#deflate.heldStreams;
  }


  // ----- ProtocolHandler (write() and writeFrame() are BatchedWriter's) -----

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    const sink = this.#sink;
    if (sink !== undefined) sink[SINK_MESSAGE](data, isBinary);
    else this.emit("message", data, isBinary);
  }

  /** @internal */
  onPing(data: Buffer): void {
    if (this.#options.autoPong && this.#state === ReadyState.OPEN) {
      // Not #belowHighWater(): a ping must not make a 'drain' due to a sender never refused.
      if (this.bufferedAmount < this.#options.highWaterMarkBytes) this.#core.sendPong(data);
      else this.#pendingPong = Buffer.from(data); // only the most recent one is answered
    }
    const sink = this.#sink;
    if (sink !== undefined) sink[SINK_PING](data);
    else this.emit("ping", data);
  }

  /** @internal */
  onPong(data: Buffer): void {
    const sink = this.#sink;
    if (sink !== undefined) sink[SINK_PONG](data);
    else this.emit("pong", data);
  }

  /** @internal */
  onCloseFrame(): void {
    this.#state = ReadyState.CLOSING;
    if (this.#core.state === ReadyState.CLOSED) this.#afterCloseHandshake();
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.#error ??= error;
    this.#state = ReadyState.CLOSING;
    this.#emitError(error);
    // RFC 6455 §7.1.7: after the Close frame, _Close the WebSocket Connection_.
    this.#endSocket();
    this.#armCloseTimer();
  }


  // ----- internals -----

  /**
   * Applies the backpressure policy before `byteLength` more bytes are queued: wire bytes,
   * frame headers included, so that the limit is exact (bufferedAmount counts the same bytes).
   */
  /** `buffered`: {@link bufferedAmount}, when the caller has just read it. */
  #admit(byteLength: number, buffered = this.bufferedAmount): boolean {
    if (this.#state !== ReadyState.OPEN) {
      if (this.#state === ReadyState.CONNECTING) throw new InvalidStateError("connection is not open yet");
      return false;
    }
    // A message larger than the limit is still sent when nothing else waits: the limit bounds
    // what piles up behind a peer that does not read, not the size of one message.
    if (buffered === 0 || buffered + byteLength <= this.#options.maxBufferedBytes) return true;
    if (this.#options.backpressurePolicy === "drop") {
      this.droppedMessages++;
      this.#needDrain = true;
      return false;
    }
    const error = new WyndError(
      "ERR_BUFFER_OVERFLOW",
      `more than ${this.#options.maxBufferedBytes} bytes wait to be written to a peer that does not read`,
    );
    this.#error ??= error;
    this.#emitError(error);
    // Reset, not ended: a peer cut for not reading would otherwise keep its socket ESTABLISHED,
    // and our kernel the unsent bytes, until TCP gives up on its zero window.
    this.#abort(true);
    return false;
  }

  /**
   * @internal Whether a message of `byteLength` bytes may wait for this connection while
   * `heldBytes` bytes already wait outside it (broadcasts an API handle holds back): the
   * `maxBufferedBytes` check of a send, counting them, with its backpressure policy.
   */
  admitHeld(byteLength: number, heldBytes: number): boolean {
    return this.#admit(byteLength, this.bufferedAmount + heldBytes);
  }

  #belowHighWater(): boolean {
    if (this.bufferedAmount < this.#options.highWaterMarkBytes) return true;
    this.#needDrain = true;
    return false;
  }

  /** @internal */
  protected override get outputHighWaterMark(): number {
    return this.#options.highWaterMarkBytes;
  }

  /** @internal */
  protected override get outputWaiting(): boolean {
    return this.#needDrain || this.#pendingPong !== undefined;
  }

  /** @internal */
  protected override outputWritable(): void {
    this.#afterDrain();
  }

  /** Wire size of one frame with a payload of `payloadBytes` (RFC 6455 §5.2). */
  #frameBytes(payloadBytes: number): number {
    const header = payloadBytes < 126 ? 2 : payloadBytes < 65_536 ? 4 : 10;
    return header + (this.role === "client" ? 4 : 0) + payloadBytes;
  }

  #afterDrain(): void {
    // Not while closing: sends return false then anyway, and a write callback called with an
    // error by destroy() must not produce a 'drain'.
    if (this.#state !== ReadyState.OPEN || this.bufferedAmount >= this.#options.highWaterMarkBytes) return;
    const pong = this.#pendingPong;
    if (pong !== undefined) {
      this.#pendingPong = undefined;
      if (this.#state === ReadyState.OPEN) this.#core.sendPong(pong);
    }
    if (this.#needDrain) {
      this.#needDrain = false;
      this.emit("drain");
      this.#sink?.[SINK_DRAIN]();
    }
  }

  #drainQueue(): void {
    const queued = this.#queued;
    if (queued !== undefined) {
      // A handler may pause, resume (draining from here again) or abort (dropping the queue).
      while (this.#queued === queued && queued.length > 0 && !this.#paused) {
        this.#core.receiveData(queued.shift()!);
      }
      if (this.#queued === queued && queued.length === 0) this.#queued = undefined;
    }
    if (this.#paused || this.#core.suspended) return; // resumeInput() comes back here
    if (this.#socketClosed) this.#finish();
    else this.outputSocket.resume();
  }

  /** Both Close frames have been exchanged (RFC 6455 §7.1.4). */
  #afterCloseHandshake(): void {
    this.#armCloseTimer();
    // RFC 6455 §7.1.1: "the server SHOULD close the underlying TCP connection" first; the client
    // waits for it (and destroys the socket if it never comes, after closeTimeoutMs).
    if (this.role === "server") this.#endSocket();
  }

  #endSocket(): void {
    if (this.outputEnded) return;
    // Compressed messages still being compressed go out first (outputIdle() comes back here).
    if (this.#deflate !== undefined && this.#deflate.deferEnd()) return;
    this.endOutput();
  }

  #armCloseTimer(): void {
    if (this.#closeArmed || this.#socketClosed) return;
    this.#closeArmed = true;
    // One shared timer per delay instead of a Timeout per closing connection (deadlines.ts).
    closeDeadlines(this.#options.closeTimeoutMs).add(this.outputSocket);
  }

  /**
   * @internal One heartbeat tick: time out a silent peer, else ping it and wait for the next
   * tick. Ticks come from a shared {@link DeadlineQueue}: at least `heartbeatIntervalMs` apart
   * (at most a quarter more), so a peer always has a whole interval to answer a ping.
   */
  heartbeatTick(): void {
    if (this.#state !== ReadyState.OPEN) return;
    if (this.#pingOutstanding && !this.#receivedSinceHeartbeat) {
      const error = new WyndError("ERR_HEARTBEAT_TIMEOUT", "the peer did not answer a heartbeat ping");
      this.#error ??= error;
      this.#emitError(error);
      this.close(1011, "heartbeat timeout");
      return;
    }
    this.#receivedSinceHeartbeat = false;
    this.#pingOutstanding = true;
    this.#core.sendPing(EMPTY);
    heartbeatDeadlines(this.#options.heartbeatIntervalMs).add(this);
  }

  #emitError(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
    this.#sink?.[SINK_ERROR](error);
  }

  /** The socket is closed: report the end exactly once. */
  #finish(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSED;
    this.#core.stopReceiving();
    this.#queued = undefined;
    this.discardOutput();
    this.#deflate?.close();
    if (this.#closeArmed) closeDeadlines(this.#options.closeTimeoutMs).delete(this.outputSocket);
    if (this.#options.heartbeatIntervalMs > 0) heartbeatDeadlines(this.#options.heartbeatIntervalMs).delete(this);
    const received = this.#core.closeReceived;
    const wasClean = received !== undefined && this.#core.closeSent !== undefined;
    const code = received?.code ?? 1006;
    const reason = received?.reason ?? "";
    this.#onFinished?.(this);
    this.emit("close", code, reason, wasClean);
    this.#sink?.[SINK_CLOSE](code, reason, wasClean);
  }

  /** The error that ended the connection, if any (a protocol error, socket error, overflow...). */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * A promise for the end of the connection, resolving with the close code and reason.
   * Never rejects.
   */
  closed(): Promise<{ code: number; reason: string; wasClean: boolean }> {
    if (this.#state === ReadyState.CLOSED) {
      const received = this.#core.closeReceived;
      return Promise.resolve({
        code: received?.code ?? 1006,
        reason: received?.reason ?? "",
        wasClean: received !== undefined && this.#core.closeSent !== undefined,
      });
    }
    return new Promise((resolve) => {
      this.once("close", (code, reason, wasClean) => resolve({ code, reason, wasClean }));
    });
  }

  /** Throws ConnectionClosedError unless the connection is OPEN (for callers that need it). */
  assertOpen(): void {
    if (this.#state !== ReadyState.OPEN) {
      throw new ConnectionClosedError("connection is not open", this.#core.closeReceived?.code);
    }
  }
}


const EMPTY = new Uint8Array(0);

/**
 * Destroys `socket` with a TCP reset (RST, `SO_LINGER` 0): a plain destroy() closes the file
 * descriptor, but the kernel still holds the unsent bytes and sends them, then a FIN, to a peer
 * whose window is shut; it keeps the connection (and its buffers) until the peer reads or TCP
 * gives up, minutes later. The reset frees both ends at once and tells the peer it was cut.
 * A TLS socket's handle is not a TCP one (resetAndDestroy throws ERR_INVALID_HANDLE_TYPE before
 * doing anything): it is destroyed plainly.
 */
function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** The close timeouts of every connection, one queue per `closeTimeoutMs` value in use. */
const CLOSE_DEADLINES = new Map<number, DeadlineQueue<Socket>>();

function closeDeadlines(delayMs: number): DeadlineQueue<Socket> {
  let queue = CLOSE_DEADLINES.get(delayMs);
  if (queue === undefined) CLOSE_DEADLINES.set(delayMs, (queue = new DeadlineQueue(delayMs, destroySocket)));
  return queue;
}

/** The heartbeats of every connection, one queue per `heartbeatIntervalMs` value in use. */
const HEARTBEAT_DEADLINES = new Map<number, DeadlineQueue<WebSocketConnection>>();

function heartbeatDeadlines(intervalMs: number): DeadlineQueue<WebSocketConnection> {
  let queue = HEARTBEAT_DEADLINES.get(intervalMs);
  if (queue === undefined) HEARTBEAT_DEADLINES.set(intervalMs, (queue = new DeadlineQueue(intervalMs, heartbeat)));
  return queue;
}

function heartbeat(conn: WebSocketConnection): void {
  conn.heartbeatTick();
}

/**
 * The protocol options of each resolved options object, by role and permessage-deflate, made
 * (and validated) once: shared objects, so the parsers of a server share their config too.
 */
const PROTOCOL_OPTIONS = new WeakMap<ResolvedConnectionOptions, Partial<Record<`${Role}${"" | "+deflate"}`, ProtocolOptions>>>();

function protocolOptions(options: ResolvedConnectionOptions, role: Role, perMessageDeflate = false): ProtocolOptions {
  let variants = PROTOCOL_OPTIONS.get(options);
  if (variants === undefined) PROTOCOL_OPTIONS.set(options, (variants = {}));
  const key: `${Role}${"" | "+deflate"}` = perMessageDeflate ? `${role}+deflate` : role;
  return (variants[key] ??= markResolved({
    role,
    maxMessageBytes: options.maxMessageBytes,
    maxFrameBytes: options.maxFrameBytes,
    maxFragmentsPerMessage: options.maxFragmentsPerMessage,
    perMessageDeflate,
  }));
}
