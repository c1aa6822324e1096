// The zlib side of permessage-deflate (src/transport/zlib-codec.ts, deflate.ts): codecs checked
// against node:zlib's one-shot functions, the trailer, context takeover kept or reset, the
// decompression limit (a bomb stops at the limit), the process-wide limiter, the pools, options.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageDeflate, resolvePerMessageDeflate, type DeflateSetup } from "../../src/transport/deflate.js";
import { borrowCodec, InflateLimitError, pooledCodecs, releaseCodec, trimCodecPools, ZlibCodec, ZlibLimiter } from "../../src/transport/zlib-codec.js";
import { compressMessage, deflateBomb, inflateMessage, TRAILER } from "../helpers/deflate-testing.js";
import { prng, randomBytes } from "../helpers/protocol-testing.js";

function run(codec: ZlibCodec, input: Buffer, limit = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    codec.run(input, limit, (error, output) => (error !== undefined ? reject(error) : resolve(output!)));
  });
}

const SIZES = [0, 1, 125, 126, 1023, 1024, 16_383, 16_384, 16_385, 65_535, 65_536, 200_000];

function sample(size: number, seed: number): Buffer {
  // Half random, half repetitive: compressible, but not trivially.
  const next = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 2 === 0 ? next() & 0xff : 0x61 + (i % 7);
  return out;
}

describe("ZlibCodec", () => {
  it("compresses each size into a message node:zlib inflates back, trailer removed", async () => {
    for (const size of SIZES) {
      const codec = new ZlibCodec(false, { windowBits: 15 });
      const input = sample(size, size);
      const payload = await run(codec, input);
      assert.ok(!payload.subarray(-4).equals(TRAILER) || size === 0, `size ${size}: trailer removed`);
      assert.ok(inflateMessage(payload).equals(input), `size ${size}`);
      codec.close();
    }
  });

  it("compresses an empty message to the single byte 0x00 (RFC 7692 §7.2.3.6)", async () => {
    const codec = new ZlibCodec(false, { windowBits: 15 });
    assert.deepEqual([...(await run(codec, Buffer.alloc(0)))], [0x00]);
    codec.close();
  });

  it("compresses an empty message after others (nothing left to flush) to 0x00, which inflates to nothing", async () => {
    const deflater = new ZlibCodec(false, { windowBits: 15 });
    const inflater = new ZlibCodec(true, { windowBits: 15 });
    for (const message of [Buffer.from("abc".repeat(50)), Buffer.alloc(0), Buffer.alloc(0), Buffer.from("end")]) {
      const payload = await run(deflater, message);
      if (message.length === 0) assert.deepEqual([...payload], [0x00]);
      assert.ok((await run(inflater, payload)).equals(message));
    }
    deflater.close();
    inflater.close();
  });

  it("inflates messages node:zlib compressed, at every size and window", async () => {
    for (const windowBits of [8, 9, 12, 15]) {
      const codec = new ZlibCodec(true, { windowBits });
      for (const size of SIZES) {
        const input = sample(size, size + windowBits);
        const output = await run(codec, compressMessage(input, windowBits));
        assert.ok(output.equals(input), `window ${windowBits}, size ${size}`);
        codec.reset(); // each message was compressed with an empty window
      }
      codec.close();
    }
  });

  it("keeps the context between messages (takeover): a repeated message shrinks and still inflates", async () => {
    const deflater = new ZlibCodec(false, { windowBits: 15 });
    const inflater = new ZlibCodec(true, { windowBits: 15 });
    const message = randomBytes(prng(42), 2000); // incompressible on its own
    const first = await run(deflater, message);
    const second = await run(deflater, message);
    assert.ok(second.length < first.length / 4, `${second.length} vs ${first.length}`);
    assert.ok((await run(inflater, first)).equals(message));
    assert.ok((await run(inflater, second)).equals(message));
    // Without the context, the second message refers to bytes the receiver does not have.
    assert.throws(() => inflateMessage(second));
    deflater.close();
    inflater.close();
  });

  it("reset() forgets the context: the next message inflates on its own", async () => {
    const deflater = new ZlibCodec(false, { windowBits: 15 });
    const message = Buffer.from("abcdefgh".repeat(100));
    await run(deflater, message);
    deflater.reset();
    assert.ok(inflateMessage(await run(deflater, message)).equals(message));
    deflater.close();
  });

  it("stops a decompression bomb at the limit: 1009-worthy error, at most one zlib chunk produced past it", async () => {
    const limit = 1024 * 1024;
    const bomb = deflateBomb(1_000_000); // 1.6 MB inflating to 258 MB
    const codec = new ZlibCodec(true, { windowBits: 15 });
    await assert.rejects(run(codec, bomb, limit), InflateLimitError);
    // Give zlib every chance to go on: it must not.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(codec.producedBytes <= limit + 64 * 1024, `produced ${codec.producedBytes} bytes`);
    assert.equal(codec.broken, true);
  });

  it("inflates exactly up to the limit, and fails one byte past it", async () => {
    const input = Buffer.alloc(100_000, 0x42);
    const payload = compressMessage(input);
    const atLimit = new ZlibCodec(true, { windowBits: 15 });
    assert.equal((await run(atLimit, payload, 100_000)).length, 100_000);
    atLimit.close();
    const below = new ZlibCodec(true, { windowBits: 15 });
    await assert.rejects(run(below, payload, 99_999), InflateLimitError);
  });

  it("reports corrupt data as an error and becomes unusable", async () => {
    const codec = new ZlibCodec(true, { windowBits: 15 });
    await assert.rejects(run(codec, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])));
    assert.equal(codec.broken, true);
  });

  it("delivers a message that ends with a final block (BFINAL) and is then spent", async () => {
    const codec = new ZlibCodec(true, { windowBits: 15 });
    const { deflateRawSync } = await import("node:zlib");
    const output = await run(codec, deflateRawSync("final block"));
    assert.equal(output.toString(), "final block");
    assert.equal(codec.broken, true);
  });
});

