// The shared deadline queue behind the handshake and close timeouts: a deadline fires once, never
// before its delay, in order; a cancelled one never fires; a throwing callback stops no other.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { DeadlineQueue } from "../../src/transport/deadlines.js";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test("a deadline fires once, not before its delay, and targets expire in the order they were added", { timeout: 10_000 }, async () => {
  const fired: Array<{ name: string; afterMs: number }> = [];
  const started = new Map<object, number>();
  const queue = new DeadlineQueue<{ name: string }>(40, (target) => {
    fired.push({ name: target.name, afterMs: performance.now() - started.get(target)! });
  });
  const targets = ["a", "b", "c"].map((name) => ({ name }));
  for (const target of targets) {
    started.set(target, performance.now());
    queue.add(target);
    await sleep(7);
  }
  while (fired.length < 3) await sleep(10);
  await sleep(100);
  assert.deepEqual(
    fired.map((f) => f.name),
    ["a", "b", "c"],
  );
  // Timers may fire a millisecond early by Node's rounding; never a tick early.
  for (const f of fired) assert.ok(f.afterMs >= 39, `${f.name} fired after ${f.afterMs} ms`);
  assert.equal(queue.has(targets[0]!), false);
});

test("a deleted deadline never fires, and clear() cancels every deadline", { timeout: 10_000 }, async () => {
  const fired: string[] = [];
  const queue = new DeadlineQueue<{ name: string }>(20, (target) => fired.push(target.name));
  const kept = { name: "kept" };
  const deleted = { name: "deleted" };
  queue.add(deleted);
  queue.add(kept);
  queue.delete(deleted);
  assert.equal(queue.has(deleted), false);
  assert.equal(queue.has(kept), true);
  while (fired.length === 0) await sleep(5);
  await sleep(60);
  assert.deepEqual(fired, ["kept"]);
  const cleared = { name: "cleared" };
  queue.add(cleared);
  queue.clear();
  await sleep(80);
  assert.deepEqual(fired, ["kept"]);
});

test("a throwing expiry callback does not keep the other targets from expiring, and is not swallowed", { timeout: 10_000 }, async () => {
  // In a child process: the error must surface as an uncaught exception, as it did when each
  // target had its own setTimeout, which this test runner would count against the test.
  const module = new URL("../../src/transport/deadlines.js", import.meta.url).href;
  const script = `
    import { DeadlineQueue } from ${JSON.stringify(module)};
    const queue = new DeadlineQueue(10, (target) => {
      process.stdout.write(target.name + "\\n");
      if (target.name === "first") throw new Error("boom");
    });
    queue.add({ name: "first" });
    queue.add({ name: "second" });
    setTimeout(() => {}, 1000); // the queue's timer is unref'd: keep the process alive meanwhile
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(stdout, "first\nsecond\n");
  assert.match(stderr, /boom/);
  assert.notEqual(code, 0);
});
