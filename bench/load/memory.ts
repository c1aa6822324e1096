/**
 * The `memory` scenario: the orchestrator measures the server's memory once after a warm-up
 * (connections opened and closed, so code paths and pools exist), then with N idle connections
 * open; the difference over N is the cost of a connection. The generator only opens, holds and
 * closes.
 *
 * @module
 */

import type { LoadJob, LoadResult } from "../lib/types.js";
import type { LoadContext } from "./context.js";
import { openMany } from "./open.js";
import { sleep, Window } from "./window.js";

/** Connections opened and closed before the baseline. */
const WARMUP_CONNECTIONS = 200;

/** Runs the memory scenario. */
export async function runMemory(job: LoadJob, context: LoadContext): Promise<LoadResult> {
  const window = new Window();
  const warm = await openMany(job.port, job.protocol, Math.min(WARMUP_CONNECTIONS, job.connections), 50);
  for (const { socket } of warm.open) socket.destroy();
  await sleep(100);
  await context.hold("baseline", 0);

  const { open, failed, errors } = await openMany(job.port, job.protocol, Math.min(job.connections, job.maxCount), 100);
  for (const error of errors) window.error(error);
  for (const connection of open) connection.setHandler(() => window.error("an idle connection received data"));
  await context.hold("loaded", open.length);
  for (const { socket } of open) socket.destroy();
  window.count = open.length;
  return window.result({ inFlightAtEnd: 0, connectionsOpened: open.length, connectionsFailed: failed });
}
