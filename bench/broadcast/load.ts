/**
 * The load generator of the multi-node broadcast benchmark (one process, pinned to its own core
 * by `run.ts`). It opens R receivers spread round-robin over the nodes and one publisher on the
 * first node, then:
 *
 * 1. **sync**: publishes one probe every 20 ms until every receiver has received one (so every
 *    receiver is in the room on its node, and every node is subscribed to whatever carries the
 *    broadcasts between nodes) — bounded by `syncTimeoutMs`;
 * 2. **load**: keeps P broadcasts in flight; a broadcast is complete when every receiver got it,
 *    and the next one leaves then. Each delivery counts, with its publish-to-delivery latency
 *    read from the timestamp in its payload;
 * 3. **drain**: waits (at most 2 s) for what is in flight, then checks that every receiver got
 *    every broadcast, in order, exactly once.
 *
 * The same code drives wynd (plain WebSocket text messages) and socket.io (engine.io framing
 * over the same WebSocket, see `wire.ts`).
 *
 * @module
 */

import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { LoadResult } from "../lib/types.js";
import { reportAndExit } from "../load/ipc.js";
import { openConnection } from "../load/open.js";
import { sleep, until, Window } from "../load/window.js";
import type { ClusterJob, Peer, ToClusterLoad } from "./types.js";
import { ClientFrames, FrameScanner, readStamp, SOCKET_IO_PATH, stamp } from "./wire.js";

const PROBE_INTERVAL_MS = 20;
const OPEN_TIMEOUT_MS = 10_000;
const OPEN_CONCURRENCY = 50;
const DRAIN_TIMEOUT_MS = 2000;

/** performance.now() in µs, read once per incoming chunk (not once per delivery). */
let readMicros = 0;

/** One client connection speaking the peer's protocol. */
interface BenchClient {
  readonly socket: Socket;
  /** Called for each publication delivered to this client (its stamp in {@link stamp}). */
  onDelivery: () => void;
  /** Called once when the connection fails or misbehaves. */
  onProblem: (description: string) => void;
}

const ENGINE_IO_PONG = Buffer.from("3", "latin1");
const SOCKET_IO_CONNECT = Buffer.from("40", "latin1");

/**
 * Opens one client on `port` and, for socket.io, completes the engine.io open (`0{…}`) and the
 * namespace connect (`40` → `40{…}`); resolves when it can receive broadcasts.
 */
async function openClient(peer: Peer, port: number, frames: ClientFrames): Promise<BenchClient> {
  const connection = await openConnection(port, "websocket", OPEN_TIMEOUT_MS, peer === "socket.io" ? SOCKET_IO_PATH : "/");
  const socket = connection.socket;
  const deliveryBytes = frames.deliveryBytes;
  const stampOffset = frames.stampOffset;
  let problem = false;
  let ready: () => void = () => {};
  let handshakeState = peer === "socket.io" ? 0 : 2; // 0: await open, 1: await connect ack, 2: ready
  const client: BenchClient = { socket, onDelivery: () => {}, onProblem: () => {} };
  const fail = (description: string) => {
    if (problem) return;
    problem = true;
    client.onProblem(description);
    socket.destroy();
  };
  const deliver = (data: Buffer, start: number, end: number) => {
    if (end - start !== deliveryBytes || !readStamp(data, start + stampOffset)) {
      fail(`a malformed broadcast: ${JSON.stringify(data.toString("latin1", start, Math.min(end, start + 48)))}`);
      return;
    }
    client.onDelivery();
  };
  const scanner = new FrameScanner((opcode, data, start, end) => {
    if (opcode === 0x1) {
      if (peer === "wynd") return deliver(data, start, end);
      const first = data[start];
      if (first === 0x34 && data[start + 1] === 0x32) return deliver(data, start, end); // 42[…]: an event
      if (first === 0x32 && end - start === 1) return void socket.write(frames.masked(0x1, ENGINE_IO_PONG)); // ping
      if (first === 0x30 && handshakeState === 0) {
        handshakeState = 1;
        return void socket.write(frames.masked(0x1, SOCKET_IO_CONNECT));
      }
      if (first === 0x34 && data[start + 1] === 0x30 && handshakeState === 1) {
        handshakeState = 2;
        return ready();
      }
      return fail(`an unexpected socket.io packet: ${JSON.stringify(data.toString("latin1", start, Math.min(end, start + 48)))}`);
    }
    if (opcode === 0x9) return void socket.write(frames.masked(0xa, data.subarray(start, end)));
    if (opcode === 0xa) return;
    if (opcode === 0x8) return fail(`the server sent a Close frame${end - start >= 2 ? ` (code ${data.readUInt16BE(start)})` : ""}`);
    return fail(`an unexpected frame (opcode ${opcode})`);
  });
  connection.setHandler((chunk) => {
    readMicros = performance.now() * 1000;
    scanner.push(chunk);
    if (scanner.error !== undefined) fail(scanner.error);
  });
  socket.on("close", () => fail("the connection closed"));
  if (handshakeState !== 2) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket.io handshake timed out")), OPEN_TIMEOUT_MS);
      ready = () => {
        clearTimeout(timer);
        resolve();
      };
      client.onProblem = (description) => {
        clearTimeout(timer);
        reject(new Error(`socket.io handshake: ${description}`));
      };
    });
    client.onProblem = () => {};
  }
  return client;
}

