import { Wynd } from "wynd";

/** What the server remembers about each connection: its name, once set. */
interface ChatUser {
  name?: string;
}

const wynd = new Wynd<ChatUser>();

wynd.onConnection(async (conn) => {
  await conn.onOpen(async (handle) => {
    console.log(`Client ${handle.id} connected`);
    await handle.sendText("Welcome! Please set your name with: /name <your_name>");
  });

  conn.onText(async (msg, handle) => {
    const text = msg.data.trim();

    if (text.startsWith("/name ")) {
      const name = text.slice(6).trim();
      const previous = handle.data.name;
      handle.data.name = name;
      console.log(`Client ${handle.id} is now known as ${name}`);
      await handle.sendText(`You are now known as ${name}`);

      // Named users are the members of the "chat" room: only they see the conversation.
      if (previous === undefined) {
        handle.join("chat");
        handle.to("chat").broadcast(`${name} joined the chat`);
      } else {
        handle.to("chat").broadcast(`${previous} is now known as ${name}`);
      }
      return;
    }

    // Regular message
    const name = handle.data.name;
    if (name === undefined) {
      await handle.sendText("Please set your name first with: /name <your_name>");
      return;
    }
    const message = `${name}: ${text}`;
    console.log(message);
    handle.to("chat").broadcast(message);
  });

  conn.onClose((_event, handle) => {
    const name = handle.data.name;
    if (name !== undefined) {
      // The connection has already left the room: the others get the news.
      console.log(`${name} left the chat`);
      wynd.to("chat").broadcast(`${name} left the chat`);
    }
  });
});

const port = Number(process.env.PORT ?? 8080);
await wynd.listen(port, (address) => {
  console.log(`Named chat server listening on ws://localhost:${address.port}`);
});
