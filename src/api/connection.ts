/**
 * The connection passed to `onConnection`: where handlers are registered, and the one loop that
 * runs them.
 *
 * Per connection, events are handled one at a time, in the order they arrived: when a handler
 * returns a promise, the next handler (of the same event, then of the next event) waits for it.
 * Until `onConnection` (with the middleware) has finished, the engine connection is paused and
 * nothing is delivered, so handlers registered after an `await` in it still see every message.
 *
 * While a handler runs, the engine keeps reading, so pongs keep the heartbeat alive and a Close
 * frame is answered at once; what arrives waits in a queue here. Past {@link QUEUE_PAUSE_BYTES}
 * or {@link QUEUE_PAUSE_EVENTS} the engine is paused (the socket is no longer read, and TCP
 * flow control slows the peer down) until the queue has been handled: a slow handler bounds the
 * memory its peer can make us hold instead of queueing unbounded work. The crate registered handlers asynchronously (early messages were dropped) and ran two
 * read loops per connection (messages were reordered); this loop is the single one.
 *
 * @module
 */

import { ConnectionClosedError } from "../errors.js";
import type { UpgradeRequest } from "../protocol/handshake.js";
import { ReadyState } from "../protocol/protocol.js";
import {
  SINK_CLOSE,
  SINK_DRAIN,
  SINK_ERROR,
  SINK_MESSAGE,
  SINK_PING,
  SINK_PONG,
  type ConnectionSink,
  type WebSocketConnection,
} from "../transport/connection.js";
import type {
  BinaryHandler,
  CloseEvent,
  CloseHandler,
  ControlHandler,
  DefaultData,
  ErrorHandler,
  OpenHandler,
  TextHandler,
} from "./events.js";
import { BEGIN_SHUTDOWN, FINISHED, toError, type ConnectionContext } from "./connection-context.js";
import { forgetDecoded, rememberDecoded } from "./decoded-text.js";
import { CLOSE_REQUESTED, DRAINED, ENDED, Handle, OWNER_HUB, RESOLVED, type HandleOwner, type NO_DATA } from "./handle.js";
import type { Hub } from "./rooms.js";

/** The event kinds of the loop (indices, so the queue holds no per-event objects). */
const NONE = -1;
const TEXT = 0;
const BINARY = 1;
const PING = 2;
const PONG = 3;
const ERROR = 4;
const CLOSE = 5;

type AnyHandler = (event: never, handle: never) => unknown;
/**
 * The handlers of one event kind: none, one (stored as itself: most connections register one
 * handler per kind, and an array per kind was a sixth of the API's memory per connection), or
 * several in registration order.
 */
type Handlers = AnyHandler | readonly AnyHandler[] | undefined;

/**
 * Queued payload bytes past which the engine stops reading. 64 KiB is one socket read: a fast
 * peer costs at most about this much (plus one message of up to `maxMessageBytes`) while its
 * handler works.
 */
export const QUEUE_PAUSE_BYTES = 64 * 1024;
/** Queued events past which the engine stops reading (many tiny messages cost per event too). */
export const QUEUE_PAUSE_EVENTS = 256;

/**
 * A new connection, as passed to `onConnection`. Register handlers on it; they receive the
 * connection's {@link Handle}. Registration is synchronous and several handlers per event are
 * allowed (they run in registration order, each awaited).
 */
export class Connection<Data = DefaultData> implements ConnectionSink, HandleOwner<Data> {
  /** The handle passed to every handler of this connection. */
  readonly handle: Handle<Data>;

  readonly #engine: WebSocketConnection;
  readonly #context: ConnectionContext<Data>;
  // Handler lists are replaced (copy-on-write) on registration, so the loop can iterate a
  // snapshot: a handler registered while an event is dispatched does not receive that event.
  // One field per kind (see Handlers): most connections register two or three kinds only.
  #onText: Handlers;
  #onBinary: Handlers;
  #onClose: Handlers;
  /** kind, payload, kind, payload...: made when an event first has to wait. */
  #queue: unknown[] | undefined;
  #head = 0;
  #queuedBytes = 0;
  /** Until the setup has finished, nothing is read at all. */
  #settingUp = true;
  /** Pending promises (setup, onOpen, a handler) that the next handler must wait for. */
  #holds = 1; // the setup
  #kind = NONE;
  #event: unknown;
  #running: Handlers;
  #index = 0;
  /** The application closed the connection: no more message handlers. */
  #closing = false;
  /** Where the close handlers are (see CLOSE_STARTED). */
  #closeStage = CLOSE_NOT_STARTED;
  /** The callbacks of a handler's promise, made for the first handler that returns one. */
  #releasers: [() => void, (error: unknown) => void] | undefined;

