/**
 * The wynd engine under test: the same servers as `wynd echo` and `wynd broadcast`
 * (`src/cli.ts`), with the default options but for the message size limit.
 *
 * @module
 */

import { WebSocketServer } from "../../src/index.js";
import type { ServerMode } from "../lib/types.js";
import type { RunningServer, StartOptions } from "./registry.js";

/** Starts a wynd server on 127.0.0.1, port 0. */
export async function start(mode: ServerMode, options: StartOptions): Promise<RunningServer> {
  const server = new WebSocketServer({ maxMessageBytes: options.maxMessageBytes, perMessageDeflate: options.deflate === true });
  if (mode === "echo") {
    server.on("connection", (connection) => {
      connection.on("message", (data, isBinary) => {
        connection.sendMessage(data, isBinary);
      });
    });
  } else {
    server.on("connection", (connection) => {
      connection.on("message", (data, isBinary) => {
        server.broadcast(data, { isBinary, except: connection });
      });
    });
  }
  const address = await server.listen(0, "127.0.0.1");
  return {
    port: address.port,
    detail: `wynd engine, default options, maxMessageBytes 64 MiB${options.deflate === true ? ", perMessageDeflate on" : ""}`,
    connections: () => server.connections.size,
    close: () => server.close({ timeoutMs: 500 }),
  };
}
