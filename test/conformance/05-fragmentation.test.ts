// Autobahn §5 Fragmentation (RFC 6455 §5.4): fragmented messages are reassembled and echoed;
// control frames may be interleaved between fragments and are answered at once; control frames
// themselves may not be fragmented; a continuation with nothing to continue, or a new data frame
// while a message is open, fails the connection with 1002.
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  CHOPS,
  OP,
  closePayload,
  conformanceCase,
  connectRaw,
  randomBytes,
  type FrameSpec,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

const FRAG1 = { opcode: OP.TEXT, payload: "fragment1", fin: false };
const FRAG2 = { opcode: OP.CONTINUATION, payload: "fragment2" };

conformanceCase("5.1 ping in 2 fragments fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PING, payload: "fragment1", fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: "fragment2" });
  await client.expectClose(1002);
});

conformanceCase("5.2 pong in 2 fragments fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PONG, payload: "fragment1", fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: "fragment2" });
  await client.expectClose(1002);
});

CHOPS.forEach((chops, i) => {
  conformanceCase(`5.${3 + i} text message in 2 fragments (${chops}) is echoed whole`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    await client.sendFrames([FRAG1, FRAG2], chops);
    await client.expectFrame({ opcode: OP.TEXT, payload: "fragment1fragment2" });
    client.sendClose(1000);
    await client.expectClose(1000);
  });
});

CHOPS.forEach((chops, i) => {
  conformanceCase(`5.${6 + i} text message in 2 fragments with a ping in between (${chops}): pong, then echo`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    await client.sendFrames([FRAG1, { opcode: OP.PING, payload: "ping payload" }, FRAG2], chops);
    await client.expectFrame({ opcode: OP.PONG, payload: "ping payload" });
    await client.expectFrame({ opcode: OP.TEXT, payload: "fragment1fragment2" });
    client.sendClose(1000);
    await client.expectClose(1000);
  });
});

CHOPS.forEach((chops, i) => {
  conformanceCase(`5.${9 + i} continuation with FIN set and nothing to continue, then text (${chops}): 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    await client.sendFrames([{ opcode: OP.CONTINUATION, payload: "non-continuation payload" }, { opcode: OP.TEXT, payload: "Hello, world!" }], chops);
    await client.expectClose(1002);
  });
});

CHOPS.forEach((chops, i) => {
  conformanceCase(`5.${12 + i} continuation with FIN clear and nothing to continue, then text (${chops}): 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    await client.sendFrames(
      [{ opcode: OP.CONTINUATION, payload: "non-continuation payload", fin: false }, { opcode: OP.TEXT, payload: "Hello, world!" }],
      chops,
    );
    await client.expectClose(1002);
  });
});

conformanceCase("5.15 fragmented text, then a continuation with nothing to continue: echo, then 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames(
    [FRAG1, FRAG2, { opcode: OP.CONTINUATION, payload: "fragment3", fin: false }, { opcode: OP.CONTINUATION, payload: "fragment4" }],
    "one write",
  );
  await client.expectFrame({ opcode: OP.TEXT, payload: "fragment1fragment2" });
  await client.expectClose(1002);
});

