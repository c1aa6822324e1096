/**
 * The frame parser on frames that span several reads: UTF-8 validated as the bytes arrive
 * (RFC 6455 §8.1 fail-fast inside a frame, Autobahn 6.4.3 and 6.4.4), and memory that stays
 * proportional to the bytes held however small the reads are.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Opcode } from "../../src/protocol/constants.js";
import { FrameParser } from "../../src/protocol/frame-parser.js";
import {
  binaryEvent,
  errorEvent,
  frame,
  from,
  hex,
  KOSME,
  randomChunks,
  Recorder,
  ROLES,
  seeded,
  show,
  textEvent,
  type Role,
} from "../helpers/protocol-testing.js";

const INVALID_UTF8 = [errorEvent("ERR_INVALID_UTF8", 1007)];

/**
 * Length of the shortest prefix of `payload` that cannot begin valid UTF-8, by the reference:
 * WHATWG's fatal streaming decoder rejects a byte as soon as it cannot continue valid UTF-8.
 */
function invalidFrom(payload: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < payload.length; i++) {
    try {
      decoder.decode(payload.subarray(i, i + 1), { stream: true });
    } catch {
      return i + 1;
    }
  }
  throw new Error(`${show(payload)} is a valid UTF-8 prefix`);
}

/**
 * Asserts that a parser fed `input` in two reads, cut at every point, and one byte per read,
 * reports 1007 exactly once the first `failAt` bytes have arrived: not before, and not later.
 */
function assertFailsAt(role: Role, input: Buffer, failAt: number): void {
  for (let point = 1; point < input.length; point++) {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role });
    parser.push(Buffer.from(input.subarray(0, point)));
    assert.deepEqual(recorder.events, point >= failAt ? INVALID_UTF8 : [], `first read of ${point} bytes, invalid from ${failAt}`);
    parser.push(Buffer.from(input.subarray(point)));
    assert.deepEqual(recorder.events, INVALID_UTF8, `split at ${point}`);
    assert.equal(parser.bufferedBytes, 0);
  }
  const recorder = new Recorder();
  const parser = new FrameParser(recorder, { role });
  for (let i = 0; i < input.length; i++) {
    parser.push(Buffer.from(input.subarray(i, i + 1)));
    assert.deepEqual(recorder.events, i + 1 >= failAt ? INVALID_UTF8 : [], `one byte at a time, after ${i + 1} bytes`);
  }
}

/** Text payloads that turn invalid part-way, followed by more valid text. */
const INVALID_PAYLOADS: ReadonlyArray<readonly [string, Buffer]> = [
  ["κόσμε + F4 90 80 80 (above U+10FFFF, Autobahn 6.4.1 in one frame)", Buffer.concat([KOSME, hex("f4 90 80 80"), Buffer.from("edited")])],
  ["κόσμε + ED A0 80 (a surrogate)", Buffer.concat([KOSME, hex("ed a0 80"), Buffer.from("edited")])],
  ["an overlong C0 AF", Buffer.concat([Buffer.from("a/"), hex("c0 af"), Buffer.from("b".repeat(40))])],
  ["a sequence cut short by ASCII", Buffer.concat([Buffer.from("€uro "), hex("e2 82"), Buffer.from("A".repeat(200))])],
  ["FF after 300 valid bytes", Buffer.concat([Buffer.from("é".repeat(150)), hex("ff"), Buffer.from("z".repeat(20))])],
];

