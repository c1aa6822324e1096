/**
 * Compaction of the history file: rewrites `history.jsonl` keeping the last N records of each
 * room, atomically, so the file stops growing forever.
 *
 * Two passes over the file, so memory holds one counter per room, not the records: the first
 * counts each room's records, the second writes a record when it is among its room's last N.
 * The result goes to a temporary file next to it, which is flushed to the disk (fsync) and then
 * renamed over the original; the directory is flushed too, so the rename itself is durable.
 *
 * Crash safety: `rename(2)` replaces the file atomically. A crash before it leaves the original
 * file untouched (and a temporary file, removed by {@link removeLeftover} at the next start); a
 * crash after it leaves the complete compacted file, because its contents were fsynced before the
 * rename (without that fsync, a crash could leave the new name pointing at an empty or partial
 * file on file systems that reorder metadata and data writes). There is no moment when the path
 * names a partial file. The caller must not append to the file while this runs (records
 * arriving meanwhile are queued by the history store and appended to the new file after), or the
 * rename would throw them away.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";

/** The temporary file's suffix. */
export const COMPACTION_SUFFIX = ".compacting";

/** What a compaction did. */
export interface CompactionResult {
  /** Records kept. */
  readonly records: number;
  /** The new file's size in bytes. */
  readonly bytes: number;
}

/** The room of a history line, or undefined for a line that is not a record (dropped). */
function roomOf(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as { room?: unknown; from?: unknown; text?: unknown; ts?: unknown };
    if (typeof value.room !== "string" || typeof value.from !== "string" || typeof value.text !== "string" || typeof value.ts !== "number") return undefined;
    return value.room;
  } catch {
    return undefined;
  }
}

async function* records(file: string): AsyncGenerator<{ line: string; room: string }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of lines) {
    const room = roomOf(line);
    if (room !== undefined) yield { line, room };
  }
}

/**
 * Rewrites `file` keeping the last `keepPerRoom` records of each room, atomically (see the module
 * comment). Rejects on a disk error, the original file then untouched.
 */
export async function compactHistoryFile(file: string, keepPerRoom: number): Promise<CompactionResult> {
  const counts = new Map<string, number>();
  for await (const { room } of records(file)) counts.set(room, (counts.get(room) ?? 0) + 1);

  const temporary = `${file}${COMPACTION_SUFFIX}`;
  const seen = new Map<string, number>();
  let kept = 0;
  let bytes = 0;
  const out = await open(temporary, "w");
  try {
    let batch = "";
    for await (const { line, room } of records(file)) {
      const index = seen.get(room) ?? 0;
      seen.set(room, index + 1);
      if (index < counts.get(room)! - keepPerRoom) continue;
      batch += `${line}\n`;
      kept++;
      if (batch.length >= 64 * 1024) {
        bytes += Buffer.byteLength(batch);
        await out.write(batch);
        batch = "";
      }
    }
    bytes += Buffer.byteLength(batch);
    await out.write(batch);
    await out.sync(); // the data is on the disk before the name points at it
  } catch (error) {
    await out.close().catch(() => undefined);
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await out.close();
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(file));
  return { records: kept, bytes };
}

/** Flushes a directory's entries (the rename) to the disk, where the platform allows it. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Windows cannot open a directory, some file systems refuse fsync on one: the rename is
    // still atomic, only its durability across a power cut is up to the file system.
  } finally {
    await handle?.close();
  }
}

/** Removes the temporary file a crash during a compaction left behind (the original is intact). */
export async function removeLeftover(file: string): Promise<void> {
  // Never fatal: a leftover that cannot be removed is overwritten by the next compaction's open.
  await rm(`${file}${COMPACTION_SUFFIX}`, { force: true }).catch(() => undefined);
}
