// Limits and framing rules beyond Autobahn's cases: size limits are decided from the frame
// header alone, before any payload is buffered (1009, RFC 6455 §7.4.1 "a message that is too big
// for it to process"); unmasked client frames (§5.1) and 64-bit lengths with the top bit set
// (§5.2) fail with 1002. Against the 64 MiB echo server and a second one with small limits.
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  conformanceCase,
  connectRaw,
  encodeFrame,
  randomBytes,
  type FrameSpec,
} from "../helpers/raw-client.js";

const SMALL_MESSAGE_BYTES = 1024;
const SMALL_FRAGMENTS = 16;

const echo = useEchoServer();
const small = useEchoServer({ maxMessageBytes: SMALL_MESSAGE_BYTES, maxFragmentsPerMessage: SMALL_FRAGMENTS });
/** Only the byte limit set: maxFragmentsPerMessage takes its default, maxMessageBytes + 1. */
const derived = useEchoServer({ maxMessageBytes: SMALL_MESSAGE_BYTES });
/** The close reason of a message over the small server's byte limit. */
const TOO_BIG = `message too big (limit ${SMALL_MESSAGE_BYTES} bytes)`;

/** The header (with mask key) of `spec`, without its payload. */
function headerOnly(spec: FrameSpec & { declaredLength: number | bigint }): Buffer {
  return encodeFrame({ ...spec, payload: Buffer.alloc(0) }, Buffer.of(1, 2, 3, 4));
}

conformanceCase("L.1 a binary frame of exactly maxMessageBytes is echoed", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  const data = randomBytes(rng, SMALL_MESSAGE_BYTES);
  client.sendFrame({ opcode: OP.BINARY, payload: data });
  await client.expectFrame({ opcode: OP.BINARY, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("L.2 a frame header announcing maxMessageBytes + 1 fails with 1009 before any payload is sent", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  client.send(headerOnly({ opcode: OP.BINARY, declaredLength: SMALL_MESSAGE_BYTES + 1 }));
  await client.expectClose(1009, { reason: TOO_BIG });
});

conformanceCase("L.3 a text frame header announcing 2^53 bytes fails with 1009 from the header alone", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  client.send(headerOnly({ opcode: OP.TEXT, declaredLength: 2n ** 53n }));
  await client.expectClose(1009, { reason: TOO_BIG });
});

conformanceCase("L.4 the 64 MiB server also fails a 64 MiB + 1 header with 1009 from the header alone", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.send(headerOnly({ opcode: OP.BINARY, declaredLength: 64 * 1024 * 1024 + 1 }));
  await client.expectClose(1009, { reason: `message too big (limit ${64 * 1024 * 1024} bytes)` });
});

conformanceCase("L.5 fragments summing to exactly maxMessageBytes are echoed whole", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  const data = randomBytes(rng, SMALL_MESSAGE_BYTES);
  client.sendFrame({ opcode: OP.BINARY, payload: data.subarray(0, 1000), fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: data.subarray(1000) });
  await client.expectFrame({ opcode: OP.BINARY, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("L.6 a continuation header taking the message over maxMessageBytes fails with 1009 before its payload", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "a".repeat(1000), fin: false });
  client.send(headerOnly({ opcode: OP.CONTINUATION, declaredLength: SMALL_MESSAGE_BYTES - 1000 + 1 }));
  await client.expectClose(1009, { reason: TOO_BIG });
});

conformanceCase("L.7 a message of exactly maxFragmentsPerMessage fragments is echoed", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  const frames = Array.from({ length: SMALL_FRAGMENTS }, (_, i) =>
    client.encode({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: String(i % 10), fin: i === SMALL_FRAGMENTS - 1 }),
  );
  client.send(Buffer.concat(frames));
  await client.expectFrame({ opcode: OP.TEXT, payload: "0123456789012345" });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("L.8 one fragment more than maxFragmentsPerMessage fails with 1009", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  const frames = Array.from({ length: SMALL_FRAGMENTS + 1 }, (_, i) =>
    client.encode({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: "x", fin: i === SMALL_FRAGMENTS }),
  );
  client.send(Buffer.concat(frames));
  await client.expectClose(1009, { reason: `message too fragmented (limit ${SMALL_FRAGMENTS} frames)` });
});

