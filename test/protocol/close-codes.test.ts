import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../src/errors.js";
import { closeReasonFor, isValidWireCloseCode, readClosePayload, tooBigReason, tooManyFragmentsReason } from "../../src/protocol/close-codes.js";
import { FrameErrorCode } from "../../src/protocol/frame-errors.js";
import { KOSME } from "../helpers/protocol-testing.js";

/** A close payload: the code in network byte order, then the reason bytes. */
function payload(code: number, reason: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(2 + reason.length);
  out.writeUInt16BE(code, 0);
  out.set(reason, 2);
  return out;
}

describe("isValidWireCloseCode (RFC 6455 §7.4)", () => {
  test("accepts the defined, registered and private codes and nothing else", () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      assert.equal(isValidWireCloseCode(code), true, String(code));
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      assert.equal(isValidWireCloseCode(code), false, String(code));
    }
  });
});

describe("readClosePayload (RFC 6455 §5.5.1)", () => {
  test("reads an empty payload as 1005 with no reason", () => {
    assert.deepEqual(readClosePayload(Buffer.alloc(0)), { code: 1005, reason: "" });
  });

  test("reads the code and the UTF-8 reason", () => {
    assert.deepEqual(readClosePayload(payload(1000)), { code: 1000, reason: "" });
    assert.deepEqual(readClosePayload(payload(4001, KOSME)), { code: 4001, reason: KOSME.toString("utf8") });
  });

  test("reports a 1-byte payload, a code that may not be sent and a reason that is not UTF-8", () => {
    const cases: ReadonlyArray<readonly [Buffer, string, number]> = [
      [Buffer.from([0x03]), FrameErrorCode.INVALID_CLOSE_PAYLOAD, 1002],
      [payload(1005), FrameErrorCode.INVALID_CLOSE_CODE, 1002],
      [payload(999), FrameErrorCode.INVALID_CLOSE_CODE, 1002],
      [payload(1000, Uint8Array.of(0xce, 0xba, 0xff)), FrameErrorCode.INVALID_UTF8, 1007],
    ];
    for (const [data, code, closeCode] of cases) {
      const result = readClosePayload(data);
      assert.ok(result instanceof ProtocolError, String(data.toString("hex")));
      assert.equal(result.code, code);
      assert.equal(result.closeCode, closeCode);
    }
  });
});

describe("closeReasonFor: the reason of the Close frame that fails a connection", () => {
  test("a 1009 says which limit was passed, within the 123 bytes of a reason even at the largest limit", () => {
    const largest = Number.MAX_SAFE_INTEGER;
    for (const reason of [tooBigReason("message", 1024), tooBigReason("frame", largest), tooManyFragmentsReason(largest)]) {
      assert.equal(closeReasonFor(new ProtocolError("ERR_MESSAGE_TOO_BIG", 1009, reason)), reason);
      assert.ok(Buffer.byteLength(reason) <= 123, reason);
    }
    assert.equal(tooBigReason("message", 1024), "message too big (limit 1024 bytes)");
    assert.equal(tooManyFragmentsReason(largest), `message too fragmented (limit ${largest} frames)`);
  });

  test("other codes carry no reason, and a 1009 message over 123 bytes is left out rather than cut", () => {
    assert.equal(closeReasonFor(new ProtocolError("ERR_INVALID_UTF8", 1007, "invalid UTF-8 in a text message")), "");
    assert.equal(closeReasonFor(new ProtocolError("ERR_INVALID_OPCODE", 1002, "opcode 3")), "");
    assert.equal(closeReasonFor(new ProtocolError("ERR_MESSAGE_TOO_BIG", 1009, "x".repeat(123))), "x".repeat(123));
    assert.equal(closeReasonFor(new ProtocolError("ERR_MESSAGE_TOO_BIG", 1009, "é".repeat(62))), ""); // 124 bytes
  });
});
