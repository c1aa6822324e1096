/**
 * The options of `npm run bench -- broadcast` that select the multi-node benchmark:
 * `--adapter memory|redis` and `--nodes N` (each a comma-separated list), `--repeat R`, and
 * `--server wynd|socket.io` (a list, or `all`; both by default).
 *
 * @module
 */

import type { ClusterParams } from "./run.js";
import { ADAPTERS, PEERS, type AdapterKind, type Peer } from "./types.js";
import { MIN_PAYLOAD_BYTES } from "./wire.js";

/** The most nodes one invocation starts (each is a process). */
export const MAX_NODES = 8;

/** The raw option values, as `node:util` parseArgs gives them. */
export interface ClusterOptionValues {
  readonly server?: string | undefined;
  readonly adapter?: string | undefined;
  readonly nodes?: string | undefined;
  readonly repeat?: string | undefined;
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * The parameters of a multi-node run. `common` carries the options shared with the other
 * scenarios (already validated); defaults: both peers, the in-process adapter on one node unless
 * a node count above one asks for Redis, 3 repetitions.
 */
export function clusterParams(
  values: ClusterOptionValues,
  common: Omit<ClusterParams, "peers" | "adapters" | "nodeCounts" | "repeat">,
): ClusterParams {
  const peers = values.server === undefined || values.server === "all" ? [...PEERS] : list(values.server);
  for (const peer of peers) if (!(PEERS as readonly string[]).includes(peer)) throw new Error(`unknown server for --adapter/--nodes: ${peer} (${PEERS.join(", ")})`);
  const nodeCounts = values.nodes === undefined ? [1] : list(values.nodes).map(Number);
  for (const n of nodeCounts) {
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_NODES) throw new Error(`--nodes must be integers from 1 to ${MAX_NODES}, got ${values.nodes}`);
  }
  const adapters = values.adapter === undefined ? [nodeCounts.some((n) => n > 1) ? "redis" : "memory"] : list(values.adapter);
  for (const adapter of adapters) if (!(ADAPTERS as readonly string[]).includes(adapter)) throw new Error(`--adapter must be ${ADAPTERS.join(" or ")}, got ${adapter}`);
  if (adapters.every((a) => a === "memory") && nodeCounts.every((n) => n > 1)) {
    throw new Error("the memory adapter runs on one node only: add --adapter redis, or --nodes 1");
  }
  const repeat = values.repeat === undefined ? 3 : Number(values.repeat);
  if (!Number.isSafeInteger(repeat) || repeat < 1 || repeat > 50) throw new Error(`--repeat must be an integer from 1 to 50, got ${values.repeat}`);
  if (common.sizeBytes < MIN_PAYLOAD_BYTES) throw new Error(`--size must be at least ${MIN_PAYLOAD_BYTES} bytes here (the payload carries a sequence number and a timestamp)`);
  if (common.sizeBytes > 60_000) throw new Error("--size must be at most 60000 bytes here");
  return {
    ...common,
    peers: peers as Peer[],
    adapters: adapters as AdapterKind[],
    nodeCounts: [...new Set(nodeCounts)],
    repeat,
  };
}
