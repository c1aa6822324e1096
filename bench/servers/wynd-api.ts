/**
 * The same servers as `servers/wynd.ts`, written with the Wynd API (`Wynd`, `onText`,
 * `handle.sendText`, `wynd.broadcast`), to show what the API layer costs over the engine.
 *
 * Echo answers a text message with `await handle.sendText(msg.data)` in an async handler, as the
 * tutorial writes it (decoded to a string and encoded again, as an application would), and a
 * binary one with `await handle.sendBinary(msg.data)`; broadcast forwards to
 * every other client with `wynd.broadcast(msg.data, { except: handle })`.
 *
 * @module
 */

import { Wynd } from "../../src/index.js";
import type { ServerMode } from "../lib/types.js";
import type { RunningServer, StartOptions } from "./registry.js";

/** Starts a Wynd API server on 127.0.0.1, port 0. */
export async function start(mode: ServerMode, options: StartOptions): Promise<RunningServer> {
  const wynd = new Wynd({ maxMessageBytes: options.maxMessageBytes });
  let open = 0;
  wynd.onConnection((connection) => {
    open++;
    connection.onClose(() => {
      open--;
    });
    if (mode === "echo") {
      // Written as the tutorial and the README write handlers: async, awaiting the send.
      connection.onText(async (msg, handle) => {
        await handle.sendText(msg.data);
      });
      connection.onBinary(async (msg, handle) => {
        await handle.sendBinary(msg.data);
      });
    } else {
      connection.onText((msg, handle) => {
        wynd.broadcast(msg.data, { except: handle });
      });
      connection.onBinary((msg, handle) => {
        wynd.broadcast(msg.data, { except: handle });
      });
    }
  });
  wynd.onError(() => {
    // A peer that resets mid-run is not the benchmark's concern; the load generator counts errors.
  });
  const address = await wynd.listen(0, "127.0.0.1");
  return {
    port: address.port,
    detail: "Wynd API, default options, maxMessageBytes 64 MiB",
    connections: () => open,
    close: () => wynd.close(),
  };
}
