import { Wynd, type Handle } from "wynd";

interface ChatUser {
  name?: string;
}

const HELP = [
  "Available commands:",
  "- /name <name> - Set your display name",
  "- /users - List all online users",
  "- /help - Show this help message",
  "- /quit - Disconnect from the server",
].join("\n");

const wynd = new Wynd<ChatUser>();

wynd.onConnection(async (conn) => {
  await conn.onOpen(async (handle) => {
    console.log(`Client ${handle.id} connected`);
    await handle.sendText(`Welcome to the chat! ${HELP}`);
  });

  conn.onText(async (msg, handle) => {
    const text = msg.data.trim();

    if (!text.startsWith("/")) {
      // Regular message
      const name = handle.data.name;
      if (name === undefined) {
        await handle.sendText("Please set your name first with: /name <your_name>");
        return;
      }
      const message = `${name}: ${text}`;
      console.log(message);
      handle.to("chat").broadcast(message);
      return;
    }

    // Handle commands
    const space = text.indexOf(" ");
    const command = space === -1 ? text : text.slice(0, space);
    const argument = space === -1 ? "" : text.slice(space + 1).trim();
    switch (command) {
      case "/name":
        if (argument === "") await handle.sendText("Usage: /name <your_name>");
        else await setName(handle, argument);
        break;
      case "/users": {
        const names = wynd.to("chat").clients().map((user) => user.data.name);
        await handle.sendText(`Online users: ${names.join(", ")}`);
        break;
      }
      case "/help":
        await handle.sendText(HELP);
        break;
      case "/quit":
        await handle.sendText("Goodbye!");
        await handle.close(1000, "Goodbye");
        break;
      default:
        await handle.sendText("Unknown command. Type /help for available commands.");
    }
  });

  conn.onClose((_event, handle) => {
    const name = handle.data.name;
    if (name !== undefined) {
      console.log(`${name} left the chat`);
      wynd.to("chat").broadcast(`${name} left the chat`);
    }
  });
});

async function setName(handle: Handle<ChatUser>, name: string): Promise<void> {
  const previous = handle.data.name;
  handle.data.name = name;
  console.log(`Client ${handle.id} is now known as ${name}`);
  await handle.sendText(`You are now known as ${name}`);
  if (previous === undefined) {
    handle.join("chat");
    handle.to("chat").broadcast(`${name} joined the chat`);
  } else {
    handle.to("chat").broadcast(`${previous} is now known as ${name}`);
  }
}

const port = Number(process.env.PORT ?? 8080);
await wynd.listen(port, (address) => {
  console.log(`Advanced chat server listening on ws://localhost:${address.port}`);
});
