// `wynd chat --redis` as real processes on one real redis-server: two processes on two ports make
// one chat for plain-text (wscat) users; a process killed with SIGKILL loses its users everywhere
// within the documented bound; `--workers 2` runs two workers on one port as one chat.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { CLI, serve } from "./cli-process.js";
import { assertNothingMore, Client, jsonClient, namedTextClients, sessionJsonClient, textClient, WAIT_MS } from "./helpers.js";
import { redisFor } from "./redis-helpers.js";

const run = promisify(execFile);
const TTL_MS = 1500;
/** The documented bound: 4/3 of the presence TTL (the last heartbeat, then one reap period). */
const BOUND_MS = (TTL_MS * 4) / 3;

describe("chat: wynd chat --redis processes", () => {
  it("makes one chat of two processes on two ports; one killed with SIGKILL loses its users everywhere within the bound, announced once", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const args = ["--redis", redis.url, "--presence-ttl-ms", String(TTL_MS), "--heartbeat-ms", "0"];
    const a = await serve(t, args);
    const b = await serve(t, args);
    assert.notEqual(a.url, b.url);
    const ws = (url: string) => url.replace(/^http/, "ws");
    const alice = await textClient(t, ws(a.url), "alice");
    const bob = await textClient(t, ws(b.url), "bob");
    await alice.expect("bob joined the chat");
    const carol = await textClient(t, ws(b.url), "carol");
    await alice.expect("carol joined the chat");
    await bob.expect("carol joined the chat");
    alice.send("hello from A");
    await bob.expect("alice: hello from A");
    await carol.expect("alice: hello from A");
    carol.send("/msg alice hi from B");
    await carol.expect("[private to alice] hi from B");
    await alice.expect("[private from carol] hi from B");
    alice.send("/users");
    await alice.expect("Online users: alice, bob, carol");

    a.kill("SIGKILL");
    const killedAt = Date.now();
    assert.equal((await a.exited).signal, "SIGKILL");
    await bob.expect("alice left the chat");
    const took = Date.now() - killedAt;
    await carol.expect("alice left the chat");
    // Generous for a loaded machine, but it fails when departures wait for anything but the TTL.
    t.diagnostic(`"alice left the chat" came ${took} ms after the SIGKILL (TTL ${TTL_MS} ms, bound ${BOUND_MS} ms)`);
    assert.ok(took <= BOUND_MS + 1500, `"left" came ${took} ms after the kill (bound ${BOUND_MS} ms)`);
    bob.send("/users");
    await bob.expect("Online users: bob, carol");
    await sleep(TTL_MS); // a second announcement (from another reaper) would have come by now
    await assertNothingMore(bob);
    await assertNothingMore(carol);
    // The name is free again, on the surviving process.
    await textClient(t, ws(b.url), "alice");
    await bob.expect("alice joined the chat");
  });

  it("runs --workers 2 on one port: clients on both workers see each other, and a killed worker's users leave", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    const primary = await serve(t, ["--redis", redis.url, "--workers", "2", "--presence-ttl-ms", String(TTL_MS), "--heartbeat-ms", "0"]);
    assert.match(primary.stdout(), /with 2 workers\n/);
    const ws = primary.url.replace(/^http/, "ws");
    // Each one sees the join of every later one (checked by the helper), whichever worker it is on.
    const names = ["u0", "u1", "u2", "u3", "u4", "u5"] as const;
    const clients = await namedTextClients(t, ws, ...names);
    clients[0].send("/users");
    await clients[0].expect(`Online users: ${names.join(", ")}`);
    clients[5].send("from the last one");
    for (const client of clients.slice(0, 5)) await client.expect("u5: from the last one");

    // Which client is on which worker: kill one worker and see whose connections end.
    const { stdout } = await run("ps", ["-o", "pid=", "--ppid", String(primary.pid)]);
    const workers = stdout.split("\n").map((s) => Number(s.trim())).filter((pid) => pid > 0);
    assert.equal(workers.length, 2, `two workers: ${stdout}`);
    process.kill(workers[0]!, "SIGKILL");
    const closed = await Promise.all(clients.map((client) => Promise.race([client.closed.then(() => true), sleep(WAIT_MS / 2).then(() => false)])));
    const gone = names.filter((_, i) => closed[i]);
    const kept = clients.filter((_, i) => !closed[i]);
    assert.ok(gone.length > 0 && kept.length > 0, `clients on both workers (closed: ${gone.join(", ")})`);
    for (const client of kept) {
      const lines = new Set<string>();
      for (let i = 0; i < gone.length; i++) lines.add(await client.text());
      assert.deepEqual([...lines].sort(), gone.map((name) => `${name} left the chat`).sort());
    }
    kept[0]!.send("/users");
    await kept[0]!.expect(`Online users: ${names.filter((name) => !gone.includes(name)).join(", ")}`);
    // The primary started another worker; the chat goes on for newcomers.
    const deadline = Date.now() + WAIT_MS;
    while (!/starting another/.test(primary.stderr()) && Date.now() < deadline) await sleep(20);
    assert.match(primary.stderr(), /worker \d+ exited \(SIGKILL\); starting another/);
    primary.kill("SIGTERM");
    assert.deepEqual(await primary.exited, { code: 0, signal: null });
    assert.match(primary.stdout(), /wynd chat stopped\n$/);
  });

  it("refuses --workers without --redis, --redis with a data directory, and says so when Redis cannot be reached", async () => {
    const fails = (args: string[]) =>
      run(process.execPath, [CLI, "chat", "--port", "0", ...args]).then(
        () => assert.fail(`${args.join(" ")} should fail`),
        (error: { code: number; stderr: string }) => error,
      );
    const noRedis = await fails(["--workers", "2"]);
    assert.equal(noRedis.code, 2);
    assert.match(noRedis.stderr, /--workers needs --redis/);
    const both = await fails(["--redis", "redis://127.0.0.1:1", "--data-dir", "x"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--redis keeps history in Redis/);
    const notUrl = await fails(["--redis", "localhost"]);
    assert.equal(notUrl.code, 2);
    // A port where no Redis listens: a clear error and exit 1, for one process and for workers.
    for (const workers of ["1", "2"]) {
      const down = await fails(["--redis", "redis://127.0.0.1:1", "--workers", workers]);
      assert.equal(down.code, 1);
      assert.match(down.stderr, /wynd chat: cannot start with Redis redis:\/\/127\.0\.0\.1:1: /);
    }
  });
});

