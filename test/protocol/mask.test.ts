import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { maskInto, nextMaskKey, unmaskInPlace, writeMaskKey } from "../../src/protocol/mask.js";
import { randomBytes as randomBuffer, seeded, type Rng } from "../helpers/protocol-testing.js";

/** The obvious implementation RFC 6455 §5.3 describes, to check the fast ones against. */
function referenceMask(data: Uint8Array, key: Uint8Array, keyOffset: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[keyOffset + (i % 4)]!;
  return out;
}

/** Random bytes at offset 0 of their own ArrayBuffer, so that views of them have known alignments. */
function randomBytes(next: Rng, length: number): Uint8Array {
  return new Uint8Array(randomBuffer(next, length));
}

/** Lengths 0..67 exhaustively, then the word-loop thresholds and a few large sizes. */
const LENGTHS = [
  ...Array.from({ length: 68 }, (_, i) => i),
  95, 96, 97, 127, 128, 129, 131, 255, 256, 1000, 4096, 65537,
];

describe("mask (RFC 6455 §5.3)", () => {
  it("masks the RFC 6455 §5.7 example: 'Hello' with key 37 fa 21 3d is 7f 9f 4d 51 58", () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const target = new Uint8Array(5);
    maskInto(Buffer.from("Hello"), target, 0, key, 0);
    assert.deepEqual([...target], [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    unmaskInPlace(target, key, 0);
    assert.equal(Buffer.from(target).toString(), "Hello");
  });

  it("unmaskInPlace matches the byte-by-byte reference for every length, alignment and key offset", () => {
    seeded((next) => {
      for (const length of LENGTHS) {
        for (let round = 0; round < 8; round++) {
          const dataOffset = next() % 8; // every alignment of the view in its ArrayBuffer
          const keyOffset = next() % 6;
          const backing = randomBytes(next, dataOffset + length + 8);
          const data = backing.subarray(dataOffset, dataOffset + length);
          const key = randomBytes(next, keyOffset + 4 + (next() % 3));
          const before = backing.slice();
          const expected = referenceMask(data, key, keyOffset);
          unmaskInPlace(data, key, keyOffset);
          assert.deepEqual(data, expected, `length ${length}, offset ${dataOffset}, key offset ${keyOffset}`);
          // Bytes around the view are untouched.
          assert.deepEqual(backing.subarray(0, dataOffset), before.subarray(0, dataOffset));
          assert.deepEqual(backing.subarray(dataOffset + length), before.subarray(dataOffset + length));
        }
      }
    });
  });

  it("maskInto matches the reference for every length and alignment, leaving the source and the rest of the target alone", () => {
    seeded((next) => {
      for (const length of LENGTHS) {
        for (let round = 0; round < 8; round++) {
          const sourceOffset = next() % 8;
          const targetOffset = next() % 16;
          const keyOffset = next() % 6;
          const source = randomBytes(next, sourceOffset + length).subarray(sourceOffset);
          const sourceBefore = source.slice();
          const targetBacking = randomBytes(next, 3 + targetOffset + length + 5);
          const target = targetBacking.subarray(3); // a view that is not 4-byte aligned
          const targetBefore = target.slice();
          const key = randomBytes(next, keyOffset + 4);
          maskInto(source, target, targetOffset, key, keyOffset);
          const message = `length ${length}, target offset ${targetOffset}, key offset ${keyOffset}`;
          assert.deepEqual(target.subarray(targetOffset, targetOffset + length), referenceMask(source, key, keyOffset), message);
          assert.deepEqual(source, sourceBefore, message);
          assert.deepEqual(target.subarray(0, targetOffset), targetBefore.subarray(0, targetOffset), message);
          assert.deepEqual(target.subarray(targetOffset + length), targetBefore.subarray(targetOffset + length), message);
        }
      }
    });
  });

  it("maskInto's one-pass word loop (source and target equally aligned) matches the reference at every phase and key offset", () => {
    seeded((next) => {
      for (const length of [1023, 1024, 1025, 1027, 4099, 65_536]) {
        for (let phase = 0; phase < 4; phase++) {
          for (const keyOffset of [0, 1, 3, 4]) {
            const source = randomBytes(next, phase + length).subarray(phase);
            const target = randomBytes(next, 8 + length + 4);
            const targetOffset = 4 + phase; // the same address mod 4 as the source
            const key = randomBytes(next, 8);
            const before = Buffer.from(target);
            maskInto(source, target, targetOffset, key, keyOffset);
            const message = `length ${length}, phase ${phase}, key offset ${keyOffset}`;
            assert.deepEqual(target.subarray(targetOffset, targetOffset + length), referenceMask(source, key, keyOffset), message);
            assert.deepEqual(Buffer.from(target.subarray(0, targetOffset)), before.subarray(0, targetOffset), message);
            assert.deepEqual(Buffer.from(target.subarray(targetOffset + length)), before.subarray(targetOffset + length), message);
          }
        }
      }
    });
  });

  it("masking twice with the same key restores the data", () => {
    seeded((next) => {
      const data = randomBytes(next, 1234);
      const copy = data.slice();
      const key = randomBytes(next, 4);
      unmaskInPlace(data, key, 0);
      assert.notDeepEqual(data, copy);
      unmaskInPlace(data, key, 0);
      assert.deepEqual(data, copy);
    });
  });

  it("nextMaskKey draws 4 fresh bytes each time, across pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const { buffer, offset } = nextMaskKey();
      assert.ok(offset >= 0 && offset + 4 <= buffer.length);
      seen.add(buffer.toString("hex", offset, offset + 4));
    }
    // 5000 draws from 2^32 values: a repeat has probability ~0.3%, dozens would mean no entropy.
    assert.ok(seen.size > 4990, `only ${seen.size} distinct keys in 5000`);
  });

  it("writeMaskKey writes 4 bytes at the offset and nothing else", () => {
    const target = Buffer.alloc(12);
    let nonZero = false;
    for (let i = 0; i < 4; i++) {
      target.fill(0);
      writeMaskKey(target, 5);
      assert.deepEqual([...target.subarray(0, 5)], [0, 0, 0, 0, 0]);
      assert.deepEqual([...target.subarray(9)], [0, 0, 0]);
      if (target.readUInt32BE(5) !== 0) nonZero = true;
    }
    assert.ok(nonZero);
  });
});
