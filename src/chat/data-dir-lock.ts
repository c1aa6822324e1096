/**
 * One chat server per data directory: `<dataDir>/chat.lock` names the process that uses it, so
 * a second `wynd chat` on the same directory (two servers appending to one history file, each
 * compacting it behind the other's back) is refused with a clear error.
 *
 * **Stale locks.** A killed process (SIGKILL, a power cut) leaves its lock file behind; a lock
 * whose process is gone is taken over. The lock records the process id, the host, and on Linux
 * the process's start time (`/proc/<pid>/stat`, clock ticks since boot) and the boot id
 * (`/proc/sys/kernel/random/boot_id`). A lock is held while a process with that pid is running
 * *and* (where /proc exists) started at the recorded time in the same boot. So a pid reused by an
 * unrelated process after a crash or a reboot (containers restart at the same small pids) does not
 * keep the directory locked forever. Without /proc (macOS, Windows) only the pid is checked: a
 * reused pid then keeps the lock until that process exits, and the error says which file to
 * remove. A lock from another host (a shared volume) cannot be checked and is always honoured.
 *
 * **Races.** The lock is created with O_EXCL (`wx`), so of two servers starting together one
 * wins. Taking over a stale lock is serialized by a second, short-lived mutex (`chat.lock.takeover`,
 * a directory made with `mkdir`, atomic): under it the lock is read again, removed only if it is
 * still the stale one, and recreated with O_EXCL, so two servers that both found it stale cannot
 * both win. A takeover mutex older than {@link TAKEOVER_STALE_MS} (its holder died within those
 * milliseconds) is removed.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { mkdir, open, readFile, rmdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";

/** The lock's file name inside the data directory. */
export const LOCK_FILE = "chat.lock";

/** A takeover mutex older than this is left by a dead process and removed. */
export const TAKEOVER_STALE_MS = 10_000;

/** A lock file still empty or unreadable after this long was left by a crash mid-creation. */
const HALF_WRITTEN_STALE_MS = 5_000;

/** What the lock file says about its holder. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Linux: the process's start time, in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  readonly startTicks?: string | undefined;
  /** Linux: the boot it started in. */
  readonly bootId?: string | undefined;
  /** When it took the lock (for the error message). */
  readonly since: string;
}

/** The data directory is in use by another live process. */
export class DataDirLockedError extends Error {
  /** A stable code for programs. */
  readonly code = "ERR_DATA_DIR_LOCKED";
  /** The holder, as its lock file says. */
  readonly owner: LockOwner;

  constructor(dataDir: string, lockFile: string, owner: LockOwner) {
    super(
      `the data directory ${dataDir} is in use by another wynd chat (pid ${owner.pid} on ${owner.host}, since ${owner.since}); ` +
        `stop it first, or use another --data-dir. If that process is gone, remove ${lockFile}`,
    );
    this.name = "DataDirLockedError";
    this.owner = owner;
  }
}

/** A held lock: {@link release} removes it (if it is still this process's). */
export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Lock files held by this process (a second server in the same process is refused too). */
const held = new Set<string>();

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

function bootId(): string | undefined {
  return readProc("/proc/sys/kernel/random/boot_id")?.trim();
}

function ownerOfThisProcess(): LockOwner {
  return { pid: process.pid, host: hostname(), startTicks: startTicks(process.pid), bootId: bootId(), since: new Date().toISOString() };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (!(Number.isSafeInteger(value.pid) && value.pid! > 0 && typeof value.host === "string" && typeof value.since === "string")) return undefined;
    return value as LockOwner;
  } catch {
    return undefined;
  }
}

/** Whether the process the lock names is still the one that took it (see the module comment). */
function isAlive(owner: LockOwner, file: string): boolean {
  if (owner.host !== hostname()) return true; // cannot be checked from here
  if (owner.pid === process.pid && !held.has(file)) {
    // Our own pid but not our lock: a previous life of a process that restarted with the same
    // pid (pid 1 in a container), unless /proc says the start times agree (then it is ours).
    if (owner.startTicks === undefined || owner.startTicks !== startTicks(process.pid)) return false;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.bootId !== undefined && owner.startTicks !== undefined) {
    const boot = bootId();
    if (boot !== undefined && boot !== owner.bootId) return false; // a pid from before a reboot
    const ticks = startTicks(owner.pid);
    if (ticks !== undefined && ticks !== owner.startTicks) return false; // the pid was reused
  }
  return true;
}

/** Creates the lock file with O_EXCL; false when it exists. */
async function create(file: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The lock file's text and age, or undefined when it is gone. */
async function readLock(file: string): Promise<{ text: string; ageMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    return { text, ageMs: Date.now() - info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Runs `action` under the takeover mutex; undefined when another process holds it (try again). */
async function underTakeoverMutex<T>(file: string, action: () => Promise<T>): Promise<T | undefined> {
  const mutex = `${file}.takeover`;
  try {
    await mkdir(mutex);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const info = await stat(mutex).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > TAKEOVER_STALE_MS) await rmdir(mutex).catch(() => undefined);
    return undefined;
  }
  try {
    return await action();
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}

/**
 * Takes the lock of `dataDir` (created if needed), or rejects with {@link DataDirLockedError}
 * when another live process holds it (see the module comment). Other failures (permissions)
 * reject with the file system's error.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const file = resolve(join(dataDir, LOCK_FILE));
  const mine = ownerOfThisProcess();
  // Bounded: each round either takes the lock, finds a live holder, or saw another process
  // in the middle of a takeover (which lasts milliseconds).
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await create(file, mine)) return hold(file, mine);
    const seen = await readLock(file);
    if (seen === undefined) continue; // released meanwhile
    const owner = parseOwner(seen.text);
    if (owner === undefined && seen.ageMs < HALF_WRITTEN_STALE_MS) {
      await delay(25); // being written by a process that just created it
      continue;
    }
    if (owner !== undefined && isAlive(owner, file)) throw new DataDirLockedError(dataDir, file, owner);
    // Stale: take it over, unless someone else changed it meanwhile.
    const taken = await underTakeoverMutex(file, async () => {
      const again = await readLock(file);
      if (again !== undefined && again.text !== seen.text) return false; // changed: look again
      if (again !== undefined) await unlink(file);
      return create(file, mine);
    });
    if (taken === true) return hold(file, mine);
    if (taken === undefined) await delay(25);
  }
  throw new Error(`could not take the lock ${file}: it keeps changing`);
}

function hold(file: string, owner: LockOwner): DataDirLock {
  held.add(file);
  const text = `${JSON.stringify(owner)}\n`;
  let released: Promise<void> | undefined;
  return {
    file,
    release() {
      released ??= (async () => {
        held.delete(file);
        // Only our own lock: never one a later process took over.
        const current = await readLock(file).catch(() => undefined);
        if (current?.text === text) await unlink(file).catch(() => undefined);
      })();
      return released;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
