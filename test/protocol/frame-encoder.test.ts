import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Opcode } from "../../src/protocol/constants.js";
import {
  COPY_THRESHOLD_BYTES,
  encodeCloseFrame,
  encodeFrame,
  encodeFrameHeader,
  encodeFrameInto,
  encodeTextFrame,
} from "../../src/protocol/frame-encoder.js";

const bytes = (...values: number[]): Buffer => Buffer.from(values);

/**
 * Checks a masked frame: the header is `header` with the MASK bit, then a 4-byte key, then
 * `payload` masked with that key (the key is random, so it is read back from the frame).
 */
function assertMasked(frame: Buffer, header: Buffer, payload: Uint8Array): void {
  const expectedHeader = Buffer.from(header);
  expectedHeader[1]! |= 0x80;
  assert.deepEqual(frame.subarray(0, header.length), expectedHeader, "header");
  assert.equal(frame.length, header.length + 4 + payload.length, "frame length");
  const key = frame.subarray(header.length, header.length + 4);
  const unmasked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) unmasked[i] = frame[header.length + 4 + i]! ^ key[i % 4]!;
  assert.deepEqual(unmasked, Buffer.from(payload), "payload");
}

describe("encodeFrame (RFC 6455 §5.2, §5.7 examples)", () => {
  it("encodes the unmasked single-frame text 'Hello' as 0x81 0x05 48 65 6c 6c 6f", () => {
    assert.deepEqual(
      encodeFrame(Opcode.TEXT, Buffer.from("Hello"), true, false),
      bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    );
  });

  it("encodes the masked 'Hello' as 0x81 0x85, a random key, and the payload masked with it", () => {
    const frame = encodeFrame(Opcode.TEXT, Buffer.from("Hello"), true, true);
    assertMasked(frame, bytes(0x81, 0x05), Buffer.from("Hello"));
  });

  it("encodes the fragmented 'Hel' + 'lo' as 0x01 0x03 48 65 6c and 0x80 0x02 6c 6f", () => {
    assert.deepEqual(encodeFrame(Opcode.TEXT, Buffer.from("Hel"), false, false), bytes(0x01, 0x03, 0x48, 0x65, 0x6c));
    assert.deepEqual(encodeFrame(Opcode.CONTINUATION, Buffer.from("lo"), true, false), bytes(0x80, 0x02, 0x6c, 0x6f));
  });

  it("encodes an unmasked ping 'Hello' as 0x89 0x05 48 65 6c 6c 6f", () => {
    assert.deepEqual(
      encodeFrame(Opcode.PING, Buffer.from("Hello"), true, false),
      bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    );
  });

  it("encodes a masked pong 'Hello' as 0x8a 0x85 and the masked payload", () => {
    assertMasked(encodeFrame(Opcode.PONG, Buffer.from("Hello"), true, true), bytes(0x8a, 0x05), Buffer.from("Hello"));
  });

  it("encodes a 256-byte unmasked binary message as 0x82 0x7E 0x0100 then the payload", () => {
    const payload = Buffer.alloc(256, 0xab);
    const frame = encodeFrame(Opcode.BINARY, payload, true, false);
    assert.deepEqual(frame.subarray(0, 4), bytes(0x82, 0x7e, 0x01, 0x00));
    assert.deepEqual(frame.subarray(4), payload);
  });

  it("encodes a 64 KiB unmasked binary message as 0x82 0x7F 0x0000000000010000 then the payload", () => {
    const payload = Buffer.alloc(65536, 0xcd);
    const frame = encodeFrame(Opcode.BINARY, payload, true, false);
    assert.deepEqual(frame.subarray(0, 10), bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0));
    assert.deepEqual(frame.subarray(10), payload);
  });

  for (const [length, header] of [
    [0, [0x82, 0x00]],
    [125, [0x82, 0x7d]],
    [126, [0x82, 0x7e, 0x00, 0x7e]],
    [127, [0x82, 0x7e, 0x00, 0x7f]],
    [65535, [0x82, 0x7e, 0xff, 0xff]],
    [65536, [0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]],
  ] as const) {
    it(`uses the minimal length form for a ${length}-byte payload, unmasked and masked`, () => {
      const payload = Buffer.alloc(length);
      for (let i = 0; i < length; i++) payload[i] = (i * 7) & 0xff;
      const plain = encodeFrame(Opcode.BINARY, payload, true, false);
      assert.deepEqual(plain, Buffer.concat([Buffer.from(header), payload]));
      assertMasked(encodeFrame(Opcode.BINARY, payload, true, true), Buffer.from(header), payload);
      assert.deepEqual(encodeFrameHeader(Opcode.BINARY, length, true), Buffer.from(header));
    });
  }

  it("sets RSV1 when asked (for a negotiated extension)", () => {
    assert.deepEqual(encodeFrame(Opcode.TEXT, Buffer.from("a"), true, false, true), bytes(0xc1, 0x01, 0x61));
    assert.deepEqual(encodeFrameHeader(Opcode.BINARY, 3, false, true), bytes(0x42, 0x03));
  });

  it("never modifies the caller's payload, masked or not", () => {
    for (const size of [5, 200, 70000]) {
      const payload = Buffer.alloc(size, 0x5a);
      encodeFrame(Opcode.BINARY, payload, true, true);
      encodeFrame(Opcode.BINARY, payload, true, false);
      assert.ok(payload.every((b) => b === 0x5a));
    }
  });

  it("draws a different masking key for each frame", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 100; i++) keys.add(encodeFrame(Opcode.PING, Buffer.alloc(0), true, true).toString("hex", 2, 6));
    assert.ok(keys.size > 95);
  });

  it("throws a RangeError for an undefined opcode, a fragmented control frame, or a control payload over 125 bytes", () => {
    for (const opcode of [3, 7, 0xb, 0xf, 16, -1]) {
      assert.throws(() => encodeFrame(opcode, Buffer.alloc(0), true, false), RangeError);
    }
    assert.throws(() => encodeFrame(Opcode.PING, Buffer.alloc(1), false, false), RangeError);
    assert.throws(() => encodeFrame(Opcode.PONG, Buffer.alloc(126), true, false), RangeError);
    assert.doesNotThrow(() => encodeFrame(Opcode.PONG, Buffer.alloc(125), true, false));
  });
});

