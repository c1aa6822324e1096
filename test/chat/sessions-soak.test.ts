// A seeded soak of sessions: clients drop (the socket cut) and resume at random while the others
// chat, in the lobby and privately; every client must end with exactly the messages of its room
// and its private messages — no gap, no duplicate, each sender's messages in order. On one node
// (memory) and on two nodes sharing a real redis-server (a client resumes on either node).
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { randomIntBetween, seeded, type Rng } from "../helpers/random.js";
import { compareIds } from "../../src/chat/stores/ids.js";
import { startChat, WAIT_MS } from "./helpers.js";
import { chatNodes, redisFor } from "./redis-helpers.js";

interface Seen {
  readonly id: string;
  readonly text: string;
}

/** A JSON client that records every message and private message it receives. */
class Peer {
  readonly name: string;
  token = "";
  ws: WebSocket | undefined;
  readonly room: Seen[] = [];
  readonly privates: Seen[] = [];
  /** Messages received again (an id already seen), dropped as a client must. */
  duplicates = 0;
  readonly #seen = new Set<string>();
  #events: Array<Record<string, unknown>> = [];
  #wake: (() => void) | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get connected(): boolean {
    return this.ws !== undefined;
  }

  /** Connects (resuming when it has a token) and resolves once its replay arrived. */
  async connect(t: TestContext, url: string): Promise<void> {
    const last = this.room.at(-1)?.id;
    const lastPrivate = this.privates.at(-1)?.id;
    const query = new URLSearchParams();
    if (this.token !== "") query.set("session", this.token);
    if (last !== undefined) query.set("after", last);
    if (lastPrivate !== undefined) query.set("privateAfter", lastPrivate);
    const resuming = this.token !== "";
    const ws = new WebSocket(`${url}?${query}`, ["wynd-chat.v1"]);
    t.after(() => ws.terminate());
    this.#events = [];
    ws.on("message", (data) => {
      const event = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
      if (event["type"] === "message") this.#record({ id: String(event["id"]), text: String(event["text"]) });
      else if (event["type"] === "private") this.#record({ id: String(event["id"]), text: String(event["text"]) }, this.privates);
      else if (event["type"] === "history" && resuming) {
        for (const m of event["messages"] as Seen[]) this.#record({ id: m.id, text: m.text });
        assert.equal(event["complete"], true, `${this.name}'s replay is complete`);
      }
      this.#events.push(event);
      this.#wake?.();
    });
    this.ws = ws;
    const welcome = await this.wait("welcome");
    if (resuming) assert.equal(welcome["resumed"], true, `${this.name} resumes`);
    this.token = String(welcome["session"]);
    await this.wait("history");
  }

  /** The next event of `type` (with `text`, when given); the events before it are skipped. */
  async wait(type: string, text?: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = this.#events.findIndex((event) => event["type"] === type && (text === undefined || event["text"] === text));
      if (index >= 0) return this.#events.splice(0, index + 1).at(-1)!;
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${type} event`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  #record(message: Seen, log = this.room): void {
    const key = `${log === this.room ? "r" : "p"}${message.id}`;
    if (this.#seen.has(key)) {
      this.duplicates++;
      return;
    }
    this.#seen.add(key);
    log.push(message);
  }

  send(value: object): void {
    this.ws!.send(JSON.stringify(value));
  }

  drop(): void {
    this.ws!.terminate();
    this.ws = undefined;
  }
}

/**
 * A message received twice is counted twice: on the wire (`redelivered`, an id already seen) and
 * after the client's own dropping of those (`duplicates`). Both must be 0, on one node and with
 * Redis (where a message stored just before a resume reads the history, but heard just after, is
 * the case that would come twice).
 */
async function soak(t: TestContext, urls: readonly string[], rng: Rng): Promise<void> {
  const pick = <T>(items: readonly T[]): T => items[randomIntBetween(rng, 0, items.length - 1)]!;
  const observer = new Peer("observer");
  await observer.connect(t, urls[0]!);
  observer.send({ type: "name", name: "observer" });
  await observer.wait("name");
  const peers = Array.from({ length: 6 }, (_, i) => new Peer(`p${i}`));
  for (const peer of peers) {
    await peer.connect(t, pick(urls));
    peer.send({ type: "name", name: peer.name });
    await peer.wait("name");
  }
  const expectedPrivates = new Map<string, Set<string>>(peers.map((peer) => [peer.name, new Set()]));
  let messages = 0;
  let privates = 0;
  let drops = 0;
  for (let step = 0; step < 150; step++) {
    const online = peers.filter((peer) => peer.connected);
    const offline = peers.filter((peer) => !peer.connected);
    const roll = rng() / 2 ** 32;
    if (roll < 0.45 && online.length > 0) {
      const sender = pick(online);
      const text = `${sender.name} m${messages++}`;
      sender.send({ type: "message", text });
      await sender.wait("message", text); // stored: a drop now cannot lose it
    } else if (roll < 0.55 && online.length > 1) {
      // A burst: several clients, on both nodes, send at once (their messages race to the store).
      const senders = online.filter(() => rng() % 2 === 0);
      const texts = senders.map((sender) => `${sender.name} m${messages++}`);
      senders.forEach((sender, i) => sender.send({ type: "message", text: texts[i] }));
      for (const [i, sender] of senders.entries()) await sender.wait("message", texts[i]);
    } else if (roll < 0.7 && online.length > 0) {
      const sender = pick(online);
      const to = pick(peers.filter((peer) => peer !== sender));
      const text = `${sender.name}>${to.name} p${privates++}`;
      sender.send({ type: "private", to: to.name, text });
      await sender.wait("private", text);
      expectedPrivates.get(sender.name)!.add(text);
      expectedPrivates.get(to.name)!.add(text);
    } else if (roll < 0.85 && online.length > 3) {
      pick(online).drop();
      drops++;
    } else if (offline.length > 0) {
      await pick(offline).connect(t, pick(urls));
    }
  }
  for (const peer of peers) if (!peer.connected) await peer.connect(t, pick(urls));
  // Everyone has everything once the observer's count is reached everywhere (bounded wait).
  const deadline = Date.now() + WAIT_MS;
  const behind = (peer: Peer) => peer.room.length < messages || peer.privates.length < expectedPrivates.get(peer.name)!.size;
  while (Date.now() < deadline && (peers.some(behind) || observer.room.length < messages)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let gaps = 0;
  let duplicates = 0;
  let redelivered = 0;
  const all = new Set(observer.room.map((m) => m.id));
  assert.equal(all.size, messages, "the observer saw every message once");
  for (const peer of peers) {
    const ids = peer.room.map((m) => m.id);
    redelivered += peer.duplicates;
    const missingRoom = [...all].filter((id) => !ids.includes(id));
    if (missingRoom.length > 0) t.diagnostic(`${peer.name} misses ${observer.room.filter((m) => missingRoom.includes(m.id)).map((m) => m.text).join(", ")}`);
    gaps += missingRoom.length;
    const privateTexts = peer.privates.map((m) => m.text);
    duplicates += privateTexts.length - new Set(privateTexts).size;
    const missingPrivate = [...expectedPrivates.get(peer.name)!].filter((text) => !privateTexts.includes(text));
    if (missingPrivate.length > 0) t.diagnostic(`${peer.name} misses ${missingPrivate.join(", ")}`);
    gaps += missingPrivate.length;
    // Everything in the order of the ids (the order of the store), which is what makes "after the
    // last id I saw" a resume point without a gap.
    for (const log of [peer.room, peer.privates]) {
      for (let i = 1; i < log.length; i++) {
        assert.ok(compareIds(log[i - 1]!.id, log[i]!.id) < 0, `${peer.name} got ${log[i]!.text} (${log[i]!.id}) after ${log[i - 1]!.text} (${log[i - 1]!.id})`);
      }
    }
    // Each sender's messages in the order sent.
    const bySender = new Map<string, number>();
    for (const { text } of peer.room) {
      const [sender, number] = text.split(" m");
      const n = Number(number);
      assert.ok((bySender.get(sender!) ?? -1) < n, `${peer.name}: ${text} after a later one of ${sender}`);
      bySender.set(sender!, n);
    }
  }
  t.diagnostic(
    `clients 6 (+1 observer), nodes ${urls.length}, drops ${drops}, room messages ${messages}, private messages ${privates}, ` +
      `gaps ${gaps}, duplicates ${duplicates}, received again with an id already seen (dropped) ${redelivered}`,
  );
  assert.equal(gaps, 0, "gaps found");
  assert.equal(duplicates, 0, "duplicates found (after dropping ids already seen)");
  assert.equal(redelivered, 0, "messages received twice (the same id)");
}

describe("chat: sessions soak", () => {
  it("one node: clients dropping and resuming at random end with every message once, in order", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000, historySize: 1000 });
    await seeded((rng) => soak(t, [ws], rng));
  });

  it("two nodes on Redis: clients resuming on either node end with every message once, in order", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const nodes = await chatNodes(t, redis, 2, { sessionGraceMs: 60_000, historySize: 1000 });
    await seeded((rng) => soak(t, nodes.map((node) => node.ws), rng));
  });
});
