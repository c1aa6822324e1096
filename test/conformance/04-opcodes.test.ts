// Autobahn §4 Opcodes: reserved non-control (3-7) and control (0xB-0xF) opcodes fail the
// connection with 1002 (RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint
// MUST _Fail the WebSocket Connection_"), after the valid message before them was echoed.
import { useEchoServer } from "../helpers/conformance-server.js";
import { OP, conformanceCase, connectRaw, type Rng } from "../helpers/raw-client.js";

const echo = useEchoServer();

/** A frame with a reserved opcode, alone: close 1002 is the only frame back. */
async function alone(rng: Rng, opcode: number, payload: string): Promise<void> {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode, payload });
  await client.expectClose(1002);
}

/** A text message, a reserved opcode, a ping: the echo, then close 1002 (no pong). */
async function afterValid(rng: Rng, opcode: number, payload: string): Promise<void> {
  const client = await connectRaw(echo.port, { rng });
  client.send(
    Buffer.concat([
      client.encode({ opcode: OP.TEXT, payload: "Hello, world!" }),
      client.encode({ opcode, payload }),
      client.encode({ opcode: OP.PING, payload: "not answered" }),
    ]),
  );
  await client.expectFrame({ opcode: OP.TEXT, payload: "Hello, world!" });
  await client.expectClose(1002);
}

conformanceCase("4.1.1 reserved non-control opcode 3 without payload fails with 1002", ({ rng }) => alone(rng, 3, ""));
conformanceCase("4.1.2 reserved non-control opcode 4 with payload fails with 1002", ({ rng }) => alone(rng, 4, "reserved opcode payload"));
conformanceCase("4.1.3 text, reserved opcode 5, ping: echo, then 1002", ({ rng }) => afterValid(rng, 5, ""));
conformanceCase("4.1.4 text, reserved opcode 6 with payload, ping: echo, then 1002", ({ rng }) => afterValid(rng, 6, "reserved opcode payload"));
conformanceCase("4.1.5 text, reserved opcode 7 with payload, ping: echo, then 1002", ({ rng }) => afterValid(rng, 7, "reserved opcode payload"));
conformanceCase("4.2.1 reserved control opcode 11 without payload fails with 1002", ({ rng }) => alone(rng, 11, ""));
conformanceCase("4.2.2 reserved control opcode 12 with payload fails with 1002", ({ rng }) => alone(rng, 12, "reserved opcode payload"));
conformanceCase("4.2.3 text, reserved control opcode 13, ping: echo, then 1002", ({ rng }) => afterValid(rng, 13, ""));
conformanceCase("4.2.4 text, reserved control opcode 14 with payload, ping: echo, then 1002", ({ rng }) => afterValid(rng, 14, "reserved opcode payload"));
conformanceCase("4.2.5 text, reserved control opcode 15 with payload, ping: echo, then 1002", ({ rng }) => afterValid(rng, 15, "reserved opcode payload"));

// Extra cases (not in Autobahn): every reserved opcode after a valid message, with FIN set and
// clear, and inside an open fragmented message.
const RESERVED = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];
RESERVED.forEach((opcode, i) => {
  conformanceCase(`4.x.${i + 1} reserved opcode ${opcode} after a valid message is answered with 1002`, ({ rng }) =>
    afterValid(rng, opcode, "x"),
  );
  conformanceCase(`4.x.${i + 11} reserved opcode ${opcode} with FIN clear fails with 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendFrame({ opcode, payload: "x", fin: false });
    await client.expectClose(1002);
  });
  conformanceCase(`4.x.${i + 21} reserved opcode ${opcode} between fragments of a message fails with 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendFrame({ opcode: OP.TEXT, payload: "frag1", fin: false });
    client.sendFrame({ opcode, payload: "x" });
    client.sendFrame({ opcode: OP.CONTINUATION, payload: "frag2" });
    await client.expectClose(1002);
  });
});
