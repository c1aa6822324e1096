// The chat on several nodes sharing one real redis-server (in-process nodes on port 0): the
// tutorial's transcript across nodes — names unique everywhere, /users and /rooms of the whole
// chat, rooms, /msg, files, history with the same ids on every node — and a node that dies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFileFrame } from "../../src/chat/index.js";
import { assertNothingMore, Client, jsonClient, sessionJsonClient, textClient } from "./helpers.js";
import { compareIds } from "../../src/chat/stores/ids.js";
import { randomIntBetween, seeded } from "../helpers/random.js";
import { chatNodes, redisFor } from "./redis-helpers.js";

describe("chat: several nodes on Redis", () => {
  it("runs the tutorial's session across three nodes: names, /users, rooms, /msg, files, history with the same ids", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const [a, b, c] = await chatNodes(t, redis, 3);
    const alice = await textClient(t, a!.ws, "alice");
    const bob = await textClient(t, b!.ws);
    bob.send("/name ALICE");
    await bob.expect("The name ALICE is already taken");
    bob.send("/name bob");
    await bob.expect("You are now known as bob");
    await alice.expect("bob joined the chat");
    const carol = await Client.open(t, c!.ws, ["wynd-chat.v1"]);
    await carol.event("welcome");
    await carol.event("room");
    await carol.event("history");
    carol.sendJson({ type: "name", name: "carol" });
    assert.deepEqual(await carol.event("name"), { type: "name", name: "carol" });
    assert.deepEqual(await carol.event("join"), { type: "join", room: "lobby", name: "carol" });
    await alice.expect("carol joined the chat");
    await bob.expect("carol joined the chat");

    alice.send("Hi everyone!");
    await bob.expect("alice: Hi everyone!");
    const hi = await carol.event("message");
    assert.equal(hi["text"], "Hi everyone!");
    bob.send("/users");
    await bob.expect("Online users: alice, bob, carol");

    // Rooms: bob (node B) and carol (node C) meet in dev; alice (node A) stays in the lobby.
    bob.send("/join Dev");
    await bob.expect("You are now in room dev");
    // Answered once bob's move is done (its notices sent): only then may carol enter dev.
    bob.send("/rooms");
    await bob.expect("Rooms: lobby (2), dev (1)");
    await alice.expect("bob left room lobby");
    assert.deepEqual(await carol.event("leave"), { type: "leave", room: "lobby", name: "bob" });
    carol.sendJson({ type: "join", room: "dev" });
    assert.deepEqual(await carol.event("room"), { type: "room", room: "dev" });
    assert.deepEqual((await carol.event("history"))["messages"], []);
    assert.deepEqual(await carol.event("join"), { type: "join", room: "dev", name: "carol" });
    await alice.expect("carol left room lobby");
    await bob.expect("carol joined room dev");
    alice.send("/rooms");
    await alice.expect("Rooms: lobby (1), dev (2)");
    const ids: string[] = [];
    for (const text of ["first in dev", "second in dev"]) {
      carol.sendJson({ type: "message", text });
      const mine = await carol.event("message");
      ids.push(String(mine["id"]));
      await bob.expect(`carol: ${text}`);
    }
    bob.send("third in dev");
    const third = await carol.event("message");
    assert.equal(third["text"], "third in dev");
    ids.push(String(third["id"]));

    // /msg across nodes, both ways.
    carol.sendJson({ type: "private", to: "ALICE", text: "psst" });
    assert.deepEqual(await carol.event("private"), { type: "private", from: "carol", to: "alice", text: "psst" });
    await alice.expect("[private from carol] psst");
    alice.send("/msg carol back at you");
    await alice.expect("[private to carol] back at you");
    assert.deepEqual(await carol.event("private"), { type: "private", from: "alice", to: "carol", text: "back at you" });
    alice.send("/msg nobody hello");
    await alice.expect("No such user: nobody");

    // A file from node C reaches dev's member on node B (bytes intact) and its sender, not the lobby.
    const content = Buffer.from([0, 1, 2, 255, 0x7b]);
    carol.send(encodeFileFrame({ name: "x.bin", type: "application/octet-stream", size: content.length }, content));
    for (const client of [carol, bob]) {
      const frame = await client.next();
      assert.equal(frame.isBinary, true);
      assert.ok(frame.data.subarray(frame.data.length - content.length).equals(content));
    }
    await bob.expect(`carol shared x.bin (${content.length} bytes)`);

    // History: a newcomer on node A gets dev's messages with the ids their authors saw live.
    const dave = await jsonClient(t, a!.ws, "dave");
    await alice.expect("dave joined the chat");
    dave.sendJson({ type: "join", room: "dev" });
    await dave.event("room");
    const history = (await dave.event("history"))["messages"] as Array<{ id: string; from: string; text: string }>;
    assert.deepEqual(
      history.map((m) => [m.id, m.from, m.text]),
      [
        [ids[0], "carol", "first in dev"],
        [ids[1], "carol", "second in dev"],
        [ids[2], "bob", "third in dev"],
      ],
    );
    assert.deepEqual(await dave.event("join"), { type: "join", room: "dev", name: "dave" });
    assert.deepEqual(await carol.event("join"), { type: "join", room: "dev", name: "dave" });
    await bob.expect("dave joined room dev");
    await alice.expect("dave left room lobby");

    // Leaving: bob quits on node B; everyone else, on every node, is told once.
    bob.send("/quit");
    await bob.expect("Goodbye!");
    assert.deepEqual(await carol.event("leave"), { type: "leave", room: "dev", name: "bob" });
    assert.deepEqual(await dave.event("leave"), { type: "leave", room: "dev", name: "bob" });
    alice.send("/users");
    await alice.expect("Online users: alice, carol, dave");
    await assertNothingMore(alice);
    await assertNothingMore(carol, true);
  });
});

