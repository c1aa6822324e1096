/**
 * The per-connection state machine (src/protocol/protocol.ts), driven with bytes alone: frames in
 * through receiveData, what it writes decoded by the plain reference decoder of the helpers.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidStateError } from "../../src/errors.js";
import { Opcode } from "../../src/protocol/constants.js";
import { COPY_THRESHOLD_BYTES, encodeFrame, encodeFrameHeader } from "../../src/protocol/frame-encoder.js";
import { FrameParser } from "../../src/protocol/frame-parser.js";
import { Protocol, ReadyState, type ProtocolOptions } from "../../src/protocol/protocol.js";
import {
  binaryEvent,
  decodeFrames,
  errorEvent,
  feedAllWays,
  from,
  hex,
  Recorder,
  ROLES,
  textEvent,
  type DecodedFrame,
  type Role,
} from "../helpers/protocol-testing.js";

/** A Protocol with a recorder as its handler. */
function open(options: ProtocolOptions): { protocol: Protocol; recorder: Recorder } {
  const recorder = new Recorder();
  return { protocol: new Protocol(recorder, options), recorder };
}

/** The frames written so far, decoded; each must be masked exactly when `role` is a client. */
function written(recorder: Recorder, role: Role): DecodedFrame[] {
  const frames = decodeFrames(recorder.written);
  for (const frame of frames) {
    // RFC 6455 §5.3: a client MUST mask every frame it sends; §5.1: a server MUST NOT mask.
    assert.equal(frame.key !== undefined, role === "client", `opcode ${frame.opcode} masked only by a client`);
    assert.equal(frame.rsv, 0);
  }
  return frames;
}

/** A close frame payload: the 2-byte code then the UTF-8 reason. */
function closePayload(code: number, reason = ""): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code);
  payload.write(reason, 2);
  return payload;
}

/** The Close frame written, as `code:reason` (1005 for an empty payload). */
function closeOf(frame: DecodedFrame | undefined): string {
  assert.ok(frame !== undefined, "a Close frame was written");
  assert.equal(frame.opcode, Opcode.CLOSE);
  assert.equal(frame.fin, true);
  if (frame.payload.length === 0) return "1005:";
  return `${frame.payload.readUInt16BE(0)}:${frame.payload.toString("utf8", 2)}`;
}

const other = (role: Role): Role => (role === "server" ? "client" : "server");

