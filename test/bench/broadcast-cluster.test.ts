/**
 * The multi-node broadcast benchmark (`npm run bench -- broadcast --adapter … --nodes …`) run end
 * to end in a tiny configuration, so that it cannot rot: both peers, both adapters, one and two
 * nodes, a real redis-server. These tests check behaviour (every broadcast delivered to every
 * receiver on every node, in order, counts consistent), never speed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterParams } from "../../bench/broadcast/args.js";
import { redisUnavailable } from "../../bench/broadcast/redis-server.js";
import { label, ratios, renderSummary } from "../../bench/broadcast/report.js";
import { configurations, runClusterBroadcast, runConfiguration } from "../../bench/broadcast/run.js";
import { ClientFrames, FrameScanner, readStamp, stamp } from "../../bench/broadcast/wire.js";

const RECEIVERS = 6;
const redisProblem = redisUnavailable();
/** With WYND_REQUIRE_REDIS=1 a missing redis-server fails the test instead of skipping it. */
const skipRedis = redisProblem !== undefined && process.env["WYND_REQUIRE_REDIS"] !== "1" ? redisProblem : false;

const tiny = {
  receivers: RECEIVERS,
  pipelining: 4,
  sizeBytes: 32,
  warmupMs: 200,
  durationMs: 1000,
  maxCount: 1_000_000,
  repeat: 1,
  pin: false,
} as const;

test(
  "the broadcast bench delivers every broadcast to every receiver on every node, in order, for wynd and socket.io on both adapters",
  { skip: skipRedis, timeout: 240_000 },
  async () => {
    const runs = await runClusterBroadcast({ ...tiny, peers: ["wynd", "socket.io"], adapters: ["memory", "redis"], nodeCounts: [1, 2] });
    // memory × 2 nodes is not a configuration: 2 peers × (memory 1, redis 1, redis 2).
    assert.deepEqual(runs.map(label).sort(), [
      "socket.io · memory · 1 node",
      "socket.io · redis · 1 node",
      "socket.io · redis · 2 nodes",
      "wynd · memory · 1 node",
      "wynd · redis · 1 node",
      "wynd · redis · 2 nodes",
    ]);
    for (const run of runs) {
      const where = label(run);
      const extra = run.load.extra;
      assert.equal(run.load.errors, 0, `${where}: ${run.load.errorSamples.join("; ")}`);
      assert.equal(run.load.connectionsOpened, RECEIVERS + 1, where);
      assert.equal(extra["receivers"], RECEIVERS, where);
      assert.ok((extra["probes"] ?? 0) >= 1, `${where}: the sync phase sent probes`);
      assert.ok((extra["published"] ?? 0) > 0, `${where}: broadcasts were published`);
      // Drained: every published broadcast reached every receiver, and each receiver's last one is the last published.
      assert.equal(run.load.inFlightAtEnd, 0, where);
      assert.equal(extra["deliveries"], (extra["published"] ?? 0) * RECEIVERS, where);
      assert.equal(extra["receiversBehind"], 0, where);
      // What the window counted is part of it, each delivery with one latency sample.
      assert.ok(run.load.count > 0 && run.load.count <= (extra["deliveries"] ?? 0), where);
      assert.equal(run.load.latency.count, run.load.count, where);
      assert.equal(run.load.bytes, run.load.count * tiny.sizeBytes, where);
      assert.equal(run.nodeCpuMicros.length, run.nodes, where);
      assert.equal(run.redisCpuMicros === undefined, run.adapter === "memory", where);
    }
    const lines = ratios(runs).map((line) => line.name);
    assert.ok(lines.includes("wynd: Redis adapter / in-process, 1 node"));
    assert.ok(lines.includes("wynd / socket.io, redis, 2 nodes"));
    assert.match(renderSummary(runs), /wynd · redis · 2 nodes/);
  },
);