for (const [name, fin] of [["5.16", false], ["5.17", true]] as const) {
  conformanceCase(`${name} twice: a continuation with FIN ${fin ? "set" : "clear"} and nothing to continue, then fragmented text: 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    const round: FrameSpec[] = [{ opcode: OP.CONTINUATION, payload: "fragment1", fin }, FRAG1, FRAG2];
    await client.sendFrames([...round, ...round], "one write");
    await client.expectClose(1002);
  });
}

conformanceCase("5.18 text message in 2 fragments that both carry the text opcode fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames([FRAG1, { opcode: OP.TEXT, payload: "fragment2" }], "one write");
  await client.expectClose(1002);
});

for (const [name, chops] of [["5.19", "frame-wise"], ["5.20", "octet-wise"]] as const) {
  conformanceCase(`${name} text in 5 fragments with pings after the 2nd and 4th (${chops}): each pong arrives before the message ends`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    const frag = (n: number, fin = false): FrameSpec => ({ opcode: n === 1 ? OP.TEXT : OP.CONTINUATION, payload: `fragment${n}`, fin });
    await client.sendFrames([frag(1), frag(2), { opcode: OP.PING, payload: "pongme 1!" }], chops);
    await client.expectFrame({ opcode: OP.PONG, payload: "pongme 1!" });
    await client.sendFrames([frag(3), frag(4), { opcode: OP.PING, payload: "pongme 2!" }], chops);
    await client.expectFrame({ opcode: OP.PONG, payload: "pongme 2!" });
    await client.sendFrames([frag(5, true)], chops);
    await client.expectFrame({ opcode: OP.TEXT, payload: "fragment1fragment2fragment3fragment4fragment5" });
    client.sendClose(1000);
    await client.expectClose(1000);
  });
}

// Extra cases (not in Autobahn).

conformanceCase("5.x.1 binary message in 3 fragments is echoed whole as binary", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const parts = [randomBytes(rng, 10), randomBytes(rng, 300), randomBytes(rng, 70_000)];
  await client.sendFrames(
    [
      { opcode: OP.BINARY, payload: parts[0]!, fin: false },
      { opcode: OP.CONTINUATION, payload: parts[1]!, fin: false },
      { opcode: OP.CONTINUATION, payload: parts[2]! },
    ],
    "frame-wise",
  );
  await client.expectFrame({ opcode: OP.BINARY, payload: Buffer.concat(parts) });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.2 text message in 200 fragments of one byte each is echoed whole", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const text = Buffer.from("0123456789".repeat(20));
  const frames: FrameSpec[] = [...text].map((byte, i) => ({
    opcode: i === 0 ? OP.TEXT : OP.CONTINUATION,
    payload: Buffer.of(byte),
    fin: i === text.length - 1,
  }));
  await client.sendFrames(frames, "frame-wise");
  await client.expectFrame({ opcode: OP.TEXT, payload: text });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.3 fragments with empty payloads around a non-empty one are echoed as one message", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames(
    [
      { opcode: OP.BINARY, fin: false },
      { opcode: OP.CONTINUATION, fin: false },
      { opcode: OP.CONTINUATION, payload: Buffer.of(1, 2, 3), fin: false },
      { opcode: OP.CONTINUATION },
    ],
    "one write",
  );
  await client.expectFrame({ opcode: OP.BINARY, payload: Buffer.of(1, 2, 3) });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.4 a binary message of only empty fragments is echoed as an empty binary message", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames([{ opcode: OP.BINARY, fin: false }, { opcode: OP.CONTINUATION, fin: false }, { opcode: OP.CONTINUATION }], "one write");
  await client.expectFrame({ opcode: OP.BINARY, payload: Buffer.alloc(0) });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.5 a first fragment then a close: the close is echoed, the message never is", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame(FRAG1);
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.6 a new binary message while a text message is open fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames([FRAG1, { opcode: OP.BINARY, payload: Buffer.of(1) }], "one write");
  await client.expectClose(1002);
});

conformanceCase("5.x.7 a close between fragments, then the last fragment: only the close is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames([FRAG1, { opcode: OP.CLOSE, payload: closePayload(1000) }, FRAG2], "one write");
  await client.expectClose(1000);
});

conformanceCase("5.x.8 messages after a fragmented message start fresh: fragmented, whole, fragmented are all echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames(
    [
      FRAG1,
      FRAG2,
      { opcode: OP.TEXT, payload: "whole" },
      { opcode: OP.BINARY, payload: Buffer.of(9), fin: false },
      { opcode: OP.CONTINUATION, payload: Buffer.of(8) },
    ],
    "one write",
  );
  await client.expectFrame({ opcode: OP.TEXT, payload: "fragment1fragment2" });
  await client.expectFrame({ opcode: OP.TEXT, payload: "whole" });
  await client.expectFrame({ opcode: OP.BINARY, payload: Buffer.of(9, 8) });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.9 a ping between every one-byte fragment is answered before the message completes", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const text = "abcdefghij";
  for (let i = 0; i < text.length; i++) {
    client.sendFrame({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: text[i]!, fin: i === text.length - 1 });
    if (i === text.length - 1) break;
    client.sendFrame({ opcode: OP.PING, payload: `p${i}` });
    await client.expectFrame({ opcode: OP.PONG, payload: `p${i}` });
  }
  await client.expectFrame({ opcode: OP.TEXT, payload: text });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("5.x.10 a close fragmented with FIN clear fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000), fin: false });
  await client.expectClose(1002);
});