describe("UTF-8 validated as a text frame arrives (RFC 6455 §8.1, Autobahn 6.4.3, 6.4.4)", () => {
  for (const role of ROLES) {
    it(`${role} fails a 1 MiB text frame with 1007 on invalid UTF-8 in its first read, before the rest is sent`, () => {
      const payload = Buffer.alloc(1024 * 1024, "a");
      Buffer.concat([KOSME, hex("f4 90 80 80")]).copy(payload, 100);
      const input = from(role, { opcode: Opcode.TEXT, payload });
      const recorder = new Recorder();
      const parser = new FrameParser(recorder, { role });
      parser.push(Buffer.from(input.subarray(0, 4096)));
      assert.deepEqual(recorder.events, INVALID_UTF8);
      assert.equal(parser.stopped, true);
      assert.equal(parser.bufferedBytes, 0);
    });

    it(`${role} fails a 512 KiB continuation frame with 1007 on invalid UTF-8 in its first read`, () => {
      const payload = Buffer.alloc(512 * 1024, "b");
      hex("ed a0 80").copy(payload, 3000);
      const first = from(role, { opcode: Opcode.TEXT, payload: KOSME, fin: false });
      const input = Buffer.concat([first, from(role, { opcode: Opcode.CONTINUATION, payload })]);
      const recorder = new Recorder();
      const parser = new FrameParser(recorder, { role });
      parser.push(Buffer.from(input.subarray(0, first.length + 2000)));
      assert.deepEqual(recorder.events, []);
      parser.push(Buffer.from(input.subarray(first.length + 2000, first.length + 8000)));
      assert.deepEqual(recorder.events, INVALID_UTF8);
      assert.equal(parser.bufferedBytes, 0);
    });

    for (const [name, payload] of INVALID_PAYLOADS) {
      it(`${role} fails a text frame with 1007 as soon as ${name} has arrived, at every split point and byte by byte`, () => {
        const input = from(role, { opcode: Opcode.TEXT, payload });
        assertFailsAt(role, input, input.length - payload.length + invalidFrom(payload));
      });
    }

    it(`${role} fails a continuation frame with 1007 as soon as its invalid bytes have arrived, at every split point`, () => {
      for (const [name, payload] of INVALID_PAYLOADS) {
        const head = from(role, { opcode: Opcode.TEXT, payload: Buffer.concat([KOSME, hex("e2")]), fin: false });
        // "82 ac" completes the € that the first fragment began.
        const tail = Buffer.concat([hex("82 ac"), payload]);
        const input = Buffer.concat([head, from(role, { opcode: Opcode.CONTINUATION, payload: tail, fin: false })]);
        assert.equal(invalidFrom(Buffer.concat([KOSME, hex("e2"), tail])), KOSME.length + 1 + 2 + invalidFrom(payload), name);
        assertFailsAt(role, input, input.length - tail.length + 2 + invalidFrom(payload));
      }
    });

    it(`${role} delivers valid multibyte text cut inside its characters, whole or in fragments, however the reads fall`, () => {
      seeded((next) => {
        const characters = ["a", "é", "€", "😀", "κόσμε", "\u{10FFFF}", "\uFFFD"];
        for (let round = 0; round < 40; round++) {
          const text = Array.from({ length: 1 + (next() % 120) }, () => characters[next() % characters.length]).join("");
          const bytes = Buffer.from(text);
          const cut = next() % (bytes.length + 1);
          const single = from(role, { opcode: Opcode.TEXT, payload: bytes });
          const fragmented = Buffer.concat([
            from(role, { opcode: Opcode.TEXT, payload: bytes.subarray(0, cut), fin: false }),
            from(role, { opcode: Opcode.CONTINUATION, payload: bytes.subarray(cut) }),
          ]);
          for (const input of [single, fragmented]) {
            // Reads of 1 to 7 bytes: every masking phase at every read boundary.
            const recorder = new Recorder();
            const parser = new FrameParser(recorder, { role });
            for (const chunk of randomChunks(input, next, 7)) parser.push(Buffer.from(chunk));
            assert.deepEqual(recorder.events, [textEvent(text)], text);
          }
        }
      });
    });
  }
});

