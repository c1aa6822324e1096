// Multi-client transcripts of the JSON protocol wynd-chat.v1 (the browser client's) over real
// sockets, and both protocols in one chat.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HELP_LINES, jsonProtocol } from "../../src/chat/index.js";
import { assertNothingMore, Client, jsonClient, startChat, textClient } from "./helpers.js";

describe("chat: JSON protocol wynd-chat.v1", () => {
  it("is selected when offered, and opens with welcome, room and history events", async (t) => {
    const { ws } = await startChat(t, { maxMessageBytes: 1000, maxFileBytes: 2000 });
    const client = await Client.open(t, ws, ["other", "wynd-chat.v1"]);
    assert.equal(client.ws.protocol, "wynd-chat.v1");
    assert.deepEqual(await client.event("welcome"), {
      type: "welcome",
      protocol: "wynd-chat.v1",
      help: HELP_LINES,
      room: "lobby",
      name: null,
      limits: { maxMessageBytes: 1000, maxFileBytes: 2000, maxNameLength: 32 },
    });
    assert.deepEqual(await client.event("room"), { type: "room", room: "lobby" });
    assert.deepEqual(await client.event("history"), { type: "history", room: "lobby", messages: [] });
    client.sendJson({ type: "help" });
    assert.deepEqual(await client.event("help"), { type: "help", help: HELP_LINES });
  });

  it("runs a session: names, echoed messages, rename, users, private messages, errors", async (t) => {
    const { ws } = await startChat(t);
    const alice = await jsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws);
    bob.sendJson({ type: "message", text: "hi" });
    assert.deepEqual(await bob.event("error"), { type: "error", code: "no-name", message: "Please set your name first with: /name <your_name>" });
    // An unnamed JSON client already hears its room: it sees alice's message.
    alice.sendJson({ type: "message", text: "anyone?" });
    const mine = await alice.event("message");
    assert.match(String(mine["id"]), /^\d+-\d+$/, "a stored message carries its id");
    assert.deepEqual(mine, { type: "message", room: "lobby", id: mine["id"], from: "alice", text: "anyone?" });
    assert.deepEqual(await bob.event("message"), mine, "everyone sees the same id");
    bob.sendJson({ type: "name", name: "bob" });
    assert.deepEqual(await bob.event("name"), { type: "name", name: "bob" });
    assert.deepEqual(await bob.event("join"), { type: "join", room: "lobby", name: "bob" });
    assert.deepEqual(await alice.event("join"), { type: "join", room: "lobby", name: "bob" });
    bob.sendJson({ type: "name", name: "robert" });
    assert.deepEqual(await bob.event("name"), { type: "name", name: "robert" });
    assert.deepEqual(await bob.event("rename"), { type: "rename", room: "lobby", from: "bob", to: "robert" });
    assert.deepEqual(await alice.event("rename"), { type: "rename", room: "lobby", from: "bob", to: "robert" });
    bob.sendJson({ type: "name", name: "Alice" });
    assert.equal((await bob.event("error"))["code"], "name-taken");
    bob.sendJson({ type: "name", name: "a\u0007b" });
    assert.equal((await bob.event("error"))["code"], "invalid-name");
    bob.sendJson({ type: "users" });
    assert.deepEqual(await bob.event("users"), { type: "users", users: ["alice", "robert"] });
    alice.sendJson({ type: "private", to: "ROBERT", text: "psst" });
    assert.deepEqual(await bob.event("private"), { type: "private", from: "alice", to: "robert", text: "psst" });
    assert.deepEqual(await alice.event("private"), { type: "private", from: "alice", to: "robert", text: "psst" });
    alice.sendJson({ type: "private", to: "nobody", text: "psst" });
    assert.deepEqual(await alice.event("error"), { type: "error", code: "unknown-user", message: "No such user: nobody" });
    for (const bad of ["{", "[]", '{"type":"dance"}', '{"type":"message"}', '{"type":"private","to":"x"}', '{"type":"join","room":5}', '{"type":"message","text":" "}']) {
      alice.send(bad);
      assert.equal((await alice.event("error"))["code"], "bad-request", bad);
    }
    await assertNothingMore(bob, true);
  });

  it("moves between rooms with room, history, join and leave events, and lists rooms with counts", async (t) => {
    const { ws } = await startChat(t);
    const alice = await jsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.event("join");
    bob.sendJson({ type: "message", text: "lobby talk" });
    await bob.event("message");
    await alice.event("message");
    alice.sendJson({ type: "join", room: "Dev" });
    assert.deepEqual(await alice.event("room"), { type: "room", room: "dev" });
    assert.deepEqual(await alice.event("history"), { type: "history", room: "dev", messages: [] });
    assert.deepEqual(await alice.event("join"), { type: "join", room: "dev", name: "alice" });
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
    alice.sendJson({ type: "rooms" });
    assert.deepEqual(await alice.event("rooms"), { type: "rooms", rooms: [{ name: "lobby", members: 1 }, { name: "dev", members: 1 }] });
    alice.sendJson({ type: "join", room: "no spaces" });
    assert.equal((await alice.event("error"))["code"], "invalid-room");
    bob.sendJson({ type: "message", text: "only lobby" });
    await bob.event("message");
    await assertNothingMore(alice, true);
    alice.sendJson({ type: "leave" });
    assert.deepEqual(await alice.event("room"), { type: "room", room: "lobby" });
    const history = await alice.event("history");
    assert.equal(history["room"], "lobby");
    const messages = history["messages"] as Array<Record<string, unknown>>;
    assert.deepEqual(messages.map(({ from, text }) => ({ from, text })), [
      { from: "bob", text: "lobby talk" },
      { from: "bob", text: "only lobby" },
    ]);
    assert.ok(messages.every((m) => typeof m["ts"] === "number"));
    assert.deepEqual(await alice.event("join"), { type: "join", room: "lobby", name: "alice" });
    assert.deepEqual(await bob.event("join"), { type: "join", room: "lobby", name: "alice" });
    alice.sendJson({ type: "message", text: "x".repeat(4097) });
    assert.equal((await alice.event("error"))["code"], "too-long");
    alice.sendJson({ type: "quit" });
    assert.deepEqual(await alice.event("goodbye"), { type: "goodbye" });
    assert.deepEqual(await alice.waitClosed(), { code: 1000, reason: "Goodbye" });
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
  });

  it("puts text and JSON clients in one chat, each seeing it in its own form", async (t) => {
    const { ws } = await startChat(t);
    const carol = await textClient(t, ws, "carol");
    const dave = await jsonClient(t, ws, "dave");
    await carol.expect("dave joined the chat");
    carol.send("hello from wscat");
    const { id, ...fromWscat } = await dave.event("message");
    assert.match(String(id), /^\d+-\d+$/);
    assert.deepEqual(fromWscat, { type: "message", room: "lobby", from: "carol", text: "hello from wscat" });
    dave.sendJson({ type: "message", text: "hello from the browser" });
    await dave.event("message");
    await carol.expect("dave: hello from the browser");
    dave.sendJson({ type: "name", name: "david" });
    await dave.event("name");
    await dave.event("rename");
    await carol.expect("dave is now known as david");
    // A multi-line message from the browser cannot fake a line, nor drive a terminal, in wscat.
    // One rule for control characters in both protocols: the JSON client gets U+FFFD too.
    dave.sendJson({ type: "message", text: "two\nlines: fake\u001b[2J" });
    assert.equal((await dave.event("message"))["text"], "two\nlines: fake\ufffd[2J");
    await carol.expect("david: two\n  lines: fake\ufffd[2J");
    carol.send("/msg david hi");
    await carol.expect("[private to david] hi");
    assert.deepEqual(await dave.event("private"), { type: "private", from: "carol", to: "david", text: "hi" });
    dave.ws.terminate();
    await carol.expect("david left the chat");
  });

  it("timestamps every event with the server's clock", () => {
    const frame = jsonProtocol.render({ type: "goodbye" }, "self", 1234);
    assert.deepEqual(JSON.parse(frame!), { type: "goodbye", ts: 1234 });
    assert.equal(jsonProtocol.render({ type: "file", room: "lobby", from: "a", name: "f", size: 1 }, "others", 1), undefined);
  });

  it("tells which stored message a frame it rendered carries, and nothing for any other frame", () => {
    const storedIn = jsonProtocol.storedIn!;
    const message = jsonProtocol.render({ type: "message", room: "r", id: "5-1", from: "a", text: "hi" }, "others", 1)!;
    assert.deepEqual(storedIn(message), { kind: "message", room: "r", id: "5-1" });
    const privately = jsonProtocol.render({ type: "private", id: "7-0", from: "a", to: "b", text: "psst" }, "others", 1)!;
    assert.deepEqual(storedIn(privately), { kind: "private", id: "7-0" });
    // Without an id (a store outage), other events, and frames that are not its own: nothing.
    assert.equal(storedIn(jsonProtocol.render({ type: "message", room: "r", from: "a", text: "hi" }, "others", 1)!), undefined);
    assert.equal(storedIn(jsonProtocol.render({ type: "join", room: "r", name: "a", reason: "chat" }, "others", 1)!), undefined);
    for (const frame of ["", "not json", "null", "42", "[]", '"s"', '{"type":"message","id":5,"room":"r"}', '{"type":"message","id":"1-0"}', '{"type":"history","id":"1-0","room":"r"}']) {
      assert.equal(storedIn(frame), undefined, frame);
    }
  });
});
