import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Opcode } from "../../src/protocol/constants.js";
import { encodeCloseFrame, encodeFrame, encodeTextFrame } from "../../src/protocol/frame-encoder.js";
import { FrameParser, type FrameParserOptions } from "../../src/protocol/frame-parser.js";
import {
  binaryEvent as binary,
  errorEvent as error,
  feedAllWays,
  frame,
  from,
  hex,
  KOSME,
  randomBytes,
  Recorder,
  ROLES,
  seeded,
  show,
  splitAt,
  textEvent as text,
  type Rng,
  type Role,
} from "../helpers/protocol-testing.js";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Feeds `chunks` (copied: the parser unmasks in place) to a fresh parser. */
function run(chunks: readonly Uint8Array[], options: FrameParserOptions): { recorder: Recorder; parser: FrameParser } {
  const recorder = new Recorder();
  const parser = new FrameParser(recorder, options);
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  const last = recorder.events.at(-1) ?? "";
  const ended = last.startsWith("close:") || last.startsWith("error:");
  assert.equal(parser.stopped, ended, "stopped exactly after a close or an error");
  if (ended) {
    assert.equal(parser.bufferedBytes, 0, "nothing held after stopping");
    const before = recorder.events.length;
    parser.push(from(options.role, { opcode: Opcode.TEXT, payload: "late" }));
    assert.equal(recorder.events.length, before, "input after a close or an error is discarded");
  }
  assert.ok(recorder.errors <= 1, "at most one error");
  return { recorder, parser };
}

/**
 * Parses `input` whole, at every split point into two chunks, and one byte at a time; all must
 * produce the same handler calls, which are returned.
 */
