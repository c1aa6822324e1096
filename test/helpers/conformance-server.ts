/**
 * The server a conformance file (test/conformance) runs its cases against: `wynd echo`'s server,
 * listening on 127.0.0.1 port 0 for the whole file, with the raw clients cleaned up after it.
 *
 * Each section file used to repeat the same `before`/`after` pair; one call now declares both,
 * so every section runs against the same configuration unless it says otherwise.
 *
 * @module
 */

import { after, before } from "node:test";
import { createEchoServer } from "../../src/cli.js";
import type { ServerOptions } from "../../src/index.js";
import { destroyAllClients } from "./raw-client.js";

/**
 * The options every conformance server starts from. Messages up to 64 MiB (Autobahn §9 sends
 * 16 MiB ones). The close timer is pushed out of reach, so that every TCP close a case waits for
 * must come from the protocol itself (as Autobahn requires, within its 1 s), never from the timer.
 */
export const CONFORMANCE_SERVER_OPTIONS: ServerOptions = {
  maxMessageBytes: 64 * 1024 * 1024,
  closeTimeoutMs: 600_000,
};

/** A conformance server as a test sees it. */
export interface ConformanceServer {
  /** The port it listens on; read it inside a test (it is set by the file's `before` hook). */
  readonly port: number;
}

/**
 * Declares, at the top level of a test file, an echo server that listens before the file's
 * first test and closes after its last, destroying every raw client still open first.
 *
 * @param options merged over {@link CONFORMANCE_SERVER_OPTIONS} (e.g. a smaller limit, deflate).
 */
export function useEchoServer(options: ServerOptions = {}): ConformanceServer {
  let server: ReturnType<typeof createEchoServer> | undefined;
  let port: number | undefined;
  before(async () => {
    server = createEchoServer({ ...CONFORMANCE_SERVER_OPTIONS, ...options });
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  after(async () => {
    destroyAllClients();
    await server?.close();
  });
  return {
    get port(): number {
      if (port === undefined) throw new Error("the echo server is not listening yet: read its port inside a test");
      return port;
    },
  };
}
