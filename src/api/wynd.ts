/**
 * `Wynd`: the server of the Wynd API, on top of the engine's `WebSocketServer`.
 *
 * It owns the order of a connection's life: the engine accepts the upgrade (limits, hook,
 * subprotocol), then the middleware and `onConnection` handlers run while incoming messages
 * wait, then messages are delivered, then `onClose` runs exactly once. Errors thrown anywhere in
 * user code end up in `onError`, never in `uncaughtException`.
 *
 * @module
 */

import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { HandshakeError, InvalidStateError, WyndError } from "../errors.js";
import type { UpgradeRequest } from "../protocol/handshake.js";
import type { WebSocketConnection } from "../transport/connection.js";
import {
  WebSocketServer,
  type ServerOptions,
  type UpgradeContext,
  type UpgradeDecision,
} from "../transport/server.js";
import { InProcessAdapter, type Adapter, type AdapterListener, type AdapterState } from "./adapter.js";
import { BEGIN_SHUTDOWN, FINISHED, toError, type ConnectionContext } from "./connection-context.js";
import { Connection } from "./connection.js";
import type { DefaultData, ServerErrorHandler } from "./events.js";
import { NO_DATA, type Handle } from "./handle.js";
import { broadcastTo, Hub, Room, type BroadcastOptions } from "./rooms.js";

/**
 * Per-connection setup, run in registration order before the `onConnection` handlers. Call
 * `await next()` to run the rest of the chain (code after it runs once the chain is done); not
 * calling it stops the chain (close the connection, e.g. `handle.close(1008, "forbidden")`).
 * A middleware that throws or rejects has its connection closed with 1011.
 */
export type Middleware<Data = DefaultData> = (
  connection: Connection<Data>,
  handle: Handle<Data>,
  next: () => Promise<void>,
) => unknown;

/** Called for each new connection; may return a promise (messages wait for it). */
export type ConnectionHandler<Data = DefaultData> = (connection: Connection<Data>, handle: Handle<Data>) => unknown;

/**
 * The pre-upgrade hook: runs before the `101 Switching Protocols` answer (authentication, an
 * origin allow-list...). Return or resolve to `false` to refuse with 403, to
 * `{ status, headers?, body? }` to refuse with that status, or throw a `HandshakeError` to refuse
 * with its status; anything else accepts. Any other exception refuses with 500.
 */
export type UpgradeHook = (
  request: UpgradeRequest,
  context: UpgradeContext,
) => UpgradeDecision | Promise<UpgradeDecision>;

/**
 * Options of {@link Wynd}: every option of the engine's `WebSocketServer` (limits, timeouts,
 * backpressure, heartbeat, `path`, `selectProtocol`; defaults in docs/limits.md), plus:
 */
export interface WyndOptions<Data = DefaultData> extends Omit<ServerOptions, "beforeUpgrade"> {
  /** The pre-upgrade hook (see {@link UpgradeHook}). Default: accept every valid upgrade. */
  readonly beforeUpgrade?: UpgradeHook;
  /**
   * Builds the initial `handle.data` of a connection from its upgrade request. Default: `{}`.
   * Give it whenever `Data` has required fields.
   */
  readonly createData?: (request: UpgradeRequest) => Data;
  /**
   * What reaches the other nodes (processes, machines) of the application: with one, every
   * broadcast and room reaches the clients of every node (e.g. `createRedisAdapter()` of
   * `wynd/redis`). Default: none, a single node (`wynd.adapter` is then an
   * {@link InProcessAdapter}). An adapter serves one `Wynd`. `close()` does NOT close it (it may
   * be shared with the application's own use of Redis): call `adapter.close()` yourself, after
   * `wynd.close()` or before it, both orders are safe.
   */
  readonly adapter?: Adapter;
}

/** Called with a message another node sent with `publishToNodes`. */
export type NodeMessageHandler = (message: string) => unknown;