function parseAllWays(input: Uint8Array, options: FrameParserOptions): string[] {
  return feedAllWays(input, (chunks) => run(chunks, options).recorder.events);
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §5.7 examples
// ---------------------------------------------------------------------------------------------

describe("RFC 6455 §5.7 examples", () => {
  const unmaskedHello = hex("81 05 48 65 6c 6c 6f");
  const maskedHello = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");

  it("client parses the unmasked single-frame text 'Hello'", () => {
    assert.deepEqual(parseAllWays(unmaskedHello, { role: "client" }), [text("Hello")]);
  });

  it("server parses the masked single-frame text 'Hello'", () => {
    assert.deepEqual(parseAllWays(maskedHello, { role: "server" }), [text("Hello")]);
  });

  it("server fails the connection with 1002 on the unmasked 'Hello'", () => {
    assert.deepEqual(parseAllWays(unmaskedHello, { role: "server" }), [error("ERR_UNMASKED_FRAME", 1002)]);
  });

  it("client fails the connection with 1002 on the masked 'Hello'", () => {
    assert.deepEqual(parseAllWays(maskedHello, { role: "client" }), [error("ERR_MASKED_FRAME", 1002)]);
  });

  it("client assembles the fragmented unmasked text 'Hel' + 'lo'", () => {
    assert.deepEqual(parseAllWays(hex("01 03 48 65 6c 80 02 6c 6f"), { role: "client" }), [text("Hello")]);
  });

  it("server assembles the fragmented text 'Hel' + 'lo' when masked", () => {
    const input = Buffer.concat([
      frame({ opcode: Opcode.TEXT, payload: "Hel", fin: false, mask: true }),
      frame({ opcode: Opcode.CONTINUATION, payload: "lo", mask: Uint8Array.of(1, 2, 3, 4) }),
    ]);
    assert.deepEqual(parseAllWays(input, { role: "server" }), [text("Hello")]);
  });

  it("client parses the unmasked ping 'Hello' (0x89)", () => {
    assert.deepEqual(parseAllWays(hex("89 05 48 65 6c 6c 6f"), { role: "client" }), [`ping:${show(Buffer.from("Hello"))}`]);
  });

  it("server parses the masked pong 'Hello' (0x8a 0x85)", () => {
    const input = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58");
    assert.deepEqual(parseAllWays(input, { role: "server" }), [`pong:${show(Buffer.from("Hello"))}`]);
  });

  it("client parses a 256-byte binary message: 0x82 0x7E 0x0100", () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const input = Buffer.concat([hex("82 7e 01 00"), payload]);
    assert.deepEqual(parseAllWays(input, { role: "client" }), [binary(payload)]);
  });

  it("client parses a 64 KiB binary message: 0x82 0x7F 0x0000000000010000", () => {
    const payload = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 31) & 0xff));
    const input = Buffer.concat([hex("82 7f 00 00 00 00 00 01 00 00"), payload]);
    assert.deepEqual(parseAllWays(input, { role: "client" }), [binary(payload)]);
  });

  it("server parses the masked 256-byte and 64 KiB binary messages", () => {
    for (const size of [256, 65536]) {
      const payload = Buffer.from(Array.from({ length: size }, (_, i) => (i * 13) & 0xff));
      assert.deepEqual(parseAllWays(frame({ opcode: Opcode.BINARY, payload, mask: true }), { role: "server" }), [binary(payload)]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Lengths, several frames per chunk, interleaving, zero copy
// ---------------------------------------------------------------------------------------------

describe("payload lengths (RFC 6455 §5.2)", () => {
  for (const role of ROLES) {
    for (const size of [0, 1, 125, 126, 127, 65535, 65536]) {
      it(`${role} parses text and binary messages of ${size} bytes`, () => {
        const payload = Buffer.alloc(size, "x");
        const input = Buffer.concat([
          from(role, { opcode: Opcode.BINARY, payload }),
          from(role, { opcode: Opcode.TEXT, payload }),
        ]);
        assert.deepEqual(parseAllWays(input, { role }), [binary(payload), text(payload.toString())]);
      });
    }
  }

  it("accepts a length in a longer form than needed (the minimal-length MUST binds the sender)", () => {
    const input = Buffer.concat([
      from("client", { opcode: Opcode.TEXT, payload: "abc", form: 16 }),
      from("client", { opcode: Opcode.TEXT, payload: "def", form: 64 }),
    ]);
    assert.deepEqual(parseAllWays(input, { role: "client" }), [text("abc"), text("def")]);
  });
});

describe("streams of frames", () => {
  for (const role of ROLES) {
    it(`${role} delivers several frames from one chunk in order`, () => {
      const input = Buffer.concat([
        from(role, { opcode: Opcode.PING, payload: "p" }),
        from(role, { opcode: Opcode.TEXT, payload: "one" }),
        from(role, { opcode: Opcode.BINARY, payload: Uint8Array.of(1, 2) }),
        from(role, { opcode: Opcode.PONG }),
        from(role, { opcode: Opcode.TEXT, payload: "" }),
        from(role, { opcode: Opcode.CLOSE, payload: hex("03e8 627965") }),
      ]);
      assert.deepEqual(parseAllWays(input, { role }), ["ping:70", text("one"), "binary:0102", "pong:", "text:", "close:1000:bye"]);
    });

    it(`${role} delivers control frames interleaved with the fragments of a message`, () => {
      const input = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: KOSME.subarray(0, 3), fin: false }),
        from(role, { opcode: Opcode.PING, payload: "a" }),
        from(role, { opcode: Opcode.CONTINUATION, payload: KOSME.subarray(3, 4), fin: false }),
        from(role, { opcode: Opcode.PONG, payload: "b" }),
        from(role, { opcode: Opcode.PING }),
        from(role, { opcode: Opcode.CONTINUATION, payload: KOSME.subarray(4), fin: true }),
        from(role, { opcode: Opcode.BINARY, payload: "z", fin: false }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "", fin: true }),
      ]);
      assert.deepEqual(parseAllWays(input, { role }), ["ping:61", "pong:62", "ping:", `text:${show(KOSME)}`, "binary:7a"]);
    });
  }

  it("assembles a message of 4096 one-byte fragments, a multibyte character split across three of them", () => {
    const bytes = Buffer.concat([Buffer.from("€"), Buffer.alloc(4093, "a")]);
    const frames = Array.from(bytes, (byte, i) =>
      from("server", { opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: Uint8Array.of(byte), fin: i === bytes.length - 1 }),
    );
    const { recorder } = run([Buffer.concat(frames)], { role: "server" });
    assert.deepEqual(recorder.events, [text(bytes.toString())]);
    assert.deepEqual(run(frames, { role: "server" }).recorder.events, recorder.events);
  });

  it("reports bytes held for an incomplete frame and none once it completes", () => {
    const input = from("server", { opcode: Opcode.BINARY, payload: Buffer.alloc(300, 1) });
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "server" });
    parser.push(input.subarray(0, 1));
    assert.equal(parser.bufferedBytes, 1);
    parser.push(input.subarray(1, 100));
    assert.equal(parser.bufferedBytes, 100 - 8); // header and key consumed, 92 payload bytes held
    parser.push(input.subarray(100));
    assert.equal(parser.bufferedBytes, 0);
    assert.equal(recorder.events.length, 1);
  });

  it("holds only the bytes received for a frame announcing 1 MiB (nothing allocated up front)", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "client" });
    parser.push(hex("82 7f 00 00 00 00 00 10 00 00"));
    parser.push(Buffer.alloc(10));
    assert.equal(parser.bufferedBytes, 10);
    assert.deepEqual(recorder.events, []);
  });
});

