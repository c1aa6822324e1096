// `wynd chat` as a child process: it serves the page and the chat on one port, keeps history in
// its data directory, stops on SIGTERM; `wynd chat token` mints tokens the server accepts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { signedTokenAuthenticator } from "../../src/chat/index.js";
import { CLI, serve } from "./cli-process.js";
import { Client, tempDir, WAIT_MS } from "./helpers.js";

const run = promisify(execFile);

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { timeout: WAIT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on("error", reject);
  });
}

describe("cli: wynd chat", () => {
  it("serves the page and the chat on one port, writes history to --data-dir, and stops on SIGTERM", { timeout: 30_000 }, async (t) => {
    const dataDir = join(tempDir(t), "data");
    const child = await serve(t, ["--data-dir", dataDir, "--history-size", "5"]);
    assert.equal(await status(child.url), 200, "the default public dir has index.html");
    assert.equal(await status(`${child.url}nope`), 404);
    const alice = await Client.open(t, child.url.replace(/^http/, "ws"));
    assert.match(await alice.text(), /^Welcome to the chat!/);
    alice.send("/name alice");
    await alice.expect("You are now known as alice");
    alice.send("saved");
    alice.send("/users");
    await alice.expect("Online users: alice");
    child.kill("SIGTERM");
    assert.deepEqual(await alice.waitClosed(), { code: 1001, reason: "server shutting down" });
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    assert.match(child.stdout(), /wynd chat stopped\n$/);
    assert.ok(existsSync(join(dataDir, "history.jsonl")));

    const again = await serve(t, ["--data-dir", dataDir]);
    const bob = await Client.open(t, again.url.replace(/^http/, "ws"));
    await bob.text();
    bob.send("/name bob");
    await bob.expect("You are now known as bob");
    assert.match(await bob.text(), /\] alice: saved\n/);
    again.kill("SIGINT");
    assert.deepEqual(await again.exited, { code: 0, signal: null });
  });

  it("mints signed tokens with `wynd chat token`, which --auth-secret accepts", { timeout: 30_000 }, async (t) => {
    const secret = "sixteen+ characters of secret";
    const { stdout } = await run(process.execPath, [CLI, "chat", "token", "--secret", secret, "--name", "alice", "--ttl", "600"]);
    const token = stdout.trim();
    assert.equal(signedTokenAuthenticator(secret)(token), "alice");
    const child = await serve(t, ["--memory"], { WYND_CHAT_SECRET: secret });
    const client = await Client.open(t, `${child.url.replace(/^http/, "ws")}?token=${token}`);
    assert.match(await client.text(), /^Welcome/);
    await client.expect("You are now known as alice");
    await assert.rejects(Client.open(t, child.url.replace(/^http/, "ws")), /401/);
  });

  it("reads --auth tokens files and rejects bad options with usage and exit code 2", { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t);
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "# who may chat\nt0ken bob\n");
    const child = await serve(t, ["--memory", "--auth", tokens]);
    const bob = await Client.open(t, child.url.replace(/^http/, "ws"), [], { Authorization: "Bearer t0ken" });
    await bob.text();
    await bob.expect("You are now known as bob");
    for (const args of [["--port", "x"], ["--rate", "0"], ["--memory", "--data-dir", dir], ["--bogus"], ["extra"], ["token", "--name", "a"]]) {
      const result = await run(process.execPath, [CLI, "chat", ...args], { env: { ...process.env, WYND_CHAT_SECRET: "" } }).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /usage: wynd chat/);
    }
    writeFileSync(tokens, "only-one-field\n");
    const bad = await run(process.execPath, [CLI, "chat", "--memory", "--auth", tokens]).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tokens:1: expected "token name"/);
  });
});
