/**
 * One wynd node of the multi-node broadcast benchmark: the Wynd API, every connection joins the
 * room {@link ROOM}, and a text message is sent to the room's other members on every node with
 * `handle.to(ROOM).broadcast(msg.data)` (framed once per node). With the Redis adapter
 * (`wynd/redis`) the broadcast reaches the members on the other nodes through Redis pub/sub; with
 * the default in-process adapter it stays in this process.
 *
 * @module
 */

import { Wynd } from "../../src/index.js";
import type { RedisAdapter } from "../../src/redis/index.js";
import type { AdapterKind } from "./types.js";
import { ROOM } from "./wire.js";
import type { RunningNode } from "./node.js";

/** Starts a wynd node on 127.0.0.1, port 0. */
export async function startWyndNode(adapterKind: AdapterKind, redisUrl: string | undefined): Promise<RunningNode> {
  let adapter: RedisAdapter | undefined;
  if (adapterKind === "redis") {
    if (redisUrl === undefined) throw new Error("the redis adapter needs --redis-url");
    // Loaded only for Redis runs (wynd/redis loads @redis/client when the adapter is created).
    const { createRedisAdapter } = await import("../../src/redis/index.js");
    adapter = await createRedisAdapter({ url: redisUrl });
  }
  // Without an adapter: the default, in-process one (today's behaviour, no cost).
  const wynd = new Wynd(adapter === undefined ? {} : { adapter });
  wynd.onConnection((connection, handle) => {
    handle.join(ROOM);
    connection.onText((msg, sender) => {
      sender.to(ROOM).broadcast(msg.data);
    });
  });
  wynd.onError(() => {
    // A peer that resets mid-run is not the benchmark's concern; the load generator counts errors.
  });
  const address = await wynd.listen(0, "127.0.0.1");
  return {
    port: address.port,
    detail: `Wynd API, ${adapterKind === "redis" ? "Redis adapter (wynd/redis)" : "in-process adapter"}, handle.to(room).broadcast`,
    close: async () => {
      await wynd.close();
      await adapter?.close();
    },
  };
}
