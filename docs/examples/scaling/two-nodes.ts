import { connect, Wynd, type WebSocketConnection } from "wynd";
import { createRedisAdapter } from "wynd/redis";

// Two nodes of one application. In production each runs in its own process or on its own
// machine with the same Redis URL; here both run in this process to show a broadcast on node A
// reaching a client of node B.
const url = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";

async function startNode(name: string) {
  const adapter = await createRedisAdapter({ url });
  const wynd = new Wynd({ adapter });
  // Called on changes only: "down" when Redis is lost (this node keeps serving its clients), "up" when back.
  wynd.onAdapterState((state) => console.log(`${name}: Redis is ${state}`));
  wynd.onConnection(async (connection, handle) => {
    connection.onText((msg, sender) => {
      sender.to("lobby").broadcast(`${msg.data} (via ${name})`);
    });
    handle.join("lobby");
    await adapter.flush(); // this node now receives the room's messages from the other nodes
    handle.sendText("welcome");
  });
  const { port } = await wynd.listen(0, "127.0.0.1");
  return { wynd, adapter, port };
}

function nextMessage(client: WebSocketConnection): Promise<string> {
  return new Promise((resolve) => client.once("message", (data) => resolve(data.toString())));
}

const a = await startNode("node A");
const b = await startNode("node B");
const alice = await connect(`ws://127.0.0.1:${a.port}/`);
await nextMessage(alice); // "welcome": alice is in the lobby
const bob = await connect(`ws://127.0.0.1:${b.port}/`);
await nextMessage(bob);

const received = nextMessage(bob);
alice.sendText("hello from alice");
console.log(`bob, on node B, got: ${await received}`); // "hello from alice (via node A)"

alice.close();
bob.close();
await Promise.all([alice.closed(), bob.closed()]);
for (const node of [a, b]) {
  await node.wynd.close();
  await node.adapter.close(); // Wynd never closes the adapter it was given
}