describe("closing handshake (RFC 6455 §5.5.1, §7.1)", () => {
  for (const role of ROLES) {
    it(`${role} answers a Close frame with one echoing its code, then reports it, and is CLOSED`, () => {
      const { protocol, recorder } = open({ role });
      assert.equal(protocol.state, ReadyState.OPEN);
      protocol.receiveData(from(role, { opcode: Opcode.CLOSE, payload: closePayload(4001, "bye") }));
      assert.deepEqual(written(recorder, role).map(closeOf), ["4001:"]);
      assert.deepEqual(recorder.events, ["close:4001:bye"]);
      assert.equal(protocol.state, ReadyState.CLOSED);
      assert.deepEqual(protocol.closeReceived, { code: 4001, reason: "bye" });
      assert.deepEqual(protocol.closeSent, { code: 4001, reason: "" });
    });

    it(`${role} answers an empty Close frame with an empty one`, () => {
      const { protocol, recorder } = open({ role });
      protocol.receiveData(from(role, { opcode: Opcode.CLOSE }));
      const frames = written(recorder, role);
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.payload.length, 0);
      assert.deepEqual(recorder.events, ["close:1005:"]);
      assert.deepEqual(protocol.closeSent, { code: 1005, reason: "" });
      assert.equal(protocol.state, ReadyState.CLOSED);
    });

    it(`${role} goes OPEN → CLOSING on its own Close and CLOSING → CLOSED on the peer's, sending no second Close`, () => {
      const { protocol, recorder } = open({ role });
      assert.equal(protocol.sendClose(1001, "going"), true);
      assert.equal(protocol.state, ReadyState.CLOSING);
      assert.deepEqual(protocol.closeSent, { code: 1001, reason: "going" });
      assert.equal(protocol.closeReceived, undefined);
      protocol.receiveData(from(role, { opcode: Opcode.CLOSE, payload: closePayload(1000) }));
      assert.equal(protocol.state, ReadyState.CLOSED);
      assert.deepEqual(written(recorder, role).map(closeOf), ["1001:going"]);
      assert.deepEqual(recorder.events, ["close:1000:"]);
    });

    it(`${role} sends a Close without a status code when sendClose gets none`, () => {
      const { protocol, recorder } = open({ role });
      assert.equal(protocol.sendClose(), true);
      assert.deepEqual(written(recorder, role).map(closeOf), ["1005:"]);
      assert.deepEqual(protocol.closeSent, { code: 1005, reason: "" });
    });

    it(`${role} still delivers what the peer sends while CLOSING, up to its Close frame`, () => {
      const { protocol, recorder } = open({ role });
      protocol.sendClose(1000);
      protocol.receiveData(Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: "late" }),
        from(role, { opcode: Opcode.PING, payload: "p" }),
        from(role, { opcode: Opcode.CLOSE, payload: closePayload(1000) }),
      ]));
      assert.deepEqual(recorder.events, [textEvent("late"), "ping:70", "close:1000:"]);
      assert.equal(written(recorder, role).length, 1, "no pong, no second Close: the owner answers pings");
    });

    it(`${role} sends nothing after its Close frame: every send returns false`, () => {
      const { protocol, recorder } = open({ role });
      protocol.sendClose(1000);
      assert.equal(protocol.canSend, false);
      assert.equal(protocol.sendText("x"), false);
      assert.equal(protocol.sendMessage(Buffer.from("x"), true), false);
      assert.equal(protocol.sendMessage(Buffer.from("x"), false), false);
      assert.equal(protocol.sendFragment(Buffer.from("x"), true, false), false);
      assert.equal(protocol.sendPing(Buffer.from("p")), false);
      assert.equal(protocol.sendPong(), false);
      assert.equal(protocol.sendClose(1001), false);
      if (role === "server") assert.equal(protocol.sendEncoded(encodeFrame(Opcode.TEXT, Buffer.from("x"), true, false)), false);
      assert.equal(written(recorder, role).length, 1);
      assert.deepEqual(protocol.closeSent, { code: 1000, reason: "" });
    });

    it(`${role} sends nothing after the Close it echoed`, () => {
      const { protocol, recorder } = open({ role });
      protocol.receiveData(from(role, { opcode: Opcode.CLOSE, payload: closePayload(1000) }));
      assert.equal(protocol.sendText("x"), false);
      assert.equal(protocol.sendPing(), false);
      assert.equal(protocol.sendClose(1000), false);
      assert.equal(written(recorder, role).length, 1);
    });

    it(`${role} returns false rather than throwing when a fragmented send was left open by its Close`, () => {
      const { protocol, recorder } = open({ role });
      protocol.sendFragment(Buffer.from("a"), false, false);
      protocol.sendClose(1000);
      assert.equal(protocol.sendText("x"), false);
      assert.equal(protocol.sendMessage(Buffer.from("x"), true), false);
      assert.equal(protocol.sendFragment(Buffer.from("b"), false, true), false);
      assert.equal(written(recorder, role).length, 2);
    });

    it(`${role} delivers nothing after the peer's Close frame, however the bytes are cut`, () => {
      const input = Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: "before" }),
        from(role, { opcode: Opcode.CLOSE, payload: closePayload(1000, "done") }),
        from(role, { opcode: Opcode.TEXT, payload: "after" }),
        from(role, { opcode: Opcode.PING }),
      ]);
      const outcome = feedAllWays(input, (chunks) => {
        const { protocol, recorder } = open({ role });
        for (const chunk of chunks) protocol.receiveData(Buffer.from(chunk));
        return { events: recorder.events, closes: written(recorder, role).map(closeOf), state: protocol.state };
      });
      assert.deepEqual(outcome, { events: [textEvent("before"), "close:1000:done"], closes: ["1000:"], state: ReadyState.CLOSED });
    });
  }
});