describe("zero copy", () => {
  for (const role of ROLES) {
    it(`${role} delivers a single-chunk message as a view of the chunk, unmasked in place`, () => {
      const chunk = Buffer.concat([from(role, { opcode: Opcode.PING }), from(role, { opcode: Opcode.TEXT, payload: "Hello" })]);
      const recorder = new Recorder();
      new FrameParser(recorder, { role }).push(chunk);
      const [message] = recorder.messages;
      assert.ok(message !== undefined);
      assert.equal(message.toString(), "Hello");
      assert.equal(message.buffer, chunk.buffer, "same ArrayBuffer");
      assert.equal(message.byteOffset, chunk.byteOffset + chunk.length - 5);
    });

    it(`${role} copies a fragmented message into its own buffer, not keeping the socket chunks alive`, () => {
      const chunk = Buffer.concat([
        from(role, { opcode: Opcode.BINARY, payload: "a", fin: false }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "b" }),
        Buffer.alloc(64 * 1024),
      ]);
      const recorder = new Recorder();
      new FrameParser(recorder, { role, maxMessageBytes: 8 }).push(chunk.subarray(0, chunk.length - 64 * 1024));
      const [message] = recorder.messages;
      assert.ok(message !== undefined);
      assert.equal(message.toString(), "ab");
      assert.notEqual(message.buffer, chunk.buffer);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Close frames (RFC 6455 §5.5.1, §7.4)
// ---------------------------------------------------------------------------------------------

describe("close frames", () => {
  for (const role of ROLES) {
    const close = (payload: Uint8Array | string): Buffer => from(role, { opcode: Opcode.CLOSE, payload });
    const after = from(role, { opcode: Opcode.TEXT, payload: "after" });

    it(`${role} reports 1005 and "" for an empty close payload and discards what follows`, () => {
      assert.deepEqual(parseAllWays(Buffer.concat([close(""), after]), { role }), ["close:1005:"]);
    });

    it(`${role} reports the code and the UTF-8 reason`, () => {
      assert.deepEqual(parseAllWays(Buffer.concat([close(hex("0fa0 c3a761")), after]), { role }), ["close:4000:ça"]);
      assert.deepEqual(parseAllWays(close(Buffer.concat([hex("03e8"), Buffer.alloc(123, "r")])), { role }), [`close:1000:${"r".repeat(123)}`]);
    });

    it(`${role} accepts every close code allowed on the wire`, () => {
      for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        assert.deepEqual(run([close(payload)], { role }).recorder.events, [`close:${code}:`]);
      }
    });

    it(`${role} fails the connection with 1002 on a close code not allowed on the wire`, () => {
      for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        assert.deepEqual(parseAllWays(Buffer.concat([close(payload), after]), { role }), [error("ERR_INVALID_CLOSE_CODE", 1002)], String(code));
      }
    });

    it(`${role} fails the connection with 1002 on a close payload of exactly 1 byte`, () => {
      assert.deepEqual(parseAllWays(Buffer.concat([close(hex("03")), after]), { role }), [error("ERR_INVALID_CLOSE_PAYLOAD", 1002)]);
    });

    it(`${role} fails the connection with 1007 on a close reason that is not UTF-8`, () => {
      for (const reason of ["ff", "eda080", "c0af", "e282"]) {
        assert.deepEqual(parseAllWays(close(hex(`03e8 41 ${reason}`)), { role }), [error("ERR_INVALID_UTF8", 1007)], reason);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Every MUST of RFC 6455 §5 that fails the connection
// ---------------------------------------------------------------------------------------------

describe("protocol violations", () => {
  /** Valid traffic before the violation is delivered; nothing after it is. */
  function violation(role: Role, bad: Buffer, code: string, closeCode: number): void {
    const before = from(role, { opcode: Opcode.TEXT, payload: "ok" });
    const after = Buffer.concat([from(role, { opcode: Opcode.TEXT, payload: "after" }), from(role, { opcode: Opcode.PING })]);
    const events = parseAllWays(Buffer.concat([before, bad, after]), { role });
    assert.deepEqual(events, [text("ok"), error(code, closeCode)]);
  }

  for (const role of ROLES) {
    it(`${role} fails the connection with 1002 on any RSV bit (no extension is negotiated)`, () => {
      for (const rsv of [4, 2, 1, 7]) {
        violation(role, from(role, { opcode: Opcode.TEXT, payload: "x", rsv }), "ERR_RESERVED_BITS", 1002);
        violation(role, from(role, { opcode: Opcode.PING, rsv }), "ERR_RESERVED_BITS", 1002);
      }
    });

    it(`${role} fails the connection with 1002 on the reserved opcodes 3-7 and 0xB-0xF`, () => {
      for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
        violation(role, from(role, { opcode, payload: "x" }), "ERR_INVALID_OPCODE", 1002);
      }
    });

    it(`${role} fails the connection with 1002 on a fragmented control frame`, () => {
      for (const opcode of [Opcode.CLOSE, Opcode.PING, Opcode.PONG]) {
        violation(role, from(role, { opcode, payload: "x", fin: false }), "ERR_FRAGMENTED_CONTROL_FRAME", 1002);
      }
    });

    it(`${role} fails the connection with 1002 on a control frame over 125 bytes, accepting 125`, () => {
      for (const opcode of [Opcode.CLOSE, Opcode.PING, Opcode.PONG]) {
        violation(role, from(role, { opcode, payload: Buffer.alloc(126) }), "ERR_CONTROL_FRAME_TOO_LONG", 1002);
        violation(role, from(role, { opcode, payload: Buffer.alloc(1), form: 16 }), "ERR_CONTROL_FRAME_TOO_LONG", 1002);
        violation(role, from(role, { opcode, payload: Buffer.alloc(1), form: 64 }), "ERR_CONTROL_FRAME_TOO_LONG", 1002);
      }
      assert.deepEqual(run([from(role, { opcode: Opcode.PING, payload: Buffer.alloc(125) })], { role }).recorder.events, [`ping:${show(Buffer.alloc(125))}`]);
    });

    it(`${role} fails the connection with 1002 on a 64-bit length with the most significant bit set`, () => {
      violation(role, from(role, { opcode: Opcode.BINARY, declared: 2n ** 63n }), "ERR_INVALID_FRAME_LENGTH", 1002);
      violation(role, from(role, { opcode: Opcode.BINARY, payload: "x", form: 64, declared: 2n ** 63n + 1n }), "ERR_INVALID_FRAME_LENGTH", 1002);
    });

    it(`${role} fails the connection with 1002 on a continuation frame with no message open`, () => {
      violation(role, from(role, { opcode: Opcode.CONTINUATION, payload: "x" }), "ERR_UNEXPECTED_CONTINUATION", 1002);
      violation(role, from(role, { opcode: Opcode.CONTINUATION, payload: "x", fin: false }), "ERR_UNEXPECTED_CONTINUATION", 1002);
      // ... including right after a fragmented message ended.
      const ended = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: "a", fin: false }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "b" }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "c" }),
      ]);
      assert.deepEqual(parseAllWays(ended, { role }), [text("ab"), error("ERR_UNEXPECTED_CONTINUATION", 1002)]);
    });

    it(`${role} fails the connection with 1002 on a new data frame while a fragmented message is open`, () => {
      for (const opcode of [Opcode.TEXT, Opcode.BINARY]) {
        const bad = Buffer.concat([
          from(role, { opcode: Opcode.BINARY, payload: "a", fin: false }),
          from(role, { opcode: Opcode.PING }),
          from(role, { opcode, payload: "b" }),
        ]);
        const events = parseAllWays(bad, { role });
        assert.deepEqual(events, ["ping:", error("ERR_EXPECTED_CONTINUATION", 1002)]);
      }
    });

    it(`${role} fails the connection with 1002 on a frame with the wrong masking`, () => {
      const wrong = frame({ opcode: Opcode.TEXT, payload: "x", mask: role === "client" });
      violation(role, wrong, role === "server" ? "ERR_UNMASKED_FRAME" : "ERR_MASKED_FRAME", 1002);
      const wrongControl = frame({ opcode: Opcode.PING, mask: role === "client" });
      violation(role, wrongControl, role === "server" ? "ERR_UNMASKED_FRAME" : "ERR_MASKED_FRAME", 1002);
    });

    it(`${role} fails the connection with 1007 on invalid UTF-8 in a single-frame text message`, () => {
      for (const bad of ["ff", "c0af", "eda080", "f4908080", "e282"]) {
        violation(role, from(role, { opcode: Opcode.TEXT, payload: hex(`41 ${bad} 41`) }), "ERR_INVALID_UTF8", 1007);
      }
    });

    it(`${role} fails the connection with 1007 on a text message ending inside a sequence`, () => {
      const bad = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: hex("41 e2"), fin: false }),
        from(role, { opcode: Opcode.CONTINUATION, payload: hex("82") }),
      ]);
      violation(role, bad, "ERR_INVALID_UTF8", 1007);
    });

    it(`${role} accepts invalid UTF-8 in a binary message`, () => {
      assert.deepEqual(parseAllWays(from(role, { opcode: Opcode.BINARY, payload: hex("ff eda080") }), { role }), ["binary:ffeda080"]);
    });
  }

  it("fails fast on UTF-8 across fragments: on the fragment that makes it impossible, before the final one (Autobahn 6.4.1, 6.4.2)", () => {
    for (const [first, second] of [
      [KOSME, hex("f4 90 80 80")],
      [Buffer.concat([KOSME, hex("f4")]), hex("90")],
      [Buffer.concat([KOSME, hex("ed")]), hex("a0 80")],
      [KOSME, hex("c0")],
    ] as const) {
      const recorder = new Recorder();
      const parser = new FrameParser(recorder, { role: "server" });
      parser.push(from("server", { opcode: Opcode.TEXT, payload: first, fin: false }));
      assert.deepEqual(recorder.events, []);
      parser.push(from("server", { opcode: Opcode.CONTINUATION, payload: second, fin: false }));
      assert.deepEqual(recorder.events, [error("ERR_INVALID_UTF8", 1007)], show(second));
      parser.push(from("server", { opcode: Opcode.CONTINUATION, payload: "edited" }));
      assert.deepEqual(recorder.events, [error("ERR_INVALID_UTF8", 1007)]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Limits (RFC 6455 §10.4): decided from the header, before any payload is buffered
// ---------------------------------------------------------------------------------------------

describe("size limits", () => {
  for (const role of ROLES) {
    it(`${role} accepts a frame of exactly maxFrameBytes and fails one byte over with 1009`, () => {
      for (const limit of [100, 300, 70000]) {
        const options = { role, maxFrameBytes: limit, maxMessageBytes: 10 * limit };
        const exact = Buffer.alloc(limit, "a");
        assert.deepEqual(run([from(role, { opcode: Opcode.BINARY, payload: exact })], options).recorder.events, [binary(exact)]);
        const over = from(role, { opcode: Opcode.BINARY, payload: Buffer.alloc(limit + 1) });
        const { recorder, parser } = run([over.subarray(0, over.length - limit)], options); // header + 1 byte
        assert.deepEqual(recorder.events, [error("ERR_FRAME_TOO_BIG", 1009)]);
        assert.equal(parser.bufferedBytes, 0);
      }
    });

    it(`${role} accepts a fragmented message of exactly maxMessageBytes and fails one byte over with 1009 at the header`, () => {
      const options = { role, maxMessageBytes: 1000, maxFrameBytes: 600 };
      const fragments = (last: number): Buffer[] => [
        from(role, { opcode: Opcode.TEXT, payload: Buffer.alloc(500, "a"), fin: false }),
        from(role, { opcode: Opcode.PING, payload: Buffer.alloc(125) }), // control frames do not count
        from(role, { opcode: Opcode.CONTINUATION, payload: Buffer.alloc(last, "b") }),
      ];
      const exact = parseAllWays(Buffer.concat(fragments(500)), options);
      assert.deepEqual(exact.at(-1), text("a".repeat(500) + "b".repeat(500)));
      const over = fragments(501);
      const header = over[2]!.subarray(0, role === "server" ? 8 : 4);
      const { recorder } = run([over[0]!, over[1]!, header], options);
      assert.deepEqual(recorder.events.at(-1), error("ERR_MESSAGE_TOO_BIG", 1009));
      assert.deepEqual(parseAllWays(Buffer.concat(over), options).at(-1), error("ERR_MESSAGE_TOO_BIG", 1009));
    });

    it(`${role} accepts maxFragmentsPerMessage frames in a message and fails the next with 1009`, () => {
      const message = (count: number): Buffer =>
        Buffer.concat(
          Array.from({ length: count }, (_, i) =>
            from(role, { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: "x", fin: i === count - 1 }),
          ),
        );
      const options = { role, maxFragmentsPerMessage: 5 };
      assert.deepEqual(parseAllWays(Buffer.concat([message(5), message(5)]), options), [binary(Buffer.from("xxxxx")), binary(Buffer.from("xxxxx"))]);
      assert.deepEqual(parseAllWays(message(6), options), [error("ERR_TOO_MANY_FRAGMENTS", 1009)]);
    });

    it(`${role} by default accepts maxMessageBytes + 1 frames (one-byte fragments and an empty final frame) and fails one more`, () => {
      // Only the byte limit is set: the fragment bound derives from it (see MessageLimits).
      const limit = 8;
      const message = (bytes: number, empty: number): Buffer =>
        Buffer.concat(
          Array.from({ length: bytes + empty }, (_, i) =>
            from(role, { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: i < bytes ? "x" : "", fin: i === bytes + empty - 1 }),
          ),
        );
      const options = { role, maxMessageBytes: limit };
      assert.deepEqual(parseAllWays(message(limit, 1), options), [binary(Buffer.from("x".repeat(limit)))]);
      assert.deepEqual(parseAllWays(message(limit, 2), options), [error("ERR_TOO_MANY_FRAGMENTS", 1009)]);
      // Empty frames alone reach the bound too; a byte more is the byte limit's.
      assert.deepEqual(parseAllWays(message(0, limit + 1), options), [binary(Buffer.alloc(0))]);
      assert.deepEqual(parseAllWays(message(0, limit + 2), options), [error("ERR_TOO_MANY_FRAGMENTS", 1009)]);
      assert.deepEqual(parseAllWays(message(limit + 1, 0), options), [error("ERR_MESSAGE_TOO_BIG", 1009)]);
    });

    it(`${role}: a fragment costs no memory beyond its bytes (100,000 empty fragments and one byte fit the first buffer)`, () => {
      const count = 100_000;
      const frames = Buffer.concat(
        Array.from({ length: count + 1 }, (_, i) =>
          from(role, { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: i === count ? "z" : "", fin: i === count }),
        ),
      );
      const recorder = new Recorder();
      const parser = new FrameParser(recorder, { role });
      parser.push(frames);
      const delivered = recorder.messages;
      assert.equal(delivered.length, 1);
      assert.equal(delivered[0]!.toString(), "z");
      // No object or array slot per fragment, and no growth: the assembling buffer is the first
      // one (1 KiB, from Node's 8 KiB allocation pool), whatever the number of frames.
      assert.ok(delivered[0]!.buffer.byteLength <= 8192, `backed by ${delivered[0]!.buffer.byteLength} bytes`);
      assert.equal(parser.bufferedBytes, 0);
    });

    it(`${role} fails a declared length of 2^53 with 1009 and one of 2^63 with 1002 from the header alone`, () => {
      for (const [declared, expected] of [
        [2 ** 53, error("ERR_FRAME_TOO_BIG", 1009)],
        [2 ** 53 - 1, error("ERR_FRAME_TOO_BIG", 1009)],
        [2 ** 63, error("ERR_INVALID_FRAME_LENGTH", 1002)],
        [0xffffffffffffffffn, error("ERR_INVALID_FRAME_LENGTH", 1002)],
      ] as const) {
        const header = from(role, { opcode: Opcode.BINARY, declared });
        const { recorder, parser } = run([header], { role });
        assert.deepEqual(recorder.events, [expected], String(declared));
        assert.equal(parser.bufferedBytes, 0);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// stop(), re-entrancy, exceptions in handlers
// ---------------------------------------------------------------------------------------------

describe("stopping", () => {
  const three = Buffer.concat([
    from("server", { opcode: Opcode.TEXT, payload: "1" }),
    from("server", { opcode: Opcode.TEXT, payload: "2" }),
    from("server", { opcode: Opcode.TEXT, payload: "3" }),
  ]);

  it("stop() from inside onMessage stops the rest of the chunk at once", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "server" });
    recorder.onEvent = () => parser.stop();
    parser.push(Buffer.from(three));
    assert.deepEqual(recorder.events, [text("1")]);
    assert.equal(parser.stopped, true);
    assert.equal(parser.bufferedBytes, 0);
    parser.push(Buffer.from(three));
    assert.deepEqual(recorder.events, [text("1")]);
  });

  it("stop() from inside onPing between fragments discards the open message", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "client" });
    recorder.onEvent = (event) => event.startsWith("ping") && parser.stop();
    parser.push(Buffer.concat([
      from("client", { opcode: Opcode.TEXT, payload: "a", fin: false }),
      from("client", { opcode: Opcode.PING }),
      from("client", { opcode: Opcode.CONTINUATION, payload: "b" }),
    ]));
    assert.deepEqual(recorder.events, ["ping:"]);
  });

  it("a push from inside a handler is queued behind the chunk being parsed", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "server" });
    recorder.onEvent = (event) => {
      if (event === text("1")) parser.push(from("server", { opcode: Opcode.TEXT, payload: "4" }));
    };
    parser.push(Buffer.from(three));
    assert.deepEqual(recorder.events, ["1", "2", "3", "4"].map(text));
  });

  it("an exception thrown by a handler reaches the caller and does not wedge the parser", () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { role: "server" });
    recorder.onEvent = (event) => {
      if (event === text("1")) throw new Error("user bug");
    };
    assert.throws(() => parser.push(Buffer.from(three)), /user bug/);
    parser.push(from("server", { opcode: Opcode.TEXT, payload: "4" }));
    assert.deepEqual(recorder.events, ["1", "2", "3", "4"].map(text));
  });

  it("rejects limits that are not positive integers (caller misuse)", () => {
    assert.throws(() => new FrameParser(new Recorder(), { role: "server", maxMessageBytes: 0 }), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Randomized: garbage never throws; encoder → parser round trip
// ---------------------------------------------------------------------------------------------

describe("randomized", () => {
  it("never throws on seeded random byte streams and mutated valid streams, reporting at most one error", () => {
    seeded((next) => {
      for (let round = 0; round < 1500; round++) {
        const role = ROLES[next() % 2]!;
        let input: Buffer;
        if (round % 2 === 0) {
          input = Buffer.from(Array.from({ length: next() % 600 }, () => next() & 0xff));
        } else {
          input = Buffer.concat(Array.from({ length: 1 + (next() % 6) }, () => randomFrame(next, role)));
          for (let flips = next() % 4; flips > 0; flips--) input[next() % input.length] = next() & 0xff;
        }
        const options: FrameParserOptions = next() % 2 === 0 ? { role } : { role, maxMessageBytes: 1 + (next() % 300), maxFragmentsPerMessage: 1 + (next() % 5) };
        const points = Array.from({ length: next() % 5 }, () => next() % (input.length + 1)).sort((a, b) => a - b);
        run(splitAt(input, points), options); // asserts nothing after a close or error, at most one error
      }
    });
  });

  for (const role of ROLES) {
    it(`${role}: random messages encoded with random fragmentation, masking and pings, split randomly, come out identical`, () => {
      seeded((next) => {
        const masked = role === "server";
        const frames: Buffer[] = [];
        const expected: string[] = [];
        for (let m = 0; m < 300; m++) {
          const isText = next() % 2 === 0;
          const payload = isText ? Buffer.from(randomText(next)) : randomBytes(next, randomSize(next));
          if (isText && next() % 4 === 0) {
            frames.push(encodeTextFrame(payload.toString(), true, masked));
          } else {
            const cuts = Array.from({ length: next() % 5 }, () => next() % (payload.length + 1)).sort((a, b) => a - b);
            let start = 0;
            const ends = [...cuts, payload.length];
            ends.forEach((end, i) => {
              const opcode = i === 0 ? (isText ? Opcode.TEXT : Opcode.BINARY) : Opcode.CONTINUATION;
              frames.push(encodeFrame(opcode, payload.subarray(start, end), i === ends.length - 1, masked));
              start = end;
              // A control frame between fragments (never after the last: it would follow the message).
              if (i < ends.length - 1 && next() % 3 === 0) {
                const ping = randomBytes(next, next() % 126);
                const isPing = next() % 2 === 0;
                frames.push(encodeFrame(isPing ? Opcode.PING : Opcode.PONG, ping, true, masked));
                expected.push(`${isPing ? "ping" : "pong"}:${show(ping)}`);
              }
            });
          }
          expected.push(isText ? text(payload.toString()) : binary(payload));
          if (next() % 6 === 0) {
            const ping = randomBytes(next, next() % 126);
            frames.push(encodeFrame(Opcode.PING, ping, true, masked));
            expected.push(`ping:${show(ping)}`);
          }
        }
        const closeCode = 1000 + (next() % 4);
        frames.push(encodeCloseFrame(closeCode, "done", masked));
        expected.push(`close:${closeCode}:done`);
        const stream = Buffer.concat(frames);
        const chunks: Buffer[] = [];
        for (let start = 0; start < stream.length; ) {
          const size = next() % 3 === 0 ? 1 + (next() % 8) : 1 + (next() % 5000);
          chunks.push(stream.subarray(start, start + size));
          start += size;
        }
        assert.deepEqual(run(chunks, { role }).recorder.events, expected);
      });
    });
  }
});

/** Mostly small sizes, with every length-form boundary now and then. */
function randomSize(next: Rng): number {
  const boundaries = [0, 125, 126, 127, 65535, 65536, 70000];
  return next() % 10 === 0 ? boundaries[next() % boundaries.length]! : next() % 300;
}

function randomText(next: Rng): string {
  const length = randomSize(next) >> (next() % 3);
  let out = "";
  for (let i = 0; i < length; i++) {
    const kind = next() % 4;
    if (kind < 2) out += String.fromCharCode(0x20 + (next() % 95));
    else if (kind === 2) out += String.fromCharCode(0xa0 + (next() % 0xd700)); // BMP below the surrogates
    else out += String.fromCodePoint(0x10000 + (next() % 0x100000));
  }
  return out;
}

/** A plausible frame for fuzzing: valid or slightly off, as the peer of `role` would send it. */
function randomFrame(next: Rng, role: Role): Buffer {
  const opcodes = [0, 1, 2, 8, 9, 10, 1, 2, 0];
  return from(role, {
    opcode: opcodes[next() % opcodes.length]!,
    payload: randomBytes(next, next() % 140),
    fin: next() % 4 !== 0,
  });
}
