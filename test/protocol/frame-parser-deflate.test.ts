// RFC 7692 §6 in the frame parser: RSV1 marks the first frame of a compressed message once
// permessage-deflate is negotiated; anywhere else (continuation, control frames, no negotiation)
// and RSV2/RSV3 fail with 1002. The parser suspends on a compressed message until resumed, and
// limits apply to the decompressed size (with a small allowance on the wire).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.js";
import { Opcode } from "../../src/protocol/constants.js";
import { compressedBound, FrameParser } from "../../src/protocol/frame-parser.js";
import { Protocol } from "../../src/protocol/protocol.js";
import { errorEvent as error, feedAllWays, from, Recorder, ROLES, show, textEvent as text } from "../helpers/protocol-testing.js";

/** A recorder that also records compressed messages, and resumes the parser at once by default. */
class DeflateRecorder extends Recorder {
  parser: FrameParser | undefined;
  autoResume = true;
  onCompressedMessage(data: Buffer, isBinary: boolean): void {
    this.events.push(`compressed-${isBinary ? "binary" : "text"}:${show(data)}`);
    if (this.autoResume) this.parser!.resume();
  }
}

function run(role: "server" | "client", chunks: readonly Buffer[], perMessageDeflate = true, maxMessageBytes?: number): DeflateRecorder {
  const recorder = new DeflateRecorder();
  const parser = new FrameParser(recorder, { role, perMessageDeflate, ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}) });
  recorder.parser = parser;
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  return recorder;
}

const RSV1 = 4;
const compressedEvent = (payload: string, binary = false) => `compressed-${binary ? "binary" : "text"}:${show(Buffer.from(payload))}`;