/** `data` in one-byte fragments followed by `empty` empty ones, the last one final. */
function oneByteThenEmpty(client: { encode(spec: FrameSpec): Buffer }, data: Buffer, empty: number): Buffer {
  const count = data.length + empty;
  return Buffer.concat(
    Array.from({ length: count }, (_, i) =>
      client.encode({ opcode: i === 0 ? OP.BINARY : OP.CONTINUATION, payload: data.subarray(i, i + 1), fin: i === count - 1 }),
    ),
  );
}

conformanceCase("L.7b by default, maxMessageBytes one-byte fragments and an empty final frame (maxMessageBytes + 1 frames) are echoed", async ({ rng }) => {
  // Autobahn 9.3.1/9.4.1 in small: the fragmenter adds an empty final frame when the payload
  // divides evenly, so the largest message in the finest fragments has one frame per byte + 1.
  const client = await connectRaw(derived.port, { rng });
  const data = randomBytes(rng, SMALL_MESSAGE_BYTES);
  client.send(oneByteThenEmpty(client, data, 1));
  await client.expectFrame({ opcode: OP.BINARY, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("L.8b by default, one more (empty) frame than maxMessageBytes + 1 fails with 1009 and says why", async ({ rng }) => {
  const client = await connectRaw(derived.port, { rng });
  client.send(oneByteThenEmpty(client, randomBytes(rng, SMALL_MESSAGE_BYTES), 2));
  await client.expectClose(1009, { reason: `message too fragmented (limit ${SMALL_MESSAGE_BYTES + 1} frames)` });
});

conformanceCase("L.9 control frames are not counted against maxMessageBytes: a 125-byte ping mid-message is answered", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  const data = randomBytes(rng, SMALL_MESSAGE_BYTES);
  const ping = randomBytes(rng, 125);
  client.sendFrame({ opcode: OP.BINARY, payload: data.subarray(0, 1000), fin: false });
  client.sendFrame({ opcode: OP.PING, payload: ping });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: data.subarray(1000) });
  await client.expectFrame({ opcode: OP.PONG, payload: ping });
  await client.expectFrame({ opcode: OP.BINARY, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("L.10 an unmasked text frame after a valid one: echo, then 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "masked" });
  client.sendFrame({ opcode: OP.TEXT, payload: "unmasked", mask: false });
  await client.expectFrame({ opcode: OP.TEXT, payload: "masked" });
  await client.expectClose(1002);
});

for (const [name, kind, spec] of [
  ["L.11", "binary", { opcode: OP.BINARY, payload: Buffer.of(1, 2, 3) }],
  ["L.12", "ping", { opcode: OP.PING, payload: "ping" }],
  ["L.13", "close", { opcode: OP.CLOSE, payload: Buffer.of(0x03, 0xe8) }],
  ["L.14", "empty binary", { opcode: OP.BINARY, payload: Buffer.alloc(0) }],
] as const) {
  conformanceCase(`${name} an unmasked ${kind} frame fails with 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendFrame({ ...spec, mask: false });
    await client.expectClose(1002);
  });
}

conformanceCase("L.15 a 64-bit length with the most significant bit set fails with 1002 from the header alone", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.send(headerOnly({ opcode: OP.BINARY, declaredLength: 2n ** 63n + 5n }));
  await client.expectClose(1002);
});

conformanceCase("L.16 a 64-bit length of 2^64 - 1 fails with 1002 from the header alone", async ({ rng }) => {
  const client = await connectRaw(small.port, { rng });
  client.send(headerOnly({ opcode: OP.TEXT, declaredLength: 2n ** 64n - 1n }));
  await client.expectClose(1002);
});

conformanceCase("L.17 a non-minimal 64-bit length for a small payload is accepted (the minimal-length rule binds senders)", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "tiny", declaredLength: 4n });
  await client.expectFrame({ opcode: OP.TEXT, payload: "tiny" });
  client.sendClose(1000);
  await client.expectClose(1000);
});