describe("encodeFrameHeader", () => {
  it("encodes payload lengths up to 2^53-1 in the 64-bit form with the top bit clear", () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.deepEqual(encodeFrameHeader(Opcode.BINARY, max, true), bytes(0x82, 0x7f, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assert.deepEqual(
      encodeFrameHeader(Opcode.BINARY, 2 ** 32 + 5, false),
      bytes(0x02, 0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0x05),
    );
  });

  it("throws a RangeError for a negative, fractional or unsafe length", () => {
    for (const length of [-1, 1.5, 2 ** 53, Number.NaN, Infinity]) {
      assert.throws(() => encodeFrameHeader(Opcode.BINARY, length, true), RangeError, String(length));
    }
  });

  it("is meant for payloads over COPY_THRESHOLD_BYTES, a justified 16 KiB", () => {
    assert.equal(COPY_THRESHOLD_BYTES, 16 * 1024);
  });
});

describe("encodeTextFrame", () => {
  for (const text of ["", "Hello", "κόσμε", "€", "😀 emoji", "a".repeat(125), "é".repeat(63), "日本".repeat(40), "x".repeat(70000)]) {
    it(`writes the UTF-8 of a ${text.length}-character string (${Buffer.byteLength(text)} bytes) exactly like encodeFrame`, () => {
      const utf8 = Buffer.from(text, "utf8");
      assert.deepEqual(encodeTextFrame(text, true, false), encodeFrame(Opcode.TEXT, utf8, true, false));
      const masked = encodeTextFrame(text, false, true);
      const headerLength = utf8.length < 126 ? 2 : utf8.length < 65536 ? 4 : 10;
      const plainHeader = encodeFrameHeader(Opcode.TEXT, utf8.length, false);
      assertMasked(masked, plainHeader, utf8);
      assert.equal(plainHeader.length, headerLength);
    });
  }

  it("counts a multibyte string by its UTF-8 bytes for the length form: 42 × '€' is 126 bytes", () => {
    const frame = encodeTextFrame("€".repeat(42), true, false);
    assert.deepEqual(frame.subarray(0, 4), bytes(0x81, 0x7e, 0x00, 0x7e));
  });

  it("encodes a lone surrogate as U+FFFD, like Buffer.from", () => {
    assert.deepEqual(encodeTextFrame("a\ud800", true, false), bytes(0x81, 0x04, 0x61, 0xef, 0xbf, 0xbd));
  });
});

describe("encodeCloseFrame (RFC 6455 §5.5.1)", () => {
  it("encodes a close without a code as 0x88 0x00", () => {
    assert.deepEqual(encodeCloseFrame(undefined, "", false), bytes(0x88, 0x00));
    assertMasked(encodeCloseFrame(undefined, "", true), bytes(0x88, 0x00), Buffer.alloc(0));
  });

  it("encodes the code in network byte order followed by the UTF-8 reason", () => {
    assert.deepEqual(encodeCloseFrame(1000, "", false), bytes(0x88, 0x02, 0x03, 0xe8));
    assert.deepEqual(encodeCloseFrame(1001, "bye", false), bytes(0x88, 0x05, 0x03, 0xe9, 0x62, 0x79, 0x65));
    assertMasked(encodeCloseFrame(4000, "ça", true), bytes(0x88, 0x05), bytes(0x0f, 0xa0, 0xc3, 0xa7, 0x61));
  });

  it("accepts a reason of exactly 123 UTF-8 bytes and rejects 124", () => {
    const frame = encodeCloseFrame(1000, "é".repeat(61) + "a", false);
    assert.deepEqual(frame.subarray(0, 2), bytes(0x88, 125));
    assert.throws(() => encodeCloseFrame(1000, "é".repeat(62), false), RangeError);
    assert.throws(() => encodeCloseFrame(1000, "a".repeat(124), true), RangeError);
  });

  it("throws a RangeError for a code that may not be sent", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, -1000]) {
      assert.throws(() => encodeCloseFrame(code, "", false), RangeError, String(code));
    }
    for (const code of [1000, 1003, 1007, 1011, 1012, 1014, 3000, 4999]) {
      assert.doesNotThrow(() => encodeCloseFrame(code, "", false), String(code));
    }
  });

  it("throws a RangeError for a reason without a code", () => {
    assert.throws(() => encodeCloseFrame(undefined, "oops", false), RangeError);
  });
});