describe("chat: sessions on two wynd chat --redis processes", () => {
  it("resumes a client on the other process after its own was killed with SIGKILL, with everything sent meanwhile", async (t) => {
    const redis = await redisFor(t);
    if (redis === undefined) return;
    // A TTL long enough that the resume comes before the dead process is reaped: nobody sees a leave.
    const args = ["--redis", redis.url, "--presence-ttl-ms", "15000", "--heartbeat-ms", "0"];
    const a = await serve(t, args);
    const b = await serve(t, args);
    const ws = (url: string) => url.replace(/^http/, "ws");
    const { client: alice, token } = await sessionJsonClient(t, ws(a.url), "alice");
    const bob = await jsonClient(t, ws(b.url), "bob");
    await alice.event("join");
    alice.sendJson({ type: "message", text: "seen" });
    const seen = String((await alice.event("message"))["id"]);
    await bob.event("message");

    a.kill("SIGKILL");
    await a.exited;
    const sent: string[] = [];
    for (const text of ["while", "you", "were", "gone"]) {
      bob.sendJson({ type: "message", text });
      sent.push(String((await bob.event("message"))["id"]));
    }
    bob.sendJson({ type: "private", to: "alice", text: "psst" });
    await bob.event("private");

    const again = await Client.open(t, `${ws(b.url)}?session=${token}&after=${seen}`, ["wynd-chat.v1"]);
    const welcome = await again.event("welcome");
    assert.equal(welcome["resumed"], true);
    assert.equal(welcome["name"], "alice");
    await again.event("room");
    const history = await again.event("history");
    assert.deepEqual((history["messages"] as Array<{ id: string }>).map((m) => m.id), sent);
    assert.equal(history["complete"], true);
    assert.equal((await again.event("private"))["text"], "psst");
    bob.sendJson({ type: "message", text: "welcome back" });
    await bob.event("message");
    assert.equal((await again.event("message"))["text"], "welcome back");
    await assertNothingMore(bob, true); // no leave, no join
    bob.sendJson({ type: "users" });
    assert.deepEqual((await bob.event("users"))["users"], ["alice", "bob"]);
  });
});
