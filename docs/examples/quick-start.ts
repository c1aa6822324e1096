import { WebSocketServer, connect } from "wynd";

const server = new WebSocketServer({ maxMessageBytes: 1024 * 1024 });
server.on("connection", (connection, request) => {
  console.log("client connected to", request.path);
  connection.on("message", (data, isBinary) => {
    if (isBinary) connection.sendBinary(data);
    else connection.sendText(`echo: ${data.toString("utf8")}`);
  });
  connection.on("close", (code, reason, wasClean) => console.log("closed", code, reason, wasClean));
});
const address = await server.listen(0, "127.0.0.1");

const client = await connect(`ws://127.0.0.1:${address.port}/chat`);
client.on("message", (data) => {
  console.log(data.toString()); // "echo: hello"
  client.close(1000, "done");
});
client.sendText("hello");
await client.closed();
await server.close();
