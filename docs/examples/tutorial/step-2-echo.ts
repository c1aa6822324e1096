import { Wynd } from "wynd";

const wynd = new Wynd();

wynd.onConnection(async (conn) => {
  console.log(`New connection established: ${conn.id}`);

  await conn.onOpen(async (handle) => {
    console.log(`Connection ${handle.id} is now open`);
    await handle.sendText("Welcome to the echo server!");
  });

  conn.onText(async (msg, handle) => {
    console.log(`Echoing: ${msg.data}`);
    await handle.sendText(`Echo: ${msg.data}`);
  });

  conn.onClose((event) => {
    console.log(`Connection closed: code=${event.code}, reason=${event.reason}`);
  });
});

const port = Number(process.env.PORT ?? 8080);
await wynd.listen(port, (address) => {
  console.log(`Echo server listening on ws://localhost:${address.port}`);
});
