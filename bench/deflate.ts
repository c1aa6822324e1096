/**
 * permessage-deflate benchmark: messages/s and bytes on the wire with deflate on and off, wynd
 * next to ws, and the resident memory of idle connections with deflate on and off.
 *
 *   node dist/bench/deflate.js [--servers wynd,wynd-deflate,wynd-deflate+nct,ws,ws-deflate,...]
 *     [--connections 50]
 *     [--pipelining 4] [--size 2048] [--duration 5000] [--warmup 1000] [--idle 1000] [--json]
 *
 * `<server>+nct` has the client offer server_no_context_takeover and client_no_context_takeover.
 * Each server runs in its own process (`servers/child.js`, the same as `bench/main.ts`); the
 * load runs in another process (this file with `--load`) and uses ws's client for every server,
 * with deflate offered exactly when the server has it, so the client's cost is the same for all.
 * Wire bytes are counted on the client's TCP sockets (both directions, headers included). The
 * machine may be shared: compare the ratios of one run, not absolute numbers across runs.
 *
 * @module
 */

import { fork, type ChildProcess } from "node:child_process";
import { connect as netConnect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { count, table } from "./lib/format.js";
import type { FromServer, ServerStats, ToServer } from "./lib/types.js";

const SELF = fileURLToPath(import.meta.url);
const SERVER_SCRIPT = fileURLToPath(new URL("./servers/child.js", import.meta.url));

/** The parts of ws's client used here (the bench does not depend on @types/ws). */
interface WsClient {
  readonly extensions: string;
  send(data: string): void;
  on(event: "message", listener: (data: Buffer) => void): void;
  once(event: "open" | "close", listener: () => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  terminate(): void;
}
type WsClientClass = new (url: string, protocols: string[], options: Record<string, unknown>) => WsClient;

interface LoadParams {
  readonly port: number;
  /** false, true, or ws's options for the offer. */
  readonly deflate: boolean | Record<string, unknown>;
  readonly connections: number;
  readonly pipelining: number;
  readonly sizeBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

interface LoadResult {
  readonly messages: number;
  /** Every echo received, warm-up included (for the server's CPU time per message). */
  readonly totalMessages: number;
  readonly seconds: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly extensions: string;
}

/**
 * A chat-like JSON message of about `size` bytes: words drawn from a 200-word vocabulary by a
 * small PRNG seeded with `n`, so that messages differ as real chat messages do.
 */
function message(n: number, size: number): string {
  let x = (n * 0x9e3779b1) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  let text = "";
  while (text.length < size) text += `${VOCABULARY[next() % VOCABULARY.length]} `;
  const json = JSON.stringify({ id: n, room: `room-${n % 20}`, user: `user-${next() % 1000}`, at: 1_700_000_000_000 + next(), text });
  return json.slice(0, Math.max(size, 2));
}

const VOCABULARY = Array.from({ length: 200 }, (_, i) => {
  const syllables = ["ka", "lo", "mi", "ne", "sa", "tu", "ri", "po", "da", "ve", "zo", "chi", "ra", "mu"];
  return syllables[i % 14]! + syllables[(i * 7 + 3) % 14]! + (i % 3 === 0 ? syllables[(i * 5) % 14]! : "");
});

async function openClients(Ws: WsClientClass, params: LoadParams, sockets: Socket[]): Promise<WsClient[]> {
  const clients: WsClient[] = [];
  for (let i = 0; i < params.connections; i++) {
    const ws = new Ws(`ws://127.0.0.1:${params.port}`, [], {
      perMessageDeflate: params.deflate,
      maxPayload: 64 * 1024 * 1024,
      createConnection: (options: { host: string; port: number }) => {
        const socket = netConnect({ host: options.host, port: options.port, noDelay: true });
        sockets.push(socket);
        return socket;
      },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    clients.push(ws);
  }
  return clients;
}

/** The load process: echo round trips over ws clients, counting messages and wire bytes. */
async function runLoad(params: LoadParams): Promise<LoadResult> {
  const specifier = "ws";
  const Ws = ((await import(specifier)) as { WebSocket: WsClientClass }).WebSocket;
  const sockets: Socket[] = [];
  const clients = await openClients(Ws, params, sockets);
  const payloads = Array.from({ length: 1024 }, (_, n) => message(n, params.sizeBytes));
  let running = true;
  let measuring = false;
  let messages = 0;
  let totalMessages = 0;
  let sent = 0;
  for (const ws of clients) {
    ws.on("message", () => {
      totalMessages++;
      if (measuring) messages++;
      if (running) ws.send(payloads[sent++ & 1023]!);
    });
    for (let i = 0; i < params.pipelining; i++) ws.send(payloads[sent++ & 1023]!);
  }
  const wire = () => sockets.reduce((acc, s) => [acc[0]! + s.bytesWritten, acc[1]! + s.bytesRead], [0, 0]);
  await new Promise((resolve) => setTimeout(resolve, params.warmupMs));
  const [sent0, received0] = wire();
  const start = performance.now();
  measuring = true;
  await new Promise((resolve) => setTimeout(resolve, params.durationMs));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const [sent1, received1] = wire();
  running = false;
  const extensions = clients[0]?.extensions ?? "";
  for (const ws of clients) ws.terminate();
  return { messages, totalMessages, seconds, bytesSent: sent1! - sent0!, bytesReceived: received1! - received0!, extensions };
}

interface ServerHandle {
  readonly child: ChildProcess;
  readonly port: number;
  stats(gc: boolean): Promise<ServerStats>;
}

async function startServer(name: string): Promise<ServerHandle> {
  const child = fork(SERVER_SCRIPT, ["--server", name, "--mode", "echo"], {
    execArgv: ["--expose-gc"],
    env: { ...process.env, ...(name.startsWith("ws") ? { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" } : {}) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 15_000);
    child.on("message", (m: FromServer) => {
      if (m.type === "ready") {
        clearTimeout(timer);
        resolve(m.port);
      } else if (m.type === "failed") {
        clearTimeout(timer);
        reject(new Error(m.message));
      }
    });
  });
  let nextId = 1;
  const stats = (gc: boolean) =>
    new Promise<ServerStats>((resolve) => {
      const id = nextId++;
      const listener = (m: FromServer) => {
        if (m.type === "stats" && m.id === id) {
          child.off("message", listener);
          resolve(m.stats);
        }
      };
      child.on("message", listener);
      child.send({ type: "stats", id, gc } satisfies ToServer);
    });
  return { child, port, stats };
}

async function stopServer(server: ServerHandle): Promise<void> {
  server.child.send({ type: "stop" } satisfies ToServer);
  await new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.child.kill("SIGKILL");
      resolve(undefined);
    }, 5000);
    server.child.once("exit", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

function runLoadProcess(params: LoadParams): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ["--load", JSON.stringify(params)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m: LoadResult) => resolve(m));
    child.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`the load exited with ${code}`))));
  });
}

