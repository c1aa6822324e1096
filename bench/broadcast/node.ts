/**
 * A server node of the multi-node broadcast benchmark (started by `run.ts` with an IPC channel
 * and pinned to the servers' core). It starts one peer with one adapter, says `ready`, and runs
 * until `stop`. Its CPU time is read from outside (`/proc/<pid>/stat`) by the orchestrator: a
 * node starved of CPU would answer a request for it too late.
 *
 *   node dist/bench/broadcast/node.js --peer wynd|socket.io --adapter memory|redis [--redis-url URL]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ADAPTERS, PEERS, type AdapterKind, type FromNode, type Peer, type ToNode } from "./types.js";

/** A node listening on 127.0.0.1. */
export interface RunningNode {
  readonly port: number;
  readonly detail: string;
  /** Stops listening, drops every connection, and closes the node's Redis connections. */
  close(): Promise<void>;
}

function send(message: FromNode): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { peer: { type: "string" }, adapter: { type: "string" }, "redis-url": { type: "string" } },
  });
  const peer = values.peer as Peer;
  const adapter = values.adapter as AdapterKind;
  if (!PEERS.includes(peer)) throw new Error(`unknown peer ${values.peer}`);
  if (!ADAPTERS.includes(adapter)) throw new Error(`unknown adapter ${values.adapter}`);
  const node =
    peer === "wynd"
      ? await (await import("./wynd-node.js")).startWyndNode(adapter, values["redis-url"])
      : await (await import("./socket-io-node.js")).startSocketIoNode(adapter, values["redis-url"]);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Bounded: a node that does not close in 3 s is left behind by exit().
    await Promise.race([node.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    process.exit(0);
  };
  process.on("message", (message: ToNode) => {
    if (message.type === "stop") void stop();
  });
  // The orchestrator went away: do not outlive it.
  process.on("disconnect", () => void stop());
  send({ type: "ready", port: node.port, detail: node.detail });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