describe("frame parser with permessage-deflate (RFC 7692 §6)", () => {
  for (const role of ROLES) {
    it(`${role}: a single frame with RSV1 is delivered as a compressed message, neither UTF-8-checked nor decoded`, () => {
      // 0xff is invalid UTF-8: it must not be checked before inflation.
      const bytes = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, rsv: RSV1, payload: "\xff\x01" }),
        from(role, { opcode: Opcode.BINARY, rsv: RSV1, payload: "ab" }),
        from(role, { opcode: Opcode.TEXT, payload: "plain" }),
      ]);
      feedAllWays(bytes, (chunks) => {
        const recorder = run(role, chunks);
        assert.deepEqual(recorder.events, [
          `compressed-text:${show(Buffer.from("\xff\x01"))}`,
          compressedEvent("ab", true),
          text("plain"),
        ]);
      });
    });

    it(`${role}: a fragmented compressed message has RSV1 on its first frame only, control frames in between`, () => {
      const bytes = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, rsv: RSV1, fin: false, payload: "ab" }),
        from(role, { opcode: Opcode.PING, payload: "p" }),
        from(role, { opcode: Opcode.CONTINUATION, fin: false, payload: "cd" }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "ef" }),
        from(role, { opcode: Opcode.BINARY, fin: false, payload: "x" }),
        from(role, { opcode: Opcode.CONTINUATION, payload: "y" }),
      ]);
      feedAllWays(bytes, (chunks) => {
        const recorder = run(role, chunks);
        assert.deepEqual(recorder.events, [`ping:${show(Buffer.from("p"))}`, compressedEvent("abcdef"), `binary:${show(Buffer.from("xy"))}`]);
      });
    });

    const bad: Array<[string, Buffer[]]> = [
      ["RSV1 on a continuation frame", [
        from(role, { opcode: Opcode.TEXT, rsv: RSV1, fin: false, payload: "a" }),
        from(role, { opcode: Opcode.CONTINUATION, rsv: RSV1, payload: "b" }),
      ]],
      ["RSV1 on a continuation of an uncompressed message", [
        from(role, { opcode: Opcode.TEXT, fin: false, payload: "a" }),
        from(role, { opcode: Opcode.CONTINUATION, rsv: RSV1, payload: "b" }),
      ]],
      ["RSV1 on a ping", [from(role, { opcode: Opcode.PING, rsv: RSV1, payload: "a" })]],
      ["RSV1 on a pong", [from(role, { opcode: Opcode.PONG, rsv: RSV1 })]],
      ["RSV1 on a close frame", [from(role, { opcode: Opcode.CLOSE, rsv: RSV1, payload: "\x03\xe8" })]],
      ["RSV2 on a text frame", [from(role, { opcode: Opcode.TEXT, rsv: 2, payload: "a" })]],
      ["RSV3 on a binary frame", [from(role, { opcode: Opcode.BINARY, rsv: 1, payload: "a" })]],
      ["RSV1 and RSV2", [from(role, { opcode: Opcode.TEXT, rsv: 6, payload: "a" })]],
    ];
    for (const [label, frames] of bad) {
      it(`${role}: ${label} fails with 1002`, () => {
        feedAllWays(Buffer.concat(frames), (chunks) => {
          const recorder = run(role, chunks);
          assert.deepEqual(recorder.events, [error("ERR_RESERVED_BITS", 1002)]);
        });
      });
    }

    it(`${role}: RSV1 without permessage-deflate negotiated still fails with 1002`, () => {
      const recorder = run(role, [from(role, { opcode: Opcode.TEXT, rsv: RSV1, payload: "a" })], false);
      assert.deepEqual(recorder.events, [error("ERR_RESERVED_BITS", 1002)]);
    });

    it(`${role}: a new compressed message inside an open fragmented one fails with 1002`, () => {
      const recorder = run(role, [
        from(role, { opcode: Opcode.TEXT, fin: false, payload: "a" }),
        from(role, { opcode: Opcode.TEXT, rsv: RSV1, payload: "b" }),
      ]);
      assert.deepEqual(recorder.events, [error("ERR_EXPECTED_CONTINUATION", 1002)]);
    });
  }

  it("suspends on a compressed message and parses nothing more until resumed", () => {
    const recorder = new DeflateRecorder();
    recorder.autoResume = false;
    const parser = new FrameParser(recorder, { role: "client", perMessageDeflate: true });
    recorder.parser = parser;
    parser.push(Buffer.concat([
      from("client", { opcode: Opcode.TEXT, rsv: RSV1, payload: "zz" }),
      from("client", { opcode: Opcode.PING, payload: "after" }),
    ]));
    assert.deepEqual(recorder.events, [compressedEvent("zz")]);
    assert.equal(parser.suspended, true);
    parser.push(from("client", { opcode: Opcode.TEXT, payload: "later" }));
    assert.equal(recorder.events.length, 1, "nothing is parsed while suspended");
    parser.resume();
    assert.equal(parser.suspended, false);
    assert.deepEqual(recorder.events, [compressedEvent("zz"), `ping:${show(Buffer.from("after"))}`, text("later")]);
    parser.resume(); // not suspended: nothing happens
    assert.equal(recorder.events.length, 3);
  });

  it("stop() while suspended ends the suspension for good", () => {
    const recorder = new DeflateRecorder();
    recorder.autoResume = false;
    const parser = new FrameParser(recorder, { role: "client", perMessageDeflate: true });
    recorder.parser = parser;
    parser.push(from("client", { opcode: Opcode.TEXT, rsv: RSV1, payload: "zz" }));
    parser.stop();
    assert.equal(parser.suspended, false);
    parser.resume();
    parser.push(from("client", { opcode: Opcode.TEXT, payload: "x" }));
    assert.deepEqual(recorder.events, [compressedEvent("zz")]);
  });

  it("allows a compressed message slightly over the limit on the wire, but not an uncompressed one", () => {
    const limit = 1000;
    const over = compressedBound(limit);
    assert.ok(over > limit);
    const atBound = run("client", [from("client", { opcode: Opcode.BINARY, rsv: RSV1, payload: Buffer.alloc(over) })], true, limit);
    assert.equal(atBound.events.length, 1);
    assert.match(atBound.events[0]!, /^compressed-binary:/);
    const pastBound = run("client", [from("client", { opcode: Opcode.BINARY, rsv: RSV1, payload: Buffer.alloc(over + 1) })], true, limit);
    assert.deepEqual(pastBound.events, [error("ERR_FRAME_TOO_BIG", 1009)]);
    const plain = run("client", [from("client", { opcode: Opcode.BINARY, payload: Buffer.alloc(limit + 1) })], true, limit);
    assert.deepEqual(plain.events, [error("ERR_FRAME_TOO_BIG", 1009)]);
    // maxFrameBytes keeps its own (slightly widened) bound for compressed frames.
    const recorder = new DeflateRecorder();
    const parser = new FrameParser(recorder, { role: "client", perMessageDeflate: true, maxMessageBytes: 10_000, maxFrameBytes: limit });
    recorder.parser = parser;
    parser.push(from("client", { opcode: Opcode.BINARY, rsv: RSV1, fin: false, payload: Buffer.alloc(over + 1) }));
    assert.deepEqual(recorder.events, [error("ERR_FRAME_TOO_BIG", 1009)]);
    const fragmented = run("client", [
      from("client", { opcode: Opcode.BINARY, rsv: RSV1, fin: false, payload: Buffer.alloc(limit) }),
      from("client", { opcode: Opcode.CONTINUATION, payload: Buffer.alloc(over - limit + 1) }),
    ], true, limit);
    assert.deepEqual(fragmented.events, [error("ERR_MESSAGE_TOO_BIG", 1009)]);
  });
});

