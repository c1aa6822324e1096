// Autobahn §10 Miscellaneous, plus robustness across connections: one connection's protocol
// error, abrupt reset or unfinished frame never disturbs another, and the server keeps serving.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  conformanceCase,
  connectRaw,
  randomBytes,
  randomUtf8,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

conformanceCase("10.1.1 text message of 65536 bytes in fragments of 1300 bytes is echoed whole", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const data = randomUtf8(rng, 65536);
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 1300) {
    const end = Math.min(data.length, offset + 1300);
    frames.push(client.encode({ opcode: offset === 0 ? OP.TEXT : OP.CONTINUATION, payload: data.subarray(offset, end), fin: end === data.length }));
  }
  client.send(Buffer.concat(frames));
  await client.expectFrame({ opcode: OP.TEXT, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

// Extra cases (not in Autobahn).

conformanceCase("10.x.1 ten connections sending interleaved messages each get exactly their own echoes", async ({ rng }) => {
  const clients = await Promise.all(Array.from({ length: 10 }, () => connectRaw(echo.port, { rng })));
  const sent = clients.map(() => [] as Buffer[]);
  for (let round = 0; round < 5; round++) {
    clients.forEach((client, i) => {
      const data = randomBytes(rng, 1 + (rng() % 3000));
      sent[i]!.push(data);
      client.sendFrame({ opcode: OP.BINARY, payload: data });
    });
  }
  await Promise.all(
    clients.map(async (client, i) => {
      for (const data of sent[i]!) await client.expectFrame({ opcode: OP.BINARY, payload: data });
      client.sendClose(1000);
      await client.expectClose(1000);
    }),
  );
});

conformanceCase("10.x.2 a protocol error on one connection leaves another open connection working", async ({ rng }) => {
  const good = await connectRaw(echo.port, { rng });
  const bad = await connectRaw(echo.port, { rng });
  bad.sendFrame({ opcode: 3 });
  await bad.expectClose(1002);
  good.sendFrame({ opcode: OP.TEXT, payload: "still here" });
  await good.expectFrame({ opcode: OP.TEXT, payload: "still here" });
  good.sendClose(1000);
  await good.expectClose(1000);
});

conformanceCase("10.x.3 a client reset in the middle of a frame does not disturb the server", async ({ rng }) => {
  const aborted = await connectRaw(echo.port, { rng });
  const frame = aborted.encode({ opcode: OP.BINARY, payload: randomBytes(rng, 100_000) });
  aborted.send(frame.subarray(0, 50_000));
  aborted.socket.resetAndDestroy();
  await aborted.closed();
  const next = await connectRaw(echo.port, { rng });
  next.sendFrame({ opcode: OP.TEXT, payload: "after a reset" });
  await next.expectFrame({ opcode: OP.TEXT, payload: "after a reset" });
  next.sendClose(1000);
  await next.expectClose(1000);
});

conformanceCase("10.x.4 a client that half-closes TCP without a close frame gets its TCP connection closed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: "last words" });
  client.socket.end();
  // The message sent before the FIN may or may not be echoed (the server may stop writing once
  // the peer is gone); what matters is that the server ends its side at once, without a reset.
  const result = await client.closed();
  assert.equal(result.error, undefined, "no reset");
  assert.equal(result.trailingBytes, 0);
});

conformanceCase("10.x.5 server frames use the minimal length encoding at every boundary", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 65537]) {
    const data = randomBytes(rng, length);
    client.sendFrame({ opcode: OP.BINARY, payload: data });
    const frame = await client.expectFrame({ opcode: OP.BINARY, payload: data }); // checks the encoding
    assert.equal(frame.lengthBytes, length <= 125 ? 0 : length <= 65535 ? 2 : 8);
  }
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("10.x.6 a masked frame header split at every byte across 14 writes is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const data = randomBytes(rng, 70_000); // 64-bit length: 2 + 8 + 4 header bytes
  await client.sendFrameInChunks({ opcode: OP.BINARY, payload: data }, (i) => (i < 14 ? 1 : 70_000), 1);
  await client.expectFrame({ opcode: OP.BINARY, payload: data });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("10.x.7 the `wynd echo` command itself echoes a 2 MiB message and closes cleanly", async ({ rng }) => {
  const cli = new URL("../../src/cli.js", import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, "echo", "--port", "0", "--host", "127.0.0.1"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    let output = "";
    const cliPort = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (text: string) => {
        output += text;
        const match = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`wynd echo exited with ${code}: ${output}`)));
    });
    const client = await connectRaw(cliPort, { rng });
    const data = randomBytes(rng, 2 * 1024 * 1024); // over the library's 1 MiB default
    client.sendFrame({ opcode: OP.BINARY, payload: data });
    await client.expectFrame({ opcode: OP.BINARY, payload: data });
    client.sendClose(1000);
    await client.expectClose(1000);
  } finally {
    child.kill("SIGTERM");
  }
  // Bounded: a process that ignores SIGTERM is killed, so that no handle outlives the test.
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, 20_000, "timeout"))),
  ]);
  clearTimeout(timer);
  if (code === "timeout") child.kill("SIGKILL");
  assert.equal(code, 0, "wynd echo exits cleanly on SIGTERM");
});
