import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "wynd";
import { createChatServer } from "wynd/chat";

// History goes to <dataDir>/history.jsonl; every limit is an option.
const dataDir = await mkdtemp(join(tmpdir(), "wynd-chat-example-"));
const chat = createChatServer({ dataDir, historySize: 20, maxMessageBytes: 2048 });
const address = await chat.listen(0, "127.0.0.1");
console.log(`page on ${chat.url}`);

// A plain-text client, as wscat would be: one command or message per line.
const client = await connect(`ws://127.0.0.1:${address.port}/`);
const received: string[] = [];
let wake: (() => void) | undefined;
client.on("message", (data) => {
  received.push(data.toString("utf8"));
  wake?.();
});
async function next(): Promise<string> {
  while (received.length === 0) await new Promise<void>((resolve) => (wake = resolve));
  return received.shift()!;
}

console.log((await next()).split("\n")[0]); // the welcome and its list of commands
for (const line of ["/name ada", "/join books", "/rooms"]) {
  client.sendText(line);
  console.log(await next());
}
client.close(1000, "bye");
await client.closed();
await chat.close();
await rm(dataDir, { recursive: true });
