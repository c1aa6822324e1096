/**
 * Chat history: the last N messages of every room in memory, and every message appended to one
 * JSON-lines file per data directory (`<dataDir>/history.jsonl`), so history survives a restart
 * without a database server.
 *
 * One line per message: `{"room":"lobby","from":"alice","text":"hi","ts":1764120000000}`. The
 * file is only ever appended to, through one write stream (the event loop never waits for the
 * disk). At start it is read line by line, keeping only the last N per room, so a large file
 * costs time once, not memory. A torn last line (the process died mid-write) is skipped with a
 * warning and cut off, so the next record starts on a line of its own; any other bad line is
 * skipped with a warning. A disk that fails (no space, permissions, a directory in the way) is
 * reported and history goes on in memory: it never crashes the server.
 *
 * @module
 */

import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cleanText } from "./control-characters.js";
import type { HistoryMessage } from "./events.js";

/** One stored message: a {@link HistoryMessage} and its room. */
export interface HistoryRecord extends HistoryMessage {
  readonly room: string;
}

/** The file name inside the data directory. */
export const HISTORY_FILE = "history.jsonl";

/** Default messages replayed per room. */
export const DEFAULT_HISTORY_SIZE = 50;

/**
 * Past this many bytes waiting for the disk, new records are not written (but kept in memory)
 * and the loss is reported: a stalled disk must not grow the process without bound.
 */
export const MAX_PENDING_WRITE_BYTES = 8 * 1024 * 1024;

/**
 * Rooms whose history is kept in memory; past it, the room written to longest ago is forgotten
 * (its lines stay in the file). Rooms are free to create: without a bound, anyone could grow the
 * process with `/join` and one message per room. Worst case: 1000 × size × maxMessageBytes.
 */
export const MAX_HISTORY_ROOMS = 1000;

/** Options of {@link HistoryStore}. */
export interface HistoryOptions {
  /** The directory of the history file (created if needed); undefined keeps history in memory only. */
  readonly dataDir?: string | undefined;
  /** Messages kept and replayed per room. Default 50; 0 disables replay. */
  readonly size?: number;
  /** Disk failures. */
  readonly onError: (error: Error) => void;
  /** Skipped lines. */
  readonly onWarning: (message: string) => void;
}

/** Whether `value` is a valid history record. */
function isRecord(value: unknown): value is HistoryRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r["room"] === "string" && typeof r["from"] === "string" && typeof r["text"] === "string" && typeof r["ts"] === "number" && Number.isFinite(r["ts"]);
}

function parseLine(line: string): HistoryRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    // cleanText: a file written before the control-character rule replays under it.
    return isRecord(value) ? { room: value.room, from: value.from, text: cleanText(value.text), ts: value.ts } : undefined;
  } catch {
    return undefined;
  }
}

/** The history of every room (see the module comment). */
export class HistoryStore {
  readonly #rooms = new Map<string, HistoryMessage[]>();
  readonly #size: number;
  readonly #file: string | undefined;
  readonly #dataDir: string | undefined;
  readonly #onError: (error: Error) => void;
  readonly #onWarning: (message: string) => void;
  #stream: WriteStream | undefined;
  #failed = false;
  #dropped = 0;