test("a broadcast that does not reach every node fails the bench's sync phase instead of being measured", { timeout: 60_000 }, async () => {
  // The in-process adapter cannot reach the receivers on the second node: they never get a probe.
  await assert.rejects(
    runConfiguration({ peer: "wynd", adapter: "memory", nodes: 2 }, { ...tiny, peers: ["wynd"], adapters: ["memory"], nodeCounts: [2], syncTimeoutMs: 500 }, 1, undefined),
    /3 of 6 receivers got no probe within 500 ms/,
  );
});

test("the memory adapter is only configured on one node", () => {
  assert.deepEqual(configurations({ peers: ["wynd"], adapters: ["memory", "redis"], nodeCounts: [1, 2] }), [
    { peer: "wynd", adapter: "memory", nodes: 1 },
    { peer: "wynd", adapter: "redis", nodes: 1 },
    { peer: "wynd", adapter: "redis", nodes: 2 },
  ]);
});

test("the broadcast bench's options have defaults and clear errors", () => {
  const common = { receivers: 10, pipelining: 2, sizeBytes: 32, warmupMs: 0, durationMs: 1000, maxCount: 10, pin: false };
  const defaults = clusterParams({}, common);
  assert.deepEqual([defaults.peers, defaults.adapters, defaults.nodeCounts, defaults.repeat], [["wynd", "socket.io"], ["memory"], [1], 3]);
  assert.deepEqual(clusterParams({ nodes: "2" }, common).adapters, ["redis"]);
  assert.deepEqual(clusterParams({ adapter: "memory,redis", nodes: "1,2,2", server: "socket.io" }, common).nodeCounts, [1, 2]);
  assert.throws(() => clusterParams({ adapter: "kafka" }, common), /--adapter must be memory or redis/);
  assert.throws(() => clusterParams({ nodes: "0" }, common), /--nodes must be integers from 1 to 8/);
  assert.throws(() => clusterParams({ nodes: "9" }, common), /--nodes must be integers from 1 to 8/);
  assert.throws(() => clusterParams({ adapter: "memory", nodes: "2" }, common), /memory adapter runs on one node only/);
  assert.throws(() => clusterParams({ server: "ws" }, common), /unknown server/);
  assert.throws(() => clusterParams({ repeat: "0" }, common), /--repeat must be/);
  assert.throws(() => clusterParams({}, { ...common, sizeBytes: 8 }), /--size must be at least 24/);
});

test("the bench's frame scanner reads stamped broadcasts of both peers at every split point", () => {
  for (const peer of ["wynd", "socket.io"] as const) {
    const frames = new ClientFrames(peer, 40);
    // A server frame is the client frame unmasked: rebuild it from the packet the publisher sends.
    const serverFrame = (seq: number, micros: number) => {
      const masked = frames.publication(seq, micros);
      const key = masked.subarray(2, 6);
      const body = Buffer.from(masked.subarray(6).map((byte, i) => byte ^ key[i & 3]!));
      return Buffer.concat([Buffer.from([0x81, body.length]), body]);
    };
    const stream = Buffer.concat([serverFrame(7, 123_456), serverFrame(8, 999_999_999_999)]);
    for (let split = 0; split <= stream.length; split++) {
      const seen: [number, number][] = [];
      const scanner = new FrameScanner((opcode, data, start, end) => {
        assert.equal(opcode, 0x1);
        assert.equal(end - start, frames.deliveryBytes);
        if (peer === "socket.io") assert.ok(ClientFrames.isSocketIoEvent(data, start, end));
        assert.ok(readStamp(data, start + frames.stampOffset));
        seen.push([stamp.seq, stamp.micros]);
      });
      scanner.push(Buffer.from(stream.subarray(0, split)));
      scanner.push(Buffer.from(stream.subarray(split)));
      assert.equal(scanner.error, undefined);
      assert.deepEqual(seen, [[7, 123_456], [8, 999_999_999_999]], `${peer}, split at ${split}`);
    }
  }
  const scanner = new FrameScanner(() => assert.fail("no frame expected"));
  scanner.push(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x41, 0x42]));
  assert.match(scanner.error ?? "", /unexpected frame header/);
});
