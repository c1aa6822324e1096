// Sessions (JSON protocol): welcome.session, a resume within the grace period (nothing missed,
// nothing twice, no leave/join noise, private messages kept with ids), the grace period's end,
// `complete: false` after trimming, takeover with 4000, bad and forged tokens, parameters that
// are not ids, ids from another room, and /quit ending a session.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { assertNothingMore, Client, jsonClient, sessionJsonClient, startChat, textClient } from "./helpers.js";

/** Opens a JSON connection with a resume query; returns it and its welcome (without ts). */
async function connect(t: TestContext, ws: string, query = ""): Promise<{ client: Client; welcome: Record<string, unknown> }> {
  const client = await Client.open(t, `${ws}${query}`, ["wynd-chat.v1"]);
  return { client, welcome: await client.event("welcome") };
}


function resumeQuery(token: string, after?: string, privateAfter?: string): string {
  const params = new URLSearchParams({ session: token });
  if (after !== undefined) params.set("after", after);
  if (privateAfter !== undefined) params.set("privateAfter", privateAfter);
  return `?${params}`;
}

async function message(client: Client, text: string): Promise<string> {
  client.sendJson({ type: "message", text });
  const event = await client.event("message");
  assert.equal(event["text"], text);
  return String(event["id"]);
}

