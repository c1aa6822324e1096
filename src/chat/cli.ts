/**
 * `wynd chat`: runs the chat server (`createChatServer`) from the command line, and
 * `wynd chat token` mints a signed token for `--auth-secret`. Called by `src/cli.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readTokenFile, signedTokenAuthenticator, signToken, type Authenticator } from "./auth.js";
import { DEFAULT_MAX_FILE_BYTES } from "./file-frames.js";
import { DEFAULT_HISTORY_MAX_FILE_BYTES, DEFAULT_HISTORY_SIZE } from "./history.js";
import { DEFAULT_FILE_BYTES_PER_SECOND } from "./file-rate-limit.js";
import { DEFAULT_BURST, DEFAULT_RATE_PER_SECOND } from "./rate-limiter.js";
import { createChatServer, DEFAULT_MAX_MESSAGE_BYTES, type ChatServerOptions } from "./server.js";
import { DEFAULT_PRESENCE_TTL_MS } from "./stores/redis-presence.js";
import { DEFAULT_SESSION_GRACE_MS } from "./stores/sessions-local.js";
import { isWorker, runWorkers } from "./workers.js";

/** `wynd chat --help`. */
export const CHAT_USAGE = `usage: wynd chat [options]
       wynd chat token --secret <secret> --name <name> [--ttl <seconds>]

Serves the chat: the browser client at http://<host>:<port>/ and the chat on ws://<host>:<port>/
(plain text for wscat, JSON with the wynd-chat.v1 subprotocol).

options:
  --port <n>                port (default 8080; 0 picks a free one)
  --host <address>          address (default 127.0.0.1)
  --data-dir <dir>          where history.jsonl is kept (default ./data; not with --redis)
  --memory                  keep history in memory only (no data directory)
  --history-size <n>        messages replayed per room (default ${DEFAULT_HISTORY_SIZE})
  --history-max-bytes <n>   compact history.jsonl past this size (default ${DEFAULT_HISTORY_MAX_FILE_BYTES}, 64 MiB)
  --max-message-bytes <n>   longest message, UTF-8 bytes (default ${DEFAULT_MAX_MESSAGE_BYTES})
  --max-file-bytes <n>      largest shared file (default ${DEFAULT_MAX_FILE_BYTES}, 5 MiB)
  --rate <n>                messages per second per connection (default ${DEFAULT_RATE_PER_SECOND})
  --burst <n>               burst of messages per connection (default ${DEFAULT_BURST})
  --flood-strikes <n>       refused messages before a close with 1008 (default 2 x burst)
  --file-rate <bytes>        file bytes per second per connection (default ${DEFAULT_FILE_BYTES_PER_SECOND}, 1 MiB)
  --file-burst <bytes>      file bytes shared at once (default 2 x max file bytes)
  --auth <file>             require a token from this file (lines "token name", # comments)
  --auth-secret <secret>    require a token signed with this secret (or WYND_CHAT_SECRET)
  --allowed-origin <origin> also accept sockets from pages of this origin (repeatable;
                            the chat's own page always is): https://chat.example.com
  --public-dir <dir>        serve the browser client from this directory
  --heartbeat-ms <n>        ping interval; silent peers are dropped (default 30000, 0 off)
  --redis <url>             keep users, names and history in Redis (redis://127.0.0.1:6379):
                            every server started with the same Redis serves one chat
  --workers <n>             run n worker processes on the port (needs --redis when n > 1)
  --presence-ttl-ms <n>     with --redis: a server that died silently loses its users after
                            at most about 4/3 of this (default ${DEFAULT_PRESENCE_TTL_MS})
  --session-grace-ms <n>    how long a browser's session outlives its connection, so that a
                            reconnect resumes it (default ${DEFAULT_SESSION_GRACE_MS}; 0 off)
  -h, --help                show this help
`;

class UsageError extends Error {}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || value.trim() === "") throw new UsageError(`invalid --${name}: ${value}`);
  return n;
}

/** Parses `argv` (after `chat`) and runs it. Resolves with the exit code once stopped (SIGINT/SIGTERM). */
export async function runChatCommand(argv: readonly string[]): Promise<number> {
  try {
    if (argv[0] === "token") return runToken(argv.slice(1));
    return await runServer(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") === true) {
      process.stderr.write(`${(error as Error).message}\n\n${CHAT_USAGE}`);
      return 2;
    }
    process.stderr.write(`wynd chat: ${(error as Error).message}\n`);
    return 1;
  }
}

