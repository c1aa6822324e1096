/**
 * Chat history: the last N messages of every room in memory, and every message appended to one
 * JSON-lines file per data directory (`<dataDir>/history.jsonl`), so history survives a restart
 * without a database server.
 *
 * One line per message: `{"room":"lobby","id":"1764120000000-0","from":"alice","text":"hi","ts":1764120000000}`.
 * The id (see `stores/ids.ts`) increases within its room and is kept in the file, so it survives
 * a restart; a line without one (written before ids existed) gets one derived from its `ts` as
 * it is read. The
 * file is only ever appended to, through one write stream (the event loop never waits for the
 * disk). At start it is read line by line, keeping only the last N per room, so a large file
 * costs time once, not memory. A torn last line (the process died mid-write) is skipped with a
 * warning and cut off, so the next record starts on a line of its own; any other bad line is
 * skipped with a warning. A disk that fails (no space, permissions, a directory in the way) is
 * reported and history goes on in memory: it never crashes the server.
 *
 * Past `maxFileBytes` the file is compacted (history-compaction.ts): rewritten keeping the last N
 * records of each room, atomically. Appends wait in memory meanwhile and go to the new file.
 * The next compaction waits until the file is twice its compacted size (or `maxFileBytes`, if
 * larger), so a file of many rooms that stays big after compaction is not rewritten at every
 * message.
 *
 * @module
 */

import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cleanText } from "./control-characters.js";
import { compactHistoryFile, removeLeftover } from "./history-compaction.js";
import type { HistoryMessage } from "./events.js";
import { compareIds, isId, nextId } from "./stores/ids.js";
import { replayAfter } from "./stores/replay.js";
import type { NewMessage, Replay } from "./stores/types.js";

/** One stored message: a {@link HistoryMessage} and its room. */
export interface HistoryRecord extends HistoryMessage {
  readonly room: string;
}

/** The file name inside the data directory. */
export const HISTORY_FILE = "history.jsonl";

/** Default messages replayed per room. */
export const DEFAULT_HISTORY_SIZE = 50;

/** Default size of the history file past which it is compacted: 64 MiB. */
export const DEFAULT_HISTORY_MAX_FILE_BYTES = 64 * 1024 * 1024;

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
  /** File size, in bytes, past which the file is compacted. Default {@link DEFAULT_HISTORY_MAX_FILE_BYTES}. */
  readonly maxFileBytes?: number;
  /** Disk failures. */
  readonly onError: (error: Error) => void;
  /** Skipped lines. */
  readonly onWarning: (message: string) => void;
}

/** Whether `value` is a valid history record. */
function isRecord(value: unknown): value is HistoryRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r["room"] === "string" &&
    typeof r["from"] === "string" &&
    typeof r["text"] === "string" &&
    typeof r["ts"] === "number" &&
    Number.isFinite(r["ts"]) &&
    (r["id"] === undefined || isId(r["id"]))
  );
}

/** A line's record; its id is "" when the line has none (given one as it is remembered). */
function parseLine(line: string): HistoryRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    // cleanText: a file written before the control-character rule replays under it.
    return isRecord(value) ? { room: value.room, id: value.id ?? "", from: value.from, text: cleanText(value.text), ts: value.ts } : undefined;
  } catch {
    return undefined;
  }
}

/** The history of every room (see the module comment). */
export class HistoryStore {
  readonly #rooms = new Map<string, RoomHistory>();
  readonly #size: number;
  readonly #file: string | undefined;
  readonly #dataDir: string | undefined;
  readonly #onError: (error: Error) => void;
  readonly #onWarning: (message: string) => void;
  #stream: WriteStream | undefined;
  #failed = false;
  #dropped = 0;
  // Compaction (see the module comment): the file's size as written, the size that triggers the
  // next compaction, the running one, and the lines that wait for it to finish.
  readonly #maxFileBytes: number;
  #fileBytes = 0;
  #compactAt: number;
  #compaction: Promise<void> | undefined;
  #queued: string[] | undefined;
  #queuedBytes = 0;
  #closing = false;

