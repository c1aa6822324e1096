/**
 * A raw WebSocket client over `node:net` for the conformance suite (test/conformance).
 *
 * It is written independently of `src/` on purpose: its frame encoder and decoder are small,
 * plain reference implementations (no shared code with the project's encoder, parser, masking or
 * handshake), so the server is tested against something else than itself. It lets a test send
 * any bytes at all — malformed frames, reserved bits, lying lengths, frames cut in chunks with
 * delays — and read exactly what the server sends back, frame by frame, down to how the TCP
 * connection ended.
 *
 * Every wait is bounded by a timeout and every socket is tracked, so a failing test never leaves
 * a handle open: call {@link destroyAllClients} in an `after` hook.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { createRng, pickSeed, randomBytes, type Rng } from "./random.js";

/** RFC 6455 §1.3: the GUID of the Sec-WebSocket-Accept computation. */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §5.2 opcodes. */
export const OP = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** RSV bit values for {@link FrameSpec.rsv}: the 3-bit field, RSV1 being the high bit. */
export const RSV = { RSV1: 4, RSV2: 2, RSV3: 1 } as const;

/**
 * Default bound of every wait (a frame, the end of a connection, a handshake). Generous: the
 * machine is shared and slow; a healthy server answers in milliseconds.
 */
export const DEFAULT_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

// The generator and the inputs live in ./random.ts (shared with the other randomized tests);
// they are re-exported here so that a conformance file needs one import.
export { createRng, randomBytes, randomIntBetween, randomUtf8, type Rng } from "./random.js";

/**
 * The suite seed: `WYND_SEED` when set (to replay a failure), else a fresh random one. It is
 * printed in the message of any failing case.
 */
export const SUITE_SEED: number = pickSeed();

/** A seed for one case: the suite seed mixed with the case name (FNV-1a). */
function caseSeed(name: string): number {
  let h = 0x811c9dc5 ^ SUITE_SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** What a {@link conformanceCase} body receives. */
export interface CaseContext {
  /** Seeded randomness for this case (mask keys, payloads). */
  readonly rng: Rng;
}

/**
 * Declares one conformance case as a `node:test` test, with its own seeded generator and a
 * timeout. A failure's message ends with the seed that reproduces it (`WYND_SEED=<n>`).
 */
export function conformanceCase(
  name: string,
  body: (context: CaseContext) => Promise<unknown>,
  options: { readonly timeoutMs?: number } = {},
): void {
  test(name, { timeout: options.timeoutMs ?? 60_000 }, async () => {
    try {
      await body({ rng: createRng(caseSeed(name)) });
    } catch (error) {
      if (error instanceof Error) {
        error.message += `\n    (replay with WYND_SEED=${SUITE_SEED})`;
      }
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Reference frame encoder

/** A frame to send, valid or not. */
export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array | string;
  /** Default true. */
  readonly fin?: boolean;
  /** The 3-bit RSV field (see {@link RSV}); default 0. */
  readonly rsv?: number;
  /** Default true: clients must mask (RFC 6455 §5.3). */
  readonly mask?: boolean;
  /** The masking key; default 4 bytes from the client's seeded generator (or 0s without one). */
  readonly maskKey?: Uint8Array;
  /**
   * A declared payload length written in the header instead of the real one (a lying header);
   * the payload bytes are still sent as given. A bigint forces the 64-bit form.
   */
  readonly declaredLength?: number | bigint;
}

/** RFC 6455 §5.2, the plain way: header byte by byte, then the payload masked byte by byte. */
export function encodeFrame(spec: FrameSpec, maskKey: Uint8Array = new Uint8Array(4)): Buffer {
  const payload = typeof spec.payload === "string" ? Buffer.from(spec.payload, "utf8") : (spec.payload ?? new Uint8Array(0));
  const mask = spec.mask ?? true;
  const key = spec.maskKey ?? maskKey;
  const declared = spec.declaredLength ?? payload.length;
  const big = typeof declared === "bigint" || declared > 0xffff;
  const lengthBytes = big ? 8 : declared > 125 ? 2 : 0;
  const headerLength = 2 + lengthBytes + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(headerLength + payload.length);
  out[0] = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  if (big) {
    out[1] = maskBit | 127;
    out.writeBigUInt64BE(BigInt(declared), 2);
  } else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(declared as number, 2);
  } else {
    out[1] = maskBit | (declared as number);
  }
  if (mask) {
    const at = 2 + lengthBytes;
    for (let i = 0; i < 4; i++) out[at + i] = key[i] ?? 0;
    for (let i = 0; i < payload.length; i++) out[headerLength + i] = payload[i]! ^ out[at + (i & 3)]!;
  } else {
    out.set(payload, headerLength);
  }
  return out;
}

/** A close frame payload: the 2-byte code, then the reason. */
export function closePayload(code: number, reason: Uint8Array | string = ""): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === "string" ? Buffer.from(reason, "utf8") : reason]);
}