/** Called when the adapter goes down (with why) or comes back up. */
export type AdapterStateHandler = (state: AdapterState, error?: Error) => unknown;

/** `listen()`'s callback: called with the bound address once the server listens. */
export type ListeningHandler = (address: AddressInfo) => unknown;

/**
 * A WebSocket server with the event API of the Rust crate Wynd.
 *
 * ```ts
 * const wynd = new Wynd();
 * wynd.onConnection(async (conn) => {
 *   await conn.onOpen((handle) => handle.sendText("welcome"));
 *   conn.onText((msg, handle) => handle.sendText(`echo: ${msg.data}`));
 * });
 * await wynd.listen(8080, () => console.log("listening"));
 * ```
 */
export class Wynd<Data = DefaultData> {
  readonly #server: WebSocketServer;
  readonly #hub: Hub<Data>;
  /** The adapter given in the options, or one made on first read of `adapter`. */
  #adapter: Adapter | undefined;
  #nodeMessageHandlers: NodeMessageHandler[] = [];
  #adapterStateHandlers: AdapterStateHandler[] = [];
  #adapterState: AdapterState = "up";
  readonly #connections = new Set<Connection<Data>>();
  readonly #createData: ((request: UpgradeRequest) => Data) | undefined;
  #middleware: Middleware<Data>[] = [];
  /**
   * The `onConnection` handlers alone, for the common server without `use()` middleware: they
   * run in a plain loop, synchronously while none returns a promise (no async function, `next`
   * closure or promise per connection).
   */
  #connectionHandlers: ConnectionHandler<Data>[] = [];
  #hasMiddleware = false;
  #errorHandlers: ServerErrorHandler<Data>[] = [];
  #closeHandlers: Array<() => unknown> = [];
  #closed: Promise<void> | undefined;
  readonly #context: ConnectionContext<Data>;

  /** Creates a server; it accepts nothing until `listen()`, `attach()` or `handleUpgrade()`. */
  constructor(options: WyndOptions<Data> = {}) {
    const { beforeUpgrade, createData, adapter, ...serverOptions } = options;
    if (beforeUpgrade !== undefined && typeof beforeUpgrade !== "function") {
      throw new TypeError("beforeUpgrade must be a function");
    }
    if (adapter !== undefined && (adapter === null || typeof adapter.bind !== "function")) {
      throw new TypeError("adapter must be an Adapter (see wynd/redis createRedisAdapter)");
    }
    this.#hub = new Hub<Data>(adapter);
    this.#adapter = adapter;
    if (adapter !== undefined) {
      this.#adapterState = adapter.state;
      adapter.bind(this.#adapterListener());
    }
    this.#createData = createData;
    // The engine validates every limit and throws RangeError/TypeError for a bad one.
    this.#server = new WebSocketServer(
      beforeUpgrade === undefined ? serverOptions : { ...serverOptions, beforeUpgrade: wrapHook(beforeUpgrade) },
    );
    this.#server.on("connection", (engine, request) => this.#accept(engine, request));
    this.#server.on("handshakeError", (error) => this.#emitError(error, undefined));
    this.#server.on("error", (error) => this.#emitError(error, undefined));
    this.#context = {
      hub: this.#hub,
      setup: (connection, handle, request) => {
        // Inside the setup, so that a throwing createData is reported like a failed middleware.
        if (this.#createData !== undefined) handle.data = this.#createData(request);
        // The chain as it is now: middleware added later applies to later connections only.
        if (!this.#hasMiddleware) return runHandlers(this.#connectionHandlers, 0, connection, handle);
        return this.#runChain(this.#middleware, 0, connection, handle);
      },
      report: (error, handle, handled) => this.#emitError(error, handle, handled),
      finished: (connection) => this.#connections.delete(connection),
    };
  }

  /**
   * Adds a handler called for each new connection with its {@link Connection} (register the
   * connection's handlers there) and its handle. Several may be added: they run in order, after
   * the middleware, each awaited. No message is delivered before they have all finished.
   */
  onConnection(handler: ConnectionHandler<Data>): this {
    if (typeof handler !== "function") throw new TypeError("onConnection takes a function");
    this.#connectionHandlers = [...this.#connectionHandlers, handler];
    this.#middleware = [
      ...this.#middleware,
      async (connection, handle, next) => {
        await handler(connection, handle);
        await next();
      },
    ];
    return this;
  }

