/**
 * `createChatServer`: the chat on one port — the browser client's files over HTTP and the chat
 * over WebSocket upgrades of `/` — assembled from the chat core, its stores, the auth check and
 * the static file handler, with every limit an option. The stores are chosen here: local
 * (memory and the history file) by default, Redis (with the Redis adapter) with `redis`, so that
 * several servers make one chat.
 *
 * @module
 */

import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HandshakeError, Wynd, type Adapter, type UpgradeRequest } from "../index.js";
import { tokenFromRequest, type Authenticator } from "./auth.js";
import { ChatCore, type ChatData } from "./core.js";
import { DataDirLockedError, lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import { resolveFileRateLimit, type FileRateLimitOptions } from "./file-rate-limit.js";
import { DEFAULT_MAX_FILE_BYTES, MAX_FILE_HEADER_BYTES } from "./file-frames.js";
import { DEFAULT_HISTORY_SIZE, HistoryStore } from "./history.js";
import { LocalMessages, LocalPresence } from "./stores/local.js";
import { DEFAULT_PRESENCE_TTL_MS } from "./stores/redis-presence.js";
import { connectRedisChat } from "./stores/redis.js";
import { parseResume } from "./sessions.js";
import { DEFAULT_SESSION_GRACE_MS, LocalSessions } from "./stores/sessions-local.js";
import type { MessageStore, PresenceStore, SessionStore } from "./stores/types.js";
import { JSON_PROTOCOL } from "./json-protocol.js";
import { resolveRateLimit, type RateLimitOptions } from "./rate-limiter.js";
import { createStaticHandler, DEFAULT_PUBLIC_DIR } from "./static-files.js";

/** Default longest chat message, in UTF-8 bytes: 4 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

/**
 * How far past `maxFileBytes` a binary message is still read, so that a file somewhat over the
 * limit gets a polite `file-too-large` answer; past `maxFileBytes` + this, the engine closes the
 * connection with 1009 (message too big) without reading it.
 */
export const FILE_REFUSAL_SLACK_BYTES = 1024 * 1024;

/** Options of {@link createChatServer}. Every limit has a default. */
export interface ChatServerOptions {
  /** Where the history file lives (created if needed). Default: none, history in memory only. Not with `redis`. */
  readonly dataDir?: string | undefined;
  /**
   * A Redis URL (`redis://127.0.0.1:6379`): presence, names and history live in Redis and
   * messages travel through the Redis adapter (`wynd/redis`, needs `@redis/client`), so every
   * server started with the same Redis serves one chat. Default: none, one process.
   */
  readonly redis?: string | undefined;
  /**
   * With `redis`: how long the users of a server that stopped without a word (killed, cut off)
   * stay online. Its users are announced as gone at most about 4/3 of this after it died.
   * Default 15 000 (so at most about 20 s).
   */
  readonly presenceTtlMs?: number;
  /**
   * How long a JSON client's session outlives its connection, in milliseconds: a client that
   * reconnects within it resumes (no leave/join notices, nothing missed). Default 120 000; 0
   * turns sessions off. See docs/chat.md, "Sessions".
   */
  readonly sessionGraceMs?: number;
  /** Messages kept and replayed per room. Default 50. */
  readonly historySize?: number;
  /** Size of history.jsonl past which it is compacted to the last `historySize` messages per room. Default 64 MiB. */
  readonly historyMaxFileBytes?: number;
  /** Longest chat message (text of a message or private message), in UTF-8 bytes. Default 4096. */
  readonly maxMessageBytes?: number;
  /** Largest shared file, in bytes. Default 5 MiB. */
  readonly maxFileBytes?: number;
  /** Token bucket per connection: `ratePerSecond` (5), `burst` (10), `floodStrikes` (2 × burst), `now` (the clock). */
  readonly rateLimit?: RateLimitOptions;
  /**
   * File byte-rate bucket per connection: `bytesPerSecond` (1 MiB), `burstBytes` (2 × maxFileBytes,
   * at least maxFileBytes), `floodStrikeBytes` (2 × burstBytes), `now` (the clock).
   */
  readonly fileRateLimit?: FileRateLimitOptions;
  /**
   * Authentication: checks the token of each upgrade (`?token=` or `Authorization: Bearer`) and
   * returns the name it fixes, or undefined to refuse with 401. Default: none, anyone may connect.
   * See `parseTokenList`, `readTokenFile`, `signedTokenAuthenticator`.
   */
  readonly auth?: Authenticator | undefined;
  /** The directory of index.html, app.js and style.css. Default: the package's `src/chat/public/`. */
  readonly publicDir?: string | URL;
  /**
   * Web pages allowed to open a chat socket besides the chat's own page: URL origins such as
   * `"https://chat.example.com"` (exact scheme, host and port). The chat's own origin (`"self"`:
   * the page came from the `Host` the socket is opened to) is always allowed, and so are clients
   * that send no `Origin` (wscat, programs). Any other page gets 403. Default: `[]`.
   */
  readonly allowedOrigins?: readonly string[];
  /** Heartbeat ping interval, in milliseconds, so dead peers leave the chat. Default 30 000; 0 turns it off. */
  readonly heartbeatIntervalMs?: number;
  /** Timestamps of messages and events, in milliseconds since the epoch. Default `Date.now`. */
  readonly clock?: () => number;
  /** Failures worth an operator's attention: the disk, a bug in a handler. Default: `console.error`. */
  readonly onError?: (error: Error) => void;
  /** Skipped history lines and the like. Default: `console.warn`. */
  readonly onWarning?: (message: string) => void;
}

/** A chat server, created by {@link createChatServer}. */
export interface ChatServer {
  /**
   * Locks the data directory, loads the history, then listens on `port` (0 picks a free one) and
   * `host` (default `127.0.0.1`). Resolves with the bound address; rejects on a listen error
   * (EADDRINUSE...; call `close()` then, which also frees the data directory) and with
   * `DataDirLockedError` when another server uses the data directory.
   */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Closes every WebSocket (1001), the HTTP server and its keep-alive sockets, and the history file. Never rejects. */
  close(): Promise<void>;
  /** The HTTP server (pages and upgrades). */
  readonly httpServer: HttpServer;
  /** The Wynd server behind the chat. With `redis`, it exists once `listen()` resolved (it needs the connected adapter): before, reading it throws. */
  readonly wynd: Wynd<ChatData>;
  /** The bound address, once listening. */
  readonly address: AddressInfo | undefined;
  /** `http://host:port/` once listening (the WebSocket URL is the same with `ws:`). */
  readonly url: string | undefined;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Creates the chat server (see {@link ChatServerOptions}); it serves nothing until `listen()`.
 * Throws RangeError/TypeError for an invalid option.
 */
export function createChatServer(options: ChatServerOptions = {}): ChatServer {
  const maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  const maxFileBytes = positiveInteger("maxFileBytes", options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  const rateLimit = resolveRateLimit(options.rateLimit);
  const fileRateLimit = resolveFileRateLimit(options.fileRateLimit, maxFileBytes);
  const auth = options.auth;
  if (auth !== undefined && typeof auth !== "function") throw new TypeError("auth must be a function (token) => name | undefined");
  const onError = options.onError ?? ((error: Error) => console.error(`wynd chat: ${error.message}`));
  const onWarning = options.onWarning ?? ((message: string) => console.warn(`wynd chat: ${message}`));
  const historySize = options.historySize ?? DEFAULT_HISTORY_SIZE;
  const httpServer = createServer(createStaticHandler(options.publicDir ?? DEFAULT_PUBLIC_DIR, onError));
  const redisUrl = options.redis;
  if (redisUrl !== undefined && (typeof redisUrl !== "string" || redisUrl === "")) throw new TypeError("redis must be a Redis URL such as redis://127.0.0.1:6379");
  if (redisUrl !== undefined && options.dataDir !== undefined) throw new TypeError("dataDir and redis exclude each other: with redis, history is kept in Redis");
  const presenceTtlMs = options.presenceTtlMs ?? DEFAULT_PRESENCE_TTL_MS;
  if (!(Number.isSafeInteger(presenceTtlMs) && presenceTtlMs >= 30)) throw new RangeError(`presenceTtlMs must be an integer >= 30, got ${presenceTtlMs}`);
  const sessionGraceMs = options.sessionGraceMs ?? DEFAULT_SESSION_GRACE_MS;
  if (!(Number.isSafeInteger(sessionGraceMs) && sessionGraceMs >= 0)) throw new RangeError(`sessionGraceMs must be an integer >= 0, got ${sessionGraceMs}`);

  // The name each accepted upgrade's token fixed, from the hook to the connection's data.
  const identities = new WeakMap<UpgradeRequest, string>();
  let core: ChatCore | undefined;
  /** The Wynd server and the core on these stores (and, with Redis, this adapter). */
  const assemble = (messages: MessageStore, presence: PresenceStore, sessions: SessionStore | undefined, adapter: Adapter | undefined): Wynd<ChatData> => {
    const wynd = new Wynd<ChatData>({
      // The largest message is a file frame: the file, its header and the refusal slack above.
      maxMessageBytes: maxFileBytes + 4 + MAX_FILE_HEADER_BYTES + FILE_REFUSAL_SLACK_BYTES,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000,
      // A page of another site must not open a socket in the user's browser with the user's login.
      allowedOrigins: ["self", ...(options.allowedOrigins ?? [])],
      selectProtocol: (offered) => (offered.includes(JSON_PROTOCOL) ? JSON_PROTOCOL : undefined),
      createData: (request) => ({ fixedName: identities.get(request), resume: parseResume(request.query) }),
      ...(adapter === undefined ? {} : { adapter }),
      ...(auth === undefined
        ? {}
        : {
            beforeUpgrade: async (request: UpgradeRequest) => {
              const token = tokenFromRequest(request);
              const name = token === undefined ? undefined : auth(token);
              if (name === undefined) {
                throw new HandshakeError("ERR_UNAUTHORIZED", 401, token === undefined ? "a token is required" : "invalid or expired token", [
                  ["WWW-Authenticate", 'Bearer realm="wynd chat"'],
                ]);
              }
              if ((await core?.isOnline(name)) === true) throw new HandshakeError("ERR_NAME_CONNECTED", 409, "this name is already connected");
              identities.set(request, name);
              return true;
            },
          }),
    });
    core = new ChatCore(wynd, { messages, presence, sessions, onError, maxMessageBytes, maxFileBytes, rateLimit, fileRateLimit, clock: options.clock ?? Date.now });
    wynd.onError((error) => {
      // Refused handshakes (401s, bad requests) are the normal noise of a public server.
      if (!(error instanceof HandshakeError)) onError(error);
    });
    wynd.attach(httpServer, { path: "/" });
    return wynd;
  };

  let stores: { messages: MessageStore; presence: PresenceStore; sessions: SessionStore; adapter?: Adapter & { close(): Promise<void> } } | undefined;
  let wynd: Wynd<ChatData> | undefined;
  if (redisUrl === undefined) {
    stores = {
      messages: new LocalMessages(
        new HistoryStore({
          dataDir: options.dataDir,
          size: historySize,
          ...(options.historyMaxFileBytes === undefined ? {} : { maxFileBytes: options.historyMaxFileBytes }),
          onError,
          onWarning,
        }),
      ),
      presence: new LocalPresence(),
      sessions: new LocalSessions(sessionGraceMs),
    };
    wynd = assemble(stores.messages, stores.presence, sessionGraceMs === 0 ? undefined : stores.sessions, undefined);
  }
  let closing: Promise<void> | undefined;
  let lock: DataDirLock | undefined;

  return {
    httpServer,
    get wynd() {
      if (wynd === undefined) throw new Error("with redis, the chat's Wynd server exists once listen() resolved");
      return wynd;
    },
    get address() {
      const address = httpServer.address();
      return address !== null && typeof address === "object" ? address : undefined;
    },
    get url() {
      const address = this.address;
      if (address === undefined) return undefined;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}/`;
    },
    async listen(port, host = "127.0.0.1") {
      if (closing !== undefined) throw new Error("the chat server was closed");
      if (options.dataDir !== undefined) lock ??= await lockDataDirOrReport(options.dataDir, onError);
      if (stores === undefined) {
        const redis = await connectRedisChat({ url: redisUrl!, historySize, presenceTtlMs, sessionGraceMs, onError, onWarning });
        stores = redis;
        wynd = assemble(redis.messages, redis.presence, sessionGraceMs === 0 ? undefined : redis.sessions, redis.adapter);
        // Wynd reports the outage itself (onError); its end is news too.
        wynd.onAdapterState((state) => {
          if (state === "up") onWarning("Redis adapter: connected again, rooms resubscribed");
        });
      }
      await stores.messages.load();
      await stores.presence.start();
      await new Promise<void>((resolve, reject) => {
        const onListenError = (error: Error) => reject(error);
        httpServer.once("error", onListenError);
        httpServer.listen(port, host, () => {
          httpServer.off("error", onListenError);
          resolve();
        });
      });
      return this.address!;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => {
          if (!httpServer.listening) return resolve();
          httpServer.close(() => resolve());
        });
        core?.shutdown();
        await wynd?.close(1001, "server shutting down");
        httpServer.closeAllConnections();
        await stopped;
        // The last connections' "left" notices go out (through the adapter) before it closes.
        await core?.settled();
        await stores?.presence.close();
        await stores?.messages.close();
        await stores?.adapter?.close();
        await lock?.release();
      })();
      return closing;
    },
  };
}

/**
 * Takes the data directory's lock; a directory in use by another server rejects (listen() fails
 * with {@link DataDirLockedError}), any other failure (permissions) is reported and the server
 * runs without the lock, as history runs in memory when the disk fails.
 */
async function lockDataDirOrReport(dataDir: string, onError: (error: Error) => void): Promise<DataDirLock | undefined> {
  try {
    return await lockDataDir(dataDir);
  } catch (error) {
    if (error instanceof DataDirLockedError) throw error;
    onError(new Error(`cannot lock the data directory ${dataDir}: ${(error as Error).message}`, { cause: error }));
    return undefined;
  }
}
