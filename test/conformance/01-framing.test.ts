// Autobahn §1 Framing: text and binary messages of every length-encoding edge (7-bit, 16-bit,
// 64-bit lengths), sent whole and cut in chunks, echoed byte for byte as one unmasked frame.
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  conformanceCase,
  connectRaw,
  randomBytes,
  randomIntBetween,
  randomUtf8,
  type Rng,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536] as const;

function payloadFor(rng: Rng, opcode: number, length: number): Buffer {
  return opcode === OP.TEXT ? randomUtf8(rng, length) : randomBytes(rng, length);
}

/** Sends one message whole, or cut by `chunking`, and expects the exact echo then a clean close. */
async function echoCase(
  rng: Rng,
  opcode: number,
  length: number,
  chunking?: number | ((index: number) => number),
): Promise<void> {
  const client = await connectRaw(echo.port, { rng });
  const payload = payloadFor(rng, opcode, length);
  if (chunking === undefined) client.sendFrame({ opcode, payload });
  else await client.sendFrameInChunks({ opcode, payload }, chunking);
  await client.expectFrame({ opcode, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
}

for (const [section, opcode, kind] of [
  ["1.1", OP.TEXT, "text"],
  ["1.2", OP.BINARY, "binary"],
] as const) {
  LENGTHS.forEach((length, i) => {
    conformanceCase(`${section}.${i + 1} ${kind} message with payload ${length} is echoed`, ({ rng }) =>
      echoCase(rng, opcode, length),
    );
  });
  conformanceCase(`${section}.8 ${kind} message with payload 65536 sent in chops of 997 bytes is echoed`, ({ rng }) =>
    echoCase(rng, opcode, 65536, 997),
  );
}

// Extra cases (not in Autobahn): every length with the header cut at every byte (2-byte base,
// extended length, mask key each split), then the payload in seeded random chunks.
const headerThenRandom = (rng: Rng) => (index: number) => (index < 14 ? 1 : randomIntBetween(rng, 1, 4096));

for (const [section, opcode, kind] of [
  ["1.x.1", OP.TEXT, "text"],
  ["1.x.2", OP.BINARY, "binary"],
] as const) {
  LENGTHS.forEach((length, i) => {
    conformanceCase(
      `${section}.${i + 1} ${kind} message with payload ${length} sent header byte by byte then in random chunks is echoed`,
      ({ rng }) => echoCase(rng, opcode, length, headerThenRandom(rng)),
    );
  });
}

for (const [section, opcode, kind] of [
  ["1.x.3", OP.TEXT, "text"],
  ["1.x.4", OP.BINARY, "binary"],
] as const) {
  [65537, 262_144, 1_000_003].forEach((length, i) => {
    conformanceCase(`${section}.${i + 1} ${kind} message with payload ${length} is echoed`, ({ rng }) =>
      echoCase(rng, opcode, length),
    );
  });
}

conformanceCase("1.x.5 twenty messages of mixed types and lengths in one TCP write are echoed in order", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const messages = Array.from({ length: 20 }, (_, i) => {
    const opcode = i % 2 === 0 ? OP.TEXT : OP.BINARY;
    const length = LENGTHS[i % LENGTHS.length]!;
    return { opcode, payload: payloadFor(rng, opcode, length) };
  });
  client.send(Buffer.concat(messages.map((m) => client.encode(m))));
  for (const message of messages) await client.expectFrame(message);
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("1.x.6 a masked frame with an all-zero mask key is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payload = randomUtf8(rng, 300);
  client.sendFrame({ opcode: OP.TEXT, payload, maskKey: new Uint8Array(4) });
  await client.expectFrame({ opcode: OP.TEXT, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
});