// ---------------------------------------------------------------------------------------------
// Reference frame decoder

/** A frame received from the server, exactly as it was on the wire (payload unmasked). */
export interface ReceivedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** Bytes of extended payload length in the header: 0, 2 or 8. */
  readonly lengthBytes: number;
  readonly payload: Buffer;
}

/** An incremental decoder: buffers chunks and cuts complete frames out of them. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes held that do not form a complete frame yet. */
  get pendingBytes(): number {
    return this.#length;
  }

  /** Adds received bytes; returns the frames they completed, in order. */
  push(chunk: Buffer): ReceivedFrame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    }
    const frames: ReceivedFrame[] = [];
    for (;;) {
      if (this.#length < 2) break;
      const head = this.#peek(Math.min(this.#length, 14));
      const b0 = head[0]!;
      const b1 = head[1]!;
      const masked = (b1 & 0x80) !== 0;
      const len7 = b1 & 0x7f;
      const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (this.#length < headerLength) break;
      let payloadLength: number;
      if (len7 === 126) payloadLength = head.readUInt16BE(2);
      else if (len7 === 127) {
        const big = head.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`server frame announces ${big} bytes`);
        payloadLength = Number(big);
      } else payloadLength = len7;
      if (this.#length < headerLength + payloadLength) break;
      const bytes = this.#take(headerLength + payloadLength);
      const payload = Buffer.from(bytes.subarray(headerLength)); // owned: chunks may be reused
      if (masked) {
        const key = bytes.subarray(headerLength - 4, headerLength);
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
      }
      const lengthBytes = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, lengthBytes, payload });
    }
    return frames;
  }

  /** The first `n` buffered bytes (n <= #length), copied only if they span chunks. */
  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.#chunks, this.#length).subarray(0, n);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#length -= n;
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.#chunks, this.#length);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return all.subarray(0, n);
  }
}

/** A short description of a frame for assertion messages. */
export function describeFrame(frame: ReceivedFrame | undefined): string {
  if (frame === undefined) return "no frame";
  const preview = frame.payload.subarray(0, 16).toString("hex");
  const more = frame.payload.length > 16 ? "…" : "";
  return `{opcode ${frame.opcode}, fin ${frame.fin}, rsv ${frame.rsv}, masked ${frame.masked}, ${frame.payload.length} bytes ${preview}${more}}`;
}

/**
 * Asserts that a server frame is exactly `expected`: FIN (default true), RSV 0, unmasked (RFC
 * 6455 §5.1: "A server MUST NOT mask any frames"), its length in the minimal encoding (§5.2: "the
 * minimal number of bytes MUST be used to encode the length"), the opcode, and the payload byte
 * for byte.
 */
