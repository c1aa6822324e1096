/**
 * The load generator's side of the IPC channel: telling the orchestrator, and ending a job.
 *
 * @module
 */

import type { FromLoad, LoadResult } from "../lib/types.js";

/** Sends `message` to the orchestrator; resolves once it is written (at once without a channel). */
export function tell(message: FromLoad): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

/** Sends the job's result, or its failure, to the orchestrator, then exits (0 or 1). */
export function reportAndExit(result: Promise<LoadResult>): void {
  result.then(
    async (value) => {
      await tell({ type: "result", result: value });
      process.exit(0);
    },
    async (error: unknown) => {
      await tell({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
}
