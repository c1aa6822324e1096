/**
 * One connection's commands, run one after the other although some wait for a store: a
 * client's messages are stored and delivered in the order it sent them, and its "left" notice
 * comes after its last message.
 *
 * @module
 */

/** Tasks waiting at most, per connection: past it, new ones are refused (the rate limit keeps honest clients far below). */
export const MAX_QUEUED_TASKS = 256;

/** Runs tasks in order, each after the previous one settled. */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  readonly #onError: (error: Error) => void;

  /** `onError`: a task that threw or rejected (a bug or an unreachable store). */
  constructor(onError: (error: Error) => void) {
    this.#onError = onError;
  }

  /** Queues `task`; false (and not queued) when {@link MAX_QUEUED_TASKS} are waiting. */
  run(task: () => unknown): boolean {
    if (this.#queued >= MAX_QUEUED_TASKS) return false;
    this.#queued++;
    this.#tail = this.#tail.then(async () => {
      try {
        await task();
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      } finally {
        this.#queued--;
      }
    });
    return true;
  }

  /** Settles once every task queued so far has run. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
