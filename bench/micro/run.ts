/**
 * `npm run bench -- micro [group...]`: every micro-benchmark case, checked against its plain
 * reference implementation, then timed (median ops/s of 7 batches of ~100 ms), as a table.
 *
 * @module
 */

import { bytes as formatBytes, count, ratio, table } from "../lib/format.js";
import { GROUPS } from "./cases.js";
import { opsPerSecond, sinkValue } from "./harness.js";

/** Runs the groups named (all when none); returns the exit code. */
export function runMicro(names: readonly string[]): number {
  const groups = names.length === 0 ? Object.keys(GROUPS) : [...names];
  for (const name of groups) {
    if (GROUPS[name] === undefined) {
      process.stderr.write(`unknown micro-benchmark group ${name} (${Object.keys(GROUPS).join(", ")})\n`);
      return 2;
    }
  }
  const rows: string[][] = [["group", "case", "wynd ops/s", "reference ops/s", "speed-up", "wynd throughput"]];
  for (const name of groups) {
    for (const c of GROUPS[name]!()) {
      c.check();
      const optimized = opsPerSecond(c.optimized);
      const reference = opsPerSecond(c.reference);
      rows.push([
        c.group,
        c.name,
        count(optimized),
        count(reference),
        ratio(optimized / reference),
        c.bytes === undefined ? "" : `${formatBytes(optimized * c.bytes)}/s`,
      ]);
      process.stderr.write(".");
    }
  }
  process.stderr.write("\n");
  process.stdout.write(`${table(rows)}\n(Node ${process.version}; sink ${sinkValue() % 10})\n`);
  return 0;
}
