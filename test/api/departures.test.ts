// Peers that leave with messages in flight: their queued messages are still handled, the sends
// those handlers make reject with ConnectionClosedError without being reported as handler
// failures, and onClose runs once per connection. Nothing is printed: a peer leaving is not the
// application's bug.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect as netConnect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, test } from "node:test";
import { Wynd } from "../../src/api/index.js";
import { ConnectionClosedError } from "../../src/index.js";
import { createRng, pickSeed, randomIntBetween, withSeed, type Rng } from "../helpers/random.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const UPGRADE =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A masked text frame (RFC 6455 §5.3: a client masks every frame), written by hand. */
function textFrame(text: string, rng: Rng): Buffer {
  const payload = Buffer.from(text, "utf8");
  const length = payload.byteLength;
  const header =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : length < 65_536
        ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255])
        : Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0, length >>> 24, (length >> 16) & 255, (length >> 8) & 255, length & 255]);
  const key = Buffer.from([rng() & 255, rng() & 255, rng() & 255, rng() & 255]);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

/** How a client leaves: before the 101 arrives, right after it, or after some echoes. */
const LEAVES = ["at once", "after the 101", "after an echo"] as const;
type Leave = (typeof LEAVES)[number];

/**
 * Connects, writes the upgrade request and `messages` pipelined text frames
 * ("<client>:<i>:<padding>") in one write, then destroys the socket (no Close frame, unread
 * echoes pending) as `leave` says. Resolves once destroyed.
 */
function leaveAbruptly(port: number, client: number, messages: number, leave: Leave, rng: Rng): Promise<void> {
  const frames: Buffer[] = [Buffer.from(UPGRADE, "latin1")];
  for (let i = 0; i < messages; i++) frames.push(textFrame(`${client}:${i}:${"x".repeat(randomIntBetween(rng, 0, 40))}`, rng));
  const bytes = Buffer.concat(frames);
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host: "127.0.0.1", port });
    cleanups.push(() => socket.destroy());
    socket.on("error", () => {
      // A reset from the server side is part of what this test provokes.
    });
    socket.on("close", () => resolve());
    let received = 0;
    socket.on("connect", () => {
      socket.write(bytes);
      if (leave === "at once") socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.byteLength;
      // The 101 response is about 130 bytes; an echo frame follows it.
      if (leave === "after the 101" || (leave === "after an echo" && received > 140)) socket.destroy();
    });
  });
}

/**
 * Sends `messages` text messages of `bytes` bytes each and reads nothing after the 101, so the
 * server's echoes fill the socket buffers until its `await handle.sendText(…)` waits for a drain
 * and the rest of the burst queues behind it; then leaves without a Close frame after `delayMs`.
 */
