// Autobahn §9 Limits/Performance: large messages (up to 16 MiB), a 4 MiB message in fragments
// of 64 bytes to 4 MiB, 1 MiB frames written in small chops, and many small round trips — all
// echoed byte for byte. No timing is asserted: only correctness under volume.
import assert from "node:assert/strict";
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  conformanceCase,
  connectRaw,
  randomBytes,
  randomIntBetween,
  randomUtf8,
  type RawClient,
  type Rng,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

const KiB = 1024;
const MiB = 1024 * 1024;
const TIMEOUT = { timeoutMs: 120_000 };

/** Seeded payload of exactly `length` bytes: valid UTF-8 for text (a random block repeated). */
function payload(rng: Rng, opcode: number, length: number): Buffer {
  if (opcode === OP.BINARY || length === 0) return randomBytes(rng, length);
  const block = randomUtf8(rng, Math.min(length, 64 * KiB));
  const out = Buffer.allocUnsafe(length);
  for (let offset = 0; offset < length; offset += block.length) block.copy(out, offset);
  // The last copy may cut a code point: end with ASCII after the last complete block.
  const whole = Math.floor(length / block.length) * block.length;
  out.fill(0x61, whole);
  return out;
}

async function finish(client: RawClient): Promise<void> {
  client.sendClose(1000);
  await client.expectClose(1000);
}

const KINDS = [
  ["text", OP.TEXT],
  ["binary", OP.BINARY],
] as const;

// 9.1 / 9.2: one large message in one frame.
const SIZES = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB];
KINDS.forEach(([kind, opcode], k) => {
  SIZES.forEach((size, i) => {
    conformanceCase(`9.${1 + k}.${i + 1} ${kind} message of ${size / KiB} KiB is echoed byte for byte`, async ({ rng }) => {
      const client = await connectRaw(echo.port, { rng });
      const data = payload(rng, opcode, size);
      client.sendFrame({ opcode, payload: data });
      await client.expectFrame({ opcode, payload: data });
      await finish(client);
    }, TIMEOUT);
  });
});

// 9.3 / 9.4: a 4 MiB message in fragments of 64 bytes to 4 MiB, cut as Autobahn's fragmenter
// cuts it (autobahn/websocket/protocol.py, sendMessage): a fragment ends the message only when
// the payload runs out *inside* it, so a payload that divides evenly gets an empty final frame
// (9.3.1: 65,536 fragments of 64 bytes + 1 empty = 65,537 frames); a payload no larger than one
// fragment is sent unfragmented.
const FRAGMENT_SIZES = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
KINDS.forEach(([kind, opcode], k) => {
  FRAGMENT_SIZES.forEach((fragment, i) => {
    conformanceCase(`9.${3 + k}.${i + 1} ${kind} message of 4 MiB in fragments of ${fragment} bytes is echoed whole`, async ({ rng }) => {
      const client = await connectRaw(echo.port, { rng });
      const data = payload(rng, opcode, 4 * MiB);
      const frames: Buffer[] = [];
      if (data.length <= fragment) frames.push(client.encode({ opcode, payload: data }));
      for (let offset = 0, done = data.length <= fragment; !done; offset += fragment) {
        done = offset + fragment > data.length;
        const end = Math.min(data.length, offset + fragment);
        frames.push(client.encode({ opcode: offset === 0 ? opcode : OP.CONTINUATION, payload: data.subarray(offset, end), fin: done }));
      }
      if (fragment === 64) assert.equal(frames.length, 65_537, "9.x.1 has the empty final frame");
      client.send(Buffer.concat(frames));
      await client.expectFrame({ opcode, payload: data });
      await finish(client);
    }, TIMEOUT);
  });
});

// 9.5 / 9.6: a 1 MiB frame written in chops of 64 to 2048 bytes, one write (one TCP segment)
// each, yielding to the event loop every 16 chops.
const CHOPS = [64, 128, 256, 512, 1024, 2048];
KINDS.forEach(([kind, opcode], k) => {
  CHOPS.forEach((chop, i) => {
    conformanceCase(`9.${5 + k}.${i + 1} ${kind} message of 1 MiB written in chops of ${chop} bytes is echoed`, async ({ rng }) => {
      const client = await connectRaw(echo.port, { rng });
      const data = payload(rng, opcode, 1 * MiB);
      await client.sendFrameInChunks({ opcode, payload: data }, chop, 0, 16);
      await client.expectFrame({ opcode, payload: data });
      await finish(client);
    }, TIMEOUT);
  });
});

// 9.7 / 9.8: many small round trips, one message at a time.
const ROUND_TRIP_SIZES = [0, 16, 64, 256, 1024, 4096];
KINDS.forEach(([kind, opcode], k) => {
  ROUND_TRIP_SIZES.forEach((size, i) => {
    conformanceCase(`9.${7 + k}.${i + 1} 1000 ${kind} messages of ${size} bytes, one round trip each, are all echoed`, async ({ rng }) => {
      const client = await connectRaw(echo.port, { rng });
      const data = payload(rng, opcode, size);
      for (let n = 0; n < 1000; n++) {
        client.sendFrame({ opcode, payload: data });
        await client.expectFrame({ opcode, payload: data });
      }
      await finish(client);
    }, TIMEOUT);
  });
});

// Extra cases (not in Autobahn).

KINDS.forEach(([kind, opcode], k) => {
  conformanceCase(`9.x.${k + 1} ${kind} message of 64 KiB written in seeded random chunks of 1 to 4096 bytes is echoed`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    const data = payload(rng, opcode, 64 * KiB);
    await client.sendFrameInChunks({ opcode, payload: data }, () => randomIntBetween(rng, 1, 4096));
    await client.expectFrame({ opcode, payload: data });
    await finish(client);
  }, TIMEOUT);
});
