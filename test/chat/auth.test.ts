// Authentication: tokens files and signed tokens, checked before the upgrade (401 without a
// valid token, no WebSocket opened); the token fixes the name.
import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { parseTokenList, signedTokenAuthenticator, signToken } from "../../src/chat/index.js";
import { assertNothingMore, Client, startChat, WAIT_MS } from "./helpers.js";

const SECRET = "a shared secret of some length";

/** Sends an upgrade request and resolves with the HTTP status of the refusal (or 101). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      timeout: WAIT_MS,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        ...headers,
      },
    });
    req.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: "" });
    });
    req.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("upgrade timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe("chat: authentication", () => {
  it("refuses an upgrade without a valid token with 401, before any WebSocket opens", async (t) => {
    const { ws, chat } = await startChat(t, { auth: parseTokenList("alice-token alice\n") });
    const missing = await upgradeStatus(ws.replace(/^ws/, "http"));
    assert.equal(missing.status, 401);
    assert.equal(missing.headers["www-authenticate"], 'Bearer realm="wynd chat"');
    assert.match(missing.body, /a token is required/);
    assert.equal((await upgradeStatus(`${ws.replace(/^ws/, "http")}?token=wrong`)).status, 401);
    assert.equal((await upgradeStatus(ws.replace(/^ws/, "http"), { Authorization: "Bearer wrong" })).status, 401);
    assert.equal((await upgradeStatus(ws.replace(/^ws/, "http"), { Authorization: "Basic YWxpY2U6eA==" })).status, 401);
    assert.equal(chat.wynd.clients().length, 0);
    assert.equal((await upgradeStatus(`${ws.replace(/^ws/, "http")}?token=alice-token`)).status, 101);
  });

  it("accepts a token from the query or a Bearer header, fixes the name, and refuses a second connection of it", async (t) => {
    const auth = parseTokenList("# name tokens\nalice-token alice\n\n  bob-token   bob  \n");
    const { ws } = await startChat(t, { auth });
    const alice = await Client.open(t, `${ws}?token=alice-token`, ["wynd-chat.v1"]);
    const welcome = await alice.event("welcome");
    assert.equal(welcome["name"], "alice");
    assert.deepEqual(await alice.event("name"), { type: "name", name: "alice" });
    await alice.event("room");
    await alice.event("history");
    assert.deepEqual(await alice.event("join"), { type: "join", room: "lobby", name: "alice" });
    alice.sendJson({ type: "name", name: "mallory" });
    assert.equal((await alice.event("error"))["code"], "name-fixed");

    const bob = await Client.open(t, ws, [], { Authorization: "Bearer bob-token" });
    assert.match(await bob.text(), /^Welcome to the chat!/);
    await bob.expect("You are now known as bob");
    assert.deepEqual(await alice.event("join"), { type: "join", room: "lobby", name: "bob" });
    bob.send("/name robert");
    await bob.expect("Your name is set by your login token and cannot be changed");
    bob.send("hello");
    const { id, ...hello } = await alice.event("message");
    assert.match(String(id), /^\d+-\d+$/);
    assert.deepEqual(hello, { type: "message", room: "lobby", from: "bob", text: "hello" });

    const twice = await upgradeStatus(`${ws.replace(/^ws/, "http")}?token=bob-token`);
    assert.equal(twice.status, 409);
    await assertNothingMore(alice, true);
    bob.ws.terminate();
    assert.deepEqual(await alice.event("leave"), { type: "leave", room: "lobby", name: "bob" });
    // Gone, the name may connect again.
    const again = await Client.open(t, `${ws}?token=bob-token`);
    assert.match(await again.text(), /^Welcome/);
  });

  it("checks signed tokens: signature, expiry, canonical encoding, and the secret's length", async (t) => {
    let now = Date.UTC(2026, 10, 26);
    const verify = signedTokenAuthenticator(SECRET, () => now);
    const forever = signToken(SECRET, { name: "alice" });
    const brief = signToken(SECRET, { name: "bob", ttlSeconds: 60, now: () => now });
    assert.equal(verify(forever), "alice");
    assert.equal(verify(brief), "bob");
    now += 61_000;
    assert.equal(verify(brief), undefined, "expired");
    assert.equal(verify(forever), "alice");
    const [payload, sig] = forever.split(".") as [string, string];
    assert.equal(verify(`${payload}.${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`), undefined, "tampered signature");
    const forged = Buffer.from(JSON.stringify({ name: "mallory" })).toString("base64url");
    assert.equal(verify(`${forged}.${sig}`), undefined, "another payload");
    assert.equal(verify(signToken("another secret, just as long", { name: "alice" })), undefined, "another secret");
    assert.equal(verify(`${payload}.${sig}=`), undefined, "non-canonical encoding");
    assert.equal(verify(`${payload}.${sig}.x`), undefined);
    assert.equal(verify(""), undefined);
    assert.throws(() => signedTokenAuthenticator("short"), RangeError);
    assert.throws(() => signToken(SECRET, { name: "two words" }), RangeError);

    const { ws } = await startChat(t, { auth: signedTokenAuthenticator(SECRET) });
    const client = await Client.open(t, `${ws}?token=${encodeURIComponent(forever)}`, ["wynd-chat.v1"]);
    assert.equal((await client.event("welcome"))["name"], "alice");
    assert.equal((await upgradeStatus(`${ws.replace(/^ws/, "http")}?token=${encodeURIComponent(brief)}`)).status, 401);
  });

  it("rejects a malformed tokens file, naming the line", () => {
    assert.throws(() => parseTokenList("a alice\nb bob extra\n", "tokens.txt"), /^Error: tokens\.txt:2: expected "token name", got 3 field\(s\)$/);
    assert.throws(() => parseTokenList("a al\u0000ice\n", "t"), /t:1: invalid name/);
    assert.throws(() => parseTokenList("a alice\n# c\na bob\n", "t"), /t:3: this token is listed twice/);
    assert.equal(parseTokenList("# nothing\n")("#"), undefined);
  });
});
