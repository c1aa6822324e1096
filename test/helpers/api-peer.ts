/**
 * A client for the Wynd API tests: connects to 127.0.0.1 with the engine's client and queues
 * what it receives, so a test can take messages one by one in order, whenever it asks.
 *
 * @module
 */

import { connect, type ClientOptions, type WebSocketConnection } from "../../src/index.js";

/** A client that records what it receives. */
export interface Peer {
  readonly ws: WebSocketConnection;
  /** The next message not yet taken (text as a string, binary as a Buffer). */
  next(): Promise<string | Buffer>;
  /** Every message received so far and not taken. */
  readonly pending: Array<string | Buffer>;
  readonly closed: Promise<{ code: number; reason: string; wasClean: boolean }>;
}

/**
 * Opens `ws://127.0.0.1:<port><path>`; `cleanups` gets the client's terminate(), for the test
 * file's afterEach to run even when an assertion failed half-way.
 */
export async function openPeer(
  port: number,
  cleanups: Array<() => unknown>,
  path = "/",
  options: ClientOptions = {},
): Promise<Peer> {
  const ws = await connect(`ws://127.0.0.1:${port}${path}`, options);
  cleanups.push(() => ws.terminate());
  const pending: Array<string | Buffer> = [];
  const waiters: Array<(message: string | Buffer) => void> = [];
  ws.on("message", (data, isBinary) => {
    const message = isBinary ? Buffer.from(data) : data.toString("utf8");
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else pending.push(message);
  });
  return {
    ws,
    pending,
    next: () => (pending.length > 0 ? Promise.resolve(pending.shift()!) : new Promise((resolve) => waiters.push(resolve))),
    closed: ws.closed(),
  };
}
