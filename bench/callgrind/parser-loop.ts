/**
 * `node dist/bench/callgrind/parser-loop.js <repo-dir> <chunks>`: pushes a chunk of 16 masked
 * 32 B text frames into one FrameParser `<chunks>` times, for instruction counts of the parser
 * alone (`valgrind --tool=callgrind`, two chunk counts, difference ÷ frames).
 *
 * @module
 */

import type { FrameParser as Parser } from "../../src/protocol/frame-parser.js";

const [dir, n] = [process.argv[2], Number(process.argv[3])];
const { FrameParser } = (await import(`${dir}/dist/src/protocol/index.js`)) as { FrameParser: typeof Parser };
const key = [0x37, 0xfa, 0x21, 0x3d];
const text = Buffer.from("The quick brown fox jumps over t").map((b, i) => b ^ key[i & 3]!);
const one = Buffer.concat([Buffer.from([0x81, 0x80 | 32, ...key]), text]);
const chunk = Buffer.concat(Array.from({ length: 16 }, () => one));
const work = Buffer.allocUnsafe(chunk.length);
let count = 0;
const parser = new FrameParser(
  { onMessage: () => void count++, onPing() {}, onPong() {}, onClose() {}, onError(error) { throw error; } },
  { role: "server" },
);
for (let i = 0; i < n; i++) {
  chunk.copy(work);
  parser.push(work);
}
if (count !== 16 * n) throw new Error(`parsed ${count} messages, expected ${16 * n}`);