describe("protocol errors (RFC 6455 §7.1.7)", () => {
  for (const role of ROLES) {
    const fragments = (...payloads: number[]): Buffer =>
      Buffer.concat(payloads.map((bytes, i) =>
        from(role, { opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: Buffer.alloc(bytes), fin: i === payloads.length - 1 }),
      ));
    // The last column is the close reason: a 1009 says which limit was passed, others say nothing.
    const violations: ReadonlyArray<readonly [string, Buffer, string, number, Partial<ProtocolOptions>, string]> = [
      ["a frame masked the wrong way", from(other(role), { opcode: Opcode.TEXT, payload: "x" }), role === "server" ? "ERR_UNMASKED_FRAME" : "ERR_MASKED_FRAME", 1002, {}, ""],
      ["a reserved opcode", from(role, { opcode: 0x3 }), "ERR_INVALID_OPCODE", 1002, {}, ""],
      ["invalid UTF-8 in a text message", from(role, { opcode: Opcode.TEXT, payload: hex("ce ba ff") }), "ERR_INVALID_UTF8", 1007, {}, ""],
      ["a frame over maxFrameBytes", from(role, { opcode: Opcode.BINARY, payload: Buffer.alloc(65) }), "ERR_FRAME_TOO_BIG", 1009, { maxFrameBytes: 64 }, "frame too big (limit 64 bytes)"],
      ["a single frame over maxMessageBytes", from(role, { opcode: Opcode.BINARY, payload: Buffer.alloc(65) }), "ERR_FRAME_TOO_BIG", 1009, { maxMessageBytes: 64 }, "message too big (limit 64 bytes)"],
      ["fragments adding up past maxMessageBytes", fragments(40, 25), "ERR_MESSAGE_TOO_BIG", 1009, { maxMessageBytes: 64 }, "message too big (limit 64 bytes)"],
      ["a message over maxFragmentsPerMessage", fragments(1, 1, 1), "ERR_TOO_MANY_FRAGMENTS", 1009, { maxFragmentsPerMessage: 2 }, "message too fragmented (limit 2 frames)"],
      ["a close code not allowed on the wire", from(role, { opcode: Opcode.CLOSE, payload: closePayload(1005) }), "ERR_INVALID_CLOSE_CODE", 1002, {}, ""],
    ];
    for (const [name, bad, code, closeCode, limits, reason] of violations) {
      it(`${role} fails the connection on ${name}: one Close frame with ${closeCode}, onProtocolError, nothing delivered after`, () => {
        const input = Buffer.concat([
          from(role, { opcode: Opcode.TEXT, payload: "ok" }),
          bad,
          from(role, { opcode: Opcode.TEXT, payload: "after" }),
          from(role, { opcode: Opcode.CLOSE, payload: closePayload(1000) }),
        ]);
        const outcome = feedAllWays(input, (chunks) => {
          const { protocol, recorder } = open({ role, ...limits });
          for (const chunk of chunks) protocol.receiveData(Buffer.from(chunk));
          assert.equal(recorder.protocolErrors.length, 1);
          assert.equal(protocol.error, recorder.protocolErrors[0]);
          assert.equal(protocol.sendText("x"), false);
          return {
            events: recorder.events,
            closes: written(recorder, role).map(closeOf),
            state: protocol.state,
            closeSent: protocol.closeSent,
            closeReceived: protocol.closeReceived,
          };
        });
        assert.deepEqual(outcome, {
          events: [textEvent("ok"), errorEvent(code, closeCode)],
          closes: [`${closeCode}:${reason}`],
          state: ReadyState.CLOSED,
          closeSent: { code: closeCode, reason },
          closeReceived: undefined,
        });
      });
    }

    it(`${role} reports a protocol error after its own Close without writing a second Close`, () => {
      const { protocol, recorder } = open({ role });
      protocol.sendClose(1000, "bye");
      protocol.receiveData(from(role, { opcode: Opcode.TEXT, payload: hex("ff") }));
      assert.deepEqual(recorder.events, [errorEvent("ERR_INVALID_UTF8", 1007)]);
      assert.deepEqual(written(recorder, role).map(closeOf), ["1000:bye"]);
      assert.equal(protocol.state, ReadyState.CLOSED);
      assert.equal(protocol.error?.closeCode, 1007);
    });

    it(`${role} ignores everything once it stops receiving`, () => {
      const { protocol, recorder } = open({ role });
      protocol.receiveData(from(role, { opcode: Opcode.TEXT, payload: "one" }).subarray(0, 3));
      assert.equal(protocol.bufferedIncomingBytes, 1); // the header read, 1 byte of key or payload held
      protocol.stopReceiving();
      assert.equal(protocol.bufferedIncomingBytes, 0);
      protocol.receiveData(from(role, { opcode: Opcode.TEXT, payload: "two" }));
      assert.deepEqual(recorder.events, []);
      assert.deepEqual(recorder.writes, []);
    });
  }
});

