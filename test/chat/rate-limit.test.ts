// Rate limiting: the token bucket and flood detector with a fake clock, alone and over sockets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createChatServer, DEFAULT_FILE_BYTES_PER_SECOND } from "../../src/chat/index.js";
import { resolveFileRateLimit } from "../../src/chat/file-rate-limit.js";
import { RateLimiter, resolveRateLimit, type RateDecision } from "../../src/chat/rate-limiter.js";
import { assertNothingMore, startChat, textClient } from "./helpers.js";

function limiter(options: { ratePerSecond?: number; burst?: number; floodStrikes?: number } = {}) {
  const clock = { now: 0 };
  const bucket = new RateLimiter(resolveRateLimit({ ...options, now: () => clock.now }));
  return { clock, take: (): RateDecision => bucket.take() };
}

describe("chat: rate limiter", () => {
  it("allows a burst, then refuses with one notice per streak, and refills at the rate", () => {
    const { clock, take } = limiter(); // 5/s, burst 10
    for (let i = 0; i < 10; i++) assert.equal(take(), "allow", `message ${i}`);
    assert.equal(take(), "refuse-notify");
    assert.equal(take(), "refuse");
    clock.now += 199;
    assert.equal(take(), "refuse");
    clock.now += 1; // 200 ms: one token
    assert.equal(take(), "allow");
    assert.equal(take(), "refuse-notify", "a new streak is announced again");
    clock.now += 10_000;
    for (let i = 0; i < 10; i++) assert.equal(take(), "allow", "the bucket holds at most the burst");
    assert.equal(take(), "refuse-notify");
  });

  it("closes a persistent flood but not a client that is merely fast", () => {
    const fast = limiter({ ratePerSecond: 5, burst: 10 });
    // Twice the rate for ten minutes: every other message is refused, strikes drain as fast.
    for (let i = 0; i < 6000; i++) {
      fast.clock.now += 100;
      assert.notEqual(fast.take(), "flood", `message ${i}`);
    }
    const flood = limiter({ ratePerSecond: 5, burst: 10, floodStrikes: 20 });
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 100 && decisions.at(-1) !== "flood"; i++) {
      flood.clock.now += 20; // 50 messages a second
      decisions.push(flood.take());
    }
    assert.equal(decisions.at(-1), "flood");
    const allowed = decisions.filter((d) => d === "allow").length;
    assert.ok(allowed >= 10 && allowed <= 15, `the burst, then the refill at 5/s: ${allowed}`);
    assert.ok(decisions.length < 40, `closed after ${decisions.length} messages`);
  });

  it("takes a cost in tokens: a byte bucket allows up to its burst in bytes and counts refused bytes as strikes", () => {
    const clock = { now: 0 };
    const bytes = new RateLimiter(resolveFileRateLimit({ bytesPerSecond: 100, burstBytes: 300, floodStrikeBytes: 250, now: () => clock.now }, 300));
    assert.equal(bytes.take(300), "allow", "exactly the burst");
    assert.equal(bytes.take(1), "refuse-notify");
    clock.now += 10; // 1 byte
    assert.equal(bytes.take(2), "refuse");
    assert.equal(bytes.take(1), "allow", "exactly what refilled");
    assert.equal(bytes.take(200), "refuse-notify");
    assert.equal(bytes.take(60), "flood", "1 + 2 + 200 + 60 refused bytes, minus 1 drained, pass 250");
  });

  it("defaults the file bucket to 1 MiB/s and bursts of two largest files, and refuses a burst below the largest file", () => {
    const resolved = resolveFileRateLimit({}, 5 * 1024 * 1024);
    assert.equal(resolved.ratePerSecond, DEFAULT_FILE_BYTES_PER_SECOND);
    assert.equal(DEFAULT_FILE_BYTES_PER_SECOND, 1024 * 1024);
    assert.equal(resolved.burst, 10 * 1024 * 1024);
    assert.equal(resolved.floodStrikes, 20 * 1024 * 1024);
    assert.equal(resolveFileRateLimit({ burstBytes: 1000 }, 1000).burst, 1000);
    assert.throws(() => resolveFileRateLimit({ burstBytes: 999 }, 1000), /burstBytes must be an integer >= maxFileBytes \(1000\)/);
    assert.throws(() => resolveFileRateLimit({ bytesPerSecond: 0 }, 1000), RangeError);
    assert.throws(() => resolveFileRateLimit({ floodStrikeBytes: 0 }, 1000), RangeError);
    assert.throws(() => createChatServer({ maxFileBytes: 2000, fileRateLimit: { burstBytes: 1000 } }), RangeError);
  });

  it("rejects invalid options", () => {
    assert.throws(() => resolveRateLimit({ ratePerSecond: 0 }), RangeError);
    assert.throws(() => resolveRateLimit({ burst: 1.5 }), RangeError);
    assert.throws(() => resolveRateLimit({ floodStrikes: 0 }), RangeError);
  });

  it("refuses excess messages with a notice and closes a flooding connection with 1008", async (t) => {
    const clock = { now: 0 };
    const { ws } = await startChat(t, { rateLimit: { ratePerSecond: 5, burst: 3, floodStrikes: 4, now: () => clock.now } });
    const bob = await textClient(t, ws, "bob");
    const alice = await textClient(t, ws, "alice"); // token 1 of 3
    await bob.expect("alice joined the chat");
    alice.send("a");
    alice.send("b");
    alice.send("c"); // refused: the notice
    alice.send("d"); // refused silently
    await bob.expect("alice: a", "alice: b");
    await alice.expect("You are sending messages too fast. Please slow down.");
    // Queries have their own bucket: answered while messages are refused.
    alice.send("/users");
    await alice.expect("Online users: bob, alice");
    clock.now += 200; // one token; strikes drain by one
    alice.send("e");
    await bob.expect("alice: e");
    for (const text of ["f", "g", "h", "i"]) alice.send(text);
    await alice.expect("You are sending messages too fast. Please slow down.");
    assert.deepEqual(await alice.waitClosed(), { code: 1008, reason: "rate limit exceeded" });
    await bob.expect("alice left the chat");
    await assertNothingMore(bob);
  });
});
