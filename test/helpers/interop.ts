/**
 * What the `ws` interop tests (test/interop) share, whichever side `ws` plays: the close codes
 * to try, a queue of received messages, and the WHATWG view of a `ws` socket's close.
 *
 * @module
 */

import type WebSocket from "ws";
import type { CloseEventLike } from "ws";

/** Every close code that may travel on the wire (RFC 6455 §7.4), one per range edge. */
export const VALID_CLOSE_CODES: readonly number[] = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];

/** A received message and its type. */
export interface Message {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** Queues messages from any emitter of `(data, isBinary)` and hands them out in order. */
export class Inbox {
  /** Every message received so far, in order. */
  readonly received: Message[] = [];
  #read = 0;
  #waiter: { count: number; resolve: () => void } | undefined;

  /** `subscribe` attaches the listener to whatever emits the messages (it may be async). */
  constructor(subscribe: (listener: (data: Buffer, isBinary: boolean) => void) => void) {
    subscribe((data, isBinary) => {
      // Copy: a zero-copy view may alias a socket chunk that is reused.
      this.received.push({ data: Buffer.from(data), isBinary });
      if (this.#waiter !== undefined && this.received.length >= this.#waiter.count) {
        const { resolve } = this.#waiter;
        this.#waiter = undefined;
        resolve();
      }
    });
  }

  /** Resolves once `count` messages in total have arrived (the caller bounds it: test timeout). */
  async waitFor(count: number): Promise<Message[]> {
    if (this.received.length < count) {
      await new Promise<void>((resolve) => (this.#waiter = { count, resolve }));
    }
    return this.received.slice(0, count);
  }

  /** The next message not yet returned by next(). */
  async next(): Promise<Message> {
    const index = this.#read++;
    await this.waitFor(index + 1);
    return this.received[index]!;
  }
}

/** Anything that emits the payload of pings and pongs: a `ws` socket or one of our connections. */
export interface ControlFrameEmitter {
  on(event: "ping" | "pong", listener: (data: Buffer) => void): unknown;
}

/** An {@link Inbox} of the payloads of every `event` (ping or pong) `emitter` reports. */
export function controlInbox(emitter: ControlFrameEmitter, event: "ping" | "pong"): Inbox {
  return new Inbox((listener) => emitter.on(event, (data) => listener(data, true)));
}

/** A `ws` socket's close as the WHATWG API reports it (code, reason, wasClean). */
export function wsClosed(ws: WebSocket): Promise<CloseEventLike> {
  return new Promise((resolve) => ws.addEventListener("close", resolve, { once: true }));
}

/** Resolves when a `ws` socket is open; rejects with its error (a refused handshake) first. */
export function wsOpened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
}

/** Sends `text` on an open `ws` socket and resolves with the next message it gets, as text. */
export function wsEcho(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once("message", (data) => resolve(data.toString())));
  ws.send(text);
  return reply;
}