export function assertFrame(
  frame: ReceivedFrame,
  expected: { readonly opcode: number; readonly payload?: Uint8Array | string; readonly fin?: boolean },
): void {
  const what = describeFrame(frame);
  assert.equal(frame.opcode, expected.opcode, `opcode: got ${what}`);
  assert.equal(frame.fin, expected.fin ?? true, `fin: got ${what}`);
  assert.equal(frame.rsv, 0, `rsv: got ${what}`);
  assert.equal(frame.masked, false, `a server frame must not be masked: got ${what}`);
  const minimal = frame.payload.length <= 125 ? 0 : frame.payload.length <= 0xffff ? 2 : 8;
  assert.equal(frame.lengthBytes, minimal, `the length must be minimally encoded: got ${what}`);
  if (expected.payload !== undefined) {
    const want =
      typeof expected.payload === "string" ? Buffer.from(expected.payload, "utf8") : Buffer.from(expected.payload);
    if (!frame.payload.equals(want)) {
      let at = 0;
      while (at < want.length && at < frame.payload.length && want[at] === frame.payload[at]) at++;
      assert.fail(`payload differs: got ${frame.payload.length} bytes, want ${want.length}; first difference at byte ${at}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Opening handshake

/** A parsed HTTP response head. */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  /** Lower-cased names; repeated headers keep every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** The raw head, for messages. */
  readonly raw: string;
}

/** The single value of header `name` (lower case); undefined when absent; fails when repeated. */
export function header(response: HttpResponse, name: string): string | undefined {
  const values = response.headers.get(name.toLowerCase());
  if (values === undefined) return undefined;
  assert.equal(values.length, 1, `header ${name} appears ${values.length} times`);
  return values[0];
}

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)). */
export function expectedAccept(key: string): string {
  return createHash("sha1").update(key + HANDSHAKE_GUID).digest("base64");
}

/** A fresh Sec-WebSocket-Key: 16 seeded bytes in base64. */
export function makeKey(rng: Rng): string {
  return randomBytes(rng, 16).toString("base64");
}

/** Options of {@link handshakeRequest}. */
export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly httpVersion?: string;
  readonly key?: string;
  /**
   * Header overrides, matched case-insensitively against the standard ones (Host, Upgrade,
   * Connection, Sec-WebSocket-Key, Sec-WebSocket-Version): a string replaces the value, null
   * removes the header; other names are appended in order.
   */
  readonly headers?: Readonly<Record<string, string | null>>;
}

/** A handshake request head, standard unless overridden (RFC 6455 §4.1). */
export function handshakeRequest(options: RequestOptions = {}): string {
  const standard: Array<[string, string]> = [
    ["Host", "127.0.0.1"],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", options.key ?? "dGhlIHNhbXBsZSBub25jZQ=="],
    ["Sec-WebSocket-Version", "13"],
  ];
  const overrides = Object.entries(options.headers ?? {});
  const lines = [`${options.method ?? "GET"} ${options.path ?? "/"} HTTP/${options.httpVersion ?? "1.1"}`];
  for (const [name, value] of standard) {
    const override = overrides.find(([n]) => n.toLowerCase() === name.toLowerCase());
    if (override === undefined) lines.push(`${name}: ${value}`);
    else if (override[1] !== null) lines.push(`${override[0]}: ${override[1]}`);
  }
  for (const [name, value] of overrides) {
    if (value === null || standard.some(([n]) => n.toLowerCase() === name.toLowerCase())) continue;
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** Every open socket of this module, destroyed by {@link destroyAllClients}. */
const openSockets = new Set<Socket>();

/** Destroys every socket this helper opened that is still open (use in an `after` hook). */
export function destroyAllClients(): void {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
}

function openSocket(port: number, host: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, noDelay: true });
    openSockets.add(socket);
    socket.once("close", () => openSockets.delete(socket));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${host}:${port} timed out`));
    }, timeoutMs);
    timer.unref();
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

function parseResponseHead(raw: string): HttpResponse {
  const lines = raw.split("\r\n");
  const statusLine = lines[0] ?? "";
  const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine);
  assert.ok(match, `invalid status line ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    assert.ok(colon > 0, `invalid header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name) ?? [];
    list.push(value);
    headers.set(name, list);
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers, raw };
}

