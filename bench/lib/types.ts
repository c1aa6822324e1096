/**
 * Types shared by the three processes of a benchmark run: the orchestrator (`bench/main.ts`,
 * `bench/compare.ts`), the server under test (`bench/servers/child.ts`) and the load generator
 * (`bench/load/child.ts`). They talk over the Node IPC channel with these messages.
 *
 * @module
 */

import type { HistogramData } from "./histogram.js";

/** The scenarios of `npm run bench`. */
export const SCENARIOS = ["echo", "broadcast", "connect", "memory", "large"] as const;
/** One of {@link SCENARIOS}. */
export type Scenario = (typeof SCENARIOS)[number];

/** What the server under test does with a message. */
export type ServerMode = "echo" | "broadcast";

/**
 * How the load generator talks to a server: `websocket` (handshake, masked frames, unmasked
 * frames back) or `raw` (no handshake; the server echoes or forwards bytes as they come, so the
 * generator counts bytes against the frames it sent instead of parsing frames).
 */
export type WireProtocol = "websocket" | "raw";

/** One job for the load generator. */
export interface LoadJob {
  readonly scenario: "echo" | "broadcast" | "connect" | "memory";
  readonly protocol: WireProtocol;
  readonly port: number;
  /** echo: connections; broadcast: receivers; connect: concurrent slots; memory: idle connections. */
  readonly connections: number;
  /** echo: messages in flight per connection; broadcast: broadcasts in flight. */
  readonly pipelining: number;
  readonly sizeBytes: number;
  readonly binary: boolean;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Hard cap on messages (or connections) started in the measured window. */
  readonly maxCount: number;
}

/** What the load generator measured (only the measured window, warm-up excluded). */
export interface LoadResult {
  /** Length of the measured window. */
  readonly elapsedMs: number;
  /** Completed units: echoes, deliveries, connect cycles, or idle connections held. */
  readonly count: number;
  /** Payload bytes received in completed units. */
  readonly bytes: number;
  readonly errors: number;
  /** The first few error descriptions. */
  readonly errorSamples: readonly string[];
  /** Units started but not completed when the window closed. */
  readonly inFlightAtEnd: number;
  /** Latency in microseconds: round trip, publish-to-delivery, or connect cycle. */
  readonly latency: HistogramData;
  /** Completed units and bytes in each full second of the window. */
  readonly perSecond: { readonly count: readonly number[]; readonly bytes: readonly number[] };
  /** CPU time the generator used in the window, in microseconds. */
  readonly cpuMicros: number;
  /** Connections the generator opened (or failed to open) before the window. */
  readonly connectionsOpened: number;
  readonly connectionsFailed: number;
  /** Scenario-specific numbers (broadcast: publishes; memory: nothing). */
  readonly extra: Readonly<Record<string, number>>;
}

/** A snapshot the server process takes of itself. */
export interface ServerStats {
  /** process.cpuUsage().user + .system, microseconds since start. */
  readonly cpuMicros: number;
  /** performance.now() of the snapshot (ms), to turn CPU deltas into a share of wall time. */
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** V8's committed heap (`heapTotal`): what live heap costs in pages, headroom included. */
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Open connections as the server counts them. */
  readonly connections: number;
}

/** Messages from the orchestrator to the server child. */
export type ToServer =
  | { readonly type: "stats"; readonly id: number; readonly gc: boolean }
  | { readonly type: "stop" };

/** Messages from the server child. */
export type FromServer =
  /** Listening; `detail` says what the implementation runs with (ws: native helpers or not). */
  | { readonly type: "ready"; readonly port: number; readonly detail: string }
  | { readonly type: "stats"; readonly id: number; readonly stats: ServerStats }
  | { readonly type: "failed"; readonly message: string };

/** Messages from the orchestrator to the load generator. */
export type ToLoad =
  | { readonly type: "run"; readonly job: LoadJob }
  | { readonly type: "release" };

/** Messages from the load generator. */
export type FromLoad =
  /** The measured window opens or closes now (the orchestrator snapshots the server's CPU). */
  | { readonly type: "window"; readonly edge: "start" | "end" }
  /**
   * `open` connections are established and idle: the orchestrator waits until the server counts
   * exactly that many, measures its memory for `baseline`/`loaded` (memory scenario), then sends
   * `release`.
   */
  | { readonly type: "holding"; readonly phase: "connected" | "baseline" | "loaded"; readonly open: number }
  | { readonly type: "result"; readonly result: LoadResult }
  | { readonly type: "failed"; readonly message: string };
