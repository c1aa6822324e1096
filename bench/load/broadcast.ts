/**
 * The `broadcast` scenario: R receivers and one publisher on a server that forwards every message
 * to every other client. The publisher keeps P broadcasts in flight; a broadcast is complete when
 * every receiver got it (in order, verified), and the next one leaves then. Each delivery counts,
 * with its publish-to-delivery latency.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import type { LoadJob, LoadResult } from "../lib/types.js";
import type { LoadContext } from "./context.js";
import { buildTape, sendFrames, variantsFor } from "./frames.js";
import { openConnection, openMany } from "./open.js";
import { StreamReader } from "./reader.js";
import { until, Window } from "./window.js";

/** Runs the broadcast scenario. */
export async function runBroadcast(job: LoadJob, context: LoadContext): Promise<LoadResult> {
  const tape = buildTape(job.sizeBytes, job.binary, variantsFor(job.pipelining, job.sizeBytes));
  const units = job.protocol === "raw" ? tape.rawEchoes : tape.serverFrames;
  const window = new Window();
  const receivers = await openMany(job.port, job.protocol, job.connections, 100);
  for (const error of receivers.errors) window.error(error);
  const publisher = await openConnection(job.port, job.protocol, 10_000);
  await context.hold("connected", receivers.open.length + 1);

  const variants = tape.variants;
  const size = job.sizeBytes;
  const publishedAt = new Float64Array(variants);
  const remaining = new Int32Array(variants);
  let audience = receivers.open.length;
  let nextVariant = 0;
  let published = 0;
  let outstanding = 0;
  let broadcastsInWindow = 0;

  const publish = (count: number, now: number) => {
    const n = Math.min(count, job.maxCount - published);
    if (n <= 0) return;
    for (let i = 0, v = nextVariant; i < n; i++, v = v + 1 === variants ? 0 : v + 1) {
      publishedAt[v] = now;
      remaining[v] = audience;
    }
    sendFrames(publisher.socket, tape, nextVariant, n);
    nextVariant = (nextVariant + n) % variants;
    published += n;
    outstanding += n;
  };

  for (const connection of receivers.open) {
    const socket = connection.socket;
    const reader = new StreamReader(units);
    let alive = true;
    let misread = false;
    const onData = (chunk: Buffer) => {
      const first = reader.next;
      const n = reader.push(chunk);
      if (n <= 0) {
        if (n < 0 && !misread) {
          misread = true;
          window.error(reader.error ?? "mismatch");
          socket.destroy();
        }
        return;
      }
      const now = performance.now();
      const measuring = window.measuring;
      let completed = 0;
      for (let i = 0, v = first; i < n; i++, v = v + 1 === variants ? 0 : v + 1) {
        if (measuring) window.latency.record((now - publishedAt[v]!) * 1000);
        if (--remaining[v]! === 0) completed++;
      }
      if (measuring) {
        window.count += n;
        window.bytes += n * size;
        broadcastsInWindow += completed;
      }
      if (completed > 0) {
        outstanding -= completed;
        if (window.running) publish(completed, now);
      }
    };
    socket.on("close", () => {
      if (!alive) return;
      alive = false;
      if (window.running && !misread) window.error("a receiver was disconnected");
      // Later broadcasts no longer wait for it (those in flight will stall and end the run).
      audience--;
    });
    connection.setHandler(onData);
  }
  publisher.setHandler(() => window.error("the publisher received its own broadcast"));

  publish(job.pipelining, performance.now());
  await window.run(job.warmupMs, job.durationMs);
  await until(() => outstanding <= 0, 2000);
  const inFlightAtEnd = outstanding;
  for (const { socket } of receivers.open) socket.destroy();
  publisher.socket.destroy();
  return window.result({
    inFlightAtEnd,
    connectionsOpened: receivers.open.length + 1,
    connectionsFailed: receivers.failed,
    extra: { broadcasts: broadcastsInWindow, receivers: receivers.open.length },
  });
}
