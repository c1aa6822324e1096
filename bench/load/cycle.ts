/**
 * The `connect` scenario: K slots, each opening a connection, completing the opening handshake,
 * then the closing handshake (masked Close 1000 out, the server's Close 1000 back, the server
 * closes TCP first as RFC 6455 §7.1.1 says), as fast as possible. The raw server's cycle is TCP
 * connect, the same request echoed back, and close. A cycle counts when the socket closed after
 * every step was verified; its latency is from `connect()` to `close`.
 *
 * Reads go through `onread` into a shared buffer, and one sweep timer (not one timer per cycle)
 * enforces the cycle timeout, to keep the generator's cost per cycle low.
 *
 * @module
 */

import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { LoadJob, LoadResult } from "../lib/types.js";
import { CLIENT_CLOSE_FRAME, handshakeRequest, SERVER_CLOSE_FRAME } from "./frames.js";
import { checkHandshakeResponse } from "./open.js";
import { sleep, until, Window } from "./window.js";

/** A cycle that takes longer than this is an error. */
const CYCLE_TIMEOUT_MS = 5000;
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const READ_BUFFER = Buffer.allocUnsafe(16 * 1024);

/** One connect cycle in progress. */
interface Cycle {
  readonly socket: Socket;
  readonly t0: number;
  problem: string | undefined;
}

/** Runs the connect scenario. */
export async function runConnect(job: LoadJob): Promise<LoadResult> {
  const window = new Window();
  const request = handshakeRequest(job.port);
  const websocket = job.protocol === "websocket";
  const active = new Set<Cycle>();
  let started = 0;

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const cycle of active) {
      if (now - cycle.t0 > CYCLE_TIMEOUT_MS) {
        cycle.problem ??= "connect cycle timed out";
        cycle.socket.destroy();
      }
    }
  }, 250);

  const next = (): void => {
    if (!window.running || started >= job.maxCount) return;
    started++;
    /** 0: waiting for the 101 (or the echo); 1: waiting for the Close frame; 2: all verified. */
    let stage = 0;
    let received: Buffer = Buffer.alloc(0);
    const failWith = (description: string) => {
      cycle.problem ??= description;
      socket.destroy();
    };
    const onBytes = (bytes: number, buffer: Uint8Array): boolean => {
      const chunk = (buffer as Buffer).subarray(0, bytes);
      received = received.length === 0 ? Buffer.from(chunk) : Buffer.concat([received, chunk]);
      if (!websocket) {
        if (received.length > request.length || !request.subarray(0, received.length).equals(received)) {
          failWith("raw echo mismatch");
        } else if (received.length === request.length) {
          stage = 2;
          socket.resetAndDestroy();
        }
        return true;
      }
      if (stage === 0) {
        const end = received.indexOf(HEAD_END);
        if (end === -1) {
          if (received.length > 8192) failWith("handshake: response head too large");
          return true;
        }
        const refused = checkHandshakeResponse(received.toString("latin1", 0, end + 2));
        if (refused !== undefined) {
          failWith(refused);
          return true;
        }
        stage = 1;
        received = received.subarray(end + 4);
        socket.write(CLIENT_CLOSE_FRAME);
      }
      if (stage === 1) {
        const n = Math.min(received.length, SERVER_CLOSE_FRAME.length);
        if (!received.subarray(0, n).equals(SERVER_CLOSE_FRAME.subarray(0, n))) {
          failWith(`expected the server's Close 1000, got 0x${received.subarray(0, 4).toString("hex")}`);
        } else if (received.length > SERVER_CLOSE_FRAME.length) {
          failWith("bytes after the Close frame");
        } else if (n === SERVER_CLOSE_FRAME.length) {
          stage = 2;
        }
        return true;
      }
      if (received.length > 0) failWith("bytes after the Close frame");
      return true;
    };
    const socket = connect({
      port: job.port,
      host: "127.0.0.1",
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: onBytes },
    });
    const cycle: Cycle = { socket, t0: performance.now(), problem: undefined };
    active.add(cycle);
    socket.on("connect", () => socket.write(request));
    socket.on("error", (error) => {
      cycle.problem ??= error.message;
    });
    socket.on("close", () => {
      active.delete(cycle);
      if (stage === 2 && cycle.problem === undefined) {
        if (window.measuring) {
          window.count++;
          window.latency.record((performance.now() - cycle.t0) * 1000);
        }
        next();
      } else {
        if (window.running) window.error(cycle.problem ?? "closed before the close handshake completed");
        // Back off a little after an error (e.g. EADDRNOTAVAIL) rather than spin.
        void sleep(10).then(next);
      }
    });
  };

  for (let i = 0; i < job.connections; i++) next();
  await window.run(job.warmupMs, job.durationMs);
  await until(() => active.size === 0, CYCLE_TIMEOUT_MS + 500);
  clearInterval(sweep);
  return window.result({ inFlightAtEnd: active.size, connectionsOpened: started, connectionsFailed: window.errors });
}
