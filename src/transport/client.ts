/**
 * The WebSocket client: `connect("ws://…")` over `node:net`, `connect("wss://…")` over
 * `node:tls`, with the same {@link WebSocketConnection} the server uses.
 *
 * @module
 */

import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from "node:tls";
import { HandshakeError, TimeoutError } from "../errors.js";
import { buildClientRequest, generateKey, validateServerResponse } from "../protocol/handshake.js";
import { HttpResponseParser } from "../protocol/http-parser.js";
import type { HandshakeLimits } from "../protocol/limits.js";
import { WebSocketConnection } from "./connection.js";
import { acceptDeflateResponse, deflateOffer } from "../protocol/permessage-deflate.js";
import { resolvePerMessageDeflate } from "./deflate.js";
import { assertTimerMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, resolveConnectionOptions, type ConnectionOptions } from "./options.js";

/** Options of {@link connect}. */
export interface ClientOptions extends ConnectionOptions, Partial<HandshakeLimits> {
  /** Subprotocols to offer, in order of preference (`Sec-WebSocket-Protocol`). */
  readonly protocols?: readonly string[];
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>;
  /** The `Origin` header, as a browser would send it. */
  readonly origin?: string;
  /** Time allowed from the TCP connect to the 101 response. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Options for `wss://` (certificate authorities, `rejectUnauthorized`, ...). */
  readonly tls?: TlsOptions;
}

/**
 * Opens a WebSocket connection. Resolves once the server accepted the handshake; rejects with a
 * {@link HandshakeError} (a refusal, with its HTTP status, or an invalid response), a
 * {@link TimeoutError}, or the socket's error.
 *
 * Incoming messages are processed from the macrotask after the promise resolves: attach
 * listeners right after `await connect(...)`.
 */
export function connect(url: string | URL, options: ClientOptions = {}): Promise<WebSocketConnection> {
  try {
    return open(url, options);
  } catch (error) {
    // Misuse (an invalid URL, option, header or subprotocol) rejects like every other failure
    // rather than throwing, and is found before any socket is opened.
    return Promise.reject(error);
  }
}

function open(url: string | URL, options: ClientOptions): Promise<WebSocketConnection> {
  const target = typeof url === "string" ? new URL(url) : url;
  const secure = target.protocol === "wss:" || target.protocol === "https:";
  if (!secure && target.protocol !== "ws:" && target.protocol !== "http:") {
    return Promise.reject(new TypeError(`unsupported URL scheme ${target.protocol} (use ws: or wss:)`));
  }
  if (target.hash !== "") {
    // RFC 6455 §3: fragment identifiers MUST NOT be used in WebSocket URIs.
    return Promise.reject(new TypeError("a WebSocket URL must not have a fragment"));
  }
  const connectionOptions = resolveConnectionOptions(options); // validate before any I/O
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  assertTimerMs("handshakeTimeoutMs", handshakeTimeoutMs);
  const port = target.port === "" ? (secure ? 443 : 80) : Number(target.port);
  const hostname = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
  const key = generateKey();
  const protocols = options.protocols ?? [];
  // RFC 7692: offered by default, as browsers do.
  const deflateOptions = resolvePerMessageDeflate(options.perMessageDeflate, true);
  // The offer and the check of the answer follow what was asked, not the filled-in defaults.
  const deflateAsked = typeof options.perMessageDeflate === "object" ? options.perMessageDeflate : {};
  const request = buildClientRequest({
    host: target.host,
    path: `${target.pathname || "/"}${target.search}`,
    key,
    protocols,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    ...(deflateOptions !== undefined ? { extensions: deflateOffer(deflateAsked) } : {}),
    headers: headerList(options.headers),
  });
  const limits: Partial<HandshakeLimits> = {
    ...(options.maxHeaderBytes !== undefined ? { maxHeaderBytes: options.maxHeaderBytes } : {}),
    ...(options.maxHeaderCount !== undefined ? { maxHeaderCount: options.maxHeaderCount } : {}),
    ...(options.maxRequestLineBytes !== undefined ? { maxRequestLineBytes: options.maxRequestLineBytes } : {}),
  };
  const parser = new HttpResponseParser(limits); // validates the limits before any I/O

  return new Promise((resolve, reject) => {
    // RFC 6066 §3: SNI carries host names only, not IP addresses (Node warns, DEP0123).
    const servername = isIP(hostname) === 0 ? { servername: hostname } : {};
    const socket: Socket = secure
      ? tlsConnect({ ...servername, ...options.tls, host: hostname, port, ALPNProtocols: ["http/1.1"] })
      : netConnect({ host: hostname, port });
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new TimeoutError("ERR_HANDSHAKE_TIMEOUT", `opening handshake timed out after ${handshakeTimeoutMs} ms`)),
      handshakeTimeoutMs,
    );
    const onConnect = () => socket.write(request);
    const onError = (error: Error) => fail(error);
    const onClose = () => fail(new HandshakeError("ERR_CONNECTION_CLOSED", 0, "connection closed during the opening handshake"));
    const onData = (chunk: Buffer) => {
      const result = parser.push(chunk);
      if (result.state === "incomplete") return;
      if (result.state === "error") {
        fail(result.error);
        return;
      }
      let accepted;
      let deflateParams;
      try {
        accepted = validateServerResponse(result.head, { key, protocols, extensionsOffered: deflateOptions !== undefined });
        // RFC 7692 §7: a response the client does not accept fails the connection.
        if (deflateOptions !== undefined) deflateParams = acceptDeflateResponse(accepted.extensions, deflateAsked);
      } catch (error) {
        fail(error as Error);
        return;
      }
      settled = true;
      cleanup();
      const connection = new WebSocketConnection(socket, {
        role: "client",
        protocol: accepted.protocol,
        extensions: accepted.extensions,
        head: result.rest,
        options: connectionOptions,
        deflate: deflateParams === undefined ? undefined : { params: deflateParams, options: deflateOptions! },
      });
      resolve(connection);
      // After the awaiting code has run and attached its listeners.
      setImmediate(startConnection, connection);
    };
    function cleanup(): void {
      clearTimeout(timer);
      socket.off(secure ? "secureConnect" : "connect", onConnect);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    }
    socket.once(secure ? "secureConnect" : "connect", onConnect);
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

function startConnection(connection: WebSocketConnection): void {
  connection.start();
}

function headerList(headers: ClientOptions["headers"]): ReadonlyArray<readonly [string, string]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as ReadonlyArray<readonly [string, string]>;
  return Object.entries(headers as Record<string, string>);
}