describe("ZlibLimiter", () => {
  it("runs at most `limit` tasks at once and the others in arrival order", () => {
    const limiter = new ZlibLimiter(2);
    const started: number[] = [];
    for (let i = 0; i < 5; i++) limiter.run(() => started.push(i));
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.active, 2);
    assert.equal(limiter.waiting, 3);
    limiter.release();
    assert.deepEqual(started, [0, 1, 2]);
    limiter.release();
    limiter.release();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(limiter.waiting, 0);
    limiter.release();
    limiter.release();
    assert.equal(limiter.active, 0);
    limiter.run(() => started.push(5));
    assert.equal(limiter.active, 1);
  });
});

describe("codec pools", () => {
  it("give back reset codecs and keep at most the bound", async () => {
    const config = { windowBits: 13, level: 3, memLevel: 7 };
    const before = pooledCodecs();
    const a = borrowCodec(false, config);
    const b = borrowCodec(false, config);
    const message = Buffer.from("pooled ".repeat(200));
    await run(a, message);
    releaseCodec(a, false, config, 1);
    releaseCodec(b, false, config, 1); // over the bound: closed
    assert.equal(pooledCodecs(), before + 1);
    const again = borrowCodec(false, config);
    assert.equal(again, a);
    // Reset on return: its next message inflates on its own.
    assert.ok(inflateMessage(await run(again, message)).equals(message));
    again.close();
    releaseCodec(again, false, config, 1); // broken codecs are not pooled
    assert.equal(pooledCodecs(), before);
  });
});

