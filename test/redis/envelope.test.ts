// The binary envelope of a publication: round trip, own publications recognised, bad bytes refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WyndError } from "../../src/index.js";
import { EnvelopeCodec, EVERY_NODE, Kind } from "../../src/redis/envelope.js";

test("an envelope carries kind, text or binary and the payload bytes, without JSON or base64", () => {
  const sender = new EnvelopeCodec("node-a");
  const receiver = new EnvelopeCodec("node-b");
  const text = sender.encode(Kind.ROOM, "héllo ✓");
  assert.deepEqual([...text.subarray(0, 5)], [1, Kind.ROOM, 1, 0, 6]);
  assert.equal(text.subarray(5, 11).toString("latin1"), "node-a");
  assert.equal(text.byteLength, 11 + Buffer.byteLength("héllo ✓"));
  const decoded = receiver.decode(text)!;
  assert.deepEqual(decoded, { kind: Kind.ROOM, isBinary: false, payload: Buffer.from("héllo ✓") });
  const bytes = Uint8Array.of(0, 255, 7);
  const binary = receiver.decode(sender.encode(Kind.EVERYONE, bytes))!;
  assert.deepEqual(binary, { kind: Kind.EVERYONE, isBinary: true, payload: Buffer.from(bytes) });
  assert.deepEqual(receiver.decode(sender.encode(Kind.NODE, ""))!.payload, Buffer.alloc(0));
});

test("a node recognises its own envelopes (decode answers undefined), not those of a node with a longer or shorter id", () => {
  const a = new EnvelopeCodec("abc");
  assert.equal(a.decode(a.encode(Kind.ROOM, "x")), undefined);
  assert.notEqual(a.decode(new EnvelopeCodec("abcd").encode(Kind.ROOM, "x")), undefined);
  assert.notEqual(a.decode(new EnvelopeCodec("ab").encode(Kind.ROOM, "x")), undefined);
  assert.notEqual(a.decode(new EnvelopeCodec("abd").encode(Kind.ROOM, "x")), undefined);
});

test("an envelope flagged EVERY_NODE is delivered by its own node too, and by the others alike", () => {
  const a = new EnvelopeCodec("abc");
  const flagged = a.encode(Kind.ROOM, "for all", EVERY_NODE);
  assert.equal(flagged[3], EVERY_NODE);
  assert.deepEqual(a.decode(flagged), { kind: Kind.ROOM, isBinary: false, payload: Buffer.from("for all") });
  assert.deepEqual(new EnvelopeCodec("xyz").decode(flagged), { kind: Kind.ROOM, isBinary: false, payload: Buffer.from("for all") });
  // Another flag bit alone (reserved) does not make it everybody's.
  const other = a.encode(Kind.ROOM, "x", 2);
  assert.equal(a.decode(other), undefined);
});

test("bytes that are not an envelope are refused with ERR_ADAPTER_BAD_ENVELOPE", () => {
  const codec = new EnvelopeCodec("n");
  const bad = [
    Buffer.alloc(0),
    Buffer.from([1, 0, 1, 0]), // too short
    Buffer.from([2, 0, 1, 0, 0]), // unknown format
    Buffer.from([1, 3, 1, 0, 0]), // unknown kind
    Buffer.from([1, 0, 9, 0, 0]), // unknown opcode
    Buffer.from([1, 0, 1, 0, 5, 0x61]), // node id longer than the message
  ];
  for (const message of bad) {
    assert.throws(() => codec.decode(message), (error: WyndError) => error.code === "ERR_ADAPTER_BAD_ENVELOPE", message.toString("hex"));
  }
  assert.throws(() => new EnvelopeCodec(""), RangeError);
  assert.throws(() => new EnvelopeCodec("x".repeat(256)), RangeError);
});
