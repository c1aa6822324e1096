/**
 * The servers under test. Each entry says how the load generator talks to it, which environment
 * its process gets, whether it can run on this machine, and how to start it (loaded lazily, in
 * the server process only, so the orchestrator never imports `ws`).
 *
 * Adding a server is one entry here, and a module under `servers/` exporting a
 * {@link StartServer} (as `servers/wynd.ts` and `servers/wynd-api.ts` do).
 *
 * @module
 */

import { createRequire } from "node:module";
import type { ServerMode, WireProtocol } from "../lib/types.js";

/** A server listening on 127.0.0.1, as its process sees it. */
export interface RunningServer {
  readonly port: number;
  /** What it runs with (shown next to the results). */
  readonly detail: string;
  /** Open connections as the server counts them. */
  connections(): number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Options every server honours. */
export interface StartOptions {
  /** The largest message accepted (the `large` scenario sends 16 MiB). */
  readonly maxMessageBytes: number;
  /** permessage-deflate on, with the implementation's default parameters (`*-deflate` servers). */
  readonly deflate?: boolean;
}

/** Starts a server in `mode` on 127.0.0.1, port 0. */
export type StartServer = (mode: ServerMode, options: StartOptions) => Promise<RunningServer>;

/** One server under test. */
export interface ServerEntry {
  readonly name: string;
  readonly description: string;
  readonly protocol: WireProtocol;
  /** Environment variables set (or cleared, with "") for its process. */
  readonly env: Readonly<Record<string, string>>;
  /** Why it cannot run here, or undefined when it can. Runs in the orchestrator. */
  readonly unavailable: () => string | undefined;
  /** Loads the implementation. Runs in the server process. */
  readonly load: () => Promise<StartServer>;
}

const require = createRequire(import.meta.url);

/** Where `ws` resolves from, or undefined when it is not installed. */
function wsPath(): string | undefined {
  try {
    return require.resolve("ws");
  } catch {
    return undefined;
  }
}

/**
 * Whether ws's optional native helper `bufferutil` loads from where ws would load it (its
 * node_modules chain, or NODE_PATH). `utf-8-validate` no longer matters: ws 8 uses
 * `buffer.isUtf8` when Node has it (Node ≥ 18.14), so only masking goes native.
 */
function bufferutilProblem(): string | undefined {
  const ws = wsPath();
  if (ws === undefined) return "ws is not installed (npm install)";
  try {
    createRequire(ws)("bufferutil");
    return undefined;
  } catch {
    return "bufferutil is not installed (npm install --no-save bufferutil, or put it on NODE_PATH)";
  }
}

/** Every server, in the order results are printed. */
export const SERVERS: readonly ServerEntry[] = [
  {
    name: "wynd",
    description: "wynd engine: WebSocketServer, echo with connection.sendMessage, server.broadcast",
    protocol: "websocket",
    env: {},
    unavailable: () => undefined,
    load: async () => (await import("./wynd.js")).start,
  },
  {
    name: "wynd-api",
    description: "the same servers through the Wynd API: onText + handle.sendText, wynd.broadcast",
    protocol: "websocket",
    env: {},
    unavailable: () => undefined,
    load: async () => (await import("./wynd-api.js")).start,
  },
  {
    name: "ws",
    description: "ws 8 without native helpers (WS_NO_BUFFER_UTIL=1, WS_NO_UTF_8_VALIDATE=1)",
    protocol: "websocket",
    env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" },
    unavailable: () => (wsPath() === undefined ? "ws is not installed (npm install)" : undefined),
    load: async () => (await import("./ws.js")).start,
  },
  {
    name: "ws-native",
    description: "ws 8 with its optional native helper bufferutil",
    protocol: "websocket",
    env: { WS_NO_BUFFER_UTIL: "", WS_NO_UTF_8_VALIDATE: "" },
    unavailable: bufferutilProblem,
    load: async () => (await import("./ws.js")).start,
  },
  {
    name: "wynd-deflate",
    description: "wynd engine with perMessageDeflate: true (compressed only with a client that offers it: bench/deflate.ts)",
    protocol: "websocket",
    env: {},
    unavailable: () => undefined,
    load: async () => withDeflate((await import("./wynd.js")).start),
  },
  {
    name: "ws-deflate",
    description: "ws 8 with perMessageDeflate: true (compressed only with a client that offers it: bench/deflate.ts)",
    protocol: "websocket",
    env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" },
    unavailable: () => (wsPath() === undefined ? "ws is not installed (npm install)" : undefined),
    load: async () => withDeflate((await import("./ws.js")).start),
  },
  {
    name: "raw",
    description: "node:net echoing (or forwarding) bytes as they come, no WebSocket work",
    protocol: "raw",
    env: {},
    unavailable: () => undefined,
    load: async () => (await import("./raw.js")).start,
  },
];

/** The same server with permessage-deflate on. */
function withDeflate(start: StartServer): StartServer {
  return (mode, options) => start(mode, { ...options, deflate: true });
}

/** The entry called `name`, or undefined. */
export function findServer(name: string): ServerEntry | undefined {
  return SERVERS.find((entry) => entry.name === name);
}