/** Options of {@link handshake}. */
export interface HandshakeOptions {
  readonly host?: string;
  /** The raw bytes to send (a custom request, possibly followed by frames); default a valid one. */
  readonly request?: string | Buffer;
  /** Options of the default request (ignored with `request`). */
  readonly requestOptions?: RequestOptions;
  /** Send the request in chunks of this many bytes, yielding to the event loop in between. */
  readonly chunkBytes?: number;
  /** Seeded generator for the key and the mask keys. */
  readonly rng?: Rng;
  readonly timeoutMs?: number;
  /** Answer a server's close frame with a close frame (default true), as a client should. */
  readonly autoCloseReply?: boolean;
}

/** What {@link handshake} returns: the response, and a client when it was a 101. */
export interface HandshakeResult {
  readonly response: HttpResponse;
  /** The connection, when the status was 101. */
  readonly client: RawClient | undefined;
  /** For a refusal: the bytes after the head, read until the server closed the connection. */
  readonly body: Buffer;
  /** For a refusal: whether the server ended the TCP connection cleanly (FIN, no reset). */
  readonly cleanEnd: boolean;
}

/**
 * Connects, sends a handshake request (the default one, or `request` as raw bytes) and reads the
 * response head. A 101 gives a {@link RawClient} (bytes after the head feed its decoder); any
 * other status waits until the server closes the connection and returns the body.
 */
export async function handshake(port: number, options: HandshakeOptions = {}): Promise<HandshakeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const rng = options.rng ?? createRng(1);
  const request =
    options.request ?? handshakeRequest({ key: makeKey(rng), ...options.requestOptions });
  const socket = await openSocket(port, options.host ?? "127.0.0.1", timeoutMs);
  return new Promise<HandshakeResult>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let head: HttpResponse | undefined;
    let headEnd = -1;
    let gotEnd = false;
    let error: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`handshake timed out after ${timeoutMs} ms; received ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`));
    }, timeoutMs);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (head !== undefined) return;
      const all = Buffer.concat(chunks, received);
      headEnd = all.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      try {
        head = parseResponseHead(all.toString("latin1", 0, headEnd));
      } catch (e) {
        clearTimeout(timer);
        socket.destroy();
        reject(e as Error);
        return;
      }
      if (head.status === 101) {
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("close", onClose);
        socket.off("error", onError);
        const client = new RawClient(socket, head, all.subarray(headEnd + 4), {
          rng,
          timeoutMs,
          autoCloseReply: options.autoCloseReply ?? true,
        });
        resolve({ response: head, client, body: Buffer.alloc(0), cleanEnd: false });
      }
    };
    const onEnd = (): void => {
      gotEnd = true;
    };
    const onError = (e: Error): void => {
      error = e;
    };
    const onClose = (): void => {
      clearTimeout(timer);
      if (head === undefined) {
        reject(new Error(`connection closed before a response head (${error?.message ?? "no error"}); received ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`));
        return;
      }
      const body = Buffer.concat(chunks, received).subarray(headEnd + 4);
      resolve({ response: head, client: undefined, body, cleanEnd: gotEnd && error === undefined });
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    const bytes = typeof request === "string" ? Buffer.from(request, "latin1") : request;
    if (options.chunkBytes === undefined) {
      socket.write(bytes);
    } else {
      void writeInChunks(socket, bytes, options.chunkBytes, 0);
    }
  });
}

/**
 * Connects with a valid handshake and checks the 101 answer (RFC 6455 §4.2.2): status 101,
 * `Upgrade: websocket`, `Connection: Upgrade`, and the right Sec-WebSocket-Accept.
 */
export async function connectRaw(port: number, options: Omit<HandshakeOptions, "request"> = {}): Promise<RawClient> {
  const rng = options.rng ?? createRng(1);
  const key = makeKey(rng);
  const result = await handshake(port, {
    ...options,
    rng,
    request: handshakeRequest({ ...options.requestOptions, key }),
  });
  assertAccepted(result, key);
  return result.client!;
}