function runToken(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { secret: { type: "string" }, name: { type: "string" }, ttl: { type: "string" } },
  });
  const secret = values.secret ?? envSecret();
  if (secret === undefined || values.name === undefined) throw new UsageError("wynd chat token needs --secret (or WYND_CHAT_SECRET) and --name");
  const ttlSeconds = integer("ttl", values.ttl, 1);
  try {
    process.stdout.write(`${signToken(secret, ttlSeconds === undefined ? { name: values.name } : { name: values.name, ttlSeconds })}\n`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return 0;
}

async function runServer(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string" },
      memory: { type: "boolean" },
      "history-size": { type: "string" },
      "history-max-bytes": { type: "string" },
      "max-message-bytes": { type: "string" },
      "max-file-bytes": { type: "string" },
      rate: { type: "string" },
      burst: { type: "string" },
      "flood-strikes": { type: "string" },
      "file-rate": { type: "string" },
      "file-burst": { type: "string" },
      auth: { type: "string" },
      "auth-secret": { type: "string" },
      "public-dir": { type: "string" },
      "allowed-origin": { type: "string", multiple: true },
      "heartbeat-ms": { type: "string" },
      redis: { type: "string" },
      workers: { type: "string" },
      "presence-ttl-ms": { type: "string" },
      "session-grace-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(CHAT_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals.join(" ")}`);
  const port = integer("port", values.port, 0) ?? 8080;
  if (port > 65535) throw new UsageError(`invalid --port: ${values.port}`);
  if (values.memory === true && values["data-dir"] !== undefined) throw new UsageError("--memory and --data-dir exclude each other");
  const redis = values.redis;
  if (redis !== undefined && !/^rediss?:\/\/./.test(redis)) throw new UsageError(`invalid --redis: ${redis} (expected redis://host:port)`);
  if (redis !== undefined && (values["data-dir"] !== undefined || values.memory === true)) {
    throw new UsageError("--redis keeps history in Redis: --data-dir and --memory do not apply");
  }
  const workers = integer("workers", values.workers, 1) ?? 1;
  if (workers > 1 && redis === undefined) {
    throw new UsageError("--workers needs --redis: worker processes share users, names and history through Redis");
  }
  if (workers > 64) throw new UsageError(`invalid --workers: ${workers} (at most 64)`);
  if (values["presence-ttl-ms"] !== undefined && redis === undefined) throw new UsageError("--presence-ttl-ms needs --redis");
  const secret = values["auth-secret"] ?? envSecret();
  if (values.auth !== undefined && secret !== undefined) throw new UsageError("--auth and --auth-secret exclude each other");
  let auth: Authenticator | undefined;
  if (values.auth !== undefined) auth = await readTokenFile(values.auth);
  else if (secret !== undefined) {
    try {
      auth = signedTokenAuthenticator(secret);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) throw new UsageError(`invalid --rate: ${values.rate}`);
  const burst = integer("burst", values.burst, 1);
  const floodStrikes = integer("flood-strikes", values["flood-strikes"], 1);
  const options: ChatServerOptions = {
    dataDir: values.memory === true || redis !== undefined ? undefined : (values["data-dir"] ?? "./data"),
    redis,
    ...optional("presenceTtlMs", integer("presence-ttl-ms", values["presence-ttl-ms"], 30)),
    ...optional("sessionGraceMs", integer("session-grace-ms", values["session-grace-ms"], 0)),
    auth,
    rateLimit: {
      ...(rate === undefined ? {} : { ratePerSecond: rate }),
      ...(burst === undefined ? {} : { burst }),
      ...(floodStrikes === undefined ? {} : { floodStrikes }),
    },
    fileRateLimit: {
      ...optional("bytesPerSecond", integer("file-rate", values["file-rate"], 1)),
      ...optional("burstBytes", integer("file-burst", values["file-burst"], 1)),
    },
    ...optional("historySize", integer("history-size", values["history-size"], 0)),
    ...optional("historyMaxFileBytes", integer("history-max-bytes", values["history-max-bytes"], 1)),
    ...optional("maxMessageBytes", integer("max-message-bytes", values["max-message-bytes"], 1)),
    ...optional("maxFileBytes", integer("max-file-bytes", values["max-file-bytes"], 1)),
    ...optional("heartbeatIntervalMs", integer("heartbeat-ms", values["heartbeat-ms"], 0)),
    ...optional("publicDir", values["public-dir"]),
    ...optional("allowedOrigins", values["allowed-origin"]),
  };
  let chat;
  try {
    chat = createChatServer(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // The options are checked (above) before any worker starts; the workers run this same command.
  if (workers > 1 && !isWorker()) return runWorkers(workers);
  try {
    await chat.listen(port, values.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const locked = code === "ERR_DATA_DIR_LOCKED";
    const what = redis !== undefined && code?.startsWith("ERR_REDIS") === true ? `cannot start with Redis ${redis}: ` : locked ? "" : `cannot listen on ${values.host}:${port}: `;
    process.stderr.write(`wynd chat: ${what}${(error as Error).message}
`);
    await chat.close();
    return 1;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void chat.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const url = chat.url!;
  // Announced only once the handlers are in place: whoever reads this line may signal at once.
  // A worker tells its primary, which announces the whole server once.
  if (isWorker()) process.send!({ type: "wynd-chat-listening", url });
  else process.stdout.write(`wynd chat listening on ${url} (WebSocket: ${url.replace(/^http/, "ws")})\n`);
  await stopped;
  if (!isWorker()) process.stdout.write("wynd chat stopped\n");
  return 0;
}

/** The secret from the environment (kept out of `ps`), an empty value counting as none. */
function envSecret(): string | undefined {
  const secret = process.env["WYND_CHAT_SECRET"];
  return secret === undefined || secret === "" ? undefined : secret;
}

/** `{ [key]: value }`, or `{}` when value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