  /** What few connections use (see {@link Uncommon}): made on first use. */
  #uncommon: Uncommon | undefined;

  get #onPing(): Handlers {
    return this.#uncommon?.onPing;
  }
  set #onPing(handlers: Handlers) {
    (this.#uncommon ??= new Uncommon()).onPing = handlers;
  }
  get #onPong(): Handlers {
    return this.#uncommon?.onPong;
  }
  set #onPong(handlers: Handlers) {
    (this.#uncommon ??= new Uncommon()).onPong = handlers;
  }
  get #onError(): Handlers {
    return this.#uncommon?.onError;
  }
  set #onError(handlers: Handlers) {
    (this.#uncommon ??= new Uncommon()).onError = handlers;
  }
  get #closeEvent(): CloseEvent | undefined {
    return this.#uncommon?.closeEvent;
  }
  set #closeEvent(event: CloseEvent | undefined) {
    (this.#uncommon ??= new Uncommon()).closeEvent = event;
  }
  /** Made when `Wynd.close()` asks for it (see FINISHED): most connections never need it. */
  get #finished(): Finished | undefined {
    return this.#uncommon?.finished;
  }
  set #finished(finished: Finished | undefined) {
    (this.#uncommon ??= new Uncommon()).finished = finished;
  }

  /** @internal Connections are created by `Wynd`. */
  constructor(
    engine: WebSocketConnection,
    request: UpgradeRequest,
    data: Data | typeof NO_DATA,
    context: ConnectionContext<Data>,
  ) {
    this.#engine = engine;
    this.#context = context;
    this.handle = new Handle(engine, data, this);
    // Nothing is delivered before the setup has run: the engine starts reading right after the
    // server's `connection` event, which is where this constructor runs.
    engine.pause();
    // The engine calls the SINK_* methods below directly: no listener closure per event and
    // no EventEmitter dispatch per message.
    engine.setSink(this);
    this.#runSetup(request);
  }

  /** @internal */
  [SINK_MESSAGE](payload: Buffer, isBinary: boolean): void {
    this.#deliver(isBinary ? BINARY : TEXT, payload);
  }

  /** @internal */
  [SINK_PING](payload: Buffer): void {
    this.#deliver(PING, payload);
  }

  /** @internal */
  [SINK_PONG](payload: Buffer): void {
    this.#deliver(PONG, payload);
  }

  /** @internal */
  [SINK_ERROR](error: Error): void {
    this.#deliver(ERROR, error);
  }

  /** @internal */
  [SINK_DRAIN](): void {
    this.handle[DRAINED]();
  }

  /** @internal */
  [SINK_CLOSE](code: number, reason: string, wasClean: boolean): void {
    // Leave every room and the client list now, not when the user's onClose runs: a
    // broadcast from another connection must not count a dead peer, and a handler that
    // never settles must not leave a ghost member.
    this.#context.hub.remove(this.handle);
    const event: CloseEvent = { code, reason, wasClean };
    this.#closeEvent = event;
    this.#deliver(CLOSE, event);
    this.handle[ENDED](code);
  }

  /** @internal The hub of this connection's server (for its handle). */
  get [OWNER_HUB](): Hub<Data> {
    return this.#context.hub;
  }

  /** @internal The application called `handle.close()`. */
  [CLOSE_REQUESTED](): void {
    this.#stopMessages();
  }

  /**
   * Runs `handler` now — the connection is already open when `onConnection` is called — unless
   * the connection has closed meanwhile. Resolves when the handler (and the promise it returns)
   * has finished; never rejects (a failure goes to `onError`). Await it, as the tutorial does,
   * to run code after the welcome; no message handler runs until it has finished.
   */
  onOpen(handler: OpenHandler<Data>): Promise<void> {
    if (typeof handler !== "function") throw new TypeError("onOpen takes a function");
    if (this.#engine.readyState !== ReadyState.OPEN) return Promise.resolve();
    let result: unknown;
    try {
      result = handler(this.handle);
    } catch (error) {
      this.#failed(error);
      return Promise.resolve();
    }
    if (!isThenable(result)) return Promise.resolve();
    this.#hold();
    const [release, releaseAfterFailure] = this.#releaseCallbacks();
    return Promise.resolve(result).then(release, releaseAfterFailure);
  }

  /** Adds a handler for text messages. */
  onText(handler: TextHandler<Data>): this {
    return this.#add(TEXT, handler);
  }

  /** Adds a handler for binary messages. */
  onBinary(handler: BinaryHandler<Data>): this {
    return this.#add(BINARY, handler);
  }

  /**
   * Adds a handler for the end of the connection. It runs exactly once per connection, after
   * every message handler, however the connection ended (a close from either side, a protocol
   * error, an abrupt disconnect, a server shutdown). Added after the connection was over, it
   * runs at once (asynchronously) with the same event.
   */
  onClose(handler: CloseHandler<Data>): this {
    this.#add(CLOSE, handler);
    if (this.#closeStage !== CLOSE_NOT_STARTED) this.#deliver(CLOSE, handler);
    return this;
  }

  /**
   * Adds a handler for this connection's errors (see {@link ErrorHandler}). Handler failures are
   * also reported to the server's `onError`.
   */
  onError(handler: ErrorHandler<Data>): this {
    return this.#add(ERROR, handler);
  }

  /** Adds a handler for pings from the peer (the engine has already answered them). */
  onPing(handler: ControlHandler<Data>): this {
    return this.#add(PING, handler);
  }

  /** Adds a handler for pongs from the peer (answers to `handle.ping()`, or heartbeats). */
  onPong(handler: ControlHandler<Data>): this {
    return this.#add(PONG, handler);
  }

  /** The connection's id (the same as `handle.id`). */
  get id(): number {
    return this.#engine.id;
  }

  /** @internal Server shutdown: stop delivering messages and let the close handshake run. */
  [BEGIN_SHUTDOWN](): void {
    this.#stopMessages();
  }

  /** @internal Resolves once the close handlers have run. */
  get [FINISHED](): Promise<void> {
    if (this.#finished === undefined) {
      if (this.#closeStage === CLOSE_DISPATCHED) {
        this.#finished = { promise: Promise.resolve(), resolve: undefined };
      } else {
        let resolve!: () => void;
        const promise = new Promise<void>((resolveFinished) => (resolve = resolveFinished));
        this.#finished = { promise, resolve };
      }
    }
    return this.#finished.promise;
  }

  #add(kind: number, handler: unknown): this {
    if (typeof handler !== "function") throw new TypeError("a handler must be a function");
    const previous = this.#handlersOf(kind);
    const next: Handlers =
      previous === undefined
        ? (handler as AnyHandler)
        : typeof previous === "function"
          ? [previous, handler as AnyHandler]
          : [...previous, handler as AnyHandler];
    switch (kind) {
      case TEXT:
        this.#onText = next;
        break;
      case BINARY:
        this.#onBinary = next;
        break;
      case PING:
        this.#onPing = next;
        break;
      case PONG:
        this.#onPong = next;
        break;
      case ERROR:
        this.#onError = next;
        break;
      default:
        this.#onClose = next;
    }
    return this;
  }

  #runSetup(request: UpgradeRequest): void {
    let result: unknown;
    try {
      result = this.#context.setup(this, this.handle, request);
    } catch (error) {
      this.#setupFailed(error);
      return;
    }
    // Handlers that returned no promise: the setup is over now, no microtask needed.
    if (!isThenable(result)) {
      this.#setupDone();
      return;
    }
    Promise.resolve(result).then(
      () => this.#setupDone(),
      (error: unknown) => this.#setupFailed(error),
    );
  }

  #setupDone(): void {
    // Only now is the connection a client: a broadcast must not reach a peer that middleware
    // is still authenticating.
    if (!this.#closing && this.#engine.readyState === ReadyState.OPEN) this.#context.hub.addClient(this.handle);
    this.#settingUp = false;
    this.#release();
  }

  #setupFailed(error: unknown): void {
    this.#failed(error);
    // A half-configured connection would misbehave: close it with 1011 (internal error).
    void this.handle.close(1011, "internal error").catch(noop);
    this.#stopMessages();
    this.#settingUp = false;
    this.#release();
  }

  /** An event from the engine, or a late close handler: run it now or queue it. */
  #deliver(kind: number, payload: unknown): void {
    if (this.#closing && kind < ERROR) return; // messages after close() are not delivered
    const queue = this.#queue;
    if (this.#holds === 0 && this.#kind === NONE && (queue === undefined || this.#head === queue.length)) {
      this.#begin(kind, payload);
      this.#pump();
    } else {
      const queued = (this.#queue ??= []);
      queued.push(kind, payload);
      // What is queued runs in microtasks, once the handler's promise settled: its answers should
      // leave with the ones already written during this read, in one write (see deferFlush).
      // Only then: a lone message's answer is written at the end of the read, without a tick.
      this.#engine.deferFlush();
      if (kind < ERROR) this.#queuedBytes += (payload as Buffer).byteLength;
      // Queueing can only call for a pause: look at the flow only once a limit is reached.
      if (this.#queuedBytes >= QUEUE_PAUSE_BYTES || queued.length - this.#head >= 2 * QUEUE_PAUSE_EVENTS) this.#updateFlow();
    }
  }

  #begin(kind: number, payload: unknown): void {
    switch (kind) {
      case TEXT: {
        const data = (payload as Buffer).toString("utf8");
        rememberDecoded(data, payload as Buffer);
        this.#event = { data };
        break;
      }
      case BINARY:
        this.#event = { data: payload };
        break;
      case CLOSE:
        if (typeof payload === "function") {
          // A close handler added after the close was dispatched: run only that one.
          this.#kind = CLOSE;
          this.#event = this.#closeEvent;
          this.#running = payload as AnyHandler;
          this.#index = 0;
          return;
        }
        if (this.#closeStage === CLOSE_NOT_STARTED) this.#closeStage = CLOSE_STARTED;
        this.#event = payload;
        break;
      default:
        this.#event = payload;
    }
    this.#kind = kind;
    this.#running = this.#handlersOf(kind);
    this.#index = 0;
  }

  /** Runs handlers until one returns a pending promise or nothing is left. */
  #pump(): void {
    while (this.#holds === 0) {
      if (this.#kind === NONE) {
        const queue = this.#queue;
        if (queue === undefined || this.#head === queue.length) {
          // Reset only a queue that was used: setting the length of an empty array is not free
          // (2% of the pipelined echo through the API).
          if (queue !== undefined && this.#head !== 0) {
            queue.length = 0;
            this.#head = 0;
          }
          break;
        }
        const kind = queue[this.#head] as number;
        const payload = queue[this.#head + 1];
        queue[this.#head] = queue[this.#head + 1] = undefined;
        this.#head += 2;
        if (kind < ERROR) this.#queuedBytes -= (payload as Buffer).byteLength;
        if (this.#closing && kind < ERROR) continue;
        this.#begin(kind, payload);
        continue;
      }
      const running = this.#running;
      const index = this.#index;
      if (running === undefined || index === (typeof running === "function" ? 1 : running.length)) {
        this.#endEvent();
        continue;
      }
      this.#index = index + 1;
      this.#call(typeof running === "function" ? running : running[index]!);
    }
    this.#updateFlow();
  }

  /** Pauses or resumes the engine's reading (see the module comment). */
  #updateFlow(): void {
    const engine = this.#engine;
    const pause =
      !this.#closing &&
      (this.#settingUp ||
        this.#queuedBytes >= QUEUE_PAUSE_BYTES ||
        (this.#queue !== undefined && this.#queue.length - this.#head >= 2 * QUEUE_PAUSE_EVENTS));
    if (pause === engine.isPaused) return;
    // resume() may deliver queued chunks synchronously, re-entering #deliver: fine, every
    // path there ends in this method, which then sees the new queue.
    if (pause) engine.pause();
    else engine.resume();
  }

  #call(handler: AnyHandler): void {
    let result: unknown;
    try {
      result = (handler as (event: unknown, handle: Handle<Data>) => unknown)(this.#event, this.handle);
    } catch (error) {
      this.#handlerFailed(error);
      return;
    }
    // A send's own settled promise needs no wait (see RESOLVED in handle.ts).
    if (result === RESOLVED || !isThenable(result)) return;
    this.#hold();
    const [release, releaseAfterFailure] = this.#releaseCallbacks();
    result.then(release, releaseAfterFailure);
  }

  /** An error handler that fails goes to the server level only (no loop through itself). */
  #handlerFailed(error: unknown): void {
    if (error instanceof ConnectionClosedError) return; // a peer that left (see #failed)
    if (this.#kind === ERROR) this.#context.report(toError(error), this.handle, true);
    else this.#failed(error);
  }

  #endEvent(): void {
    const kind = this.#kind;
    if (kind === TEXT) forgetDecoded();
    this.#kind = NONE;
    this.#event = undefined;
    this.#running = undefined;
    if (kind === CLOSE && this.#closeStage !== CLOSE_DISPATCHED) {
      this.#closeStage = CLOSE_DISPATCHED;
      this.#finished?.resolve?.();
      this.#context.finished(this);
    }
  }

  #handlersOf(kind: number): Handlers {
    switch (kind) {
      case TEXT:
        return this.#onText;
      case BINARY:
        return this.#onBinary;
      case PING:
        return this.#onPing;
      case PONG:
        return this.#onPong;
      case ERROR:
        return this.#onError;
      default:
        return this.#onClose;
    }
  }

  #hold(): void {
    this.#holds++;
  }

  #release(): void {
    this.#holds--;
    this.#pump();
  }

  #releaseCallbacks(): [() => void, (error: unknown) => void] {
    return (this.#releasers ??= [
      () => this.#release(),
      (error: unknown) => {
        this.#handlerFailed(error);
        this.#release();
      },
    ]);
  }

  #stopMessages(): void {
    if (this.#closing) return;
    // Read again even during the setup or behind a full queue: the peer's Close frame must
    // arrive, or the closing handshake would wait for its timeout.
    this.#closing = true;
    this.#updateFlow();
  }

  /**
   * A handler threw or rejected: tell the connection's error handlers, then the server. Not
   * for `ConnectionClosedError`: a handler that stopped at `await handle.sendText(…)` because
   * its peer left is how a departure looks from a handler, not a bug of the application (a chat
   * user closing a tab mid-burst would print one stack trace per queued message). It has done
   * its job by stopping the handler; a handler that must know catches it.
   */
  #failed(value: unknown): void {
    if (value instanceof ConnectionClosedError) return;
    const error = toError(value);
    const registered = this.#onError;
    const handlers = registered === undefined ? EMPTY : typeof registered === "function" ? [registered] : registered;
    for (const handler of handlers) {
      try {
        const result = (handler as ErrorHandler<Data>)(error, this.handle);
        if (isThenable(result)) result.then(undefined, (e: unknown) => this.#context.report(toError(e), this.handle, true));
      } catch (nested) {
        this.#context.report(toError(nested), this.handle, true);
      }
    }
    this.#context.report(error, this.handle, handlers.length > 0);
  }
}

const EMPTY: readonly AnyHandler[] = Object.freeze([]);

/** The promise `Wynd.close()` waits for (see FINISHED), with its resolver while pending. */
interface Finished {
  readonly promise: Promise<void>;
  resolve: (() => void) | undefined;
}

/**
 * The state of a connection that most connections never use while idle: the handlers of pings,
 * pongs and errors, the close event, the shutdown promise. One object made on first use instead
 * of five fields per connection (32 B less for an idle one).
 */
class Uncommon {
  onPing: Handlers = undefined;
  onPong: Handlers = undefined;
  onError: Handlers = undefined;
  closeEvent: CloseEvent | undefined = undefined;
  finished: Finished | undefined = undefined;
}

/** `#closeStage`: the close handlers' snapshot was not taken yet... */
const CLOSE_NOT_STARTED = 0;
/** ...it was (a handler added now is run on its own)... */
const CLOSE_STARTED = 1;
/** ...and they have all run. */
const CLOSE_DISPATCHED = 2;

function noop(): void {
  // A close(1011) after a failed setup can only fail if the connection is already gone.
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
