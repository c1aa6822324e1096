/**
 * The load generator process (started by the orchestrator with an IPC channel and, where
 * possible, pinned to core 1). It runs one job and sends its result. It uses raw `node:net`
 * sockets, precomputed masked frames and its own reader (`reader.ts`), so that it costs much
 * less per message than the server under test; its CPU time is reported next to the server's
 * to show it.
 *
 * @module
 */

import type { LoadJob, LoadResult, ToLoad } from "../lib/types.js";
import { runBroadcast } from "./broadcast.js";
import type { LoadContext } from "./context.js";
import { runConnect } from "./cycle.js";
import { runEcho } from "./echo.js";
import { reportAndExit, tell } from "./ipc.js";
import { runMemory } from "./memory.js";

/** How long a `hold` waits for the orchestrator's `release`. */
const HOLD_TIMEOUT_MS = 120_000;


let release: (() => void) | undefined;

const context: LoadContext = {
  hold(phase, open) {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no release after ${phase}`)), HOLD_TIMEOUT_MS);
      release = () => {
        clearTimeout(timer);
        release = undefined;
        resolve();
      };
      void tell({ type: "holding", phase, open });
    });
  },
};

function run(job: LoadJob): Promise<LoadResult> {
  switch (job.scenario) {
    case "echo":
      return runEcho(job, context);
    case "broadcast":
      return runBroadcast(job, context);
    case "connect":
      return runConnect(job);
    case "memory":
      return runMemory(job, context);
  }
}

process.on("message", (message: ToLoad) => {
  if (message.type === "release") {
    release?.();
    return;
  }
  reportAndExit(run(message.job));
});
process.on("disconnect", () => process.exit(0));
