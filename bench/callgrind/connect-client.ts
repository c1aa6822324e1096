/**
 * `node dist/bench/callgrind/connect-client.js <port> <cycles> <slots>`: the connect scenario's
 * cycle (upgrade, masked Close 1000, wait for the server to close) with a plain client, for
 * `run.sh`. Exits non-zero if a 101 does not come.
 *
 * @module
 */

import { connect } from "node:net";

const [port, cycles, slots] = process.argv.slice(2).map(Number) as [number, number, number];
const request = Buffer.from(
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);
const close = Buffer.from([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]); // Close 1000, masked
let started = 0;
let done = 0;
await new Promise<void>((resolve, reject) => {
  const one = (): void => {
    if (started >= cycles) return;
    started++;
    const socket = connect(port, "127.0.0.1");
    let head = "";
    let closing = false;
    socket.on("data", (chunk: Buffer) => {
      if (closing) return;
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head));
      closing = true;
      socket.write(close);
    });
    socket.on("error", () => {});
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      if (++done === cycles) resolve();
      else one();
    });
    socket.write(request);
  };
  for (let i = 0; i < slots; i++) one();
});
