// History compaction: past maxFileBytes the file is rewritten keeping the last N records per
// room, atomically, without losing the records appended while it runs.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { COMPACTION_SUFFIX, compactHistoryFile } from "../../src/chat/history-compaction.js";
import { HistoryStore, type HistoryRecord } from "../../src/chat/history.js";
import { HISTORY_FILE } from "../../src/chat/index.js";
import { seeded } from "../helpers/random.js";
import { startChat, tempDir } from "./helpers.js";

/** A record, with its id as the store writes it or without one (a line written before ids). */
type Line = Omit<HistoryRecord, "id"> & { readonly id?: string };

function line(r: Line): string {
  return `${JSON.stringify(r.id === undefined ? { room: r.room, from: r.from, text: r.text, ts: r.ts } : { room: r.room, id: r.id, from: r.from, text: r.text, ts: r.ts })}\n`;
}

function fileRecords(dataDir: string): HistoryRecord[] {
  const text = readFileSync(join(dataDir, HISTORY_FILE), "utf8");
  return text === "" ? [] : text.trimEnd().split("\n").map((l) => JSON.parse(l) as HistoryRecord);
}

async function openStore(t: TestContext, dataDir: string, size: number, maxFileBytes: number) {
  const errors: Error[] = [];
  const warnings: string[] = [];
  const store = new HistoryStore({ dataDir, size, maxFileBytes, onError: (e) => errors.push(e), onWarning: (w) => warnings.push(w) });
  t.after(() => store.close());
  await store.load();
  return { store, errors, warnings };
}

