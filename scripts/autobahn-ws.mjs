#!/usr/bin/env node
// The `ws` package (a dev dependency) as the peer of the Autobahn testsuite, to compare wynd's
// results with the most used Node.js implementation in the same run (docs/conformance.md).
// Run from the project root with ../shared/autobahn/run.sh and AGENT=ws:
//
//   AGENT=ws $A/run.sh server ws-server cases-1-11 9401 -- node scripts/autobahn-ws.mjs server 9401
//   AGENT=ws $A/run.sh client ws-client cases-1-11 9402 -- node scripts/autobahn-ws.mjs client ws://127.0.0.1:9402
//
// server PORT [--deflate]: an echo server on 127.0.0.1:PORT (permessage-deflate with --deflate).
// client URL: the driver loop of ../shared/autobahn/wynd-client.mjs (getCaseCount, runCase with
// every message echoed with its type, updateReports); WS_DEFLATE=0 turns compression off.
// Messages up to 64 MiB either way, as `wynd echo`; everything else is ws's default.
import WebSocket, { WebSocketServer } from "ws";

const maxPayload = 64 * 1024 * 1024;
const [mode, target] = process.argv.slice(2);

if (mode === "server") {
  const wss = new WebSocketServer({
    port: Number(target),
    host: "127.0.0.1",
    maxPayload,
    perMessageDeflate: process.argv.includes("--deflate"),
  });
  wss.on("connection", (ws) => {
    ws.on("error", () => {}); // reported through close
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
} else if (mode === "client") {
  const agent = process.env.AGENT ?? "ws";
  const options = { maxPayload, perMessageDeflate: process.env.WS_DEFLATE !== "0" };
  /** Opens `path`, hands every message to `onMessage`, resolves with the close code. */
  const open = (path, onMessage) =>
    new Promise((resolve) => {
      const ws = new WebSocket(`${target}${path}`, options);
      ws.on("error", () => {});
      ws.on("message", (data, isBinary) => onMessage(ws, data, isBinary));
      ws.on("close", (code) => resolve(code));
    });
  let count = 0;
  await open("/getCaseCount", (_ws, data) => (count = JSON.parse(data.toString())));
  for (let n = 1; n <= count; n++) {
    const code = await open(`/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, (ws, data, isBinary) =>
      ws.send(data, { binary: isBinary }),
    );
    console.log(`case ${n}/${count}: close ${code}`);
  }
  await open(`/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
  console.log("reports updated");
} else {
  console.error("usage: autobahn-ws.mjs server PORT [--deflate] | client ws://127.0.0.1:PORT");
  process.exit(2);
}
