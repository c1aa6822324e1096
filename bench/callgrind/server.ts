/**
 * A server under test, started on its own for `run.sh` (which runs it under callgrind): prints
 * its port, then serves until SIGTERM. `node dist/bench/callgrind/server.js <repo-dir> <server>`
 * loads `<repo-dir>/dist/bench/servers/<server>.js`, so two builds can be compared.
 *
 * @module
 */

import type { StartServer } from "../servers/registry.js";

const [dir, name] = process.argv.slice(2);
const files: Record<string, string> = { wynd: "wynd.js", "wynd-api": "wynd-api.js", ws: "ws.js", raw: "raw.js" };
const file = files[name ?? ""];
if (dir === undefined || file === undefined) throw new Error("usage: server.js <repo-dir> wynd|wynd-api|ws|raw");
const { start } = (await import(`${dir}/dist/bench/servers/${file}`)) as { start: StartServer };
const server = await start("echo", { maxMessageBytes: 64 * 1024 * 1024 });
process.stdout.write(`${server.port}\n`);
process.on("SIGTERM", () => process.exit(0));