/** The next event of `type`, skipping the others. */
async function until(client: Client, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const event = await client.json();
    if (event["type"] === type) return event;
  }
}

describe("chat: several nodes on Redis, under stress", () => {
  it("keeps each sender's order across nodes: seeded bursts from senders on every node, every receiver sees each in order", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const nodes = await chatNodes(t, redis, 3);
    await seeded(async (rng) => {
      // Two JSON clients per node, all in the lobby; each sends a random burst at once. (Join
      // notices from other nodes may come in any order: they are skipped.)
      const clients: Client[] = [];
      for (let i = 0; i < 6; i++) {
        const client = await Client.open(t, nodes[i % 3]!.ws, ["wynd-chat.v1"]);
        client.sendJson({ type: "name", name: `s${i}` });
        await until(client, "name");
        clients.push(client);
      }
      // Everyone is online everywhere before the bursts.
      for (const client of clients) {
        for (;;) {
          client.sendJson({ type: "users" });
          if (((await until(client, "users"))["users"] as string[]).length === clients.length) break;
        }
      }
      const counts = clients.map(() => randomIntBetween(rng, 5, 40));
      for (const [i, client] of clients.entries()) for (let n = 0; n < counts[i]!; n++) client.sendJson({ type: "message", text: `s${i} #${n}` });
      const total = counts.reduce((x, y) => x + y, 0);
      for (const client of clients) {
        const seen: number[] = clients.map(() => 0);
        for (let k = 0; k < total; k++) {
          const text = String((await until(client, "message"))["text"]);
          const [sender, number] = text.split(" #");
          const i = Number(sender!.slice(1));
          assert.equal(Number(number), seen[i], `${text} in order`);
          seen[i]!++;
        }
        assert.deepEqual(seen, counts);
      }
    });
  });

  it("survives Redis going away: the nodes keep serving their own users, report it once, and are one chat again when it returns", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const [a, b] = await chatNodes(t, redis, 2, { presenceTtlMs: 600 });
    const alice = await jsonClient(t, a!.ws, "alice");
    const bob = await jsonClient(t, a!.ws, "bob");
    await alice.event("join");
    const carol = await jsonClient(t, b!.ws, "carol");
    await alice.event("join");
    await bob.event("join");

    await redis.kill();
    alice.sendJson({ type: "message", text: "during the outage" });
    const local = await bob.event("message");
    assert.equal(local["text"], "during the outage");
    assert.equal(local["id"], undefined, "not stored: delivered without an id");
    assert.equal((await alice.event("message"))["text"], "during the outage");
    bob.sendJson({ type: "users" });
    assert.deepEqual((await bob.event("users"))["users"], ["alice", "bob"], "this node's own users");
    assert.ok(a!.reports.errors.length >= 1, "the outage is reported");
    const before = a!.reports.errors.length;

    await redis.restart();
    const deadline = Date.now() + 10_000;
    // Once the adapter and the presence are back, node B's message reaches node A again.
    let back = false;
    while (!back && Date.now() < deadline) {
      carol.sendJson({ type: "users" });
      const users = (await carol.event("users"))["users"] as string[];
      back = users.length === 3 && a!.reports.warnings.some((w) => /Redis adapter: connected again/.test(w));
      if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(back, "the three users are online again everywhere");
    carol.sendJson({ type: "message", text: "after the outage" });
    const after = await alice.event("message");
    assert.equal(after["text"], "after the outage");
    assert.match(String(after["id"]), /^\d+-\d+$/, "stored again");
    assert.equal((await bob.event("message"))["id"], after["id"]);
    assert.ok(a!.reports.errors.length - before <= 2, `reported once per layer, not per command: ${a!.reports.errors.map((e) => e.message).join(" | ")}`);
  });
});

describe("chat: sessions on several nodes", () => {
  it("takes a session over from another node: the old connection there is closed with 4000, nobody sees a leave", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const [a, b] = await chatNodes(t, redis, 2, { sessionGraceMs: 60_000 });
    const { client: alice, token } = await sessionJsonClient(t, a!.ws, "alice");
    const bob = await jsonClient(t, b!.ws, "bob");
    await alice.event("join");
    bob.sendJson({ type: "private", to: "alice", text: "one" });
    const first = await alice.event("private");
    await bob.event("private");

    const again = await Client.open(t, `${b!.ws}?session=${token}&privateAfter=${String(first["id"])}`, ["wynd-chat.v1"]);
    assert.equal((await again.event("welcome"))["resumed"], true);
    assert.deepEqual(await alice.waitClosed(), { code: 4000, reason: "session taken over" });
    await again.event("room");
    await again.event("history");
    bob.sendJson({ type: "private", to: "alice", text: "two" });
    await bob.event("private");
    const second = await again.event("private");
    assert.equal(second["text"], "two", "the private message sent before the takeover is not replayed again");
    assert.ok(compareIds(String(first["id"]), String(second["id"])) < 0, "inbox ids increase");
    await assertNothingMore(bob, true);
    bob.sendJson({ type: "users" });
    assert.deepEqual((await bob.event("users"))["users"], ["alice", "bob"]);
  });
});
