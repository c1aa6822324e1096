import { WebSocketServer, connect } from "wynd";

const server = new WebSocketServer({
  // Off by default on a server. Without context takeover on the server side, the server keeps
  // no compression state between messages, and broadcasts are compressed once.
  perMessageDeflate: { serverNoContextTakeover: true, thresholdBytes: 1024 },
  maxMessageBytes: 1024 * 1024, // the inflated size
});
server.on("connection", (connection) => {
  console.log("negotiated:", connection.extensions);
  connection.on("message", (data, isBinary) => connection.sendMessage(data, isBinary));
});
const { port } = await server.listen(0, "127.0.0.1");

const client = await connect(`ws://127.0.0.1:${port}`); // offers permessage-deflate by default
const text = "All work and no play makes Jack a dull boy. ".repeat(1000);
client.on("message", (data) => {
  console.log("echoed", data.length, "bytes, intact:", data.toString() === text);
  client.close();
});
client.sendText(text);
await client.closed();
await server.close();
