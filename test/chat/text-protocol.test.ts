// Multi-client transcripts of the plain-text protocol (what wscat sees) over real sockets: the
// tutorial's final program, word for word, and its next steps.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HELP_TEXT, WELCOME_TEXT } from "../../src/chat/index.js";
import { textProtocol } from "../../src/chat/text-protocol.js";
import { assertNothingMore, Client, namedTextClients, startChat, textClient } from "./helpers.js";

describe("chat: plain-text protocol", () => {
  it("greets with the tutorial's welcome, which lists every command", async (t) => {
    const { ws } = await startChat(t);
    const client = await Client.open(t, ws);
    assert.equal(client.ws.protocol, "");
    assert.equal(await client.text(), WELCOME_TEXT);
    assert.equal(
      WELCOME_TEXT,
      [
        "Welcome to the chat! Available commands:",
        "- /name <name> - Set your display name",
        "- /users - List all online users",
        "- /msg <user> <text> - Send a private message to one user",
        "- /join <room> - Join a room (created if needed)",
        "- /leave - Leave your room and go back to the lobby",
        "- /rooms - List the rooms and how many are in each",
        "- /help - Show this help message",
        "- /quit - Disconnect from the server",
      ].join("\n"),
    );
    client.send("/help");
    assert.equal(await client.text(), HELP_TEXT);
    assert.equal(WELCOME_TEXT, `Welcome to the chat! ${HELP_TEXT}`);
  });

  it("runs the tutorial's session: names, join notices, broadcasts, /users, unknown commands, /quit", async (t) => {
    const { ws } = await startChat(t);
    const alice = await textClient(t, ws);
    const bob = await textClient(t, ws);
    alice.send("hello?");
    await alice.expect("Please set your name first with: /name <your_name>");
    alice.send("/name");
    await alice.expect("Usage: /name <your_name>");
    alice.send("/name Alice");
    await alice.expect("You are now known as Alice");
    bob.send("  /name   Bob  ");
    await bob.expect("You are now known as Bob");
    await alice.expect("Bob joined the chat");
    alice.send("  Hi Bob!  ");
    await bob.expect("Alice: Hi Bob!");
    bob.send("/users");
    await bob.expect("Online users: Alice, Bob");
    bob.send("/dance");
    await bob.expect("Unknown command. Type /help for available commands.");
    bob.send("/quit");
    await bob.expect("Goodbye!");
    assert.deepEqual(await bob.waitClosed(), { code: 1000, reason: "Goodbye" });
    await alice.expect("Bob left the chat");
    alice.send("/users");
    await alice.expect("Online users: Alice");
    // The sender is not echoed its own message (as in the tutorial): nothing else is waiting.
    await assertNothingMore(alice);
  });

  it("announces a leave when a client vanishes without a Close frame", async (t) => {
    const { ws } = await startChat(t);
    const [alice, bob] = await namedTextClients(t, ws, "alice", "bob");
    bob.ws.terminate(); // destroys the socket: no Close frame
    await alice.expect("bob left the chat");
    await assertNothingMore(alice);
  });

  it("announces a rename as a rename, keeps names unique ignoring case, and checks them", async (t) => {
    const { ws } = await startChat(t);
    const [alice, bob] = await namedTextClients(t, ws, "alice", "bob");
    bob.send("/name robert");
    await bob.expect("You are now known as robert");
    await alice.expect("bob is now known as robert");
    bob.send("/name ALICE");
    await bob.expect("The name ALICE is already taken");
    for (const invalid of ["two words", "x".repeat(33), "zero\u200bwidth"]) {
      bob.send(`/name ${invalid}`);
      await bob.expect("Please provide a valid name (1-32 characters, no spaces or control characters)");
    }
    bob.send(`/name ${"é".repeat(32)}`);
    await bob.expect(`You are now known as ${"é".repeat(32)}`);
    await alice.expect(`robert is now known as ${"é".repeat(32)}`);
    // Changing the case of one's own name is a rename, not a clash.
    alice.send("/name Alice");
    await alice.expect("You are now known as Alice");
    await bob.expect("alice is now known as Alice");
    // The old name is free again.
    const carol = await textClient(t, ws, "Bob");
    await alice.expect("Bob joined the chat");
    await carol.expect();
  });

  it("delivers /msg to that user only, and names an unknown user", async (t) => {
    const { ws } = await startChat(t);
    const [alice, bob, carol] = await namedTextClients(t, ws, "alice", "bob", "carol");
    alice.send("/msg BOB  see you at 5 ");
    await alice.expect("[private to bob] see you at 5");
    await bob.expect("[private from alice] see you at 5");
    alice.send("/msg dave hello");
    await alice.expect("No such user: dave");
    alice.send("/msg bob");
    await alice.expect("Usage: /msg <user> <text>");
    await assertNothingMore(carol);
    await assertNothingMore(bob);
    const anonymous = await textClient(t, ws);
    anonymous.send("/msg alice hi");
    await anonymous.expect("Please set your name first with: /name <your_name>");
  });

  it("keeps messages and notices in their room, lists rooms with counts, and /leave returns to the lobby", async (t) => {
    const { ws } = await startChat(t);
    const [alice, bob, carol] = await namedTextClients(t, ws, "alice", "bob", "carol");
    alice.send("/join Dev");
    await alice.expect("You are now in room dev");
    await bob.expect("alice left room lobby");
    await carol.expect("alice left room lobby");
    bob.send("/join dev");
    await bob.expect("You are now in room dev");
    await alice.expect("bob joined room dev");
    await carol.expect("bob left room lobby");
    bob.send("in dev");
    await alice.expect("bob: in dev");
    carol.send("in lobby");
    carol.send("/rooms");
    await carol.expect("Rooms: lobby (1), dev (2)");
    await assertNothingMore(alice);
    await assertNothingMore(bob);
    alice.send("/join bad name");
    await alice.expect("Please provide a valid room name (1-32 characters, no spaces or control characters)");
    alice.send("/join");
    await alice.expect("Usage: /join <room>");
    alice.send("/join dev");
    await alice.expect("You are now in room dev");
    alice.send("/leave");
    await alice.expect("You are now in room lobby");
    // Entering the lobby replays its history: carol's message, marked as history.
    const history = await alice.text();
    const lines = history.split("\n");
    assert.equal(lines[0], "--- History of room lobby: the last 1 message ---");
    assert.match(lines[1]!, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] carol: in lobby$/);
    assert.equal(lines[2], "--- End of history ---");
    await carol.expect("alice joined room lobby");
    await bob.expect("alice left room dev");
    alice.send("/rooms");
    await alice.expect("Rooms: lobby (2), dev (1)");
    bob.send("/quit");
    await bob.expect("Goodbye!");
    await bob.waitClosed();
    carol.send("/rooms");
    // bob's departure reaches nobody in the lobby; dev is gone once empty.
    await carol.expect("Rooms: lobby (2)");
    await assertNothingMore(alice);
  });

  it("refuses a message over the length limit with a notice", async (t) => {
    const { ws } = await startChat(t, { maxMessageBytes: 16 });
    const [alice, bob] = await namedTextClients(t, ws, "alice", "bob");
    alice.send("é".repeat(9)); // 18 bytes
    await alice.expect("Message too long (max 16 bytes)");
    alice.send("/msg bob " + "x".repeat(17));
    await alice.expect("Message too long (max 16 bytes)");
    // Far over the limit, a line is refused without being parsed.
    alice.send("x".repeat(1024 * 1024));
    await alice.expect("Message too long (max 16 bytes)");
    alice.send("x".repeat(16));
    await bob.expect(`alice: ${"x".repeat(16)}`);
    await assertNothingMore(bob);
  });

  it("parses lines as the tutorial does", () => {
    assert.deepEqual(textProtocol.parse("   "), { type: "none" });
    assert.deepEqual(textProtocol.parse(" hi there "), { type: "message", text: "hi there" });
    assert.deepEqual(textProtocol.parse("/name\tBob"), { type: "name", name: "Bob" });
    assert.deepEqual(textProtocol.parse("/msg bob  a  b "), { type: "private", to: "bob", text: "a  b" });
    assert.deepEqual(textProtocol.parse("/users everyone"), { type: "users" });
    assert.deepEqual(textProtocol.parse("/NAME bob"), {
      type: "invalid",
      code: "bad-request",
      message: "Unknown command. Type /help for available commands.",
    });
  });
});
