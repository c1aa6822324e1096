// One chat server per data directory: a second one is refused with a clear error, a lock left by a
// killed process (or naming a reused pid) is taken over, and racing takeovers have one winner.
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { createChatServer, DataDirLockedError, LOCK_FILE } from "../../src/chat/index.js";
import { lockDataDir, type LockOwner } from "../../src/chat/data-dir-lock.js";
import { CLI, serve } from "./cli-process.js";
import { Client, jsonClient, tempDir } from "./helpers.js";

const run = promisify(execFile);
const LOCK_MODULE = fileURLToPath(new URL("../../src/chat/data-dir-lock.js", import.meta.url));

/** A pid that was just used and is no longer running. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

function writeLock(dir: string, owner: Partial<LockOwner>): void {
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify({ host: hostname(), since: "2026-01-01T00:00:00.000Z", ...owner })}\n`);
}

describe("chat: data directory lock", () => {
  it("refuses a second wynd chat on the same data directory, and takes over after the first is SIGKILLed", { timeout: 60_000 }, async (t) => {
    const dataDir = tempDir(t);
    const first = await serve(t, ["--data-dir", dataDir]);
    const lock = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), "utf8")) as LockOwner;
    assert.equal(lock.host, hostname());
    const second = await run(process.execPath, [CLI, "chat", "--port", "0", "--data-dir", dataDir]).then(
      () => assert.fail("the second server started"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(second.code, 1);
    assert.equal(
      second.stderr,
      `wynd chat: the data directory ${dataDir} is in use by another wynd chat (pid ${lock.pid} on ${hostname()}, since ${lock.since}); ` +
        `stop it first, or use another --data-dir. If that process is gone, remove ${join(dataDir, LOCK_FILE)}\n`,
    );
    // A message, so that the history shows the third server has the same directory.
    const alice = await jsonClient(t, first.url.replace(/^http/, "ws"), "alice");
    alice.sendJson({ type: "message", text: "before the kill" });
    await alice.event("message");
    const history = join(dataDir, "history.jsonl");
    for (let i = 0; i < 100 && !(existsSync(history) && readFileSync(history, "utf8").includes("before the kill")); i++) await delay(50);
    first.kill("SIGKILL");
    assert.deepEqual(await first.exited, { code: null, signal: "SIGKILL" });
    assert.ok(existsSync(join(dataDir, LOCK_FILE)), "a killed process leaves its lock behind");

    const third = await serve(t, ["--data-dir", dataDir]);
    const bob = await Client.open(t, third.url.replace(/^http/, "ws"), ["wynd-chat.v1"]);
    await bob.event("welcome");
    await bob.event("room");
    assert.deepEqual(
      ((await bob.event("history"))["messages"] as Array<{ text: string }>).map((m) => m.text),
      ["before the kill"],
    );
    const taken = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), "utf8")) as LockOwner;
    assert.notEqual(taken.pid, lock.pid);
    third.kill("SIGTERM");
    assert.deepEqual(await third.exited, { code: 0, signal: null });
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, "a clean stop removes the lock");
  });

  it("refuses a second server in the same process, and frees the directory on close()", async (t) => {
    const dataDir = tempDir(t);
    const quiet = { onError: () => undefined, onWarning: () => undefined, heartbeatIntervalMs: 0 };
    const one = createChatServer({ dataDir, ...quiet });
    await one.listen(0);
    const two = createChatServer({ dataDir, ...quiet });
    await assert.rejects(two.listen(0), (error: unknown) => error instanceof DataDirLockedError && error.code === "ERR_DATA_DIR_LOCKED" && error.owner.pid === process.pid);
    await two.close();
    assert.ok(existsSync(join(dataDir, LOCK_FILE)), "the refused server did not remove the holder's lock");
    await one.close();
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false);
    const three = createChatServer({ dataDir, ...quiet });
    await three.listen(0);
    await three.close();
  });

  it("takes over a lock whose pid is dead, reused (another start time or boot) or half-written long ago", async (t) => {
    const dataDir = tempDir(t);
    const take = async () => (await lockDataDir(dataDir)).release();
    writeLock(dataDir, { pid: deadPid() });
    await take();
    if (existsSync("/proc/self/stat")) {
      // A live pid (this test's parent) recorded with another start time or in another boot: reused.
      writeLock(dataDir, { pid: process.ppid, startTicks: "1", bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() });
      await take();
      const ticks = readFileSync(`/proc/${process.ppid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]!;
      writeLock(dataDir, { pid: process.ppid, startTicks: ticks, bootId: "another-boot" });
      await take();
      // The same pid, start time and boot: the process that took it is alive.
      writeLock(dataDir, { pid: process.ppid, startTicks: ticks, bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() });
      await assert.rejects(lockDataDir(dataDir), DataDirLockedError);
    }
    writeLock(dataDir, { pid: process.ppid });
    await assert.rejects(lockDataDir(dataDir), DataDirLockedError, "a live pid without start time holds the lock");
    writeLock(dataDir, { pid: deadPid(), host: "another-host" });
    await assert.rejects(lockDataDir(dataDir), DataDirLockedError, "another host's lock cannot be checked: it holds");
    writeFileSync(join(dataDir, LOCK_FILE), "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dataDir, LOCK_FILE), old, old);
    await take();
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false);
  });

  it("gives a stale lock to exactly one of several processes taking it over at once", { timeout: 60_000 }, async (t) => {
    const dataDir = tempDir(t);
    writeLock(dataDir, { pid: deadPid() });
    // Each contender takes the lock (or is refused), says which, and holds it until stdin closes.
    const script = `
      const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
      try { await lockDataDir(${JSON.stringify(dataDir)}); console.log("won"); } catch (e) { console.log(e.code ?? e.message); }
      process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`;
    const contenders = Array.from({ length: 4 }, () => spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] }));
    t.after(() => contenders.forEach((child) => child.kill("SIGKILL")));
    const outcomes = await Promise.all(
      contenders.map(
        (child) =>
          new Promise<string>((resolve) => {
            let out = "";
            child.stdout.setEncoding("utf8").on("data", (s: string) => {
              out += s;
              if (out.endsWith("\n")) resolve(out.trim());
            });
          }),
      ),
    );
    for (const child of contenders) child.stdin.end();
    assert.deepEqual(outcomes.sort(), ["ERR_DATA_DIR_LOCKED", "ERR_DATA_DIR_LOCKED", "ERR_DATA_DIR_LOCKED", "won"]);
  });
});
