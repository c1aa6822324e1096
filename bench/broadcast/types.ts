/**
 * Types of the multi-node broadcast benchmark (`npm run bench -- broadcast --adapter … --nodes …`):
 * the peers and adapters it knows, the job of its load generator, and the IPC messages between
 * the orchestrator (`run.ts`), the server nodes (`node.ts`) and the load generator (`load.ts`).
 *
 * @module
 */

/** The servers compared: the Wynd API with an adapter, and socket.io with its adapter. */
export const PEERS = ["wynd", "socket.io"] as const;
/** One of {@link PEERS}. */
export type Peer = (typeof PEERS)[number];

/** What carries a broadcast to the other nodes: nothing (one process) or Redis pub/sub. */
export const ADAPTERS = ["memory", "redis"] as const;
/** One of {@link ADAPTERS}. */
export type AdapterKind = (typeof ADAPTERS)[number];

/** The job of the load generator. */
export interface ClusterJob {
  readonly peer: Peer;
  /** One port per node; receiver i connects to `ports[i % ports.length]`, the publisher to `ports[0]`. */
  readonly ports: readonly number[];
  readonly receivers: number;
  /** Broadcasts in flight. */
  readonly pipelining: number;
  /** Bytes of the application payload (the event's string for socket.io). */
  readonly sizeBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Hard cap on broadcasts published after the sync phase. */
  readonly maxCount: number;
  /** How long the sync phase may take before the run fails (every receiver must get a probe). */
  readonly syncTimeoutMs: number;
}

/** Orchestrator → load generator. */
export interface ToClusterLoad {
  readonly type: "run";
  readonly job: ClusterJob;
}

/** Orchestrator → node. */
export type ToNode = { readonly type: "stop" };

/** Node → orchestrator. */
export type FromNode =
  | { readonly type: "ready"; readonly port: number; readonly detail: string }
  | { readonly type: "failed"; readonly message: string };
