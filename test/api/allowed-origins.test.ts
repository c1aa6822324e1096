// The allowedOrigins option of the Wynd API over real sockets: 403 before any hook for a page
// from another origin; listed origins, "self" and clients without Origin are accepted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError, Wynd } from "../../src/index.js";
import { upgradeStatus } from "../helpers/upgrade-status.js";

describe("Wynd allowedOrigins", () => {
  it("answers 403 to a foreign Origin before the hook runs, and accepts listed origins, 'self' and no Origin", async (t) => {
    let hookRuns = 0;
    const errors: Error[] = [];
    const wynd = new Wynd({
      allowedOrigins: ["self", "https://app.example.com"],
      beforeUpgrade: () => {
        hookRuns++;
        return true;
      },
    });
    wynd.onError((error) => errors.push(error));
    t.after(() => wynd.close());
    const { port } = await wynd.listen(0);
    const host = `127.0.0.1:${port}`;
    assert.equal(await upgradeStatus(port, { Origin: "https://evil.example" }), 403);
    assert.equal(await upgradeStatus(port, { Origin: "http://127.0.0.1:1" }), 403);
    assert.equal(await upgradeStatus(port, { Origin: "null" }), 403);
    assert.equal(hookRuns, 0, "refused before the hook");
    assert.ok(errors.every((e) => e instanceof HandshakeError && e.code === "ERR_FORBIDDEN_ORIGIN" && e.status === 403));
    assert.equal(errors.length, 3);
    assert.equal(await upgradeStatus(port, {}), 101);
    assert.equal(await upgradeStatus(port, { Origin: "https://app.example.com" }), 101);
    assert.equal(await upgradeStatus(port, { Origin: "https://APP.example.com:443" }), 101);
    assert.equal(await upgradeStatus(port, { Origin: `http://${host}`, Host: host }), 101);
    assert.equal(await upgradeStatus(port, { Origin: "http://localhost:1", Host: "localhost:1" }), 101, "self is the Host header's host and port");
    assert.equal(hookRuns, 5);
  });

  it("checks nothing without the option, and refuses an invalid list at construction", async (t) => {
    const wynd = new Wynd();
    t.after(() => wynd.close());
    const { port } = await wynd.listen(0);
    assert.equal(await upgradeStatus(port, { Origin: "https://evil.example" }), 101);
    assert.throws(() => new Wynd({ allowedOrigins: ["example.com"] }), TypeError);
    assert.throws(() => new Wynd({ allowedOrigins: "https://example.com" as unknown as string[] }), TypeError);
  });
});
