#!/usr/bin/env node
/**
 * The `wynd` command line: test peers for conformance suites and benchmarks.
 *
 *   wynd echo      [--port 9001] [--host 127.0.0.1] [--deflate]   echo every message back, same type
 *   wynd broadcast [--port 9002] [--host 127.0.0.1]   forward every message to every other client
 *   wynd chat      [--port 8080] [--host 127.0.0.1] [--data-dir ./data] …   the chat (src/chat/cli.ts)
 *
 * Each prints one line when listening and exits cleanly on SIGINT/SIGTERM.
 *
 * @module
 */

import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runChatCommand } from "./chat/cli.js";
import { WebSocketServer, type ServerOptions } from "./transport/server.js";

const USAGE = `usage: wynd <command> [options]

commands:
  echo       echo every message back with the same type (text -> text, binary -> binary)
  broadcast  forward every message, unchanged, to every other connected client
  chat       the chat server and its browser client (wynd chat --help for its options)

options:
  --port <n>              port to listen on (echo: 9001, broadcast: 9002; 0 picks a free one)
  --host <address>        address to listen on (default 127.0.0.1)
  --max-message-bytes <n> largest message accepted (default 67108864, 64 MiB)
  --deflate               accept permessage-deflate (RFC 7692) offers; the limit applies inflated
  -h, --help              show this help
  -v, --version           print the version of wynd
`;

const DEFAULT_PORTS: Record<string, number> = { echo: 9001, broadcast: 9002 };

/** Parses `argv` (without node and the script) and runs the command. Returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-v") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  // The chat has options of its own (its --max-message-bytes is a chat message's length).
  if (argv[0] === "chat") return runChatCommand(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        port: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        "max-message-bytes": { type: "string" },
        deflate: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help === true || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const defaultPort = DEFAULT_PORTS[command];
  if (defaultPort === undefined || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const port = values.port === undefined ? defaultPort : Number(values.port);
  const maxMessageBytes = values["max-message-bytes"] === undefined ? 64 * 1024 * 1024 : Number(values["max-message-bytes"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port: ${values.port}\n`);
    return 2;
  }
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes <= 0) {
    process.stderr.write(`invalid --max-message-bytes: ${values["max-message-bytes"]}\n`);
    return 2;
  }
  const options: ServerOptions = { maxMessageBytes, perMessageDeflate: values.deflate === true };
  const server = command === "echo" ? createEchoServer(options) : createBroadcastServer(options);
  let address;
  try {
    address = await server.listen(port, values.host);
  } catch (error) {
    process.stderr.write(`wynd ${command}: cannot listen on ${values.host}:${port}: ${(error as Error).message}\n`);
    return 1;
  }
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  // Announced only once the handlers are in place: whoever reads this line may signal at once.
  process.stdout.write(`wynd ${command} listening on ws://${host}:${address.port}\n`);
  await stopped;
  return 0;
}

/** The `version` of the package's package.json (two levels above the compiled `dist/src/cli.js`). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** A server that echoes every message back with the same type. */
export function createEchoServer(options: ServerOptions = {}): WebSocketServer {
  const server = new WebSocketServer(options);
  server.on("connection", (connection) => {
    connection.on("message", (data, isBinary) => {
      connection.sendMessage(data, isBinary); // text arrives validated: its bytes go back as they are
    });
  });
  return server;
}

/** A server that forwards every message, unchanged, to every other client. */
export function createBroadcastServer(options: ServerOptions = {}): WebSocketServer {
  const server = new WebSocketServer(options);
  server.on("connection", (connection) => {
    connection.on("message", (data, isBinary) => {
      server.broadcast(data, { isBinary, except: connection });
    });
  });
  return server;
}

/** Whether this module is the process's entry point (also through the npm bin symlink). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
