/**
 * `node dist/bench/callgrind/echo-client.js <port> <messages-per-connection> <connections>
 * <pipelining> <size> [binary]`: the echo scenario with a plain client (counts echoed bytes in
 * whole server frames), for `run.sh`.
 *
 * @module
 */

import { connect } from "node:net";

const [port, total, connections, pipelining, size] = process.argv.slice(2, 7).map(Number) as [number, number, number, number, number];
const binary = process.argv[7] === "binary";
const key = [1, 2, 3, 4];
const opcode = 0x80 | (binary ? 2 : 1);
const header =
  size < 126
    ? [opcode, 0x80 | size]
    : size < 65_536
      ? [opcode, 0x80 | 126, size >> 8, size & 255]
      : [opcode, 0x80 | 127, 0, 0, 0, 0, (size >>> 24) & 255, (size >> 16) & 255, (size >> 8) & 255, size & 255];
const frame = Buffer.concat([Buffer.from(header), Buffer.from(key), Buffer.alloc(size, 0x61)]);
for (let i = 0; i < size; i++) frame[header.length + 4 + i]! ^= key[i & 3]!;
const batch = Buffer.concat(Array.from({ length: pipelining }, () => frame));
const echoBytes = (size < 126 ? 2 : size < 65_536 ? 4 : 10) + size;
const request = Buffer.from(
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);
let finished = 0;
await new Promise<void>((resolve) => {
  for (let c = 0; c < connections; c++) {
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    let upgraded = false;
    let head = "";
    let received = 0;
    let sent = 0;
    let bytes = 0;
    socket.on("data", (chunk: Buffer) => {
      if (!upgraded) {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        upgraded = true;
        sent += pipelining;
        socket.write(batch);
        return;
      }
      bytes += chunk.length;
      const done = Math.floor(bytes / echoBytes);
      bytes -= done * echoBytes;
      received += done;
      if (received >= total) {
        socket.destroy();
        if (++finished === connections) resolve();
        return;
      }
      const more = Math.min(done, total - sent);
      if (more > 0) {
        sent += more;
        socket.write(more === pipelining ? batch : batch.subarray(0, more * frame.length));
      }
    });
    socket.on("error", (error) => process.stderr.write(`${error.message}\n`));
    socket.write(request);
  }
});
