// File sharing: binary frames with a JSON header relayed to the room, limits and malformed frames.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFileFrame, FILE_REFUSAL_SLACK_BYTES, parseFileFrame } from "../../src/chat/index.js";
import { assertNothingMore, jsonClient, startChat, textClient, type Received } from "./helpers.js";

/** A client's file frame. */
function fileFrame(name: string, type: string, bytes: Uint8Array, size = bytes.length): Uint8Array {
  return encodeFileFrame({ name, type, size }, bytes);
}

/** Splits a relayed frame into its header and bytes. */
function unframe(message: Received): { header: Record<string, unknown>; bytes: Buffer } {
  assert.equal(message.isBinary, true);
  const length = message.data.readUInt32BE(0);
  const header = JSON.parse(message.data.subarray(4, 4 + length).toString("utf8")) as Record<string, unknown>;
  return { header, bytes: message.data.subarray(4 + length) };
}

describe("chat: files", () => {
  it("relays a file to everyone in the sender's room, the sender included; text clients also get a line", async (t) => {
    const { ws } = await startChat(t);
    const alice = await jsonClient(t, ws, "alice");
    const bob = await textClient(t, ws, "bob");
    const carol = await jsonClient(t, ws, "carol");
    await alice.event("join");
    await alice.event("join");
    await bob.expect("carol joined the chat");
    const elsewhere = await jsonClient(t, ws, "dave");
    elsewhere.sendJson({ type: "join", room: "other" });
    await elsewhere.event("room");
    await elsewhere.event("history");
    await elsewhere.event("join");
    await alice.event("join");
    await alice.event("leave");
    await carol.event("join");
    await carol.event("leave");
    await bob.expect("dave joined the chat", "dave left room lobby");

    const content = Buffer.from([0, 1, 2, 3, 255, 0x7b]);
    alice.send(fileFrame("notes é.bin", "application/octet-stream", content));
    for (const client of [alice, bob, carol]) {
      const { header, bytes } = unframe(await client.next());
      const { ts, ...rest } = header;
      assert.deepEqual(rest, { type: "file", room: "lobby", from: "alice", name: "notes é.bin", mime: "application/octet-stream", size: 6 });
      assert.equal(typeof ts, "number");
      assert.ok(bytes.equals(content));
    }
    await bob.expect("alice shared notes é.bin (6 bytes)");
    await assertNothingMore(elsewhere, true);
    await assertNothingMore(carol, true);
  });

  it("refuses a file over the limit politely, and a frame far over it with 1009", async (t) => {
    const { ws } = await startChat(t, { maxFileBytes: 1000 });
    const alice = await jsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.event("join");
    alice.send(fileFrame("big.bin", "application/octet-stream", Buffer.alloc(1001)));
    assert.deepEqual(await alice.event("error"), { type: "error", code: "file-too-large", message: "File too large (max 1000 bytes)" });
    // A header that claims too much is refused the same way, whatever follows.
    alice.send(fileFrame("big.bin", "application/octet-stream", Buffer.alloc(10), 5_000_000));
    assert.equal((await alice.event("error"))["code"], "file-too-large");
    alice.send(fileFrame("ok.bin", "application/octet-stream", Buffer.alloc(1000)));
    assert.equal(unframe(await alice.next()).bytes.length, 1000);
    assert.equal(unframe(await bob.next()).bytes.length, 1000);
    await assertNothingMore(bob, true);
    alice.send(fileFrame("huge.bin", "application/octet-stream", Buffer.alloc(1000 + 4096 + 4 + FILE_REFUSAL_SLACK_BYTES + 1)));
    // The engine's reason says which limit: the largest file frame the chat lets the engine read.
    assert.deepEqual(await alice.waitClosed(), { code: 1009, reason: `message too big (limit ${1000 + 4 + 4096 + FILE_REFUSAL_SLACK_BYTES} bytes)` });
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
  });

  it("limits file bytes per second: the burst, refusals at its edge, the refill, and a close with 1008 for a flood", async (t) => {
    const clock = { now: 0 };
    const { ws } = await startChat(t, { maxFileBytes: 1000, fileRateLimit: { bytesPerSecond: 1000, burstBytes: 2000, floodStrikeBytes: 3000, now: () => clock.now } });
    const alice = await jsonClient(t, ws, "alice");
    const bob = await jsonClient(t, ws, "bob");
    await alice.event("join");
    const share = (size: number) => alice.send(fileFrame("f.bin", "application/octet-stream", Buffer.alloc(size)));
    share(1000);
    share(1000); // the burst: 2000 bytes at once
    for (let i = 0; i < 2; i++) {
      assert.equal(unframe(await alice.next()).bytes.length, 1000);
      assert.equal(unframe(await bob.next()).bytes.length, 1000);
    }
    share(1); // the bucket is empty: one byte over
    assert.deepEqual(await alice.event("error"), { type: "error", code: "rate-limited", message: "You are sharing files too fast (1000 bytes per second). Please wait a moment." });
    clock.now += 500; // 500 bytes back
    share(501); // refused again, silently: the same streak
    share(500);
    assert.equal(unframe(await alice.next()).bytes.length, 500);
    assert.equal(unframe(await bob.next()).bytes.length, 500);
    // Messages are another bucket: text still goes through with no file budget left.
    alice.sendJson({ type: "message", text: "still here" });
    assert.equal((await alice.event("message"))["text"], "still here");
    assert.equal((await bob.event("message"))["text"], "still here");
    // Refused bytes are strikes: 1 + 501 so far; 3 more refused files of 1000 pass 3000.
    for (let i = 0; i < 3; i++) share(1000);
    assert.equal((await alice.event("error"))["code"], "rate-limited", "a new streak after an allowed file is announced");
    assert.deepEqual(await alice.waitClosed(), { code: 1008, reason: "rate limit exceeded" });
    assert.deepEqual(await bob.event("leave"), { type: "leave", room: "lobby", name: "alice" });
  });

  it("answers a malformed file frame with bad-file, and a file from someone unnamed with no-name", async (t) => {
    const { ws } = await startChat(t);
    const alice = await textClient(t, ws, "alice");
    const header = (json: string) => {
      const body = Buffer.from(json);
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length);
      body.copy(frame, 4);
      return frame;
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["too short", Buffer.from([0, 0]), /4-byte header length/],
      ["header past the end", Buffer.from([0, 0, 0, 9, 1]), /longer than the frame/],
      ["header too large", Buffer.from([0, 1, 0, 0]), /over 4096 bytes/],
      ["not JSON", header("{nope"), /not UTF-8 JSON/],
      ["an array", header("[]"), /JSON object/],
      ["a path", fileFrame("../etc/passwd", "text/plain", Buffer.from("x")), /path separators/],
      ["a backslash", fileFrame("a\\b", "text/plain", Buffer.from("x")), /path separators/],
      ["an empty name", fileFrame("", "text/plain", Buffer.from("x")), /1-255 characters/],
      ["a control character", fileFrame("a\nb", "text/plain", Buffer.from("x")), /control characters/],
      ["a bad type", fileFrame("a.txt", "text plain", Buffer.from("x")), /MIME type/],
      ["a wrong size", fileFrame("a.txt", "text/plain", Buffer.from("xyz"), 2), /size must equal the 3 bytes/],
    ];
    for (const [what, frame, message] of cases) {
      alice.send(frame);
      assert.match(await alice.text(), message, what);
    }
    const anonymous = await jsonClient(t, ws);
    anonymous.send(fileFrame("a.txt", "text/plain", Buffer.from("x")));
    assert.equal((await anonymous.event("error"))["code"], "no-name");
  });

  it("parses what it encodes, and accepts an empty file", () => {
    const frame = fileFrame("empty", "text/plain; charset=utf-8", new Uint8Array(0));
    const parsed = parseFileFrame(frame, 10);
    assert.ok(!("code" in parsed));
    assert.equal(parsed.name, "empty");
    assert.equal(parsed.type, "text/plain; charset=utf-8");
    assert.equal(parsed.size, 0);
    assert.equal(parsed.bytes.length, 0);
  });
});
