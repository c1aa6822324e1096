/**
 * The upper bound for anything built on `node:net`: a server that echoes (or forwards to every
 * other client) each chunk as it comes, with no handshake and no framing. The load generator
 * knows it (protocol `raw`): it skips the handshake and checks the bytes coming back against
 * the frames it sent.
 *
 * @module
 */

import { createServer, type Socket } from "node:net";
import type { ServerMode } from "../lib/types.js";
import type { RunningServer } from "./registry.js";

/** Starts a raw node:net server on 127.0.0.1, port 0. */
export async function start(mode: ServerMode): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (mode === "echo") {
      socket.on("data", (chunk: Buffer) => {
        socket.write(chunk);
      });
    } else {
      socket.on("data", (chunk: Buffer) => {
        for (const other of sockets) if (other !== socket) other.write(chunk);
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    port: address.port,
    detail: "node:net, one write per chunk received",
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
