// Unit tests of the browser client's model (src/chat/public/model.js: no DOM), run in Node: link
// detection, id order, conversations (dedupe, order, unread, trimming, storage) and the outbox
// that tells which message the server refused. The module is plain JavaScript served as-is, so
// it is loaded from the source tree and given the types these tests use.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomIntBetween, seeded } from "../helpers/random.js";

interface Entry {
  kind: string;
  ts: number;
  text: string;
  from?: string;
  to?: string;
  mine?: boolean;
  id?: string;
  file?: { name: string; size: number; url?: string; preview?: boolean };
}
interface Conversation {
  key: string;
  kind: "room" | "private";
  name: string;
  entries: Entry[];
  unread: number;
  lastId: string | undefined;
}
interface ConversationsClass {
  new (): {
    active: string;
    ensure(kind: "room" | "private", name: string): Conversation;
    get(key: string): Conversation | undefined;
    add(c: Conversation, e: Entry, options?: { countUnread?: boolean; inOrder?: boolean }): { added: boolean; atEnd: boolean; trimmed: Entry[] };
    activate(key: string): Conversation | undefined;
    rename(from: string, to: string): void;
    totalUnread(): number;
    toJSON(): unknown;
    restore(saved: unknown): void;
  };
}
interface Tracking {
  body?: string;
  text?: string;
  view?: string;
}
interface OutboxClass {
  new (onDropped: (text: string, view: string, reason: string) => void): {
    sent(type: string, tracking: Tracking): void;
    answered(event: string, body?: string): (Tracking & { type: string }) | undefined;
    refused(): (Tracking & { type: string }) | undefined;
    lost(): void;
    expire(now: number, ms: number): void;
    readonly size: number;
  };
}
interface Model {
  MAX_ENTRIES: number;
  splitLinks(text: string): Array<{ text: string; href?: string }>;
  compareIds(a: string, b: string): number;
  roomKey(room: string): string;
  personKey(name: string): string;
  Conversations: ConversationsClass;
  Outbox: OutboxClass;
}

const model = (await import(new URL("../../../src/chat/public/model.js", import.meta.url).href)) as Model;

