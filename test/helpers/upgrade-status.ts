// A bare upgrade request over node:http, for tests of what the server answers before the 101.
import { request } from "node:http";

/** Sends an upgrade request with these headers; resolves with the status (101 or the refusal's). */
export function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/",
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
    });
    req.setTimeout(5000, () => req.destroy(new Error("no answer in 5 s")));
    req.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve(response.statusCode!);
    });
    req.on("response", (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    req.on("error", reject);
    req.end();
  });
}