function stallThenLeave(port: number, messages: number, bytes: number, delayMs: number, rng: Rng): Promise<void> {
  const frame = textFrame("y".repeat(bytes), rng);
  const burst = Buffer.concat([Buffer.from(UPGRADE, "latin1"), ...Array.from({ length: messages }, () => frame)]);
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host: "127.0.0.1", port });
    cleanups.push(() => socket.destroy());
    socket.on("error", () => {
      // A reset from the server side is part of what this test provokes.
    });
    socket.on("close", () => resolve());
    socket.on("connect", () => socket.write(burst));
    socket.once("data", () => {
      socket.pause();
      setTimeout(() => socket.destroy(), delayMs);
    });
  });
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
async function until(condition: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("peers destroyed with pipelined messages in flight: queued messages are handled, no ConnectionClosedError reaches onError, onClose runs once each", { timeout: 60_000 }, async () => {
  await withSeed(pickSeed(), "departures", async (rng) => {
    const opened = new Set<number>();
    /** By client (not connection id): the message indices handled, in order. */
    const handled = new Map<number, number[]>();
    const closes = new Map<number, number>();
    const errors: Error[] = [];
    const rejectedSends: unknown[] = [];
    const wynd = new Wynd();
    cleanups.push(() => wynd.close());
    wynd.onError((error) => errors.push(error));
    wynd.onConnection((conn) => {
      opened.add(conn.id);
      conn.onText(async (msg, handle) => {
        const [client, index] = msg.data.split(":").map(Number) as [number, number];
        const indices = handled.get(client) ?? [];
        handled.set(client, indices);
        indices.push(index);
        // The first message of each connection is slow, so the others queue behind it.
        if (index === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        await handle.sendText(msg.data);
      });
      // A second handler that catches: the send still rejects, with ConnectionClosedError.
      conn.onText(async (msg, handle) => {
        try {
          await handle.sendText(msg.data);
        } catch (error) {
          rejectedSends.push(error);
        }
      });
      conn.onError((error) => errors.push(error));
      conn.onClose((_event, handle) => closes.set(handle.id, (closes.get(handle.id) ?? 0) + 1));
    });
    const { port } = await wynd.listen(0, "127.0.0.1");
    const plan: Array<{ messages: number; leave: Leave }> = [];
    for (let wave = 0; wave < 4; wave++) {
      const clients: Array<Promise<void>> = [];
      for (let c = 0; c < 25; c++) {
        const step = { messages: randomIntBetween(rng, 1, 120), leave: LEAVES[rng() % LEAVES.length]! };
        clients.push(leaveAbruptly(port, plan.length, step.messages, step.leave, rng));
        plan.push(step);
      }
      await Promise.all(clients);
    }
    await until(
      () => opened.size > 0 && [...opened].every((id) => closes.has(id)),
      () => `${closes.size} of ${opened.size} connections closed`,
    );
    // Let any late report or duplicate close surface before asserting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    // What a departure may report: the socket error it caused (the connection's onError is
    // where socket errors go), never a handler failure, never ConnectionClosedError.
    for (const error of errors) {
      assert.ok(!(error instanceof ConnectionClosedError), `reported: ${error.stack}`);
      const code = (error as NodeJS.ErrnoException).code;
      assert.ok(code === "EPIPE" || code === "ECONNRESET", `reported: ${error.stack}`);
    }
    for (const [id, count] of closes) assert.equal(count, 1, `onClose ran ${count} times for connection ${id}`);
    assert.equal(closes.size, opened.size);
    assert.ok(opened.size <= plan.length);
    for (const [client, indices] of handled) {
      // In order, none skipped: the messages that reached the server are all handled.
      assert.deepEqual(indices, indices.map((_, i) => i), `client ${client} handled ${indices.join(",")}`);
    }
    // A client that left after the 101 had sent every message with its request, and the server
    // sends the 101 after reading them: queued messages of a departed peer are all handled.
    plan.forEach((step, client) => {
      if (step.leave === "at once") return;
      assert.equal(handled.get(client)?.length, step.messages, `client ${client} (${step.leave})`);
    });
    assert.ok(rejectedSends.length > 0, "some sends found their peer gone");
    for (const error of rejectedSends) assert.ok(error instanceof ConnectionClosedError, String(error));
  });
});

test("the tutorial's echo server, unchanged, prints nothing on stderr while clients leave abruptly mid-burst", { timeout: 90_000 }, async () => {
  const seed = pickSeed();
  await withSeed(seed, "tutorial departures", async () => {
    const rng = createRng(seed);
    const script = fileURLToPath(new URL("../../docs/examples/tutorial/step-2-echo.js", import.meta.url));
    const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    await until(() => /listening on ws:\/\/localhost:\d+/.test(stdout) || child.exitCode !== null, () => stdout + stderr);
    const port = Number(/listening on ws:\/\/localhost:(\d+)/.exec(stdout)![1]);
    let clients = 0;
    for (let wave = 0; wave < 3; wave++) {
      const wave: Array<Promise<void>> = [];
      for (let c = 0; c < 20; c++) {
        clients++;
        wave.push(leaveAbruptly(port, clients, randomIntBetween(rng, 1, 150), LEAVES[rng() % LEAVES.length]!, rng));
      }
      await Promise.all(wave);
    }
    // Peers that stop reading: the server's sends wait for a drain that never comes.
    const stalled: Array<Promise<void>> = [];
    for (let c = 0; c < 3; c++) {
      clients++;
      stalled.push(stallThenLeave(port, 12, 1_000_000, randomIntBetween(rng, 300, 600), rng));
    }
    await Promise.all(stalled);
    const count = (pattern: RegExp): number => stdout.match(pattern)?.length ?? 0;
    // Every connection the server accepted is reported closed, exactly once.
    await until(
      () => count(/Connection closed: /g) >= count(/New connection established: /g) && count(/New connection established: /g) > 0,
      () => `${count(/Connection closed: /g)} closed of ${count(/New connection established: /g)} opened`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(count(/New connection established: /g) <= clients);
    assert.equal(count(/Connection closed: /g), count(/New connection established: /g));
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(stderr, "", "the server printed on stderr");
  });
});