describe("the browser client's links", () => {
  it("makes links of http and https URLs only, without the sentence's punctuation", () => {
    assert.deepEqual(model.splitLinks("see https://example.com/a?b=1. ok"), [
      { text: "see " },
      { text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
      { text: ". ok" },
    ]);
    assert.deepEqual(model.splitLinks("(at http://x.org/wiki/A_(b)) and HTTPS://Y.ORG"), [
      { text: "(at " },
      { text: "http://x.org/wiki/A_(b)", href: "http://x.org/wiki/A_(b)" },
      { text: ") and " },
      { text: "HTTPS://Y.ORG", href: "https://y.org/" },
    ]);
    for (const text of ["javascript:alert(1)", "ftp://x.org/file", "data:text/html,<b>x</b>", "http://", "a http:/x b", "<a href=\"https://x\">"]) {
      assert.equal(model.splitLinks(text).filter((part) => part.href !== undefined && !part.href.startsWith("https://x")).length, 0, text);
    }
    assert.deepEqual(model.splitLinks(""), []);
  });
});

describe("the browser client's message ids", () => {
  it("orders decimal ids and stream ids as numbers, part by part", () => {
    assert.ok(model.compareIds("9", "10") < 0);
    assert.ok(model.compareIds("1700000000000-10", "1700000000000-9") > 0);
    assert.ok(model.compareIds("1700000000001-0", "1700000000000-99") > 0);
    assert.equal(model.compareIds("42", "42"), 0);
    assert.ok(model.compareIds("b", "a") > 0);
  });
});

describe("the browser client's conversations", () => {
  it("keeps one message once, by id or by time, sender and text, and places a replayed one by its time", () => {
    const all = new model.Conversations();
    const lobby = all.ensure("room", "lobby");
    assert.equal(all.add(lobby, { kind: "message", ts: 10, from: "a", text: "one", id: "1" }).added, true);
    assert.equal(all.add(lobby, { kind: "history", ts: 10, from: "a", text: "one", id: "1" }).added, false, "the same id twice");
    assert.equal(all.add(lobby, { kind: "message", ts: 30, from: "b", text: "three" }).added, true);
    assert.equal(all.add(lobby, { kind: "history", ts: 30, from: "b", text: "three" }).added, false, "the same time, sender and text twice");
    const replay = all.add(lobby, { kind: "history", ts: 20, from: "c", text: "two", id: "2" }, { inOrder: true });
    assert.deepEqual(replay, { added: true, atEnd: false, trimmed: [] });
    assert.deepEqual(lobby.entries.map((e) => e.text), ["one", "two", "three"]);
    assert.equal(lobby.lastId, "2");
    // Notices are never deduplicated; private ids are per inbox, so both directions may share one.
    assert.equal(all.add(lobby, { kind: "join", ts: 40, text: "a joined" }).added, true);
    assert.equal(all.add(lobby, { kind: "join", ts: 40, text: "a joined" }).added, true);
    const bob = all.ensure("private", "Bob");
    assert.equal(all.add(bob, { kind: "private", ts: 50, from: "me", to: "Bob", text: "hi", id: "7" }).added, true);
    assert.equal(all.add(bob, { kind: "private", ts: 51, from: "Bob", to: "me", text: "hi", id: "7" }).added, true);
    assert.equal(bob.lastId, undefined, "a private id is not a room id");
  });

  it("counts unread messages of conversations not on screen, not notices nor one's own, and clears them when read", () => {
    const all = new model.Conversations();
    const lobby = all.ensure("room", "lobby");
    const dev = all.ensure("room", "dev");
    all.activate(lobby.key);
    all.add(dev, { kind: "message", ts: 1, from: "a", text: "x" }, { countUnread: true });
    all.add(dev, { kind: "message", ts: 2, from: "me", text: "y", mine: true }, { countUnread: true });
    all.add(dev, { kind: "join", ts: 3, text: "a joined" }, { countUnread: true });
    all.add(lobby, { kind: "message", ts: 4, from: "a", text: "z" }, { countUnread: true });
    all.add(dev, { kind: "history", ts: 0, from: "a", text: "old" }, { inOrder: true });
    assert.deepEqual([lobby.unread, dev.unread, all.totalUnread()], [0, 1, 1]);
    all.activate(dev.key);
    assert.deepEqual([dev.unread, all.totalUnread()], [0, 0]);
  });

  it(`keeps the last MAX_ENTRIES entries, forgetting the trimmed ones' keys, and moves a person's conversation on a rename`, () => {
    const all = new model.Conversations();
    const lobby = all.ensure("room", "lobby");
    let trimmed: Entry[] = [];
    for (let i = 0; i <= model.MAX_ENTRIES; i++) trimmed = trimmed.concat(all.add(lobby, { kind: "message", ts: i, from: "a", text: `m${i}` }).trimmed);
    assert.deepEqual(trimmed.map((e) => e.text), ["m0"]);
    assert.equal(lobby.entries.length, model.MAX_ENTRIES);
    assert.equal(all.add(lobby, { kind: "history", ts: 0, from: "a", text: "m0" }, { inOrder: true }).added, true, "a trimmed message's key is kept");
    const bob = all.ensure("private", "bob");
    all.activate(bob.key);
    all.rename("bob", "robert");
    assert.equal(all.get(model.personKey("bob")), undefined);
    assert.equal(all.get(model.personKey("ROBERT"))?.name, "robert");
    assert.equal(all.active, model.personKey("robert"));
  });

  it("saves and restores conversations for a reload, files without their bytes, skipping what is malformed", () => {
    const all = new model.Conversations();
    const dev = all.ensure("room", "dev");
    all.add(dev, { kind: "message", ts: 1, from: "a", text: "kept", id: "5" });
    all.add(dev, { kind: "file", ts: 2, from: "a", text: "f.png", file: { name: "f.png", size: 3, url: "blob:x", preview: true } });
    const saved = JSON.parse(JSON.stringify(all.toJSON())) as unknown[];
    const again = new model.Conversations();
    again.restore([...saved, null, { kind: "nope", name: "x" }, { kind: "room", name: "" }, { kind: "room", name: "ok", entries: [{ kind: 1 }, "x"] }]);
    const restored = again.get(model.roomKey("dev"));
    assert.deepEqual(restored?.entries, [
      { kind: "message", ts: 1, from: "a", text: "kept", id: "5" },
      { kind: "file", ts: 2, from: "a", text: "f.png", file: { name: "f.png", size: 3 } },
    ]);
    assert.equal(restored?.lastId, "5");
    assert.deepEqual(again.get(model.roomKey("ok"))?.entries, []);
    again.restore("not an array");
  });
});

describe("the browser client's outbox", () => {
  it("gives back exactly the texts of the messages the server refused or silently dropped, whatever the mix (seeded)", () =>
    seeded(async (rng) => {
      for (let round = 0; round < 200; round++) {
        const given: string[] = [];
        const outbox = new model.Outbox((text) => given.push(text));
        const expected: string[] = [];
        const count = randomIntBetween(rng, 1, 30);
        /** What the server did with each request, in order: answered, refused or dropped silently. */
        const fates: Array<{ type: string; body?: string; fate: number }> = [];
        for (let i = 0; i < count; i++) {
          const type = ["message", "private", "rooms", "users", "name", "join", "file"][randomIntBetween(rng, 0, 6)]!;
          // Few distinct texts, so that a dropped message is often followed by an equal one.
          const body = type === "message" || type === "private" ? `text ${randomIntBetween(rng, 0, 3)}` : undefined;
          outbox.sent(type, body === undefined ? {} : { body, text: body, view: "v" });
          fates.push({ type, ...(body === undefined ? {} : { body }), fate: randomIntBetween(rng, 0, 4) });
        }
        const answer: Record<string, string> = { message: "message", private: "private", rooms: "rooms", users: "users", name: "name", join: "room", file: "file" };
        for (const { type, body, fate } of fates) {
          if (fate <= 2) {
            const request = outbox.answered(answer[type]!, body);
            assert.equal(request?.type, type);
            assert.equal(request?.body, body);
          } else if (fate === 3) {
            assert.notEqual(outbox.refused(), undefined);
          } // else: dropped silently, nothing arrives
          if (fate >= 3 && body !== undefined) expected.push(body);
        }
        outbox.expire(Number.MAX_SAFE_INTEGER, 0);
        assert.equal(outbox.size, 0);
        assert.deepEqual([...given].sort(), [...expected].sort(), `round ${round}: ${JSON.stringify(fates)}`);
      }
    }));

  it("gives the texts back when the connection is lost, and not for requests without text", () => {
    const given: Array<[string, string, string]> = [];
    const outbox = new model.Outbox((text, view, reason) => given.push([text, view, reason]));
    outbox.sent("rooms", {});
    outbox.sent("message", { body: "a", text: "a", view: "room:lobby" });
    outbox.sent("private", { body: "b", text: "/msg x b", view: "user:x" });
    assert.equal(outbox.answered("goodbye"), undefined, "an event that answers nothing");
    assert.equal(outbox.size, 3);
    outbox.lost();
    assert.deepEqual(given, [
      ["a", "room:lobby", "lost"],
      ["/msg x b", "user:x", "lost"],
    ]);
  });
});