describe("chat: history compaction", () => {
  it("compacts one byte past maxFileBytes, not at it, keeping the last N per room in order", async (t) => {
    const dataDir = tempDir(t);
    // Every record below is 66 bytes long as the store writes it (with its id, `<ts>-0`), so 10
    // of them are exactly 660 bytes.
    const record = (room: string, i: number) => ({ room, from: "u", text: `m${String(i).padStart(3, "0")}`, ts: 100_000 + i });
    assert.equal(line({ ...record("a", 1), id: "100001-0" }).length, 66);
    const first = await openStore(t, dataDir, 2, 660);
    for (let i = 0; i < 10; i++) first.store.append(record(i % 3 === 0 ? "b" : "a", i));
    await first.store.close();
    assert.equal(fileRecords(dataDir).length, 10, "exactly maxFileBytes: not compacted");
    // Reopened at exactly maxFileBytes: still not compacted at start.
    const { store, errors } = await openStore(t, dataDir, 2, 660);
    await store.compacted();
    assert.equal(fileRecords(dataDir).length, 10);
    store.append(record("a", 10)); // 726 bytes: compacted (the trigger itself is the last record kept)
    await store.compacted();
    assert.deepEqual(
      fileRecords(dataDir).map((r) => `${r.room}${r.text}`),
      ["bm006", "am008", "bm009", "am010"],
    );
    assert.deepEqual([...first.errors, ...errors], []);
    assert.equal(existsSync(join(dataDir, HISTORY_FILE + COMPACTION_SUFFIX)), false);
  });

  it("keeps every record appended while a compaction runs, after the compacted ones", async (t) => {
    const dataDir = tempDir(t);
    const { store, errors } = await openStore(t, dataDir, 1, 342);
    let ts = 0;
    const add = (room: string, text: string) => store.append({ room, from: "u", text, ts: ++ts });
    for (let i = 0; i < 6; i++) add("a", `old ${i}`);
    // 6 records are 342 bytes (with their ids); "during 1" passes 342 and starts the compaction (and is kept as
    // the last of its room); the next ones arrive while it runs.
    add("b", "during 1");
    add("a", "during 2");
    await tick();
    add("b", "during 3");
    await store.compacted();
    add("a", "after");
    await store.close();
    assert.deepEqual(
      fileRecords(dataDir).map((r) => r.text),
      ["old 5", "during 1", "during 2", "during 3", "after"],
    );
    assert.deepEqual(errors, []);
  });

  it("compacts a file found too big at start, and removes the temporary file a crash left", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    const lines = Array.from({ length: 40 }, (_, i) => line({ room: `r${i % 4}`, from: "u", text: `t${i}`, ts: i }));
    writeFileSync(file, lines.join(""));
    // A crash mid-compaction leaves a partial temporary file beside the intact original.
    writeFileSync(file + COMPACTION_SUFFIX, lines[0]!.slice(0, 10));
    const { store, errors } = await openStore(t, dataDir, 2, 1000);
    await store.compacted();
    assert.deepEqual(fileRecords(dataDir).map((r) => r.text), ["t32", "t33", "t34", "t35", "t36", "t37", "t38", "t39"]);
    assert.deepEqual(store.recent("r1").map((m) => m.text), ["t33", "t37"]);
    assert.equal(existsSync(file + COMPACTION_SUFFIX), false);
    assert.deepEqual(errors, []);
  });

  it("reports a failed compaction, keeps the file as it was, and goes on appending", async (t) => {
    const dataDir = tempDir(t);
    const { store, errors } = await openStore(t, dataDir, 1, 200);
    // A directory where the temporary file goes: opening it fails.
    mkdirSync(join(dataDir, HISTORY_FILE + COMPACTION_SUFFIX));
    let ts = 0;
    for (let i = 0; i < 6; i++) store.append({ room: "a", from: "u", text: `m${i}`, ts: ++ts });
    await store.compacted();
    store.append({ room: "a", from: "u", text: "after", ts: ++ts });
    await store.close();
    assert.deepEqual(fileRecords(dataDir).map((r) => r.text), ["m0", "m1", "m2", "m3", "m4", "m5", "after"]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /could not compact .*history\.jsonl; it is kept as it was/);
  });

  it("never loses a record nor keeps fewer than N of a room, whatever the timing (seeded)", async (t) => {
    await seeded(async (rng) => {
      const dataDir = tempDir(t);
      const size = 1 + (rng() % 4);
      const { store, errors } = await openStore(t, dataDir, size, 600 + (rng() % 1000));
      const appended = new Map<string, string[]>();
      for (let i = 0; i < 1500; i++) {
        const room = `r${rng() % 5}`;
        const text = `${i}`;
        store.append({ room, from: "u", text, ts: i });
        appended.set(room, [...(appended.get(room) ?? []), text]);
        if (rng() % 10 === 0) await tick();
        if (rng() % 50 === 0) await store.compacted();
      }
      await store.close();
      const kept = fileRecords(dataDir);
      assert.ok(kept.length < 300, `compacted: ${kept.length} records of 1500 left`);
      for (const [room, texts] of appended) {
        const inFile = kept.filter((r) => r.room === room).map((r) => r.text);
        assert.ok(inFile.length >= Math.min(size, texts.length), `${room}: ${inFile.length} kept of ${texts.length}`);
        assert.deepEqual(inFile, texts.slice(texts.length - inFile.length), `${room}: a suffix of what was appended, in order`);
      }
      // The file is in append order across rooms. (Records appended after the last compaction
      // the test awaited may still be trimmed by a later one that an append started — lines
      // carry ids, so the file grows faster — which the per-room suffixes above allow for.)
      const numbers = kept.map((r) => Number(r.text));
      assert.ok(numbers.every((n, i) => i === 0 || numbers[i - 1]! < n), "the file is in append order");
      assert.equal(numbers.at(-1), 1499, "the last record appended is the last in the file");
      assert.deepEqual(errors, []);
    });
  });

  it("compactHistoryFile drops invalid lines and keeps at most N per room", async (t) => {
    const dataDir = tempDir(t);
    const file = join(dataDir, HISTORY_FILE);
    writeFileSync(file, `${line({ room: "a", from: "u", text: "1", ts: 1 })}not json\n{"room":5}\n${line({ room: "a", from: "u", text: "2", ts: 2 })}`);
    const result = await compactHistoryFile(file, 5);
    assert.deepEqual(result, { records: 2, bytes: readFileSync(file).length });
    assert.deepEqual(fileRecords(dataDir).map((r) => r.text), ["1", "2"]);
  });

  it("takes historyMaxFileBytes on createChatServer and refuses a bad one", async (t) => {
    const dataDir = tempDir(t);
    const { chat } = await startChat(t, { dataDir, historyMaxFileBytes: 1 });
    await chat.close();
    await assert.rejects(async () => startChat(t, { historyMaxFileBytes: 0 }), RangeError);
  });
});
