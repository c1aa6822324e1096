/**
 * The `echo` scenario: N connections each keeping P messages in flight. A round trip counts when
 * its echo arrived and matched (frame header and payload, or the raw bytes); the next message
 * leaves at once, so each chunk read is answered with one write of as many messages as it
 * completed.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import type { LoadJob, LoadResult } from "../lib/types.js";
import type { LoadContext } from "./context.js";
import { buildTape, sendFrames, variantsFor } from "./frames.js";
import { openMany } from "./open.js";
import { StreamReader } from "./reader.js";
import { until, Window } from "./window.js";

/** Runs the echo scenario. */
export async function runEcho(job: LoadJob, context: LoadContext): Promise<LoadResult> {
  const tape = buildTape(job.sizeBytes, job.binary, variantsFor(job.pipelining, job.sizeBytes));
  const units = job.protocol === "raw" ? tape.rawEchoes : tape.serverFrames;
  const window = new Window();
  const { open, failed, errors } = await openMany(job.port, job.protocol, job.connections, 100);
  for (const error of errors) window.error(error);
  await context.hold("connected", open.length);

  const variants = tape.variants;
  const size = job.sizeBytes;
  const maxCount = job.maxCount;
  let started = 0;
  let inFlight = 0;
  const starters: Array<(now: number) => void> = [];

  for (const connection of open) {
    const socket = connection.socket;
    const reader = new StreamReader(units);
    const sentAt = new Float64Array(variants);
    let nextVariant = 0;
    let pending = 0;
    const sendMore = (count: number, now: number) => {
      const n = Math.min(count, maxCount - started);
      if (n <= 0) return;
      for (let i = 0, v = nextVariant; i < n; i++, v = v + 1 === variants ? 0 : v + 1) sentAt[v] = now;
      sendFrames(socket, tape, nextVariant, n);
      nextVariant = (nextVariant + n) % variants;
      started += n;
      pending += n;
      inFlight += n;
    };
    const onData = (chunk: Buffer) => {
      const first = reader.next;
      const n = reader.push(chunk);
      if (n <= 0) {
        if (n < 0) {
          window.error(reader.error ?? "mismatch");
          inFlight -= pending;
          pending = 0;
          socket.destroy();
        }
        return;
      }
      const now = performance.now();
      pending -= n;
      inFlight -= n;
      if (window.measuring) {
        window.count += n;
        window.bytes += n * size;
        const latency = window.latency;
        for (let i = 0, v = first; i < n; i++, v = v + 1 === variants ? 0 : v + 1) {
          latency.record((now - sentAt[v]!) * 1000);
        }
      }
      if (window.running) sendMore(n, now);
    };
    socket.on("close", () => {
      if (pending > 0) {
        if (window.running) window.error("the server closed a connection with messages in flight");
        inFlight -= pending;
        pending = 0;
      }
    });
    connection.setHandler(onData);
    starters.push((now) => sendMore(job.pipelining, now));
  }
  const now = performance.now();
  for (const start of starters) start(now);

  await window.run(job.warmupMs, job.durationMs);
  // Let the messages in flight come back (bounded), so the server is idle when the next run starts.
  await until(() => inFlight <= 0, 2000);
  const inFlightAtEnd = inFlight;
  for (const { socket } of open) socket.destroy();
  return window.result({ inFlightAtEnd, connectionsOpened: open.length, connectionsFailed: failed });
}
