// Connection options: defaults, validation, and options resolved once per server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveHandshakeLimits, resolveMessageLimits } from "../../src/protocol/limits.js";
import { DEFAULT_CONNECTION_OPTIONS, resolveConnectionOptions } from "../../src/transport/options.js";

test("resolved connection options are frozen, and resolving them again returns the same object", () => {
  const resolved = resolveConnectionOptions({ maxMessageBytes: 4096, highWaterMarkBytes: 1024 });
  assert.ok(Object.isFrozen(resolved));
  assert.equal(resolveConnectionOptions(resolved), resolved);
  assert.equal(resolved.maxMessageBytes, 4096);
  assert.equal(resolved.maxFrameBytes, 4096);
  assert.equal(resolved.closeTimeoutMs, DEFAULT_CONNECTION_OPTIONS.closeTimeoutMs);
});

test("resolved message and handshake limits pass through a second resolution unchanged", () => {
  const limits = resolveMessageLimits({ maxFrameBytes: 10 });
  assert.equal(resolveMessageLimits(limits), limits);
  const head = resolveHandshakeLimits({ maxHeaderCount: 3 });
  assert.equal(resolveHandshakeLimits(head), head);
  assert.equal(head.maxHeaderCount, 3);
});

test("a look-alike plain object is still validated, not trusted as resolved", () => {
  const resolved = resolveConnectionOptions();
  assert.throws(() => resolveConnectionOptions({ ...resolved, maxBufferedBytes: 0 }), RangeError);
  assert.throws(() => resolveMessageLimits({ maxMessageBytes: -1 }), RangeError);
});
