/**
 * Opening connections for the load generator: TCP to 127.0.0.1, then (WebSocket servers) the
 * upgrade request and a check of the 101 response and its accept key. Every step is bounded in
 * time; opening many connections is bounded in concurrency.
 *
 * Reading uses `net.connect({ onread })`: libuv reads straight into one shared buffer and calls
 * the connection's handler with a view of it — no Buffer allocated per read, no stream machinery,
 * no `data` event. That roughly halves what a read costs the generator, which must stay cheaper
 * than the server it measures. Handlers must therefore use the bytes before returning.
 *
 * @module
 */

import { connect, type Socket } from "node:net";
import type { WireProtocol } from "../lib/types.js";
import { EXPECTED_ACCEPT, handshakeRequest } from "./frames.js";

/** A response head larger than this is refused. */
const MAX_HEAD_BYTES = 8 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** Every connection reads into this buffer; a handler sees a view valid until it returns. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Receives the bytes of one read; they are overwritten by the next read of any connection. */
export type ReadHandler = (chunk: Buffer) => void;

/** An open connection. Set `onRead` to receive what arrives next. */
export interface OpenConnection {
  readonly socket: Socket;
  /**
   * Installs the handler of incoming bytes. Bytes that arrived after the 101 response and before
   * this call (copied meanwhile) are handed to it first, synchronously.
   */
  setHandler(handler: ReadHandler): void;
}

/** Checks a response head; returns an error description or undefined. */
export function checkHandshakeResponse(head: string): string | undefined {
  if (!head.startsWith("HTTP/1.1 101")) return `handshake refused: ${head.split("\r\n")[0]}`;
  const accept = /\r\nsec-websocket-accept:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(head);
  if (accept === null || accept[1] !== EXPECTED_ACCEPT) return "handshake: wrong Sec-WebSocket-Accept";
  return undefined;
}

/**
 * Opens one connection (and upgrades it unless `protocol` is raw, requesting `path`) within
 * `timeoutMs`.
 */
export function openConnection(port: number, protocol: WireProtocol, timeoutMs: number, path = "/"): Promise<OpenConnection> {
  return new Promise((resolve, reject) => {
    let handler: ReadHandler | undefined;
    let early: Buffer[] = [];
    let head: Buffer = Buffer.alloc(0);
    let settled = false;
    const socket = connect({
      port,
      host: "127.0.0.1",
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => {
          const chunk = (buffer as Buffer).subarray(0, bytes);
          if (handler !== undefined) handler(chunk);
          else if (settled) early.push(Buffer.from(chunk));
          else onHandshakeData(chunk);
          return true;
        },
      },
    });
    const timer = setTimeout(() => fail(new Error("connection timed out")), timeoutMs);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const connection: OpenConnection = {
      socket,
      setHandler(next) {
        handler = next;
        const pending = early;
        early = [];
        for (const chunk of pending) next(chunk);
      },
    };
    const done = (rest: Buffer) => {
      settled = true;
      clearTimeout(timer);
      socket.off("error", fail);
      // Errors after this point are the scenario's business; never let one crash the process.
      socket.on("error", () => {});
      if (rest.length > 0) early.push(Buffer.from(rest));
      resolve(connection);
    };
    const onHandshakeData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end === -1) {
        if (head.length > MAX_HEAD_BYTES) fail(new Error("handshake: response head too large"));
        return;
      }
      const problem = checkHandshakeResponse(head.toString("latin1", 0, end + 2));
      if (problem !== undefined) fail(new Error(problem));
      else done(head.subarray(end + 4));
    };
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed during the handshake")));
    socket.once("connect", () => {
      if (protocol === "raw") done(Buffer.alloc(0));
      else socket.write(handshakeRequest(port, path));
    });
  });
}

/**
 * Opens `count` connections, `concurrency` at a time (so the server's accept backlog never
 * overflows). Returns those that opened and the first errors of those that did not.
 */
export async function openMany(
  port: number,
  protocol: WireProtocol,
  count: number,
  concurrency: number,
  timeoutMs = 10_000,
): Promise<{ open: OpenConnection[]; failed: number; errors: string[] }> {
  const open: OpenConnection[] = [];
  const errors: string[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        open.push(await openConnection(port, protocol, timeoutMs));
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { open, failed, errors };
}
