/**
 * Coarse timeouts for many connections on one timer: the opening-handshake timeout of a server,
 * the closing-handshake timeout of connections, and their heartbeats (a connection is added
 * again after each ping).
 *
 * A `setTimeout` per connection is a `Timeout` object, a timer-list insertion and a
 * `clearTimeout` for a deadline that almost never fires: a measurable share of a connect + close
 * cycle (see docs/benchmarks.md). Here one interval timer, running only while deadlines are
 * pending, serves every target with the same delay. Targets are kept in a `Map` in insertion
 * order; since they share one delay their deadlines ascend in that order, so each tick looks at
 * the expired targets and the first pending one only.
 *
 * The price is precision: a deadline fires between `delayMs` and `delayMs + 2 × delayMs / 8`
 * after it was set (a tick is an eighth of the delay), never before. For timeouts that bound
 * misbehaving peers (10 s by default) that is fine; a heartbeat pings every 1 to 1.25 intervals,
 * so a peer still has at least a whole interval to answer.
 *
 * @module
 */

/** Ticks per delay: a deadline fires at most two ticks (a quarter of the delay) late. */
const TICKS_PER_DELAY = 8;

/** Deadlines of one delay for many targets (see the module comment). */
export class DeadlineQueue<T extends object> {
  readonly #tickMs: number;
  /** Ticks from now to a new deadline: at least the delay, whatever the phase of the timer. */
  readonly #ticks: number;
  readonly #onExpired: (target: T) => void;
  /** target → the tick at which it expires, in insertion (so deadline) order. */
  readonly #deadlines = new Map<T, number>();
  #now = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `onExpired(target)` runs once for each target whose deadline passed. */
  constructor(delayMs: number, onExpired: (target: T) => void) {
    this.#tickMs = Math.max(1, Math.ceil(delayMs / TICKS_PER_DELAY));
    // The next tick may come at once (the timer's phase): one more tick than the delay needs.
    this.#ticks = Math.ceil(delayMs / this.#tickMs) + 1;
    this.#onExpired = onExpired;
  }

  /** Starts `target`'s deadline (it must not have one). */
  add(target: T): void {
    this.#deadlines.set(target, this.#now + this.#ticks);
    if (this.#timer === undefined) {
      this.#timer = setInterval(sweep, this.#tickMs, this);
      // Like the per-connection timers it replaces: a pending timeout keeps no process alive.
      this.#timer.unref();
    }
  }

  /** Cancels `target`'s deadline, if it has one. */
  delete(target: T): void {
    this.#deadlines.delete(target);
  }

  /** Whether `target` has a pending deadline. */
  has(target: T): boolean {
    return this.#deadlines.has(target);
  }

  /** Cancels every deadline. */
  clear(): void {
    this.#deadlines.clear();
    this.#stop();
  }

  /** @internal One tick: expire what is due. */
  tick(): void {
    const now = ++this.#now;
    for (const [target, deadline] of this.#deadlines) {
      if (deadline > now) break;
      this.#deadlines.delete(target);
      try {
        this.#onExpired(target);
      } catch (error) {
        // One failing target must not keep the others from expiring.
        process.nextTick(rethrow, error);
      }
    }
    if (this.#deadlines.size === 0) this.#stop();
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function sweep<T extends object>(queue: DeadlineQueue<T>): void {
  queue.tick();
}

function rethrow(error: unknown): never {
  throw error;
}