/** Asserts that a handshake was accepted for `key` (RFC 6455 §4.2.2 item 5). */
export function assertAccepted(result: HandshakeResult, key: string): asserts result is HandshakeResult & { client: RawClient } {
  const { response } = result;
  assert.equal(response.status, 101, `expected 101, got:\n${response.raw}`);
  assert.equal(header(response, "upgrade")?.toLowerCase(), "websocket", "Upgrade: websocket");
  assert.ok(
    (header(response, "connection") ?? "").toLowerCase().split(",").some((t) => t.trim() === "upgrade"),
    "Connection: Upgrade",
  );
  assert.equal(header(response, "sec-websocket-accept"), expectedAccept(key), "Sec-WebSocket-Accept");
  assert.ok(result.client !== undefined);
}

async function writeInChunks(
  socket: Socket,
  bytes: Buffer,
  chunking: Chunking,
  delayMs: number,
  yieldEvery = 1,
): Promise<void> {
  let offset = 0;
  let index = 0;
  // Bounded: every iteration writes at least one byte.
  while (offset < bytes.length) {
    if (socket.destroyed || socket.writableEnded) return;
    const size = Math.max(1, typeof chunking === "number" ? chunking : chunking(index));
    const end = Math.min(bytes.length, offset + size);
    const flushed = socket.write(bytes.subarray(offset, end));
    offset = end;
    index++;
    if (!flushed) await once(socket, "drain");
    if (offset < bytes.length && index % yieldEvery === 0) await pause(delayMs);
  }
}

/** How to cut bytes: a fixed chunk size, or a size per chunk index. */
export type Chunking = number | ((index: number) => number);

/**
 * How {@link RawClient.sendFrames} writes a sequence of frames, the three ways Autobahn sends
 * them: all in one write, one write per frame, or one byte per write.
 */
export type Chops = "one write" | "frame-wise" | "octet-wise";

/** Every {@link Chops}, for cases that run once per way of writing. */
export const CHOPS: readonly Chops[] = ["one write", "frame-wise", "octet-wise"];

function pause(delayMs: number): Promise<void> {
  return new Promise((resolve) => (delayMs > 0 ? setTimeout(resolve, delayMs) : setImmediate(resolve)));
}

/** Resolves on `event`, or when the socket closes (so a wait never outlives the socket). */
function once(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off(event, done);
      socket.off("close", done);
      resolve();
    };
    socket.on(event, done);
    socket.on("close", done);
  });
}

// ---------------------------------------------------------------------------------------------
// The connection

/** How a connection ended, as {@link RawClient.closed} reports it. */
export interface CloseResult {
  /** The first close frame the server sent, if any (also when it was already read). */
  readonly closeFrame: ReceivedFrame | undefined;
  /** Its status code; undefined for an empty close frame or none. */
  readonly code: number | undefined;
  /** Its reason bytes (empty when none). */
  readonly reason: Buffer;
  /** Frames received but never read with readFrame, the close frame excluded. */
  readonly unread: readonly ReceivedFrame[];
  /** True when the server ended TCP with a FIN and no socket error occurred (no reset). */
  readonly cleanEnd: boolean;
  /** The socket error, if any (ECONNRESET...). */
  readonly error: Error | undefined;
  /** Bytes received after the last complete frame (a truncated frame); 0 normally. */
  readonly trailingBytes: number;
}

