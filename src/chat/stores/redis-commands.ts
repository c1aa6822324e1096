/**
 * What the Redis stores need of a Redis client: one method, `sendCommand`, the shape of
 * `@redis/client`'s, so that the chat never imports the client (it gets it from the Redis
 * adapter, `wynd/redis`). Every command is bounded in time: a client that waits for Redis to come
 * back (it queues commands while disconnected) must not hold a chat command forever.
 *
 * @module
 */

import type { Stamped } from "./types.js";

/** A connected Redis client, structurally (see the module comment). */
export interface RedisCommands {
  sendCommand(args: Array<string | Buffer>): Promise<unknown>;
}

/** Default bound on one Redis command, in milliseconds. */
export const DEFAULT_REDIS_TIMEOUT_MS = 2000;

/**
 * Reports an outage once and its end once, whichever store noticed it: a Redis that is down
 * makes every command fail, and one report is what an operator needs.
 */
export class OutageReporter {
  readonly #onError: (error: Error) => void;
  readonly #onWarning: (message: string) => void;
  #down = false;

  constructor(onError: (error: Error) => void, onWarning: (message: string) => void) {
    this.#onError = onError;
    this.#onWarning = onWarning;
  }

  /** Whether the last command failed. */
  get down(): boolean {
    return this.#down;
  }

  failed(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.#onError(new Error(`chat store: Redis cannot be reached (${error.message}); this node serves its own users until it is back`, { cause: error }));
  }

  succeeded(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#onWarning("chat store: Redis is reachable again");
  }
}

/** Runs commands on a client, each bounded by a timeout, reporting outages. */
export class Redis {
  readonly #client: RedisCommands;
  readonly #timeoutMs: number;
  readonly #reporter: OutageReporter;

  constructor(client: RedisCommands, timeoutMs: number, reporter: OutageReporter) {
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) throw new RangeError(`the Redis timeout must be a positive integer, got ${timeoutMs}`);
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#reporter = reporter;
  }

  /** Sends one command; rejects after the timeout or on an error (reported once per outage). */
  async send(args: Array<string | Buffer>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${String(args[0])} timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      const reply = await Promise.race([this.#client.sendCommand(args), timeout]);
      this.#reporter.succeeded();
      return reply;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#reporter.failed(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a Lua script (EVAL: Redis caches it; the scripts are small). */
  eval(script: string, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    return this.send(["EVAL", script, String(keys.length), ...keys, ...args]);
  }
}

/** The ARGV of `publications` for a script that publishes them with {@link publishStamped}: three each. */
export function stampedArgs(publications: readonly Stamped[] | undefined): Buffer[] {
  if (publications === undefined) return [];
  return publications.flatMap(({ channel, before, after }) => [Buffer.from(channel, "utf8"), before, after]);
}

/**
 * The end of a script that has just written an entry with id `id` and publishes the stamped
 * publications found in ARGV from index `first` on (see {@link stampedArgs}).
 */
export function publishStamped(first: number): string {
  return `for i = ${first}, #ARGV, 3 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1] .. id .. ARGV[i + 2]) end`;
}