/**
 * Memory: `idle` connections opened from this process (ws clients, deflate offered when the
 * server has it); the server's RSS and heap after gc with none, with all idle, and after each
 * exchanged one compressible 4 KiB message (so that context takeover holds its zlib streams).
 */
async function measureMemory(server: ServerHandle, deflate: LoadParams["deflate"], idle: number) {
  const specifier = "ws";
  const Ws = ((await import(specifier)) as { WebSocket: WsClientClass }).WebSocket;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  await settle();
  const baseline = await server.stats(true);
  const sockets: Socket[] = [];
  const clients = await openClients(Ws, { port: server.port, deflate, connections: idle, pipelining: 0, sizeBytes: 0, warmupMs: 0, durationMs: 0 }, sockets);
  await settle();
  const opened = await server.stats(true);
  const text = message(1, 4096);
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on("message", () => resolve());
          ws.send(text);
        }),
    ),
  );
  await settle();
  const used = await server.stats(true);
  for (const ws of clients) ws.terminate();
  return { baseline, opened, used };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      load: { type: "string" },
      servers: { type: "string", default: "wynd,wynd-deflate,wynd-deflate+nct,ws,ws-deflate,ws-deflate+nct" },
      connections: { type: "string", default: "50" },
      pipelining: { type: "string", default: "4" },
      size: { type: "string", default: "2048" },
      duration: { type: "string", default: "5000" },
      warmup: { type: "string", default: "1000" },
      idle: { type: "string", default: "1000" },
      json: { type: "boolean", default: false },
    },
  });
  if (values.load !== undefined) {
    const result = await runLoad(JSON.parse(values.load) as LoadParams);
    process.send?.(result, undefined, {}, () => process.exit(0));
    return;
  }
  const rows: string[][] = [["server", "extension", "msg/s", "server CPU µs/msg", "wire B/msg (c→s)", "wire B/msg (s→c)", "RSS 0 conns", `RSS +${values.idle} idle`, "KiB/conn idle", "KiB/conn after 1 msg"]];
  const results: Array<Record<string, unknown>> = [];
  for (const label of values.servers.split(",")) {
    // "<server>+nct": the client offers no context takeover both ways (the server then holds no
    // zlib state between messages).
    const [name, variant] = label.split("+") as [string, string | undefined];
    const deflate = !name.endsWith("-deflate") ? false : variant === "nct" ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : true;
    const server = await startServer(name);
    try {
      const memory = await measureMemory(server, deflate, Number(values.idle));
      const cpuBefore = await server.stats(false);
      const load = await runLoadProcess({
        port: server.port,
        deflate,
        connections: Number(values.connections),
        pipelining: Number(values.pipelining),
        sizeBytes: Number(values.size),
        warmupMs: Number(values.warmup),
        durationMs: Number(values.duration),
      });
      const cpuAfter = await server.stats(false);
      const n = Number(values.idle);
      const perConn = (a: ServerStats, b: ServerStats) => ((b.rss - a.rss) / n / 1024).toFixed(1);
      const result = {
        server: label,
        extensions: load.extensions,
        messagesPerSecond: load.messages / load.seconds,
        serverCpuMicrosPerMessage: (cpuAfter.cpuMicros - cpuBefore.cpuMicros) / load.totalMessages,
        wireBytesPerMessageClientToServer: load.bytesSent / load.messages,
        wireBytesPerMessageServerToClient: load.bytesReceived / load.messages,
        rssBaseline: memory.baseline.rss,
        rssIdle: memory.opened.rss,
        rssAfterOneMessage: memory.used.rss,
        kibPerIdleConnection: Number(perConn(memory.baseline, memory.opened)),
        kibPerConnectionAfterOneMessage: Number(perConn(memory.baseline, memory.used)),
      };
      results.push(result);
      rows.push([
        label,
        load.extensions === "" ? "-" : load.extensions,
        count(result.messagesPerSecond),
        result.serverCpuMicrosPerMessage.toFixed(1),
        result.wireBytesPerMessageClientToServer.toFixed(0),
        result.wireBytesPerMessageServerToClient.toFixed(0),
        `${(memory.baseline.rss / 1048576).toFixed(1)} MiB`,
        `${(memory.opened.rss / 1048576).toFixed(1)} MiB`,
        perConn(memory.baseline, memory.opened),
        perConn(memory.baseline, memory.used),
      ]);
    } finally {
      await stopServer(server);
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `echo of ${values.size}-byte chat-like JSON text, ${values.connections} connections x ${values.pipelining} in flight, ${values.duration} ms; ${values.idle} idle connections for memory\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
  const find = (name: string) => results.find((r) => r["server"] === name);
  const pairs = [["wynd-deflate", "wynd"], ["ws-deflate", "ws"], ["wynd-deflate", "ws-deflate"], ["wynd-deflate+nct", "ws-deflate+nct"]] as const;
  for (const [on, off] of pairs) {
    const a = find(on);
    const b = find(off);
    if (a === undefined || b === undefined) continue;
    const ratio = (key: string) => ((a[key] as number) / (b[key] as number)).toFixed(2);
    process.stdout.write(`${on} / ${off}: msg/s x${ratio("messagesPerSecond")}, server CPU/msg x${ratio("serverCpuMicrosPerMessage")}, wire s→c x${ratio("wireBytesPerMessageServerToClient")}, c→s x${ratio("wireBytesPerMessageClientToServer")}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
