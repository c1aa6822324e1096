/**
 * `wynd chat --workers N`: N worker processes on one port with `node:cluster` (the primary
 * accepts the connections and hands them to the workers in turn). Each worker is a whole chat
 * server on the same Redis (its own adapter, stores and node id), so the workers make one chat as
 * separate machines would. The primary announces the server once every worker listens, starts a
 * new worker when one dies, and stops them all on SIGINT/SIGTERM.
 *
 * @module
 */

import cluster, { type Worker } from "node:cluster";

/** Message a worker sends its primary once listening. */
interface Listening {
  readonly type: "wynd-chat-listening";
  readonly url: string;
}

function isListening(message: unknown): message is Listening {
  return typeof message === "object" && message !== null && (message as Listening).type === "wynd-chat-listening" && typeof (message as Listening).url === "string";
}

/** Workers started again after dying, at most, before the primary gives up. */
const MAX_RESTARTS = 100;

/** Whether this process is a worker of `wynd chat --workers`. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/** Runs `count` workers (this same command line); resolves with the exit code once they stopped. */
export function runWorkers(count: number): Promise<number> {
  return new Promise((resolve) => {
    const ready = new Set<number>();
    let announced = false;
    let stopping = false;
    let restarts = 0;
    let code = 0;
    const stopAll = () => {
      stopping = true;
      process.off("SIGINT", stopAll);
      process.off("SIGTERM", stopAll);
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      if (workers.length === 0) return finish();
      for (const worker of workers) worker.process.kill("SIGTERM");
    };
    const finish = () => {
      if (code === 0) process.stdout.write("wynd chat stopped\n");
      resolve(code);
    };
    const fork = () => {
      const worker = cluster.fork();
      worker.on("message", (message: unknown) => {
        if (!isListening(message)) return;
        ready.add(worker.id);
        if (announced || ready.size < count) return;
        announced = true;
        const url = message.url;
        process.stdout.write(`wynd chat listening on ${url} (WebSocket: ${url.replace(/^http/, "ws")}) with ${count} workers\n`);
      });
    };
    cluster.on("exit", (worker, exitCode, signal) => {
      ready.delete(worker.id);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) finish();
        return;
      }
      if (!announced) {
        // A worker that cannot start (Redis unreachable, port taken): its error is on stderr.
        process.stderr.write(`wynd chat: a worker could not start (exit ${signal ?? exitCode}); stopping\n`);
        code = 1;
        return stopAll();
      }
      if (restarts++ >= MAX_RESTARTS) {
        process.stderr.write(`wynd chat: workers keep dying (${MAX_RESTARTS} restarts); stopping\n`);
        code = 1;
        return stopAll();
      }
      process.stderr.write(`wynd chat: worker ${worker.process.pid} exited (${signal ?? exitCode}); starting another\n`);
      fork();
    });
    process.on("SIGINT", stopAll);
    process.on("SIGTERM", stopAll);
    for (let i = 0; i < count; i++) fork();
  });
}
