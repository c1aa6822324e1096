// The write batcher on its own: one nextTick flushes every target written to during a tick, in
// order, after the current callback; a target scheduled by a flush is flushed in the same pass.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scheduleFlush, type Flushable } from "../../src/transport/write-batcher.js";

function target(name: string, log: string[], onFlush?: () => void): Flushable {
  return {
    flush() {
      log.push(name);
      onFlush?.();
    },
  };
}

test("targets scheduled during a tick are flushed once each, in order, after the tick", async () => {
  const log: string[] = [];
  scheduleFlush(target("a", log));
  scheduleFlush(target("b", log));
  scheduleFlush(target("c", log));
  log.push("end of tick");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["end of tick", "a", "b", "c"]);
});

test("a target scheduled by another target's flush is flushed in the same pass", async () => {
  const log: string[] = [];
  const late = target("late", log);
  scheduleFlush(target("first", log, () => scheduleFlush(late)));
  let ticks = 0;
  process.nextTick(() => (ticks = log.length)); // queued after the batcher's own nextTick
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["first", "late"]);
  assert.equal(ticks, 2, "both were flushed before the next nextTick callback");
});

test("batches of successive ticks are flushed separately", async () => {
  const log: string[] = [];
  scheduleFlush(target("tick 1", log));
  await new Promise((resolve) => setImmediate(resolve));
  scheduleFlush(target("tick 2", log));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["tick 1", "tick 2"]);
});
