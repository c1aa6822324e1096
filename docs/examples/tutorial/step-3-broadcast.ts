import { Wynd } from "wynd";

// Wynd tracks every open connection itself: no map of clients to keep, or to forget to clean.
const wynd = new Wynd();

wynd.onConnection(async (conn) => {
  await conn.onOpen(async (handle) => {
    console.log(`Client ${handle.id} joined`);
    await handle.sendText("Welcome to the chat!");

    // Notify the other clients (the sender is skipped)
    handle.broadcast(`Client ${handle.id} joined the chat`);
  });

  conn.onText((msg, handle) => {
    console.log(`Client ${handle.id} says: ${msg.data}`);
    handle.broadcast(`Client ${handle.id}: ${msg.data}`);
  });

  conn.onClose((event, handle) => {
    console.log(`Client ${handle.id} disconnected: code=${event.code}, reason=${event.reason}`);
  });
});

const port = Number(process.env.PORT ?? 8080);
await wynd.listen(port, (address) => {
  console.log(`Chat server listening on ws://localhost:${address.port}`);
});