interface Waiter {
  resolve(frame: ReceivedFrame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** An open WebSocket connection to the server, driven byte by byte by a test. */
export class RawClient {
  readonly socket: Socket;
  /** The 101 response. */
  readonly response: HttpResponse;
  readonly #rng: Rng;
  readonly #timeoutMs: number;
  readonly #autoCloseReply: boolean;
  readonly #decoder = new FrameDecoder();
  readonly #frames: ReceivedFrame[] = [];
  #waiter: Waiter | undefined;
  #closeFrame: ReceivedFrame | undefined;
  #closeSent = false;
  #gotEnd = false;
  #isClosed = false;
  #error: Error | undefined;
  readonly #closedPromise: Promise<void>;

  constructor(
    socket: Socket,
    response: HttpResponse,
    rest: Buffer,
    options: { rng: Rng; timeoutMs: number; autoCloseReply: boolean },
  ) {
    this.socket = socket;
    this.response = response;
    this.#rng = options.rng;
    this.#timeoutMs = options.timeoutMs;
    this.#autoCloseReply = options.autoCloseReply;
    this.#closedPromise = new Promise((resolve) => {
      socket.on("close", () => {
        this.#isClosed = true;
        const waiter = this.#waiter;
        if (waiter !== undefined) {
          this.#waiter = undefined;
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`the connection closed before the next frame (${this.#describeEnd()})`));
        }
        resolve();
      });
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => {
      this.#gotEnd = true;
    });
    socket.on("error", (error) => {
      this.#error ??= error;
    });
    if (rest.length > 0) this.#onData(rest);
  }

  /** Whether the TCP connection is fully closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** A fresh masking key from the seeded generator. */
  nextMaskKey(): Buffer {
    return randomBytes(this.#rng, 4);
  }

  /** Writes raw bytes. Returns false (writing nothing) once the socket can no longer be written. */
  send(bytes: Uint8Array | string): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    return true;
  }

  /** Encodes `spec` with the reference encoder and writes it; returns the bytes. */
  sendFrame(spec: FrameSpec): Buffer {
    const bytes = this.encode(spec);
    this.send(bytes);
    return bytes;
  }

  /** Encodes `spec` (with a seeded mask key) without sending it. Notes a close frame as sent. */
  encode(spec: FrameSpec): Buffer {
    if (spec.opcode === OP.CLOSE) this.#closeSent = true;
    return encodeFrame(spec, this.nextMaskKey());
  }

  /**
   * Writes `bytes` in chunks, one `write` (one TCP segment: Nagle is off) per chunk, yielding to
   * the event loop (or sleeping `delayMs`) after every `yieldEvery` chunks.
   */
  sendInChunks(bytes: Uint8Array, chunking: Chunking, delayMs = 0, yieldEvery = 1): Promise<void> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return writeInChunks(this.socket, buffer, chunking, delayMs, yieldEvery);
  }

  /** Encodes one frame and writes it in chunks (see {@link RawClient.sendInChunks}). */
  sendFrameInChunks(spec: FrameSpec, chunking: Chunking, delayMs = 0, yieldEvery = 1): Promise<void> {
    return this.sendInChunks(this.encode(spec), chunking, delayMs, yieldEvery);
  }

  /**
   * Encodes `frames` and writes them as `chops` says, yielding to the event loop between the
   * writes of "frame-wise" so that each frame reaches the server on its own.
   */
  async sendFrames(frames: readonly FrameSpec[], chops: Chops): Promise<void> {
    const encoded = frames.map((f) => this.encode(f));
    if (chops === "one write") {
      this.send(Buffer.concat(encoded));
    } else if (chops === "frame-wise") {
      for (const bytes of encoded) {
        this.send(bytes);
        await pause(0);
      }
    } else {
      await this.sendInChunks(Buffer.concat(encoded), 1);
    }
  }

  /** Sends a close frame with `code` (and `reason`), or an empty one when `code` is undefined. */
  sendClose(code?: number, reason: Uint8Array | string = ""): Buffer {
    return this.sendFrame({ opcode: OP.CLOSE, payload: code === undefined ? "" : closePayload(code, reason) });
  }

  /** The next frame from the server; rejects if the connection closes first or on timeout. */
  readFrame(timeoutMs = this.#timeoutMs): Promise<ReceivedFrame> {
    assert.equal(this.#waiter, undefined, "readFrame is already waiting");
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.#isClosed) {
      return Promise.reject(new Error(`the connection is closed: no more frames (${this.#describeEnd()})`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no frame from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#waiter = { resolve, reject, timer };
    });
  }

  /** Reads the next frame and asserts it is exactly `expected` (see {@link assertFrame}). */
  async expectFrame(expected: Parameters<typeof assertFrame>[1]): Promise<ReceivedFrame> {
    const frame = await this.readFrame();
    assertFrame(frame, expected);
    return frame;
  }

  /**
   * Reads the next frame and asserts it is a close frame with `code` (null: an empty close
   * frame), with a valid UTF-8 reason; then waits for the server to end the TCP connection and
   * asserts that it did so cleanly with nothing else sent. The strict reading of RFC 6455 §7.1.7
   * (fail = send a close frame with the right code, then close TCP) and §7.1.1 (the server
   * closes TCP first).
   */
  async expectClose(code: number | null, options: { readonly reason?: string } = {}): Promise<CloseResult> {
    let frame: ReceivedFrame;
    try {
      frame = await this.readFrame();
    } catch (error) {
      assert.fail(`expected a close frame with ${code ?? "no code"}: ${(error as Error).message}`);
    }
    const what = describeFrame(frame);
    assert.equal(frame.opcode, OP.CLOSE, `expected a close frame with ${code ?? "no code"}, got ${what}`);
    assertFrame(frame, { opcode: OP.CLOSE });
    if (code === null) {
      assert.equal(frame.payload.length, 0, `expected an empty close frame, got ${what}`);
    } else {
      assert.ok(frame.payload.length >= 2, `expected close code ${code}, got ${what}`);
      assert.equal(frame.payload.readUInt16BE(0), code, `close code (frame ${what})`);
      const reason = frame.payload.subarray(2);
      assert.ok(Buffer.from(reason.toString("utf8"), "utf8").equals(reason), "the close reason is valid UTF-8");
      if (options.reason !== undefined) assert.equal(reason.toString("utf8"), options.reason);
    }
    const result = await this.closed();
    assert.deepEqual(result.unread.map(describeFrame), [], "nothing after the close frame");
    assert.equal(result.trailingBytes, 0, "no partial frame after the close frame");
    assert.ok(result.cleanEnd, `the server ends TCP cleanly after the close frame (${result.error?.message ?? "no FIN"})`);
    return result;
  }

  /**
   * Resolves when the TCP connection is closed (the server ended it: this client never ends it
   * first unless told to), with what was received. Bounded by the timeout: on expiry the socket
   * is destroyed and the promise rejects.
   */
  async closed(timeoutMs = this.#timeoutMs): Promise<CloseResult> {
    if (!this.#isClosed) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"timeout">((resolve) => {
        timer = setTimeout(resolve, timeoutMs, "timeout");
        timer.unref();
      });
      const outcome = await Promise.race([this.#closedPromise, expired]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        this.socket.destroy();
        throw new Error(`the server did not close the TCP connection within ${timeoutMs} ms`);
      }
    }
    const closeFrame = this.#closeFrame;
    const payload = closeFrame?.payload ?? Buffer.alloc(0);
    return {
      closeFrame,
      code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
      reason: payload.subarray(2),
      unread: this.#frames.filter((f) => f !== closeFrame),
      cleanEnd: this.#gotEnd && this.#error === undefined,
      error: this.#error,
      trailingBytes: this.#decoder.pendingBytes,
    };
  }

  /** Closes the connection politely from our side (close frame, then FIN) and waits for the end. */
  async close(code = 1000): Promise<CloseResult> {
    if (!this.#closeSent) this.sendClose(code);
    return this.closed();
  }

  /** Destroys the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let frames: ReceivedFrame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#error ??= error as Error;
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.opcode === OP.CLOSE && this.#closeFrame === undefined) {
        this.#closeFrame = frame;
        if (this.#autoCloseReply && !this.#closeSent) {
          // RFC 6455 §5.5.1: answer a close frame with a close frame echoing the status code.
          this.sendFrame({ opcode: OP.CLOSE, payload: frame.payload.subarray(0, frame.payload.length >= 2 ? 2 : 0) });
        }
      }
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
      } else {
        this.#frames.push(frame);
      }
    }
  }

  #describeEnd(): string {
    const close = this.#closeFrame;
    const code = close !== undefined && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
    return `close frame ${close === undefined ? "none" : (code ?? "empty")}, FIN ${this.#gotEnd}, error ${this.#error?.message ?? "none"}`;
  }
}