  /** Adds per-connection middleware (see {@link Middleware}); runs before `onConnection`. */
  use(middleware: Middleware<Data>): this {
    if (typeof middleware !== "function") throw new TypeError("use takes a function");
    this.#middleware = [...this.#middleware, middleware];
    this.#hasMiddleware = true;
    return this;
  }

  /**
   * Adds a handler for server-level errors (see {@link ServerErrorHandler}). While none is
   * added, handler failures that no connection `onError` handled are printed with
   * `console.error`; other errors are ignored.
   */
  onError(handler: ServerErrorHandler<Data>): this {
    if (typeof handler !== "function") throw new TypeError("onError takes a function");
    this.#errorHandlers = [...this.#errorHandlers, handler];
    return this;
  }

  /** Adds a handler run once `close()` has closed every connection (the server shut down). */
  onClose(handler: () => unknown): this {
    if (typeof handler !== "function") throw new TypeError("onClose takes a function");
    this.#closeHandlers = [...this.#closeHandlers, handler];
    return this;
  }

  /**
   * Listens on `port` (0 picks a free one) and `host` (default `"127.0.0.1"`, as the crate: pass
   * `"0.0.0.0"` or `"::"` to accept other machines). Resolves with the bound address once
   * listening, after calling `onListening` with it. Rejects on a listen error (EADDRINUSE...),
   * which also goes to `onError`.
   */
  listen(port: number, onListening?: ListeningHandler): Promise<AddressInfo>;
  listen(port: number, host: string, onListening?: ListeningHandler): Promise<AddressInfo>;
  async listen(
    port: number,
    hostOrListening?: string | ListeningHandler,
    maybeListening?: ListeningHandler,
  ): Promise<AddressInfo> {
    const host = typeof hostOrListening === "string" ? hostOrListening : DEFAULT_HOST;
    const onListening = typeof hostOrListening === "function" ? hostOrListening : maybeListening;
    let address: AddressInfo;
    try {
      if (this.#closed !== undefined) throw new InvalidStateError("the server was closed");
      address = await this.#server.listen(port, host);
    } catch (error) {
      this.#emitError(toError(error), undefined);
      throw error;
    }
    if (onListening !== undefined) {
      try {
        const result = onListening(address);
        if (isThenable(result)) await result;
      } catch (error) {
        this.#emitError(toError(error), undefined, false);
      }
    }
    return address;
  }

  /** The bound address once `listen()` resolved, else undefined. */
  get address(): AddressInfo | undefined {
    return this.#server.address();
  }

  /**
   * Serves the WebSocket upgrades of an existing HTTP(S) server (Express, Fastify, node:http),
   * only for `options.path` when given (other paths are left to other `upgrade` listeners, or
   * answered 404 when there are none). `close()` detaches but does not close `server`.
   */
  attach(server: HttpServer | HttpsServer, options: { readonly path?: string } = {}): this {
    this.#server.attach(server, options);
    return this;
  }

  /** Completes one upgrade that a node:http server parsed (its `upgrade` event's arguments). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#server.handleUpgrade(request, socket, head);
  }

  /** The connections that finished their setup and are open, in the order they did. */
  clients(): Handle<Data>[] {
    return this.#hub.clients();
  }

  /** The names of the rooms that have members. */
  rooms(): string[] {
    return this.#hub.roomNames();
  }

  /**
   * The adapter in use: the one given in the options, else an {@link InProcessAdapter} (which
   * reaches no other node).
   */
  get adapter(): Adapter {
    if (this.#adapter === undefined) {
      const local = new InProcessAdapter();
      local.bind(this.#adapterListener());
      this.#adapter = local;
    }
    return this.#adapter;
  }

  /**
   * Sends `message` to the `onNodeMessage` handlers of every OTHER node (socket.io's
   * `serverSideEmit`): control messages between the nodes of an application. Not to this node;
   * with no adapter (a single node) it reaches nobody. Fire and forget: delivery is at most once.
   */
  publishToNodes(message: string): void {
    if (typeof message !== "string") throw new TypeError("publishToNodes takes a string");
    this.#adapter?.publishToNodes(message);
  }

  /** Adds a handler for the messages other nodes send with {@link publishToNodes}. */
  onNodeMessage(handler: NodeMessageHandler): this {
    if (typeof handler !== "function") throw new TypeError("onNodeMessage takes a function");
    this.#nodeMessageHandlers = [...this.#nodeMessageHandlers, handler];
    return this;
  }

  /**
   * Adds a handler told when the adapter goes `"down"` (the other nodes cannot be reached, e.g.
   * Redis is gone: this node keeps serving its own clients; `error` says why) and back `"up"`.
   * Called on changes only. Each outage is also reported once to the `onError` handlers.
   */
  onAdapterState(handler: AdapterStateHandler): this {
    if (typeof handler !== "function") throw new TypeError("onAdapterState takes a function");
    this.#adapterStateHandlers = [...this.#adapterStateHandlers, handler];
    return this;
  }

  /** Room `room`: its `broadcast` reaches every member (but `options.except`). */
  to(room: string): Room<Data> {
    return new Room(this.#hub, room);
  }

  /**
   * Sends `data` (a string as text, bytes as binary) to every client but `options.except`,
   * framed once, without waiting for any of them; with an adapter, to every client of the other
   * nodes too. Returns how many LOCAL clients (of this node) it was queued for.
   */
  broadcast(data: string | Uint8Array, options: BroadcastOptions<Data> = {}): number {
    const hub = this.#hub;
    const sent = broadcastTo(hub.clientSet, data, options.except, undefined);
    if (hub.adapter !== undefined) hub.adapter.publish(null, data);
    return sent;
  }

  /**
   * Graceful shutdown: stops accepting, sends a Close frame with `code` (default 1001, going
   * away) and `reason` to every client, waits for them (peers that do not answer are cut after
   * `closeTimeoutMs`) and for their `onClose` handlers (a handler that never settles delays it),
   * then runs the server's `onClose` handlers. No message handler starts once it is called.
   * Calling it again returns the same promise. Never rejects.
   */
  close(code = 1001, reason = ""): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    // Messages still arriving would run handlers on a server that is going away; and the
    // engines must read again (a busy handler pauses them) so the peers' Close frames arrive.
    for (const connection of this.#connections) connection[BEGIN_SHUTDOWN]();
    this.#closed = this.#shutdown(code, reason);
    return this.#closed;
  }

  async #shutdown(code: number, reason: string): Promise<void> {
    try {
      await this.#server.close({ code, reason });
    } catch (error) {
      this.#emitError(toError(error), undefined);
    }
    await Promise.all([...this.#connections].map((connection) => connection[FINISHED]));
    for (const handler of this.#closeHandlers) {
      try {
        const result = handler();
        if (isThenable(result)) await result;
      } catch (error) {
        this.#emitError(toError(error), undefined, false);
      }
    }
  }

  /** What the adapter calls: deliveries from other nodes, node messages, state changes. */
  #adapterListener(): AdapterListener {
    return {
      publication: (room, payload, isBinary) => {
        try {
          this.#hub.deliver(room, payload, isBinary);
        } catch (error) {
          this.#emitError(toError(error), undefined);
        }
      },
      nodeMessage: (message) => {
        for (const handler of this.#nodeMessageHandlers) this.#runServerHandler(() => handler(message));
      },
      stateChange: (state, error) => {
        if (state === this.#adapterState) return;
        this.#adapterState = state;
        // An outage is reported once, when it starts; the recovery is news for the state handlers.
        if (state === "down") {
          this.#emitError(error ?? new WyndError("ERR_ADAPTER_DOWN", "the adapter went down"), undefined);
        }
        for (const handler of this.#adapterStateHandlers) this.#runServerHandler(() => handler(state, error));
      },
      error: (error) => this.#emitError(error, undefined),
    };
  }

  /** Runs an application handler of the server; a throw or rejection goes to `onError`. */
  #runServerHandler(run: () => unknown): void {
    try {
      const result = run();
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#emitError(toError(error), undefined, false));
    } catch (error) {
      this.#emitError(toError(error), undefined, false);
    }
  }

  #accept(engine: WebSocketConnection, request: UpgradeRequest): void {
    const connection = new Connection<Data>(engine, request, NO_DATA, this.#context);
    this.#connections.add(connection);
  }

  /** Runs middleware `index` and, through `next`, the rest of the chain. */
  #runChain(
    chain: readonly Middleware<Data>[],
    index: number,
    connection: Connection<Data>,
    handle: Handle<Data>,
  ): unknown {
    const middleware = chain[index];
    if (middleware === undefined) return undefined;
    let called = false;
    const next = (): Promise<void> => {
      if (called) return Promise.reject(new InvalidStateError("next() was called twice"));
      called = true;
      try {
        return Promise.resolve(this.#runChain(chain, index + 1, connection, handle)).then(ignore);
      } catch (error) {
        // A later middleware that throws synchronously still fails this next()'s promise.
        return Promise.reject(error);
      }
    };
    return middleware(connection, handle, next);
  }

  /** Sends an error to the `onError` handlers, or prints it when nobody listens at all. */
  #emitError(error: Error, handle: Handle<Data> | undefined, handled = true): void {
    const handlers = this.#errorHandlers;
    if (handlers.length === 0) {
      // Handshake refusals and engine errors are expected noise on a public server; a bug in
      // the application's own handler is not, and must not vanish silently.
      if (!handled) console.error("wynd: unhandled error in a handler:", error);
      return;
    }
    for (const handler of handlers) {
      try {
        const result = handler(error, handle);
        if (isThenable(result)) result.then(undefined, (nested: unknown) => printNested(nested));
      } catch (nested) {
        printNested(nested);
      }
    }
  }
}

const DEFAULT_HOST = "127.0.0.1";

/**
 * Runs `handlers` from `index` in order, each awaited when it returns a promise. Returns
 * undefined when every one returned something else (the setup is then over synchronously), else
 * a promise for the rest. A throw propagates (the setup fails as with a rejecting middleware).
 */
function runHandlers<Data>(
  handlers: readonly ConnectionHandler<Data>[],
  index: number,
  connection: Connection<Data>,
  handle: Handle<Data>,
): unknown {
  for (let i = index; i < handlers.length; i++) {
    const result = handlers[i]!(connection, handle);
    if (isThenable(result)) {
      return Promise.resolve(result).then(() => runHandlers(handlers, i + 1, connection, handle));
    }
  }
  return undefined;
}

function ignore(): void {
  // Turns a chain result into Promise<void>.
}

function printNested(error: unknown): void {
  // An onError handler that fails has nowhere left to report to.
  console.error("wynd: an onError handler failed:", error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** Lets a hook refuse by throwing a `HandshakeError` with the status it wants. */
function wrapHook(hook: UpgradeHook): NonNullable<ServerOptions["beforeUpgrade"]> {
  return async (request, context) => {
    try {
      return await hook(request, context);
    } catch (error) {
      if (error instanceof HandshakeError) {
        return { status: error.status, headers: error.headers, body: error.message };
      }
      throw error;
    }
  };
}
