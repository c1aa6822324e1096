import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { InputQueue } from "../../src/protocol/input-queue.js";
import { Utf8Validator } from "../../src/protocol/utf8.js";
import { KOSME, randomBytes, randomChunks, RFC_MASK_KEY, seeded, splitAt, splitPoints } from "../helpers/protocol-testing.js";

/** A queue holding `chunks`, pushed in order. */
function queueOf(chunks: readonly Buffer[]): InputQueue {
  const queue = new InputQueue();
  for (const chunk of chunks) queue.push(chunk);
  return queue;
}

/** The plain reference: XOR with the key, byte by byte, starting at phase 0. */
function referenceUnmask(bytes: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.from(bytes.map((b, i) => b ^ key[i & 3]!));
}

/** A fresh 8-byte key buffer holding the RFC 6455 sample key in bytes 0-3. */
function keyBuffer(): Uint8Array {
  const key = new Uint8Array(8);
  key.set(RFC_MASK_KEY);
  return key;
}

describe("InputQueue", () => {
  test("holds a chunk pushed while nothing waits as it is, without copying it", () => {
    const chunk = Buffer.from("abcdef");
    const queue = queueOf([chunk]);
    assert.equal(queue.first, chunk);
    assert.equal(queue.length, 6);
    assert.equal(queue.chunkCount, 1);
  });

  test("coalesces small reads behind waiting bytes into one buffer, whatever the read size", () => {
    const queue = queueOf([Buffer.from("x")]);
    for (let i = 0; i < 1000; i++) queue.push(Buffer.from([i & 0xff]));
    assert.equal(queue.length, 1001);
    // The first chunk as it came, then the accumulation buffers (at most 16 KiB each).
    assert.ok(queue.chunkCount <= 3, `${queue.chunkCount} chunks`);
    const all = queue.take(1001);
    assert.deepEqual([...all.subarray(1, 6)], [0, 1, 2, 3, 4]);
    assert.equal(queue.length, 0);
  });

  test("take returns a view inside one chunk and a copy across chunks, at every split point", () => {
    const bytes = Buffer.from("The quick brown fox jumps over the lazy dog");
    for (const point of splitPoints(bytes.length)) {
      const chunks = splitAt(Buffer.from(bytes), point);
      const queue = queueOf(chunks);
      const head = queue.take(3);
      assert.equal(head.toString(), "The", `split at ${point}`);
      if (point >= 3) assert.equal(head.buffer, chunks[0]!.buffer, "a view of the first chunk");
      assert.equal(queue.take(bytes.length - 3).toString(), bytes.subarray(3).toString(), `split at ${point}`);
      assert.equal(queue.length, 0);
      assert.equal(queue.first, undefined);
    }
  });

  test("readByte and readUint32 read big-endian values across chunk boundaries", () => {
    const bytes = Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0x01, 0x02, 0x03, 0x04, 0x7f]);
    for (const point of splitPoints(bytes.length)) {
      const queue = queueOf(splitAt(bytes, point));
      assert.equal(queue.readUint32(), 0xfffefdfc, `split at ${point}`);
      assert.equal(queue.readUint32(), 0x01020304, `split at ${point}`);
      assert.equal(queue.readByte(), 0x7f);
      assert.equal(queue.length, 0);
    }
  });

  test("takeUnmasked equals a plain XOR reference for payloads spanning random chunks", () => {
    seeded((next) => {
      for (let round = 0; round < 50; round++) {
        const prefix = next() % 5;
        const length = 1 + (next() % 300);
        const bytes = randomBytes(next, prefix + length);
        const queue = queueOf(randomChunks(Buffer.from(bytes), next, 64));
        if (prefix > 0) queue.take(prefix);
        const key = keyBuffer();
        const unmasked = queue.takeUnmasked(length, key);
        assert.deepEqual(unmasked, referenceUnmask(bytes.subarray(prefix), RFC_MASK_KEY));
        assert.equal(queue.length, 0);
      }
    });
  });

  test("copyTo copies bytes spanning chunks to the target offset and consumes them", () => {
    const queue = queueOf([Buffer.from("ab"), Buffer.from("cdefgh"), Buffer.from("ij")]);
    queue.take(1);
    const target = Buffer.alloc(12, 0x2e);
    queue.copyTo(target, 2, 8);
    assert.equal(target.toString(), "..bcdefghi..");
    assert.equal(queue.take(1).toString(), "j");
  });

  test("unmaskAndValidateNewest unmasks only the newest bytes in place and stops on invalid UTF-8", () => {
    const text = Buffer.concat([Buffer.from("ok "), KOSME]);
    const masked = referenceUnmask(text, RFC_MASK_KEY); // XOR is its own inverse
    for (const point of splitPoints(masked.length)) {
      const queue = queueOf(splitAt(Buffer.from(masked), point));
      const validator = new Utf8Validator();
      const key = keyBuffer();
      key.set(RFC_MASK_KEY, 4);
      // The first `point` bytes, then the rest, as two arrivals of one frame.
      assert.equal(queue.unmaskAndValidateNewest(queue.length, key, 0, validator), true, `split at ${point}`);
      assert.equal(queue.take(text.length).toString(), text.toString(), `split at ${point}`);
    }
    const bad = new InputQueue();
    bad.push(Buffer.from([0x61, 0xff, 0x62]));
    assert.equal(bad.unmaskAndValidateNewest(3, null, 0, new Utf8Validator()), false);
    assert.equal(bad.length, 3, "nothing is consumed");
  });

  test("clear discards everything that was waiting", () => {
    const queue = queueOf([Buffer.from("abc"), Buffer.from("d")]);
    queue.clear();
    assert.equal(queue.length, 0);
    assert.equal(queue.chunkCount, 0);
    assert.equal(queue.first, undefined);
  });
});
