import { connect, HandshakeError } from "wynd";
import { createChatServer, JSON_PROTOCOL, signedTokenAuthenticator, signToken } from "wynd/chat";

// The same secret signs tokens (here, or with `wynd chat token`) and checks them.
// Keep a real one out of the source: an environment variable, a secrets manager.
const secret = "at least sixteen characters";
const chat = createChatServer({ auth: signedTokenAuthenticator(secret) });
const { port } = await chat.listen(0);

try {
  await connect(`ws://127.0.0.1:${port}/`);
} catch (error) {
  if (error instanceof HandshakeError) console.log(`without a token: HTTP ${error.status}`);
}

const token = signToken(secret, { name: "grace", ttlSeconds: 3600 });
const client = await connect(`ws://127.0.0.1:${port}/?token=${token}`, { protocols: [JSON_PROTOCOL] });
const welcome = await new Promise<{ name: string | null }>((resolve) => {
  client.once("message", (data) => resolve(JSON.parse(data.toString("utf8")) as { name: string | null }));
});
console.log(`with a token: welcome, ${welcome.name}`);
client.close(1000);
await client.closed();
await chat.close();
