// Autobahn §3 Reserved bits: with no extension negotiated, a frame with any RSV bit set fails
// the connection with 1002 (RFC 6455 §5.2), after everything valid before it was processed, and
// nothing after it is (a ping sent after the bad frame is not answered).
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  RSV,
  closePayload,
  conformanceCase,
  connectRaw,
  type Chops,
  type FrameSpec,
  type Rng,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

/** A valid text message, then `bad`, then a ping: the text is echoed, then close 1002 only. */
async function validThenBad(rng: Rng, bad: FrameSpec, chops: Chops): Promise<void> {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrames(
    [{ opcode: OP.TEXT, payload: "Hello, world!" }, bad, { opcode: OP.PING, payload: "not answered" }],
    chops,
  );
  await client.expectFrame({ opcode: OP.TEXT, payload: "Hello, world!" });
  await client.expectClose(1002);
}

conformanceCase("3.1 small text message with RSV = 1 fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "Hello, world!", rsv: 1 });
  await client.expectClose(1002);
});

conformanceCase("3.2 small text message, then one with RSV = 2, then ping: echo, then 1002", ({ rng }) =>
  validThenBad(rng, { opcode: OP.TEXT, payload: "Hello, world!", rsv: 2 }, "one write"),
);

conformanceCase("3.3 same as 3.2 with RSV = 3 sent frame by frame: echo, then 1002", ({ rng }) =>
  validThenBad(rng, { opcode: OP.TEXT, payload: "Hello, world!", rsv: 3 }, "frame-wise"),
);

conformanceCase("3.4 same as 3.2 with RSV = 4 sent byte by byte: echo, then 1002", ({ rng }) =>
  validThenBad(rng, { opcode: OP.TEXT, payload: "Hello, world!", rsv: 4 }, "octet-wise"),
);

conformanceCase("3.5 small binary message with RSV = 5 fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.BINARY, payload: Buffer.from([0x00, 0xff, 0xfe, 0xfd]), rsv: 5 });
  await client.expectClose(1002);
});

conformanceCase("3.6 ping with payload and RSV = 6 fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.PING, payload: "Hello, world!", rsv: 6 });
  await client.expectClose(1002);
});

conformanceCase("3.7 close frame with RSV = 7 fails the connection with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000), rsv: 7 });
  await client.expectClose(1002);
});

// Extra cases (not in Autobahn): each single RSV bit on every kind of frame, after a valid
// message that must be echoed first.
const BAD_FRAMES: ReadonlyArray<readonly [string, FrameSpec]> = [
  ["text", { opcode: OP.TEXT, payload: "data" }],
  ["binary", { opcode: OP.BINARY, payload: Buffer.from([1, 2, 3]) }],
  ["empty text", { opcode: OP.TEXT }],
  ["ping", { opcode: OP.PING, payload: "ping" }],
  ["pong", { opcode: OP.PONG, payload: "pong" }],
  ["close", { opcode: OP.CLOSE, payload: closePayload(1000) }],
];
let extra = 0;
for (const [bitName, bit] of Object.entries(RSV)) {
  for (const [kind, frame] of BAD_FRAMES) {
    extra++;
    conformanceCase(`3.x.${extra} ${kind} frame with ${bitName} set after a valid message: echo, then 1002`, ({ rng }) =>
      validThenBad(rng, { ...frame, rsv: bit }, "one write"),
    );
  }
}

conformanceCase("3.x.19 continuation frame with RSV1 set inside a fragmented message fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "frag1", fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: "frag2", rsv: RSV.RSV1 });
  await client.expectClose(1002);
});
