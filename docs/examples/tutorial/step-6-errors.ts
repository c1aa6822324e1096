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

/** Sends `text`, logging a failure instead of throwing: the peer may be gone by now. */
async function send(handle: Handle<ChatUser>, text: string, what: string): Promise<boolean> {
  try {
    await handle.sendText(text);
    return true;
  } catch (error) {
    console.error(`Failed to send ${what} to client ${handle.id}: ${(error as Error).message}`);
    return false;
  }
}

wynd.onConnection(async (conn) => {
  await conn.onOpen(async (handle) => {
    console.log(`Client ${handle.id} connected`);
    if (await send(handle, `Welcome to the chat! ${HELP}`, "welcome message")) {
      console.log(`Welcome message sent to client ${handle.id}`);
    }
  });

  conn.onText(async (msg, handle) => {
    const text = msg.data.trim();

    if (!text.startsWith("/")) {
      // Regular message
      const name = handle.data.name;
      if (name === undefined) {
        await send(handle, "Please set your name first with: /name <your_name>", "name request");
        return;
      }
      const message = `${name}: ${text}`;
      console.log(message);
      // Never fails, never waits: each recipient's own backpressure policy deals with it.
      handle.to("chat").broadcast(message);
      return;
    }

    // Handle commands
    const space = text.indexOf(" ");
    const command = space === -1 ? text : text.slice(0, space);
    const argument = space === -1 ? "" : text.slice(space + 1).trim();
    switch (command) {
      case "/name":
        if (argument === "") await send(handle, "Usage: /name <your_name>", "usage message");
        else await setName(handle, argument);
        break;
      case "/users": {
        const names = wynd.to("chat").clients().map((user) => user.data.name);
        await send(handle, `Online users: ${names.join(", ")}`, "user list");
        break;
      }
      case "/help":
        await send(handle, HELP, "help");
        break;
      case "/quit":
        await send(handle, "Goodbye!", "goodbye");
        await handle.close(1000, "Goodbye");
        break;
      default:
        await send(handle, "Unknown command. Type /help for available commands.", "error message");
    }
  });

  // The connection's own errors: a protocol violation, a peer that stopped reading...
  conn.onError((error, handle) => {
    console.error(`Connection ${handle.id} error: ${error.message}`);
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
  await send(handle, `You are now known as ${name}`, "name confirmation");
  if (previous === undefined) {
    handle.join("chat");
    handle.to("chat").broadcast(`${name} joined the chat`);
  } else {
    handle.to("chat").broadcast(`${previous} is now known as ${name}`);
  }
}

// Handle server-level errors
wynd.onError((error) => {
  console.error(`Server error: ${error.message}`);
});

// Handle server shutdown
wynd.onClose(() => {
  console.log("Chat server shutting down");
});

// Ctrl+C (or a service manager) closes every connection with 1001, then the server
process.once("SIGINT", () => void wynd.close());
process.once("SIGTERM", () => void wynd.close());

// Start the server with error handling
const port = Number(process.env.PORT ?? 8080);
try {
  await wynd.listen(port, (address) => {
    console.log(`Advanced chat server listening on ws://localhost:${address.port}`);
  });
} catch (error) {
  console.error(`Server failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