  /** A store; nothing is read or written until {@link load}. */
  constructor(options: HistoryOptions) {
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    if (!(Number.isInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
    this.#size = size;
    const maxFileBytes = options.maxFileBytes ?? DEFAULT_HISTORY_MAX_FILE_BYTES;
    if (!(Number.isSafeInteger(maxFileBytes) && maxFileBytes > 0)) throw new RangeError(`history maxFileBytes must be a positive integer, got ${maxFileBytes}`);
    this.#maxFileBytes = maxFileBytes;
    this.#compactAt = maxFileBytes;
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
      await removeLeftover(this.#file);
      const size = await this.#existingSize(this.#file);
      if (size > 0) await this.#read(this.#file, size);
      this.#fileBytes = await this.#existingSize(this.#file);
      this.#openStream(this.#file);
      if (this.#fileBytes > this.#compactAt) this.#compact();
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #openStream(file: string): void {
    const stream = createWriteStream(file, { flags: "a" });
    stream.on("error", (error) => this.#fail(error));
    this.#stream = stream;
  }

  /** Resolves once no compaction is running (for tests and shutdown). */
  async compacted(): Promise<void> {
    while (this.#compaction !== undefined) await this.#compaction;
  }

  /**
   * Compacts the file (see the module comment): appends are queued meanwhile, the stream is
   * flushed and closed, the file rewritten and renamed, then a new stream takes the queue.
   */
  #compact(): void {
    const stream = this.#stream;
    const file = this.#file;
    if (this.#compaction !== undefined || stream === undefined || file === undefined || this.#failed || this.#closing) return;
    this.#stream = undefined;
    this.#queued = [];
    this.#compaction = (async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          stream.once("error", reject);
          stream.end(() => resolve());
        });
        const result = await compactHistoryFile(file, this.#size);
        this.#fileBytes = result.bytes;
        this.#compactAt = Math.max(this.#maxFileBytes, 2 * result.bytes);
      } catch (error) {
        // The original file is intact (see history-compaction.ts); try again when it doubles.
        this.#compactAt = 2 * this.#fileBytes;
        this.#onError(new Error(`history: could not compact ${file}; it is kept as it was: ${(error as Error).message}`, { cause: error }));
      }
      if (!this.#failed) {
        this.#openStream(file);
        for (const line of this.#queued!) this.#stream!.write(line);
        this.#fileBytes += this.#queuedBytes;
      }
      this.#queued = undefined;
      this.#queuedBytes = 0;
      this.#compaction = undefined;
    })();
  }

  /** The last messages of `room` (oldest first; a copy). */
  recent(room: string): HistoryMessage[] {
    return [...(this.#rooms.get(room)?.messages ?? [])];
  }

  /** The messages of `room` after id `after` (see `MessageStore.after`). */
  after(room: string, after: string): Replay {
    const history = this.#rooms.get(room);
    return replayAfter(history?.messages ?? [], history?.trimmed, after, this.#size);
  }

  /** Records a message, in memory at once, on disk as soon as the disk takes it; returns its id. */
  append(message: NewMessage): string {
    const record = this.#remember({ ...message, id: "" });
    const stream = this.#stream;
    const queued = this.#queued;
    if ((stream === undefined && queued === undefined) || this.#failed) return record.id;
    if ((stream?.writableLength ?? this.#queuedBytes) > MAX_PENDING_WRITE_BYTES) {
      if (this.#dropped++ === 0) this.#onError(new Error(`history: the disk is not keeping up; messages are kept in memory only until it does`));
      return record.id;
    }
    if (this.#dropped > 0) {
      this.#onWarning(`history: ${this.#dropped} message(s) were not written to ${this.#file}`);
      this.#dropped = 0;
    }
    const line = `${JSON.stringify({ room: record.room, id: record.id, from: record.from, text: record.text, ts: record.ts })}\n`;
    const bytes = Buffer.byteLength(line);
    if (queued !== undefined) {
      queued.push(line); // a compaction is running: the line goes to the new file
      this.#queuedBytes += bytes;
      return record.id;
    }
    stream!.write(line);
    this.#fileBytes += bytes;
    if (this.#fileBytes > this.#compactAt) this.#compact();
    return record.id;
  }

  /** Flushes what is pending (after a running compaction) and closes the file. Never rejects. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.compacted();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stream.end(() => resolve());
      stream.once("error", () => resolve());
    });
  }

  /**
   * Keeps `record` in its room's memory, with its id: its own when it has one that follows the
   * room's last, else the next one. A forgotten room (see MAX_HISTORY_ROOMS) starts again from
   * the clock, which keeps its ids increasing unless the clock went back.
   */
  #remember(record: HistoryRecord): HistoryRecord {
    let room = this.#rooms.get(record.room);
    if (room === undefined) {
      room = { messages: [], last: undefined, trimmed: undefined };
    } else {
      this.#rooms.delete(record.room); // re-inserted below: the Map's order is recency of writes
    }
    this.#rooms.set(record.room, room);
    if (this.#rooms.size > MAX_HISTORY_ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    const keepsItsId = record.id !== "" && (room.last === undefined || compareIds(record.id, room.last) > 0);
    const id = keepsItsId ? record.id : nextId(room.last, record.ts);
    room.last = id;
    if (this.#size === 0) {
      room.trimmed = id;
      return { ...record, id };
    }
    room.messages.push({ id, from: record.from, text: record.text, ts: record.ts });
    if (room.messages.length > this.#size) room.trimmed = room.messages.shift()!.id;
    return { ...record, id };
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

/** A room's last messages, and the id of its last message (kept even when `size` is 0). */
interface RoomHistory {
  readonly messages: HistoryMessage[];
  last: string | undefined;
  /** The id of the last message dropped from `messages` (a replay after an older one has a gap). */
  trimmed: string | undefined;
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