describe("encodeFrameInto (small server frames laid out back to back)", () => {
  /** RFC 6455 §5.2 written out plainly: the reference the fast encoder is checked against. */
  function reference(opcode: number, payload: Buffer, fin: boolean): Buffer {
    const header = payload.length < 126 ? [(fin ? 0x80 : 0) | opcode, payload.length] : [(fin ? 0x80 : 0) | opcode, 126, payload.length >> 8, payload.length & 0xff];
    return Buffer.concat([Buffer.from(header), payload]);
  }

  it("writes the same bytes as the reference for bytes and strings of every length class, at any offset", () => {
    const lengths = [0, 1, 125, 126, 127, 1000, 65_535];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const length of lengths) {
      const payload = Buffer.from(Array.from({ length }, () => 0x20 + Math.floor(random() * 95)));
      for (const asString of [false, true]) {
        for (const [opcode, fin] of [[Opcode.TEXT, true], [Opcode.BINARY, false], [Opcode.CONTINUATION, true]] as const) {
          const offset = 3;
          const target = Buffer.alloc(offset + 4 + length + 5, 0xee);
          const end = encodeFrameInto(target, offset, opcode, asString ? payload.toString("latin1") : payload, length, fin);
          const expected = reference(opcode, payload, fin);
          assert.equal(end, offset + expected.length, `end, length ${length}`);
          assert.deepEqual(target.subarray(offset, end), expected, `length ${length}`);
          assert.ok(target.subarray(0, offset).every((b) => b === 0xee), "nothing written before");
          assert.ok(target.subarray(end).every((b) => b === 0xee), "nothing written after");
        }
      }
    }
  });

  it("writes the UTF-8 of a non-ASCII string, given its byte length", () => {
    const text = "héllo €𝄞";
    const target = Buffer.alloc(64);
    const end = encodeFrameInto(target, 0, Opcode.TEXT, text, Buffer.byteLength(text), true);
    assert.deepEqual(target.subarray(0, end), reference(Opcode.TEXT, Buffer.from(text), true));
  });

  it("refuses payloads of 64 KiB or more and invalid control frames", () => {
    const target = Buffer.alloc(70_000);
    assert.throws(() => encodeFrameInto(target, 0, Opcode.BINARY, Buffer.alloc(65_536), 65_536, true), RangeError);
    assert.throws(() => encodeFrameInto(target, 0, Opcode.PING, Buffer.alloc(126), 126, true), RangeError);
    assert.throws(() => encodeFrameInto(target, 0, 3, Buffer.alloc(1), 1, true), RangeError);
  });
});