describe("memory of a frame trickled in tiny reads", () => {
  for (const role of ROLES) {
    for (const opcode of [Opcode.TEXT, Opcode.BINARY]) {
      const kind = opcode === Opcode.TEXT ? "text" : "binary";
      it(`${role} holds a 100 KiB ${kind} frame sent one byte per read in a few buffers, not one per read`, () => {
        const payload = Buffer.alloc(100 * 1024, "é"); // 2-byte characters, cut by every other read
        const input = from(role, { opcode, payload });
        const headerBytes = input.length - payload.length;
        const recorder = new Recorder();
        const parser = new FrameParser(recorder, { role });
        let most = 0;
        for (let i = 0; i < input.length - 1; i++) {
          parser.push(Buffer.from(input.subarray(i, i + 1)));
          if (i >= headerBytes) assert.equal(parser.bufferedBytes, i + 1 - headerBytes);
          // Small reads go into buffers of 1 KiB and more: never more than one per KiB held.
          assert.ok(parser.bufferedChunks <= 2 + parser.bufferedBytes / 1024, `${parser.bufferedChunks} buffers for ${parser.bufferedBytes} bytes`);
          most = Math.max(most, parser.bufferedChunks);
        }
        assert.ok(most <= 16, `held ${most} buffers`);
        assert.deepEqual(recorder.events, []);
        parser.push(Buffer.from(input.subarray(input.length - 1)));
        assert.deepEqual(recorder.events, [opcode === Opcode.TEXT ? textEvent(payload) : binaryEvent(payload)]);
        assert.equal(parser.bufferedBytes, 0);
        assert.equal(parser.bufferedChunks, 0);
      });
    }

    it(`${role} never overwrites a delivered message with reads that arrive after it`, () => {
      seeded((next) => {
        const texts = Array.from({ length: 300 }, (_, i) => `message ${i} ${"é".repeat(next() % 40)}`);
        const input = Buffer.concat(texts.map((payload) => from(role, { opcode: Opcode.TEXT, payload })));
        const recorder = new Recorder();
        const parser = new FrameParser(recorder, { role });
        // Reads that straddle frames, so that bytes are always waiting and reads are coalesced.
        for (const chunk of randomChunks(input, next, 9)) parser.push(Buffer.from(chunk));
        assert.deepEqual(recorder.events, texts.map(textEvent));
        assert.deepEqual(recorder.messages.map((message) => message.toString()), texts, "messages unchanged after later reads");
      });
    });
  }

  it("holds a read of 4 KiB or more as it is, and keeps a frame inside one read a view of it", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "client" });
    const frame = from("client", { opcode: Opcode.BINARY, payload: Buffer.alloc(10_000, 7) });
    parser.push(frame.subarray(0, 100));
    parser.push(frame.subarray(100, 5000)); // a large read behind waiting bytes: not copied
    assert.equal(parser.bufferedChunks, 2);
    parser.push(frame.subarray(5000));
    assert.equal(recorder.events.length, 1);
    const chunk = from("client", { opcode: Opcode.TEXT, payload: "view" });
    parser.push(chunk);
    const message = recorder.messages[1]!;
    assert.equal(message.buffer, chunk.buffer);
  });
});

describe("a masked binary payload spanning reads (copied and unmasked in one pass)", () => {
  it("is delivered exactly as sent whatever the cut points and chunk alignments", () => {
    seeded((next) => {
      for (const length of [0, 1, 200, 1023, 1500, 5000, 70_000]) {
        const payload = Buffer.from(Array.from({ length }, () => next() & 0xff));
        const key = Uint8Array.of(next() & 0xff, next() & 0xff, next() & 0xff, next() & 0xff);
        const bytes = Buffer.concat([frame({ opcode: Opcode.BINARY, payload, mask: key }), frame({ opcode: Opcode.BINARY, payload: "z", mask: key })]);
        for (let round = 0; round < 6; round++) {
          // Chunks at random offsets of their own buffers, as socket reads are.
          const chunks = randomChunks(bytes, next, 1 + (next() % 3000)).map((c) => {
            const pad = next() % 4;
            const store = Buffer.alloc(pad + c.length);
            c.copy(store, pad);
            return store.subarray(pad);
          });
          const recorder = new Recorder();
          const parser = new FrameParser(recorder, { role: "server", maxMessageBytes: 1 << 20 });
          for (const chunk of chunks) parser.push(chunk);
          assert.equal(recorder.messages.length, 2, `length ${length}`);
          assert.ok(recorder.messages[0]!.equals(payload), `length ${length}, chunks ${chunks.map((c) => c.length).join(",")}`);
          assert.equal(recorder.messages[1]!.toString(), "z");
        }
      }
    });
  });
});
