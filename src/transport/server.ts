/**
 * The WebSocket server: listens on its own `node:net` server (parsing HTTP itself) or takes
 * upgrades from an existing `node:http`/`node:https` server, runs the opening handshake with its
 * hooks and limits, and tracks open connections for broadcast and graceful shutdown.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { HandshakeError } from "../errors.js";
import {
  buildAcceptResponse,
  buildRejectResponse,
  rejectResponseFor,
  releaseRequestFields,
  validateUpgradeRequest,
  type UpgradeRequest,
} from "../protocol/handshake.js";
import { HttpHeaders, HttpRequestParser, type HttpRequestHead } from "../protocol/http-parser.js";
import { resolveHandshakeLimits, assertPositiveInteger, type HandshakeLimits } from "../protocol/limits.js";
import { encodeCloseFrame } from "../protocol/frame-encoder.js";
import { prepareMessage } from "../protocol/prepared-message.js";
import { compileAllowedOrigins, type OriginCheck } from "../protocol/origins.js";
import { ReadyState } from "../protocol/protocol.js";
import { WebSocketConnection } from "./connection.js";
import { DeadlineQueue } from "./deadlines.js";
import { negotiateDeflate } from "../protocol/permessage-deflate.js";
import { resolvePerMessageDeflate, type ResolvedDeflateOptions } from "./deflate.js";
import {
  assertTimerMs,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  resolveConnectionOptions,
  type ConnectionOptions,
  type ResolvedConnectionOptions,
} from "./options.js";

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** How a pre-upgrade hook answers: accept (`true`/`undefined`), 403 (`false`), or a refusal. */
export type UpgradeDecision =
  | boolean
  | undefined
  | void
  | {
      readonly status: number;
      readonly headers?: ReadonlyArray<readonly [string, string]>;
      readonly body?: string;
    };

