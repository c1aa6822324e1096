import { WebSocketServer, connect } from "wynd";

const server = new WebSocketServer({
  selectProtocol: (offered) => offered.find((protocol) => protocol === "v2.feed"),
});
server.on("connection", (connection, request) => {
  connection.sendText(`${request.path} for ${request.headers.get("authorization") ?? "anyone"}`);
});
const address = await server.listen(0, "127.0.0.1"); // port 0 picks a free port

const connection = await connect(`ws://127.0.0.1:${address.port}/feed`, {
  protocols: ["v2.feed", "v1.feed"],
  headers: { authorization: "Bearer 42" },
  // For wss:// URLs, `tls` takes node:tls options: { ca, servername, ... }.
});
connection.on("message", (data) => {
  console.log(`${connection.protocol}: ${data.toString()}`);
  connection.close();
});
await connection.closed();
await server.close();
