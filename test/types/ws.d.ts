// A minimal local declaration of the parts of `ws` 8 the interop, robustness and CLI tests use.
// `ws` is a dev dependency (an interop peer only); this avoids adding @types/ws.

declare module "ws" {
  import { EventEmitter } from "node:events";
  import type { IncomingMessage, Server as HttpServer } from "node:http";
  import type { AddressInfo, Socket } from "node:net";

  interface WebSocketEventMap {
    open: [];
    /** With the default binaryType ("nodebuffer"), data is one Buffer, fragments joined. */
    message: [data: Buffer, isBinary: boolean];
    close: [code: number, reason: Buffer];
    error: [error: Error];
    ping: [data: Buffer];
    pong: [data: Buffer];
    upgrade: [response: IncomingMessage];
    "unexpected-response": [request: unknown, response: IncomingMessage];
  }

  /** ws's permessage-deflate options (window bits: true means "offer without a value"). */
  interface PerMessageDeflateOptions {
    readonly serverNoContextTakeover?: boolean;
    readonly clientNoContextTakeover?: boolean;
    readonly serverMaxWindowBits?: boolean | number;
    readonly clientMaxWindowBits?: boolean | number;
    readonly threshold?: number;
    readonly concurrencyLimit?: number;
  }

  interface ClientOptions {
    readonly perMessageDeflate?: boolean | PerMessageDeflateOptions;
    readonly createConnection?: (options: object) => Socket;
    readonly maxPayload?: number;
    readonly handshakeTimeout?: number;
    readonly autoPong?: boolean;
    readonly headers?: Record<string, string>;
  }

  interface SendOptions {
    readonly binary?: boolean;
    readonly fin?: boolean;
    readonly mask?: boolean;
    readonly compress?: boolean;
  }

  /** The subset of the WHATWG CloseEvent that ws dispatches to addEventListener("close"). */
  interface CloseEventLike {
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
  }

  class WebSocket extends EventEmitter<WebSocketEventMap> {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    constructor(address: string | URL, protocols?: string | readonly string[], options?: ClientOptions);
    readonly readyState: 0 | 1 | 2 | 3;
    readonly protocol: string;
    readonly extensions: string;
    readonly bufferedAmount: number;
    readonly isPaused: boolean;
    send(data: string | Uint8Array, options?: SendOptions, callback?: (error?: Error) => void): void;
    ping(data?: string | Uint8Array, mask?: boolean, callback?: (error?: Error) => void): void;
    pong(data?: string | Uint8Array, mask?: boolean, callback?: (error?: Error) => void): void;
    close(code?: number, reason?: string | Uint8Array): void;
    terminate(): void;
    pause(): void;
    resume(): void;
    addEventListener(type: "close", listener: (event: CloseEventLike) => void, options?: { once?: boolean }): void;
  }

  interface ServerOptions {
    readonly port?: number;
    readonly host?: string;
    readonly server?: HttpServer;
    readonly noServer?: boolean;
    readonly path?: string;
    readonly maxPayload?: number;
    readonly perMessageDeflate?: boolean | PerMessageDeflateOptions;
    readonly clientTracking?: boolean;
    readonly autoPong?: boolean;
    readonly handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  }

  interface WebSocketServerEventMap {
    connection: [socket: WebSocket, request: IncomingMessage];
    listening: [];
    error: [error: Error];
    close: [];
  }

  class WebSocketServer extends EventEmitter<WebSocketServerEventMap> {
    constructor(options: ServerOptions, callback?: () => void);
    readonly clients: Set<WebSocket>;
    address(): AddressInfo | string;
    close(callback?: (error?: Error) => void): void;
    handleUpgrade(
      request: IncomingMessage,
      socket: Socket,
      head: Buffer,
      callback: (socket: WebSocket, request: IncomingMessage) => void,
    ): void;
  }

  export { WebSocket, WebSocketServer, type ClientOptions, type ServerOptions, type CloseEventLike };
  export default WebSocket;
}
