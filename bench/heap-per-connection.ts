/**
 * Where the bytes of an idle connection go: runs one server of the registry in this process,
 * has a child process open N idle connections to it (after a warm-up of opened and closed ones),
 * and diffs two V8 heap snapshots (before and with the N connections), grouped by object kind:
 * objects and bytes per connection, largest first. Run it on `raw` to see what node:net itself
 * costs, then on `wynd` or `wynd-api` to see what is above it.
 *
 *   node --expose-gc dist/bench/heap-per-connection.js --server wynd-api [--connections 2000] [--top 30]
 *
 * Loopback only; the connections are opened 100 at a time and the client exits with this
 * process. The RSS line is only indicative (one process, one sample): `npm run bench -- memory`
 * is the RSS measurement.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import { table } from "./lib/format.js";
import { findServer } from "./servers/registry.js";

/** The client: opens connections (upgrading unless raw), holds them, says when it is done. */
const CLIENT = `
import { connect } from "node:net";
const [port, count, upgrade] = process.argv.slice(1).map(Number);
const request = "GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n";
function open() {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", reject);
    socket.on("connect", () => {
      if (!upgrade) return resolve(socket);
      socket.write(request);
      socket.once("data", () => resolve(socket));
    });
  });
}
async function openMany(n) {
  const sockets = [];
  for (let i = 0; i < n; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, open))));
  return sockets;
}
for (const socket of await openMany(200)) socket.destroy();
await new Promise((resolve) => setTimeout(resolve, 300));
process.stdout.write("warm\\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const held = await openMany(count);
process.stdout.write("ready\\n");
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
void held;
`;

interface Group {
  count: number;
  bytes: number;
}

/** Objects of a heap snapshot grouped by "type name" (strings and code are grouped by type). */
function groups(file: string): Map<string, Group> {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const out = new Map<string, Group>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!]!;
    const named = type !== "string" && type !== "code" && type !== "number" && type !== "concatenated string" && type !== "sliced string";
    const key = named ? `${type} ${strings[nodes[i + nameAt]!]!.slice(0, 60)}` : type;
    const group = out.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += nodes[i + sizeAt]!;
    out.set(key, group);
  }
  return out;
}

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { server: { type: "string", default: "wynd" }, connections: { type: "string", default: "2000" }, top: { type: "string", default: "30" } },
  });
  const n = Number(values.connections);
  if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new Error("--connections: 1 to 20,000");
  const entry = findServer(values.server);
  if (entry === undefined) throw new Error(`unknown server ${values.server}`);
  const server = await (await entry.load())("echo", { maxMessageBytes: 1024 * 1024 });
  const dir = mkdtempSync(join(tmpdir(), "wynd-heap-"));
  const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT, String(server.port), String(n), values.server === "raw" ? "0" : "1"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    lines.push(...text.split("\n").filter(Boolean));
    for (const waiter of waiters.splice(0)) waiter();
  });
  const line = async (wanted: string): Promise<void> => {
    const deadline = Date.now() + 120_000;
    while (!lines.includes(wanted)) {
      if (Date.now() > deadline) throw new Error(`the client did not say ${wanted}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  };
  try {
    await line("warm");
    await collect();
    const rssBefore = process.memoryUsage().rss;
    const before = groups(writeHeapSnapshot(join(dir, "before.heapsnapshot")));
    await collect();
    const rssBase = process.memoryUsage().rss;
    child.stdin.write("go\n");
    await line("ready");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await collect();
    const rssLoaded = process.memoryUsage().rss;
    const after = groups(writeHeapSnapshot(join(dir, "after.heapsnapshot")));
    const rows: Array<[string, number, number]> = [];
    let total = 0;
    for (const [key, group] of after) {
      const base = before.get(key) ?? { count: 0, bytes: 0 };
      const bytes = group.bytes - base.bytes;
      total += bytes;
      rows.push([key, (group.count - base.count) / n, bytes / n]);
    }
    rows.sort((a, b) => b[2] - a[2]);
    process.stdout.write(
      `${values.server}: ${n} idle connections (${server.connections()} counted by the server); ` +
        `heap ${(total / n).toFixed(0)} B/connection in the snapshots, RSS ≈ ${((rssLoaded - rssBase) / n).toFixed(0)} B/connection ` +
        `(one sample; ${((rssBase - rssBefore) / 1024).toFixed(0)} KiB moved between two baselines)\n`,
    );
    const top = Number(values.top);
    process.stdout.write(
      `${table([["objects (type and constructor)", "per connection", "bytes per connection"], ...rows.slice(0, top).map(([k, c, b]) => [k, c.toFixed(2), b.toFixed(1)])])}\n`,
    );
  } finally {
    child.stdin.end();
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