  /** A store; nothing is read or written until {@link load}. */
  constructor(options: HistoryOptions) {
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    if (!(Number.isInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
    this.#size = size;
    this.#dataDir = options.dataDir;
    this.#file = options.dataDir === undefined ? undefined : join(options.dataDir, HISTORY_FILE);
    this.#onError = options.onError;
    this.#onWarning = options.onWarning;
  }

  /** The history file's path, or undefined when history is in memory only. */
  get file(): string | undefined {
    return this.#file;
  }

  /**
   * Reads the file (if any) and opens it for appending. Never rejects: a failure is reported
   * and history continues in memory.
   */
  async load(): Promise<void> {
    if (this.#file === undefined || this.#dataDir === undefined) return;
    try {
      await mkdir(this.#dataDir, { recursive: true });
      const size = await this.#existingSize(this.#file);
      if (size > 0) await this.#read(this.#file, size);
      const stream = createWriteStream(this.#file, { flags: "a" });
      stream.on("error", (error) => this.#fail(error));
      this.#stream = stream;
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /** The last messages of `room` (oldest first; a copy). */
  recent(room: string): HistoryMessage[] {
    return [...(this.#rooms.get(room) ?? [])];
  }

  /** Records a message: in memory at once, on disk as soon as the disk takes it. */
  append(record: HistoryRecord): void {
    this.#remember(record);
    const stream = this.#stream;
    if (stream === undefined || this.#failed) return;
    if (stream.writableLength > MAX_PENDING_WRITE_BYTES) {
      if (this.#dropped++ === 0) this.#onError(new Error(`history: the disk is not keeping up; messages are kept in memory only until it does`));
      return;
    }
    if (this.#dropped > 0) {
      this.#onWarning(`history: ${this.#dropped} message(s) were not written to ${this.#file}`);
      this.#dropped = 0;
    }
    const line = `${JSON.stringify({ room: record.room, from: record.from, text: record.text, ts: record.ts })}\n`;
    stream.write(line);
  }

  /** Flushes what is pending and closes the file. Never rejects. */
  close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stream.end(() => resolve());
      stream.once("error", () => resolve());
    });
  }

  #remember(record: HistoryRecord): void {
    if (this.#size === 0) return;
    let messages = this.#rooms.get(record.room);
    if (messages === undefined) {
      messages = [];
    } else {
      this.#rooms.delete(record.room); // re-inserted below: the Map's order is recency of writes
    }
    this.#rooms.set(record.room, messages);
    if (this.#rooms.size > MAX_HISTORY_ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    messages.push({ from: record.from, text: record.text, ts: record.ts });
    if (messages.length > this.#size) messages.shift();
  }

  async #existingSize(file: string): Promise<number> {
    try {
      return (await stat(file)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw error;
    }
  }

  /** Reads every line, keeping the last N per room; cuts off a torn last line. */
  async #read(file: string, size: number): Promise<void> {
    const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
    let number = 0;
    let skipped = 0;
    let lastLine = "";
    // The warning for a bad line waits for the next line: a bad LAST line may be a torn one.
    let pending: string | undefined;
    const warn = (message: string) => {
      if (++skipped <= 10) this.#onWarning(message);
    };
    for await (const line of lines) {
      number++;
      lastLine = line;
      if (pending !== undefined) warn(pending);
      pending = undefined;
      if (line.trim() === "") continue;
      const record = parseLine(line);
      if (record !== undefined) this.#remember(record);
      else pending = `history: skipped line ${number} of ${file}: not a valid record`;
    }
    // The file must end with a newline, or the next record would be glued to its last line.
    const handle = await open(file, "r");
    let endsWithNewline: boolean;
    try {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      endsWithNewline = last[0] === 0x0a;
    } finally {
      await handle.close();
    }
    if (pending !== undefined && !endsWithNewline) {
      // A record torn by a crash mid-write: never fatal; cut it off so appends start clean.
      this.#onWarning(`history: line ${number} of ${file} was torn (cut off by a crash?); skipped and removed it`);
      await truncate(file, size - Buffer.byteLength(lastLine));
    } else {
      if (pending !== undefined) warn(pending);
      if (!endsWithNewline) await appendText(file, "\n");
    }
    if (skipped > 10) this.#onWarning(`history: skipped ${skipped} invalid lines of ${file} in all`);
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError(new Error(`history: cannot write ${this.#file ?? "history"}; history is kept in memory only: ${error.message}`, { cause: error }));
  }
}

/** Appends `text` to `file`: a valid last line without its newline gets one. */
async function appendText(file: string, text: string): Promise<void> {
  const handle = await open(file, "a");
  try {
    await handle.write(text);
  } finally {
    await handle.close();
  }
}