/** What the pre-upgrade hook is told about the peer. */
export interface UpgradeContext {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

/** Options of {@link WebSocketServer}. */
export interface ServerOptions extends ConnectionOptions, Partial<HandshakeLimits> {
  /** Accept upgrades only for this path (query ignored); others get 404. Default: any path. */
  readonly path?: string;
  /** Time allowed from TCP accept to the end of the request head (and the hook). Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Open connections allowed; upgrades past it get 503. Default 100 000. */
  readonly maxConnections?: number;
  /**
   * Chooses a subprotocol among those the client offered (in its order of preference). Return
   * one of them, or undefined for none. Default: none.
   */
  readonly selectProtocol?: (offered: readonly string[], request: UpgradeRequest) => string | undefined;
  /**
   * The web pages allowed to open a connection, by their `Origin` header: URL origins
   * (`"https://chat.example.com"`, `"http://localhost:5173"`) and `"self"` (the page came from the
   * `Host` the upgrade is addressed to). Other origins get 403 before any hook runs; upgrades
   * without `Origin` (not from a browser) are allowed. Matching rules: src/protocol/origins.ts,
   * docs/api.md. Default: no check.
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Runs before the 101 response: authentication, an origin allow-list... Return or resolve to
   * `false` for 403, `{ status, headers?, body? }` for any other refusal, anything else to accept.
   * A hook that throws refuses with 500.
   */
  readonly beforeUpgrade?: (
    request: UpgradeRequest,
    context: UpgradeContext,
  ) => UpgradeDecision | Promise<UpgradeDecision>;
}

/** The events of a {@link WebSocketServer}. */
export interface ServerEvents {
  /** A new open connection. Attach listeners synchronously: data is processed right after. */
  connection: [connection: WebSocketConnection, request: UpgradeRequest];
  /** An opening handshake was refused (bad request, hook refusal, limits, timeout). */
  handshakeError: [error: HandshakeError, context: UpgradeContext];
  /** A server-level error after listen() resolved. Emitted only when a listener is attached. */
  error: [error: Error];
  /** The server has shut down: every connection is closed. */
  close: [];
}

/** Options of {@link WebSocketServer.close}. */
export interface ShutdownOptions {
  /** Close code sent to every client. Default 1001 (going away). */
  readonly code?: number;
  readonly reason?: string;
  /** After this, connections still open are destroyed. Default: `closeTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** What the server holds for a socket during its opening handshake. */
interface Handshake {
  /** The head parser (sockets the server parses HTTP for), dropped once the head is complete. */
  parser: HttpRequestParser | undefined;
}

/** A WebSocket server. */
export class WebSocketServer extends EventEmitter<ServerEvents> {
  #options: ResolvedConnectionOptions;
  #deflate: ResolvedDeflateOptions | undefined;
  #limits: HandshakeLimits;
  #path: string | undefined;
  #handshakeTimeoutMs: number;
  #maxConnections: number;
  #selectProtocol: ServerOptions["selectProtocol"];
  #beforeUpgrade: ServerOptions["beforeUpgrade"];
  #originAllowed: OriginCheck | undefined;
  #connections = new Set<WebSocketConnection>();
  #handshaking = new Map<Duplex, Handshake>();
  /** The handshake timeouts: one timer for every handshaking socket (see deadlines.ts). */
  readonly #handshakeDeadlines: DeadlineQueue<Duplex>;
  // Listeners shared by every socket of this server (they find their state through the socket):
  // no closures per connection, and nothing of the handshake stays reachable after it.
  readonly #onHandshakeData: (this: Socket, chunk: Buffer) => void;
  readonly #onHandshakeClose: (this: Duplex) => void;
  readonly #onConnectionClose: (connection: WebSocketConnection) => void;
  #netServer: NetServer | undefined;
  #attached: Array<{ server: HttpServer | HttpsServer; listener: UpgradeListener }> = [];
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.#options = resolveConnectionOptions(options);
    this.#deflate = resolvePerMessageDeflate(options.perMessageDeflate, false);
    this.#limits = resolveHandshakeLimits(pickHandshakeLimits(options));
    this.#path = options.path;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#maxConnections = options.maxConnections ?? 100_000;
    assertTimerMs("handshakeTimeoutMs", this.#handshakeTimeoutMs);
    this.#handshakeDeadlines = new DeadlineQueue(this.#handshakeTimeoutMs, (socket) => this.#handshakeTimeout(socket));
    assertPositiveInteger("maxConnections", this.#maxConnections);
    this.#selectProtocol = options.selectProtocol;
    this.#beforeUpgrade = options.beforeUpgrade;
    if (options.allowedOrigins !== undefined) this.#originAllowed = compileAllowedOrigins(options.allowedOrigins);
    const server = this;
    this.#onHandshakeData = function (chunk) {
      server.#handshakeData(this, chunk);
    };
    this.#onHandshakeClose = function () {
      if (server.#handshaking.has(this)) server.#endHandshake(this);
    };
    this.#onConnectionClose = (connection) => {
      server.#connections.delete(connection);
    };
  }

  /** The open connections. */
  get connections(): ReadonlySet<WebSocketConnection> {
    return this.#connections;
  }

  /** The bound address once listen() resolved. */
  address(): AddressInfo | undefined {
    const address = this.#netServer?.address();
    return address !== null && typeof address === "object" ? address : undefined;
  }

  /**
   * Listens on `port` (0 picks a free one) and `host` (default: all interfaces, as node:net).
   * Resolves with the bound address; rejects on listen errors (EADDRINUSE...).
   */
  listen(port: number, host?: string): Promise<AddressInfo> {
    if (this.#netServer !== undefined) return Promise.reject(new Error("already listening"));
    const server = createServer({ noDelay: true }, (socket) => this.handleSocket(socket));
    this.#netServer = server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.#netServer = undefined;
        reject(error);
      };
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        server.on("error", (error) => {
          if (this.listenerCount("error") > 0) this.emit("error", error);
        });
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Serves WebSocket upgrades of an existing HTTP(S) server (Express, Fastify, node:http...),
   * optionally only for `path`. Upgrades for other paths are left to other listeners, or get
   * 404 when there are none.
   */
  attach(server: HttpServer | HttpsServer, options: { readonly path?: string } = {}): this {
    const path = options.path ?? this.#path;
    const listener: UpgradeListener = (req, socket, head) => {
      const requested = pathOf(req.url ?? "/");
      if (path !== undefined && requested !== path) {
        if (answersNotFound(server, listener, requested)) {
          this.#reject(socket, new HandshakeError("ERR_NOT_FOUND", 404, "no WebSocket endpoint at this path"));
        }
        return;
      }
      this.#handleUpgrade(req, socket, head, path);
    };
    ATTACHED_PATHS.set(listener, path);
    server.on("upgrade", listener);
    this.#attached.push({ server, listener });
    return this;
  }

  /**
   * Completes an upgrade that a node:http server parsed (its `upgrade` event arguments).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#handleUpgrade(req, socket, head, this.#path);
  }

  /** `path`: the only path served (the server's, or the one given to attach()). */
  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string | undefined): void {
    const requestHead: HttpRequestHead = {
      method: req.method ?? "",
      target: req.url ?? "",
      versionMajor: req.httpVersionMajor,
      versionMinor: req.httpVersionMinor,
      headers: HttpHeaders.fromRaw(req.rawHeaders),
    };
    this.#startHandshake(socket, undefined);
    void this.#upgrade(socket as Socket, requestHead, head, path);
  }