/** A receiver and what it has seen. */
interface Receiver {
  readonly client: BenchClient;
  /** The last sequence number delivered, -1 before the first. */
  last: number;
  alive: boolean;
}

/** Runs one job; the result's `extra` holds the consistency figures the tests check. */
export async function runClusterLoad(job: ClusterJob): Promise<LoadResult> {
  const frames = new ClientFrames(job.peer, job.sizeBytes);
  const window = new Window();
  const nodes = job.ports.length;

  // Open the receivers, OPEN_CONCURRENCY at a time, receiver i on node i % nodes.
  const receivers: Receiver[] = [];
  let failedToOpen = 0;
  let nextIndex = 0;
  const opener = async () => {
    while (nextIndex < job.receivers) {
      const index = nextIndex++;
      try {
        receivers.push({ client: await openClient(job.peer, job.ports[index % nodes]!, frames), last: -1, alive: true });
      } catch (error) {
        failedToOpen++;
        window.error(`receiver on node ${index % nodes}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, job.receivers) }, opener));
  const publisher = await openClient(job.peer, job.ports[0]!, frames);

  const ring = job.pipelining;
  const remaining = new Int32Array(ring);
  let audience = receivers.length;
  let synced = 0;
  /** Sequence numbers below this are probes: not counted, not awaited. */
  let firstTracked = Number.POSITIVE_INFINITY;
  let nextSeq = 0;
  let outstanding = 0;
  let deliveries = 0;
  let broadcastsInWindow = 0;

  const publish = (seq: number) => {
    publisher.socket.write(frames.publication(seq, performance.now() * 1000));
  };
  const publishTracked = () => {
    if (nextSeq - firstTracked >= job.maxCount) return;
    const seq = nextSeq++;
    remaining[seq % ring] = audience;
    outstanding++;
    publish(seq);
  };
  const size = job.sizeBytes;

  receivers.forEach((receiver, index) => {
    const lose = (description: string) => {
      if (!receiver.alive) return;
      receiver.alive = false;
      audience--;
      // Broadcasts in flight that wait for it will not complete: the run reports them.
      window.error(`receiver ${index} (node ${index % nodes}): ${description}`);
    };
    receiver.client.onProblem = lose;
    receiver.client.onDelivery = () => {
      const seq = stamp.seq;
      if (receiver.last !== -1 && seq !== receiver.last + 1) {
        lose(`broadcast ${seq} arrived after ${receiver.last} (lost, duplicated or reordered)`);
        receiver.client.socket.destroy();
        return;
      }
      if (receiver.last === -1) synced++;
      receiver.last = seq;
      if (seq < firstTracked) return;
      deliveries++;
      if (window.measuring) {
        window.latency.record(readMicros - stamp.micros);
        window.count++;
        window.bytes += size;
      }
      if (--remaining[seq % ring]! === 0) {
        outstanding--;
        if (window.measuring) broadcastsInWindow++;
        if (window.running) publishTracked();
      }
    };
  });
  publisher.onDelivery = () => window.error("the publisher received its own broadcast");
  publisher.onProblem = (description) => window.error(`publisher: ${description}`);

  // 1. Sync: probes until every receiver got one.
  const syncDeadline = performance.now() + job.syncTimeoutMs;
  while (synced < audience && performance.now() < syncDeadline) {
    publish(nextSeq++);
    await sleep(PROBE_INTERVAL_MS);
  }
  if (synced < audience) throw new Error(`${audience - synced} of ${audience} receivers got no probe within ${job.syncTimeoutMs} ms`);
  const probes = nextSeq;

  // 2. Load.
  firstTracked = nextSeq;
  for (let i = 0; i < ring; i++) publishTracked();
  await window.run(job.warmupMs, job.durationMs);

  // 3. Drain and check.
  await until(() => outstanding <= 0, DRAIN_TIMEOUT_MS);
  const published = nextSeq - firstTracked;
  let behind = 0;
  for (const receiver of receivers) if (receiver.alive && receiver.last !== nextSeq - 1) behind++;
  for (const { client } of receivers) client.socket.destroy();
  publisher.socket.destroy();
  return window.result({
    inFlightAtEnd: outstanding,
    connectionsOpened: receivers.length + 1,
    connectionsFailed: failedToOpen,
    extra: {
      receivers: audience,
      probes,
      published,
      deliveries,
      broadcasts: broadcastsInWindow,
      receiversBehind: behind,
    },
  });
}

process.on("message", (message: ToClusterLoad) => reportAndExit(runClusterLoad(message.job)));
process.on("disconnect", () => process.exit(0));
