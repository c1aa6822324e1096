// Autobahn §7 Close handling (RFC 6455 §5.5.1, §7): a close frame is answered with a close frame
// echoing its code (an empty one with an empty one), nothing is processed after it, invalid codes
// (§7.4) and malformed payloads fail with 1002, an invalid UTF-8 reason with 1007, and the server
// closes the TCP connection first once the closing handshake is done (§7.1.1).
import assert from "node:assert/strict";
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  closePayload,
  conformanceCase,
  connectRaw,
  randomUtf8,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

// 7.1 Basic close behavior.

conformanceCase("7.1.1 text message then close: the message is echoed, then the close", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "Hello World!" });
  client.sendClose(1000);
  await client.expectFrame({ opcode: OP.TEXT, payload: "Hello World!" });
  await client.expectClose(1000);
});

conformanceCase("7.1.2 two close frames: the second is ignored", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("7.1.3 a ping after the close frame is not answered", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  client.sendFrame({ opcode: OP.PING, payload: "Hello World!" });
  await client.expectClose(1000);
});

conformanceCase("7.1.4 a text message after the close frame is not echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  client.sendFrame({ opcode: OP.TEXT, payload: "Hello World!" });
  await client.expectClose(1000);
});

conformanceCase("7.1.5 first fragment, close, last fragment: only the close is answered", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "fragment1", fin: false });
  client.sendClose(1000);
  client.sendFrame({ opcode: OP.CONTINUATION, payload: "fragment2" });
  await client.expectClose(1000);
});

conformanceCase("7.1.6 256 KiB message, text, close, ping: both messages echoed, then the close, no pong", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const big = Buffer.from("BAsd7&jh23".repeat(Math.ceil((256 * 1024) / 10)).slice(0, 256 * 1024));
  client.send(
    Buffer.concat([
      client.encode({ opcode: OP.TEXT, payload: big }),
      client.encode({ opcode: OP.TEXT, payload: "Hello World!" }),
      client.encode({ opcode: OP.CLOSE, payload: closePayload(1000) }),
      client.encode({ opcode: OP.PING }),
    ]),
  );
  // Autobahn is informational here; wynd processes frames in wire order, so this is strict.
  await client.expectFrame({ opcode: OP.TEXT, payload: big });
  await client.expectFrame({ opcode: OP.TEXT, payload: "Hello World!" });
  await client.expectClose(1000);
});

// 7.3 Close frame structure: payload length.

conformanceCase("7.3.1 an empty close frame is answered with an empty close frame", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose();
  await client.expectClose(null);
});

conformanceCase("7.3.2 a close frame with a 1-byte payload fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.CLOSE, payload: Buffer.of(0x03) });
  await client.expectClose(1002);
});

conformanceCase("7.3.3 close with code 1000 and no reason is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("7.3.4 close with code 1000 and a short reason is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000, "Hello World!");
  const { reason } = await client.expectClose(1000);
  assert.ok(reason.length === 0 || reason.toString() === "Hello World!", "the reason is empty or echoed");
});

conformanceCase("7.3.5 close with code 1000 and a 123-byte reason is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const reason = "*".repeat(123);
  client.sendClose(1000, reason);
  const result = await client.expectClose(1000);
  assert.ok(result.reason.length === 0 || result.reason.toString() === reason, "the reason is empty or echoed");
});

conformanceCase("7.3.6 close with a 124-byte reason (126-byte control frame) fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000, "*".repeat(124));
  await client.expectClose(1002);
});

// 7.5 Close frame structure: payload value.

conformanceCase("7.5.1 close with a reason that is not valid UTF-8 fails with 1007", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000, Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex"));
  await client.expectClose(1007);
});

// 7.7 Valid close codes: echoed.

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
VALID_CODES.forEach((code, i) => {
  conformanceCase(`7.7.${i + 1} close with valid code ${code} is echoed with ${code}`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendClose(code);
    await client.expectClose(code);
  });
});

// 7.9 Invalid close codes: 1002.

const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
INVALID_CODES.forEach((code, i) => {
  conformanceCase(`7.9.${i + 1} close with invalid code ${code} fails with 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendClose(code);
    await client.expectClose(1002);
  });
});

// 7.13 Informational in Autobahn (undefined by the spec); wynd is strict: outside the
// registered ranges, so 1002.

conformanceCase("7.13.1 close with code 5000 fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(5000);
  await client.expectClose(1002);
});

conformanceCase("7.13.2 close with code 65535 fails with 1002", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(65535);
  await client.expectClose(1002);
});

// Extra cases (not in Autobahn).

[1012, 1013, 1014].forEach((code, i) => {
  conformanceCase(`7.x.${i + 1} close with IANA-registered code ${code} is echoed with ${code}`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendClose(code);
    await client.expectClose(code);
  });
});

[1015, 1999, 2500, 5001].forEach((code, i) => {
  conformanceCase(`7.x.${i + 4} close with invalid code ${code} fails with 1002`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    client.sendClose(code);
    await client.expectClose(1002);
  });
});

conformanceCase("7.x.8 close with a 123-byte multi-byte UTF-8 reason is echoed with its code", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const reason = randomUtf8(rng, 123);
  client.sendClose(4321, reason);
  const result = await client.expectClose(4321);
  assert.ok(result.reason.length === 0 || result.reason.equals(reason), "the reason is empty or echoed");
});

conformanceCase("7.x.9 close whose reason ends inside a code point fails with 1007", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000, Buffer.from("cebae1bd", "hex"));
  await client.expectClose(1007);
});

conformanceCase("7.x.10 close frame sent byte by byte is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  await client.sendFrameInChunks({ opcode: OP.CLOSE, payload: closePayload(1001, "bye") }, 1, 1);
  await client.expectClose(1001);
});

conformanceCase("7.x.11 close then half-close of TCP by the client: the close is still answered", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  client.socket.end();
  const result = await client.closed();
  assert.equal(result.code, 1000);
  assert.equal(result.error, undefined, "no reset");
});

conformanceCase("7.x.12 after the closing handshake the server ends TCP first, cleanly", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendClose(1000);
  const frame = await client.readFrame();
  assert.equal(frame.opcode, OP.CLOSE);
  assert.equal(client.socket.writableEnded, false, "the client has not ended its side");
  const result = await client.closed();
  assert.ok(result.cleanEnd, "FIN from the server, no reset");
});

conformanceCase("7.x.13 a close code and data frames in one TCP write: data before the close is echoed, after it dropped", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.send(
    Buffer.concat([
      client.encode({ opcode: OP.BINARY, payload: Buffer.of(1) }),
      client.encode({ opcode: OP.CLOSE, payload: closePayload(3001) }),
      client.encode({ opcode: OP.BINARY, payload: Buffer.of(2) }),
      client.encode({ opcode: OP.TEXT, payload: Buffer.of(0xff) }), // would be 1007 if parsed
    ]),
  );
  await client.expectFrame({ opcode: OP.BINARY, payload: Buffer.of(1) });
  await client.expectClose(3001);
});

conformanceCase("7.x.14 the server's close frame is answered and a TCP reset never follows a protocol error", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.BINARY, payload: Buffer.of(1), rsv: 4 });
  // More data after the bad frame, still in flight when the server fails the connection.
  for (let i = 0; i < 20; i++) client.sendFrame({ opcode: OP.BINARY, payload: Buffer.alloc(1000) });
  const result = await client.expectClose(1002);
  assert.equal(result.error, undefined);
});