describe("chat: sessions", () => {
  it("gives JSON clients an unguessable session token in welcome (not text clients)", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000 });
    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { welcome } = await connect(t, ws);
      assert.equal(welcome["resumed"], false);
      assert.match(String(welcome["session"]), /^[A-Za-z0-9_-]{24}$/, "144 random bits, base64url");
      tokens.add(String(welcome["session"]));
    }
    assert.equal(tokens.size, 5);
    const text = await textClient(t, ws, "plain");
    text.send("/users");
    await text.expect("Online users: plain");
    const { ws: off } = await startChat(t, { sessionGraceMs: 0 });
    assert.equal((await connect(t, off)).welcome["session"], undefined, "sessionGraceMs 0: no sessions");
  });

  it("resumes within the grace period: no leave/join, the messages and private messages sent meanwhile once, in order, then live traffic", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000 });
    const alice = await sessionJsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.client.event("join");
    bob.sendJson({ type: "private", to: "alice", text: "before" });
    const before = await alice.client.event("private");
    assert.match(String(before["id"]), /^\d+-\d+$/, "a private message has an id in the recipient's inbox");
    await bob.event("private");
    const seen = await message(alice.client, "one");
    await bob.event("message");

    alice.client.ws.terminate();
    await alice.client.closed;
    const ids = [await message(bob, "two"), await message(bob, "three")];
    bob.sendJson({ type: "private", to: "ALICE", text: "while you were away" });
    assert.equal((await bob.event("private"))["to"], "alice", "alice is still online");
    bob.sendJson({ type: "users" });
    assert.deepEqual((await bob.event("users"))["users"], ["alice", "bob"]);

    const { client, welcome } = await connect(t, ws, resumeQuery(alice.token, seen, String(before["id"])));
    assert.deepEqual(welcome, {
      type: "welcome",
      protocol: "wynd-chat.v1",
      help: welcome["help"],
      room: "lobby",
      name: "alice",
      limits: welcome["limits"],
      session: alice.token,
      resumed: true,
    });
    assert.deepEqual(await client.event("room"), { type: "room", room: "lobby" });
    const history = await client.event("history");
    assert.deepEqual(
      (history["messages"] as Array<{ id: string; text: string }>).map((m) => [m.id, m.text]),
      [
        [ids[0], "two"],
        [ids[1], "three"],
      ],
    );
    assert.equal(history["complete"], true);
    const missed = await client.event("private");
    assert.equal(missed["text"], "while you were away");
    assert.match(String(missed["id"]), /^\d+-\d+$/, "with its id");
    assert.notEqual(missed["id"], before["id"]);
    const live = await message(bob, "four");
    const got = await client.event("message");
    assert.equal(got["id"], live);
    await assertNothingMore(bob, true); // no leave, no join: only its own traffic
    await assertNothingMore(client, true);
  });

  it("ends a session after the grace period: the user leaves then, and the token resumes nothing", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 300 });
    const alice = await sessionJsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.client.event("join");
    alice.client.ws.terminate();
    const droppedAt = Date.now();
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
    assert.ok(Date.now() - droppedAt >= 250, "not before the grace period");
    const { client, welcome } = await connect(t, ws, resumeQuery(alice.token));
    assert.equal(welcome["resumed"], false);
    assert.equal(welcome["name"], null);
    assert.notEqual(welcome["session"], alice.token, "a new session");
    await client.event("room");
    await client.event("history");
  });

  it("says complete: false when messages after the client's last were trimmed, and for a resume with another room's id", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000, historySize: 3 });
    const alice = await sessionJsonClient(t, ws, "alice");
    const seen = await message(alice.client, "seen");
    alice.client.sendJson({ type: "join", room: "dev" });
    await alice.client.event("room");
    await alice.client.event("history");
    await alice.client.event("join");
    const devId = await message(alice.client, "in dev");
    alice.client.sendJson({ type: "leave" });
    await alice.client.event("room");
    await alice.client.event("history");
    await alice.client.event("join");
    alice.client.ws.terminate();
    await alice.client.closed;
    const bob = await jsonClient(t, ws, "bob");
    const texts = ["a", "b", "c", "d", "e"];
    for (const text of texts) await message(bob, text);

    const trimmed = await connect(t, ws, resumeQuery(alice.token, seen));
    await trimmed.client.event("room");
    const history = await trimmed.client.event("history");
    assert.deepEqual((history["messages"] as Array<{ text: string }>).map((m) => m.text), ["c", "d", "e"]);
    assert.equal(history["complete"], false, "a and b were trimmed: the client has a gap");

    const foreign = await connect(t, ws, resumeQuery(alice.token, devId));
    assert.deepEqual(await trimmed.client.waitClosed(), { code: 4000, reason: "session taken over" });
    await foreign.client.event("room");
    const other = await foreign.client.event("history");
    assert.equal(other["complete"], false, "an id of another room says nothing about this one");
    assert.deepEqual((other["messages"] as Array<{ text: string }>).map((m) => m.text), ["c", "d", "e"]);
  });

  it("lets a second connection with the token take the session over: the old one is closed with 4000, nobody sees a leave", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000 });
    const alice = await sessionJsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.client.event("join");
    const { client, welcome } = await connect(t, ws, resumeQuery(alice.token));
    assert.equal(welcome["resumed"], true);
    assert.deepEqual(await alice.client.waitClosed(), { code: 4000, reason: "session taken over" });
    await client.event("room");
    await client.event("history");
    await message(bob, "still here?");
    assert.equal((await client.event("message"))["text"], "still here?");
    await assertNothingMore(bob, true);
    bob.sendJson({ type: "users" });
    assert.deepEqual((await bob.event("users"))["users"], ["alice", "bob"]);
  });

  it("answers bad or forged tokens with an ordinary welcome, and treats parameters that are not ids as no knowledge", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000 });
    for (const token of ["", "x", "A".repeat(24), "not a token at all!!!!!!", "%00%01", "A".repeat(5000)]) {
      const { client, welcome } = await connect(t, ws, `?session=${encodeURIComponent(token)}`);
      assert.equal(welcome["resumed"] ?? false, false, token.slice(0, 30));
      assert.equal(welcome["name"], null);
      await client.event("room");
      await client.event("history");
    }
    const alice = await sessionJsonClient(t, ws, "alice");
    await message(alice.client, "m1");
    const bob = await jsonClient(t, ws, "bob");
    bob.sendJson({ type: "private", to: "alice", text: "p1" });
    await bob.event("private");
    await alice.client.event("join");
    await alice.client.event("private");
    const { client } = await connect(t, ws, resumeQuery(alice.token, "not-an-id", "1e9"));
    await client.event("room");
    const history = await client.event("history");
    assert.deepEqual((history["messages"] as Array<{ text: string }>).map((m) => m.text), ["m1"]);
    assert.equal(history["complete"], false);
    assert.equal((await client.event("private"))["text"], "p1", "all its private messages");
  });

  it("ends the session on quit: the others see the leave at once, and the token resumes nothing", async (t) => {
    const { ws } = await startChat(t, { sessionGraceMs: 60_000 });
    const alice = await sessionJsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.client.event("join");
    alice.client.sendJson({ type: "quit" });
    await alice.client.event("goodbye");
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
    const { welcome } = await connect(t, ws, resumeQuery(alice.token));
    assert.equal(welcome["resumed"], false);
  });
});