  /** Runs the whole handshake, HTTP parsing included, on a raw TCP socket. */
  handleSocket(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#startHandshake(socket, new HttpRequestParser(this.#limits));
    socket.on("data", this.#onHandshakeData);
  }

  /** Tracks `socket` as handshaking: the timeout, the shared listeners. */
  #startHandshake(socket: Duplex, parser: HttpRequestParser | undefined): void {
    this.#handshakeDeadlines.add(socket);
    this.#handshaking.set(socket, { parser });
    socket.on("close", this.#onHandshakeClose);
    socket.on("error", ignoreHandshakeSocketError);
  }

  /** The handshake of `socket` is over (upgraded or closed): forget it. */
  #endHandshake(socket: Duplex): void {
    this.#handshakeDeadlines.delete(socket);
    this.#handshaking.delete(socket);
    socket.off("close", this.#onHandshakeClose);
  }

  #handshakeData(socket: Socket, chunk: Buffer): void {
    const state = this.#handshaking.get(socket);
    const parser = state?.parser;
    if (state === undefined || parser === undefined) return;
    const result = parser.push(chunk);
    if (result.state === "incomplete") return;
    socket.off("data", this.#onHandshakeData);
    state.parser = undefined;
    if (result.state === "error") {
      this.#handshakeDeadlines.delete(socket);
      this.#reject(socket, result.error);
      return;
    }
    socket.pause();
    void this.#upgrade(socket, result.head, result.rest, this.#path);
  }

  async #upgrade(
    socket: Socket,
    head: HttpRequestHead,
    rest: Buffer,
    path: string | undefined,
  ): Promise<void> {
    let request: UpgradeRequest;
    let protocol = "";
    let deflate: ReturnType<typeof negotiateDeflate>;
    try {
      request = validateUpgradeRequest(head);
      if (path !== undefined && request.path !== path) {
        throw new HandshakeError("ERR_NOT_FOUND", 404, "no WebSocket endpoint at this path");
      }
      // RFC 6455 §10.2: a page from an origin the server does not serve is refused, cheaply and first.
      if (this.#originAllowed !== undefined && !this.#originAllowed(request.origin, request.host)) {
        throw new HandshakeError("ERR_FORBIDDEN_ORIGIN", 403, "origin not allowed");
      }
      // RFC 7692 §7.1, before any hook runs (a malformed header: 400). Only when it is on.
      if (this.#deflate !== undefined) deflate = negotiateDeflate(request.extensions, this.#deflate);
      if (this.#closing) throw new HandshakeError("ERR_SHUTTING_DOWN", 503, "server is shutting down");
      if (this.#connections.size >= this.#maxConnections) {
        throw new HandshakeError("ERR_TOO_MANY_CONNECTIONS", 503, "too many connections");
      }
      if (this.#beforeUpgrade !== undefined) {
        socket.pause();
        await this.#runHook(request, socket);
        if (socket.destroyed) return;
      }
      if (request.protocols.length > 0 && this.#selectProtocol !== undefined) {
        const selected = this.#selectProtocol(request.protocols, request);
        if (selected !== undefined) {
          if (!request.protocols.includes(selected)) {
            throw new HandshakeError("ERR_PROTOCOL_SELECTION", 500, "selectProtocol chose a subprotocol the client did not offer");
          }
          protocol = selected;
        }
      }
      if (this.#closing) throw new HandshakeError("ERR_SHUTTING_DOWN", 503, "server is shutting down");
      // Again, now that nothing awaits before the connection is counted: handshakes that waited
      // in an async hook together all passed the first check.
      if (this.#connections.size >= this.#maxConnections) {
        throw new HandshakeError("ERR_TOO_MANY_CONNECTIONS", 503, "too many connections");
      }
    } catch (error) {
      this.#handshakeDeadlines.delete(socket);
      this.#reject(socket, toHandshakeError(error));
      return;
    }
    this.#endHandshake(socket);
    socket.off("error", ignoreHandshakeSocketError);
    socket.write(buildAcceptResponse(request.key, { protocol, extensions: deflate?.response }));
    const connection = new WebSocketConnection(socket, {
      role: "server",
      protocol,
      extensions: deflate?.response ?? "",
      deflate: deflate === undefined ? undefined : { params: deflate.params, options: this.#deflate! },
      request,
      head: rest,
      options: this.#options,
    });
    this.#connections.add(connection);
    connection.setFinishedHook(this.#onConnectionClose);
    try {
      this.emit("connection", connection, request);
    } catch (error) {
      // A throwing listener must neither become an unhandled rejection (this method is async)
      // nor leave an open connection that nobody serves: it is closed with 1011 and reported.
      connection.close(1011, "");
      const reported = error instanceof Error ? error : new Error(String(error));
      if (this.listenerCount("error") > 0) this.emit("error", reported);
      else console.error("wynd: a 'connection' listener threw:", reported);
    }
    // The request stays readable for the connection's life, derived again from the head's text
    // when read later: an idle connection keeps that one string (handshake.ts).
    releaseRequestFields(request);
    connection.start();
  }

  async #runHook(request: UpgradeRequest, socket: Socket): Promise<void> {
    let decision: UpgradeDecision;
    try {
      decision = await this.#beforeUpgrade!(request, contextOf(socket));
    } catch {
      throw new HandshakeError("ERR_HOOK_FAILED", 500, "the upgrade hook failed");
    }
    if (decision === false) throw new HandshakeError("ERR_FORBIDDEN", 403, "forbidden");
    if (typeof decision === "object" && decision !== null) {
      const { status } = decision;
      // A refusal must be an error or redirect status the response builder can send.
      if (!Number.isInteger(status) || status < 300 || status > 599 || status === 304) {
        throw new HandshakeError("ERR_HOOK_FAILED", 500, `the upgrade hook refused with an invalid status ${String(status)}`);
      }
      throw new HandshakeError("ERR_REFUSED", status, decision.body ?? "refused", decision.headers ?? []);
    }
  }

  #handshakeTimeout(socket: Duplex): void {
    this.#emitHandshakeError(new HandshakeError("ERR_HANDSHAKE_TIMEOUT", 408, "opening handshake timed out"), socket);
    socket.destroy();
  }

  #reject(socket: Duplex, error: HandshakeError): void {
    this.#emitHandshakeError(error, socket);
    if (socket.destroyed) return;
    let response: Buffer;
    try {
      response = rejectResponseFor(error);
    } catch {
      // Headers or a body from a user hook that cannot be sent (CR/LF injection...): send 500.
      response = buildRejectResponse(500);
    }
    socket.end(response);
    // Keep reading (and discarding) so unread bytes do not turn our close into a reset that
    // could destroy the response before the client read it; destroy if the peer lingers.
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), this.#options.closeTimeoutMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  }

  #emitHandshakeError(error: HandshakeError, socket: Duplex): void {
    if (this.listenerCount("handshakeError") > 0) this.emit("handshakeError", error, contextOf(socket));
  }

  /**
   * Sends `data` to every open connection, framed once: text for a string, binary for bytes
   * unless `isBinary` is false (valid UTF-8 bytes sent as text). `except` is skipped (usually the
   * sender). Returns how many connections it was queued for (not those whose backpressure
   * policy refused it).
   */
  broadcast(
    data: string | Uint8Array,
    options: { readonly isBinary?: boolean; readonly except?: WebSocketConnection } = {},
  ): number {
    const except = options.except;
    const message = prepareMessage(data, options.isBinary ?? typeof data !== "string");
    let sent = 0;
    for (const connection of this.#connections) {
      if (connection === except || connection.readyState !== ReadyState.OPEN) continue;
      // sendPrepared's false also means "above the high-water mark" (queued all the same): a
      // refusal is a drop (counted) or an overflow (the connection is no longer open).
      const dropped = connection.droppedMessages;
      connection.sendPrepared(message);
      if (connection.droppedMessages === dropped && connection.readyState === ReadyState.OPEN) sent++;
    }
    return sent;
  }

  /**
   * Graceful shutdown: stops accepting, sends a Close frame (1001 by default) to every client,
   * waits for them up to `timeoutMs`, destroys the rest, then emits `close`. Rejects with a
   * RangeError, and shuts nothing down, for a code or reason a Close frame cannot carry or an
   * invalid `timeoutMs`.
   */
  close(options: ShutdownOptions = {}): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    const code = options.code ?? 1001;
    const reason = options.reason ?? "";
    const timeoutMs = options.timeoutMs ?? this.#options.closeTimeoutMs;
    try {
      // Misuse is refused before anything shuts down, not halfway through the connections.
      encodeCloseFrame(code, reason, false);
      assertTimerMs("timeoutMs", timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing = true;
    for (const { server, listener } of this.#attached) server.off("upgrade", listener);
    this.#attached = [];
    for (const socket of this.#handshaking.keys()) socket.destroy();
    this.#handshaking.clear();
    this.#handshakeDeadlines.clear();
    const listening = new Promise<void>((resolve) => {
      if (this.#netServer === undefined) resolve();
      else this.#netServer.close(() => resolve());
    });
    const connections = [...this.#connections];
    const allClosed = Promise.all(connections.map((connection) => connection.closed()));
    for (const connection of connections) connection.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const connection of this.#connections) connection.terminate();
        resolve();
      }, timeoutMs);
    });
    this.#closed = Promise.race([allClosed, deadline])
      .then(async () => {
        clearTimeout(timer);
        await Promise.all([allClosed, listening]);
        this.emit("close");
      });
    return this.#closed;
  }
}

/** The path each attach() listener serves (undefined: every path), to tell its listeners apart. */
const ATTACHED_PATHS = new WeakMap<UpgradeListener, string | undefined>();

/**
 * Whether `listener`, which does not serve `path`, answers 404 for it: only when it is the last
 * `upgrade` listener of `server` and every listener is an attach() listener serving another path
 * (a listener of the app's own may want the upgrade; one 404 is sent, by the last one).
 */
function answersNotFound(server: HttpServer | HttpsServer, listener: UpgradeListener, path: string): boolean {
  const listeners = server.listeners("upgrade");
  if (listeners[listeners.length - 1] !== listener) return false;
  for (const other of listeners) {
    const served = ATTACHED_PATHS.get(other as UpgradeListener);
    if (served === undefined || served === path) return false; // not ours, every path, or this one
  }
  return true;
}

function ignoreHandshakeSocketError(): void {
  // A peer that resets during the handshake is not the server's problem; 'close' cleans up.
}

function contextOf(socket: Duplex): UpgradeContext {
  const s = socket as Partial<Socket>;
  return { remoteAddress: s.remoteAddress, remotePort: s.remotePort };
}

function toHandshakeError(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError("ERR_INTERNAL", 500, "internal error during the opening handshake");
}

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q === -1 ? target : target.slice(0, q);
}

function pickHandshakeLimits(options: ServerOptions): Partial<HandshakeLimits> {
  const limits: { -readonly [K in keyof HandshakeLimits]?: number } = {};
  if (options.maxHeaderBytes !== undefined) limits.maxHeaderBytes = options.maxHeaderBytes;
  if (options.maxHeaderCount !== undefined) limits.maxHeaderCount = options.maxHeaderCount;
  if (options.maxRequestLineBytes !== undefined) limits.maxRequestLineBytes = options.maxRequestLineBytes;
  return limits;
}
