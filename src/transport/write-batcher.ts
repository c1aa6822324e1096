/**
 * Write batching: everything any connection writes during one tick leaves in one `write` per
 * connection, after the current callback (a socket `data` event, a timer, a user's broadcast)
 * has finished. One `process.nextTick` serves every connection written to in that tick, so a
 * broadcast to N clients schedules one callback, not N.
 *
 * @module
 */

/** Something with queued bytes to hand to its socket. */
export interface Flushable {
  flush(): void;
}

const dirty: Flushable[] = [];
let scheduled = false;

/** Queues `target.flush()` for the end of the current tick. Call once per tick per target. */
export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}

/**
 * Queues `target.flush()` for the end of the current tick, after the microtasks queued so far
 * and those they queue. Node runs the microtasks of a callback before its nextTick queue only
 * when no tick was scheduled by the callback itself (a nextTick scheduled from inside a
 * microtask runs once the microtask queue is empty): so the tick is scheduled from a
 * microtask. Call once per tick per target.
 */
export function scheduleFlushAfterMicrotasks(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(scheduleFlushAll);
  }
}

function scheduleFlushAll(): void {
  process.nextTick(flushAll);
}

function flushAll(): void {
  scheduled = false;
  // A flush may emit 'drain', whose listener may write again: those targets are appended and
  // flushed in this same pass (the loop re-reads the length).
  for (let i = 0; i < dirty.length; i++) {
    const target = dirty[i]!;
    try {
      target.flush();
    } catch (error) {
      // A throwing 'drain' listener must not strand the other connections' bytes.
      process.nextTick(rethrow, error);
    }
  }
  dirty.length = 0;
}

function rethrow(error: unknown): never {
  throw error;
}