describe("assembling a compressed message in tiny fragments", () => {
  it("grows its buffer by doubling up to the wire bound, not one fragment at a time past maxMessageBytes", () => {
    // A compressed message may pass maxMessageBytes on the wire by up to compressedBound: a
    // buffer capped at maxMessageBytes would be reallocated (and copied whole) for every further
    // fragment there, quadratic work for a peer sending 1-byte fragments.
    const limit = 16 * 1024;
    const wire = compressedBound(limit);
    const bytes = Buffer.alloc(limit + 500);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    const frames = Buffer.concat(
      Array.from({ length: bytes.length }, (_, i) =>
        from("client", { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, rsv: i === 0 ? RSV1 : 0, payload: bytes.subarray(i, i + 1), fin: i === bytes.length - 1 }),
      ),
    );
    const delivered: Buffer[] = [];
    const recorder = new DeflateRecorder();
    recorder.onCompressedMessage = (data: Buffer) => {
      delivered.push(data);
      parser.resume();
    };
    const parser = new FrameParser(recorder, { role: "client", perMessageDeflate: true, maxMessageBytes: limit });
    parser.push(frames);
    assert.equal(delivered.length, 1, recorder.events.join(", "));
    assert.ok(delivered[0]!.equals(bytes));
    // 1 KiB doubling to 16 KiB, then one step to the wire bound: not limit + 500 exactly.
    assert.equal(delivered[0]!.buffer.byteLength, wire);
  });

  it("allows a compressed message the same wire allowance in frames as in bytes (maxMessageBytes + 1 frames by default)", () => {
    const limit = 1000;
    const wire = compressedBound(limit + 1); // the allowance of the default bound, limit + 1 frames
    const message = (frames: number): Buffer =>
      Buffer.concat(
        Array.from({ length: frames }, (_, i) =>
          from("client", { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, rsv: i === 0 ? RSV1 : 0, payload: "", fin: i === frames - 1 }),
        ),
      );
    assert.deepEqual(run("client", [message(wire)], true, limit).events, [compressedEvent("", true)]);
    assert.deepEqual(run("client", [message(wire + 1)], true, limit).events, [error("ERR_TOO_MANY_FRAGMENTS", 1009)]);
    // Uncompressed, the bound is exact.
    const plain = (frames: number): Buffer =>
      Buffer.concat(
        Array.from({ length: frames }, (_, i) =>
          from("client", { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: "", fin: i === frames - 1 }),
        ),
      );
    assert.equal(run("client", [plain(limit + 1)], true, limit).events.length, 1);
    assert.deepEqual(run("client", [plain(limit + 2)], true, limit).events, [error("ERR_TOO_MANY_FRAGMENTS", 1009)]);
  });
});

describe("protocol with permessage-deflate", () => {
  it("forwards compressed messages, suspends, and fails with the given code (Close frame written)", () => {
    const recorder = new DeflateRecorder();
    recorder.autoResume = false;
    const protocol = new Protocol(recorder, { role: "server", perMessageDeflate: true });
    protocol.receiveData(from("server", { opcode: Opcode.BINARY, rsv: RSV1, payload: "abc" }));
    assert.equal(protocol.suspended, true);
    protocol.receiveData(from("server", { opcode: Opcode.TEXT, payload: "queued" }));
    protocol.fail(new ProtocolError("ERR_MESSAGE_TOO_BIG", 1009, "too big"));
    assert.equal(protocol.suspended, false);
    assert.deepEqual(recorder.events, [compressedEvent("abc", true), error("ERR_MESSAGE_TOO_BIG", 1009)]);
    // A 1009 carries the error's message as its reason (RFC 6455 §5.5.1: at most 123 bytes).
    assert.deepEqual([...recorder.written], [0x88, 0x09, 0x03, 0xf1, ...Buffer.from("too big")]);
    protocol.fail(new ProtocolError("ERR_SECOND", 1002, "ignored"));
    assert.equal(recorder.events.length, 2, "only the first failure counts");
  });

  it("canSendMessage is false after our Close frame and throws inside a fragmented send", () => {
    const recorder = new Recorder();
    const protocol = new Protocol(recorder, { role: "server", perMessageDeflate: true });
    assert.equal(protocol.canSendMessage(), true);
    protocol.sendFragment(Buffer.from("a"), false, false);
    assert.throws(() => protocol.canSendMessage(), /fragmented message/);
    protocol.sendFragment(Buffer.from("b"), false, true);
    protocol.sendClose(1000);
    assert.equal(protocol.canSendMessage(), false);
  });
});