describe("codec pool trimming", () => {
  it("closes pooled codecs idle longer than the bound and keeps the recent ones", async () => {
    const config = { windowBits: 11, level: 2, memLevel: 3 };
    const before = pooledCodecs();
    const old = borrowCodec(true, config);
    releaseCodec(old, true, config, 5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const recent = borrowCodec(true, { windowBits: 12 });
    releaseCodec(recent, true, { windowBits: 12 }, 5);
    assert.equal(pooledCodecs(), before + 2);
    trimCodecPools(20); // `old` has been idle for 30 ms, `recent` for less
    assert.equal(old.broken, true);
    assert.equal(recent.broken, false);
    assert.equal(pooledCodecs(), before + 1);
    trimCodecPools(0);
    assert.equal(recent.broken, true);
  });
});

function setup(params: Partial<DeflateSetup["params"]> = {}, options = {}): DeflateSetup {
  return {
    params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, ...params },
    options: resolvePerMessageDeflate(options, true)!,
  };
}

function compress(deflate: MessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => deflate.compress(data, (e, out) => (e ? reject(e) : resolve(out!))));
}

function inflate(deflate: MessageDeflate, data: Buffer, limit = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => deflate.inflate(data, limit, (e, out) => (e ? reject(e) : resolve(out!))));
}

describe("MessageDeflate", () => {
  it("holds no zlib stream between messages without context takeover, and one per direction with it", async () => {
    const message = randomBytes(prng(7), 5000);
    const none = new MessageDeflate(setup({ serverNoContextTakeover: true, clientNoContextTakeover: true }), "server");
    assert.ok(inflateMessage(await compress(none, message)).equals(message));
    assert.ok((await inflate(none, compressMessage(message))).equals(message));
    assert.equal(none.heldStreams, 0);
    assert.equal(none.sharesCompression, true);

    const takeover = new MessageDeflate(setup(), "server");
    assert.equal(takeover.heldStreams, 0, "nothing before the first message");
    await compress(takeover, message);
    await inflate(takeover, compressMessage(message));
    assert.equal(takeover.heldStreams, 2);
    takeover.close();
    assert.equal(takeover.heldStreams, 0);
  });

  it("uses each side's window and takeover by role", async () => {
    // The client compresses with client_max_window_bits=9 and no takeover; the server inflates.
    const params = { clientNoContextTakeover: true, clientMaxWindowBits: 9 };
    const client = new MessageDeflate(setup(params), "client");
    const server = new MessageDeflate(setup(params), "server");
    const message = Buffer.from("window nine ".repeat(500));
    for (let i = 0; i < 3; i++) {
      const payload = await compress(client, message);
      assert.ok(inflateMessage(payload).equals(message), "each message stands alone");
      assert.ok((await inflate(server, payload)).equals(message));
    }
    assert.equal(client.heldStreams, 0);
    assert.equal(server.heldStreams, 0);
  });

  it("fails an inflation past the limit with InflateLimitError", async () => {
    const deflate = new MessageDeflate(setup(), "server");
    await assert.rejects(inflate(deflate, compressMessage(Buffer.alloc(10_001)), 10_000), InflateLimitError);
    deflate.close();
  });
});

describe("resolvePerMessageDeflate", () => {
  it("is off for false, and follows the default for undefined", () => {
    assert.equal(resolvePerMessageDeflate(false, true), undefined);
    assert.equal(resolvePerMessageDeflate(undefined, false), undefined);
    assert.deepEqual(resolvePerMessageDeflate(undefined, true), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
      level: -1,
      memLevel: 8,
      thresholdBytes: 1024,
      concurrency: 10,
    });
    assert.equal(resolvePerMessageDeflate({ level: 1, thresholdBytes: 0, concurrency: 3 }, false)!.concurrency, 3);
  });

  it("rejects invalid values with a RangeError or TypeError", () => {
    for (const bad of [{ level: 10 }, { level: -2 }, { memLevel: 0 }, { memLevel: 10 }, { thresholdBytes: -1 }, { concurrency: 0 }, { concurrency: 1.5 }, { serverMaxWindowBits: 16 }]) {
      assert.throws(() => resolvePerMessageDeflate(bad, false), RangeError, JSON.stringify(bad));
    }
    assert.throws(() => resolvePerMessageDeflate("yes" as never, false), TypeError);
  });
});
