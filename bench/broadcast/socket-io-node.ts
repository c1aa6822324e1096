/**
 * One socket.io node of the multi-node broadcast benchmark, as socket.io's documentation sets one
 * up: `new Server(httpServer, { transports: ["websocket"] })`, every socket joins the room
 * {@link ROOM}, and an event is re-emitted to the room's other members with
 * `socket.to(ROOM).emit(EVENT, data)`. With `redis`, the adapter is `@socket.io/redis-adapter`'s
 * `createAdapter(pubClient, subClient)` over two `@redis/client` connections (what users pick
 * today to run socket.io on several nodes).
 *
 * @module
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { AdapterKind } from "./types.js";
import { EVENT, ROOM } from "./wire.js";
import type { RunningNode } from "./node.js";

/** Starts a socket.io node on 127.0.0.1, port 0. */
export async function startSocketIoNode(adapterKind: AdapterKind, redisUrl: string | undefined): Promise<RunningNode> {
  const { Server } = await import("socket.io");
  const version = (await import("socket.io/package.json", { with: { type: "json" } })).default.version;
  const http = createServer();
  const io = new Server(http, { transports: ["websocket"], serveClient: false });
  let clients: { close(): Promise<void> }[] = [];
  if (adapterKind === "redis") {
    if (redisUrl === undefined) throw new Error("the redis adapter needs --redis-url");
    const { createClient } = await import("@redis/client");
    const { createAdapter } = await import("@socket.io/redis-adapter");
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    pub.on("error", () => {});
    sub.on("error", () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    clients = [pub, sub];
    io.adapter(createAdapter(pub, sub));
  }
  io.on("connection", (socket) => {
    void socket.join(ROOM);
    socket.on(EVENT, (data: unknown) => {
      socket.to(ROOM).emit(EVENT, data);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (http.address() as AddressInfo).port,
    detail: `socket.io ${version}, websocket transport, ${adapterKind === "redis" ? "@socket.io/redis-adapter createAdapter" : "in-memory adapter"}, socket.to(room).emit`,
    close: async () => {
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
    },
  };
}
