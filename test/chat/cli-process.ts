// `wynd chat` as a child process, for the tests that run the command line itself: started on
// port 0, its URL read from the line it prints once listening, killed after the test if still
// running.
import { spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { WAIT_MS } from "./helpers.js";

/** The compiled `wynd` command. */
export const CLI = fileURLToPath(new URL("../../src/cli.js", import.meta.url));

/** A running `wynd chat`. */
export interface Child {
  readonly url: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `wynd chat --port 0 …` (or `--port <port>` when `args` has one) and resolves with its
 * http URL, read from the listening line.
 */
export async function serve(t: TestContext, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const port = args.includes("--port") ? [] : ["--port", "0"];
  const child = spawn(process.execPath, [CLI, "chat", ...port, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wynd chat did not listen: ${stderr}`)), WAIT_MS * 2);
    const onData = () => {
      const line = /^wynd chat listening on (http:\/\/127\.0\.0\.1:\d+\/) \(WebSocket: ws:\/\/127\.0\.0\.1:\d+\/\)( with \d+ workers)?\n/.exec(stdout);
      if (line === null) return;
      clearTimeout(timer);
      resolve(line[1]!);
    };
    child.stdout.on("data", onData);
    void exited.then(() => reject(new Error(`wynd chat exited before listening: ${stderr}`)));
  });
  return { url, pid: child.pid!, exited, kill: (signal) => child.kill(signal), stdout: () => stdout, stderr: () => stderr };
}