describe("receiving", () => {
  for (const role of ROLES) {
    it(`${role} delivers messages, pings and pongs in wire order and answers nothing by itself`, () => {
      const { protocol, recorder } = open({ role });
      protocol.receiveData(Buffer.concat([
        from(role, { opcode: Opcode.TEXT, payload: "héllo" }),
        from(role, { opcode: Opcode.PING, payload: "p" }),
        from(role, { opcode: Opcode.BINARY, payload: Uint8Array.of(1, 2), fin: false }),
        from(role, { opcode: Opcode.PONG }),
        from(role, { opcode: Opcode.CONTINUATION, payload: Uint8Array.of(3) }),
      ]));
      assert.deepEqual(recorder.events, [textEvent("héllo"), "ping:70", "pong:", binaryEvent(Uint8Array.of(1, 2, 3))]);
      assert.deepEqual(recorder.writes, [], "the owner answers pings (it knows the backpressure)");
      assert.equal(protocol.state, ReadyState.OPEN);
    });
  }
});

describe("sending", () => {
  for (const role of ROLES) {
    it(`${role} writes every kind of frame ${role === "client" ? "masked" : "unmasked"}, and the peer's parser reads them back`, () => {
      const { protocol, recorder } = open({ role });
      const large = Buffer.alloc(COPY_THRESHOLD_BYTES + 10, "L");
      assert.equal(protocol.sendText("héllo"), true);
      assert.equal(protocol.sendMessage(Uint8Array.of(0, 255), true), true);
      assert.equal(protocol.sendMessage(Buffer.from("ünï"), false), true);
      assert.equal(protocol.sendMessage(large, true), true);
      assert.equal(protocol.sendPing(Buffer.from("ping")), true);
      assert.equal(protocol.sendPong(), true);
      assert.equal(protocol.sendFragment(Buffer.from("frag"), false, false), true);
      assert.equal(protocol.sendFragment(Buffer.from("ment"), true, true), true);
      assert.equal(protocol.sendClose(1000, "done"), true);
      const frames = written(recorder, role);
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.fin, f.payload.length <= 64 ? f.payload.toString() : f.payload.length]),
        [
          [Opcode.TEXT, true, "héllo"],
          [Opcode.BINARY, true, "\u0000\ufffd"],
          [Opcode.TEXT, true, "ünï"],
          [Opcode.BINARY, true, large.length],
          [Opcode.PING, true, "ping"],
          [Opcode.PONG, true, ""],
          [Opcode.TEXT, false, "frag"],
          [Opcode.CONTINUATION, true, "ment"],
          [Opcode.CLOSE, true, closePayload(1000, "done").toString()],
        ],
      );
      assert.deepEqual(frames[1]!.payload, Buffer.from([0, 255]));
      assert.deepEqual(frames[3]!.payload, large);
      // The peer's parser, of the other role, accepts exactly these bytes.
      const peer = new Recorder();
      new FrameParser(peer, { role: other(role) }).push(recorder.written);
      assert.deepEqual(peer.events, [
        textEvent("héllo"),
        binaryEvent(Uint8Array.of(0, 255)),
        textEvent("ünï"),
        binaryEvent(large),
        "ping:70696e67",
        "pong:",
        textEvent("fragment"),
        "close:1000:done",
      ]);
    });

    it(`${role} opens a new message only after the last fragment: InvalidStateError in between, control frames allowed`, () => {
      const { protocol, recorder } = open({ role });
      assert.equal(protocol.sendFragment(Buffer.from("a"), false, false), true);
      assert.throws(() => protocol.sendText("x"), InvalidStateError);
      assert.throws(() => protocol.sendMessage(Buffer.from("x"), true), InvalidStateError);
      if (role === "server") assert.throws(() => protocol.sendEncoded(encodeFrame(Opcode.TEXT, Buffer.from("x"), true, false)), InvalidStateError);
      // RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message.
      assert.equal(protocol.sendPing(), true);
      assert.equal(protocol.sendFragment(Buffer.from("b"), true, false), true); // isBinary ignored: a continuation
      assert.equal(protocol.sendFragment(Buffer.from("c"), true, true), true);
      assert.equal(protocol.sendText("next"), true);
      assert.equal(protocol.sendFragment(Buffer.from("d"), true, true), true); // a one-fragment message
      assert.deepEqual(
        written(recorder, role).map((f) => `${f.opcode}:${f.fin ? 1 : 0}:${f.payload.toString()}`),
        ["1:0:a", "9:1:", "0:0:b", "0:1:c", "1:1:next", "2:1:d"],
      );
    });

    it(`${role} validates sendClose's code and reason before changing any state`, () => {
      const { protocol, recorder } = open({ role });
      const bad: ReadonlyArray<readonly [number | undefined, string]> = [
        [1005, ""], [1006, ""], [1015, ""], [999, ""], [5000, ""], [1000.5, ""],
        [1000, "r".repeat(124)], [1000, "é".repeat(62)], [undefined, "a reason without a code"],
      ];
      for (const [code, reason] of bad) {
        assert.throws(() => protocol.sendClose(code, reason), RangeError, `${code} ${reason.length}`);
        assert.equal(protocol.state, ReadyState.OPEN);
        assert.equal(protocol.closeSent, undefined);
        assert.equal(protocol.canSend, true);
        assert.deepEqual(recorder.writes, []);
      }
      assert.equal(protocol.sendClose(4999, "r".repeat(123)), true);
      assert.deepEqual(written(recorder, role).map(closeOf), [`4999:${"r".repeat(123)}`]);
    });

    it(`${role} refuses a control payload over 125 bytes with a RangeError, writing nothing`, () => {
      const { protocol, recorder } = open({ role });
      assert.throws(() => protocol.sendPing(Buffer.alloc(126)), RangeError);
      assert.throws(() => protocol.sendPong(Buffer.alloc(126)), RangeError);
      assert.equal(protocol.sendPing(Buffer.alloc(125)), true);
      assert.equal(written(recorder, role).length, 1);
    });
  }

  it("client masks every frame with a fresh key and never modifies the caller's bytes", () => {
    const { protocol, recorder } = open({ role: "client" });
    const payload = Buffer.alloc(COPY_THRESHOLD_BYTES + 1, "p");
    const before = Buffer.from(payload);
    for (let i = 0; i < 20; i++) protocol.sendMessage(payload, true);
    assert.deepEqual(payload, before);
    assert.equal(recorder.writes.length, 20, "one buffer per masked frame, however large");
    const keys = new Set(written(recorder, "client").map((f) => f.key!.toString("hex")));
    assert.ok(keys.size >= 19, `${keys.size} distinct keys in 20 frames`);
  });

  it("server writes a payload over COPY_THRESHOLD_BYTES as a header then the same payload object", () => {
    const { protocol, recorder } = open({ role: "server" });
    const payload = Buffer.alloc(COPY_THRESHOLD_BYTES + 1, "x");
    protocol.sendMessage(payload, true);
    assert.equal(recorder.writes.length, 2);
    assert.deepEqual(recorder.writes[0], encodeFrameHeader(Opcode.BINARY, payload.length, true));
    assert.equal(recorder.writes[1], payload, "the caller's Buffer itself, not a copy");
    // A plain Uint8Array is wrapped, not copied: the same memory.
    const array = new Uint8Array(COPY_THRESHOLD_BYTES + 5).fill(0x61).subarray(3);
    protocol.sendMessage(array, false);
    const view = recorder.writes[3]!;
    assert.deepEqual(recorder.writes[2], encodeFrameHeader(Opcode.TEXT, array.length, true));
    assert.equal(view.buffer, array.buffer);
    assert.equal(view.byteOffset, array.byteOffset);
    assert.equal(view.length, array.length);
    // Fragments too.
    protocol.sendFragment(payload, true, false);
    assert.equal(recorder.writes[5], payload);
    assert.deepEqual(recorder.writes[4], encodeFrameHeader(Opcode.BINARY, payload.length, false));
  });

  it("server copies a payload of exactly COPY_THRESHOLD_BYTES next to its header, in one buffer", () => {
    const { protocol, recorder } = open({ role: "server" });
    const payload = Buffer.alloc(COPY_THRESHOLD_BYTES, "x");
    protocol.sendMessage(payload, true);
    assert.equal(recorder.writes.length, 1);
    assert.deepEqual(recorder.writes[0], encodeFrame(Opcode.BINARY, payload, true, false));
  });

  it("sendEncoded writes the server's pre-encoded bytes as they are, and throws on a client", () => {
    const server = open({ role: "server" });
    const frames = encodeFrame(Opcode.TEXT, Buffer.from("broadcast"), true, false);
    assert.equal(server.protocol.sendEncoded(frames), true);
    assert.equal(server.recorder.writes[0], frames);
    const client = open({ role: "client" });
    assert.throws(() => client.protocol.sendEncoded(frames), InvalidStateError);
    assert.deepEqual(client.recorder.writes, []);
  });
});
