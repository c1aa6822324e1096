/**
 * `ws` 8 under test, as its README shows echo and broadcast ("send to every client except the
 * sender"). Whether it uses its native helper depends on the process environment the registry
 * sets; `detail` reports what it actually loaded.
 *
 * @module
 */

import { createRequire } from "node:module";
import type { ServerMode } from "../lib/types.js";
import type { RunningServer, StartOptions } from "./registry.js";

/** The parts of ws's API used here (declared locally: the bench does not need @types/ws). */
interface WsSocket {
  readonly readyState: number;
  send(data: Buffer, options: { binary: boolean }): void;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  terminate(): void;
}
interface WsServer {
  readonly clients: Set<WsSocket>;
  on(event: "connection", listener: (socket: WsSocket) => void): void;
  once(event: "listening", listener: () => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  address(): { port: number };
  close(callback: () => void): void;
}
interface WsModule {
  readonly WebSocketServer: new (options: Record<string, unknown>) => WsServer;
}

const OPEN = 1;

/** Starts a ws server on 127.0.0.1, port 0. */
export async function start(mode: ServerMode, options: StartOptions): Promise<RunningServer> {
  const specifier = "ws";
  const ws = (await import(specifier)) as WsModule;
  const server = new ws.WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate: options.deflate === true,
    maxPayload: options.maxMessageBytes,
    clientTracking: true,
  });
  server.on("connection", (socket) => {
    socket.on("error", () => {});
    if (mode === "echo") {
      socket.on("message", (data, isBinary) => {
        socket.send(data, { binary: isBinary });
      });
    } else {
      socket.on("message", (data, isBinary) => {
        for (const client of server.clients) {
          if (client !== socket && client.readyState === OPEN) client.send(data, { binary: isBinary });
        }
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const native = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("/bufferutil/"));
  return {
    port: server.address().port,
    detail: `ws ${wsVersion()}, bufferutil ${native ? "loaded" : "not loaded"}, perMessageDeflate ${options.deflate === true ? "on" : "off"}`,
    connections: () => server.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

function wsVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require("ws/package.json") as { version: string }).version;
  } catch {
    return "?";
  }
}
