// Autobahn §2 Pings/Pongs: every ping is answered by a pong with the same payload (RFC 6455
// §5.5.2, §5.5.3), a ping over 125 bytes fails the connection with 1002 (§5.5), and unsolicited
// pongs are ignored (§5.5.3).
import { useEchoServer } from "../helpers/conformance-server.js";
import { OP, conformanceCase, connectRaw, randomBytes } from "../helpers/raw-client.js";

const echo = useEchoServer();

const BINARY_SAMPLE = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);

for (const [name, title, payload] of [
  ["2.1", "ping without payload", Buffer.alloc(0)],
  ["2.2", "ping with a small text payload", Buffer.from("Hello, world!")],
  ["2.3", "ping with a small binary payload", BINARY_SAMPLE],
] as const) {
  conformanceCase(`${name} ${title} is answered by a pong with the same payload`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendFrame({ opcode: OP.PING, payload });
    await client.expectFrame({ opcode: OP.PONG, payload });
    client.sendClose(1000);
    await client.expectClose(1000);
  });
}

conformanceCase("2.4 ping with a binary payload of 125 bytes is answered by a pong with the same payload", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payload = randomBytes(rng, 125);
  client.sendFrame({ opcode: OP.PING, payload });
  await client.expectFrame({ opcode: OP.PONG, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.5 ping with a binary payload of 126 bytes fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PING, payload: randomBytes(rng, 126) });
  await client.expectClose(1002);
});

conformanceCase("2.6 ping with 125 bytes sent in 1-byte chunks is answered by a pong with the same payload", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payload = randomBytes(rng, 125);
  await client.sendFrameInChunks({ opcode: OP.PING, payload }, 1);
  await client.expectFrame({ opcode: OP.PONG, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.7 unsolicited pong without payload is ignored", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PONG });
  client.sendClose(1000);
  await client.expectClose(1000); // the close frame is the first and only frame the server sends
});

conformanceCase("2.8 unsolicited pong with payload is ignored", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PONG, payload: "unsolicited pong payload" });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.9 unsolicited pong then ping: only the ping is answered", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PONG, payload: "unsolicited pong payload" });
  client.sendFrame({ opcode: OP.PING, payload: "ping payload" });
  await client.expectFrame({ opcode: OP.PONG, payload: "ping payload" });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.10 ten pings with payload are answered by ten pongs in order", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  for (const payload of payloads) client.sendFrame({ opcode: OP.PING, payload });
  for (const payload of payloads) await client.expectFrame({ opcode: OP.PONG, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.11 ten pings with payload sent in 1-byte chunks are answered by ten pongs in order", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  for (const payload of payloads) {
    await client.sendFrameInChunks({ opcode: OP.PING, payload }, 1, 1);
  }
  for (const payload of payloads) await client.expectFrame({ opcode: OP.PONG, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
});

// Extra cases (not in Autobahn).

conformanceCase("2.x.1 pings interleaved with messages are answered in wire order", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.send(
    Buffer.concat([
      client.encode({ opcode: OP.TEXT, payload: "first" }),
      client.encode({ opcode: OP.PING, payload: "p1" }),
      client.encode({ opcode: OP.BINARY, payload: BINARY_SAMPLE }),
      client.encode({ opcode: OP.PING, payload: "p2" }),
    ]),
  );
  await client.expectFrame({ opcode: OP.TEXT, payload: "first" });
  await client.expectFrame({ opcode: OP.PONG, payload: "p1" });
  await client.expectFrame({ opcode: OP.BINARY, payload: BINARY_SAMPLE });
  await client.expectFrame({ opcode: OP.PONG, payload: "p2" });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("2.x.2 a ping announcing a 64-bit length fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PING, payload: randomBytes(rng, 200), declaredLength: 200n });
  await client.expectClose(1002);
});

conformanceCase("2.x.3 a pong of 126 bytes fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PONG, payload: randomBytes(rng, 126) });
  await client.expectClose(1002);
});
