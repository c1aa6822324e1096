/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- echo --cpu-prof
 * <dir>`): the functions with the most self time, and the inclusive time of every function whose
 * source is wynd's own (`src/`), with shares of the sampled time.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [--top 25]
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { table } from "./lib/format.js";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A short, stable name for a frame: "fn (file:line)". */
function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url === "" ? "" : url.replace(/^file:\/\//, "").replace(/^.*\/dist\//, "").replace(/^node:/, "node:");
  const name = functionName === "" ? "(anonymous)" : functionName;
  return file === "" ? name : `${name} (${file}:${lineNumber + 1})`;
}

/** Self and inclusive microseconds per frame name, and the total sampled. */
export function analyse(profile: Profile): { self: Map<string, number>; total: Map<string, number>; sampled: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  let sampled = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
    sampled += dt;
  });
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, micros] of selfById) {
    const node = byId.get(id)!;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + micros);
    // Inclusive: credit each distinct frame name on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName(byId.get(cur)!);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + micros);
    }
  }
  return { self, total, sampled };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" } } });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write("usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top N]\n");
    process.exit(2);
  }
  const top = Number(values.top);
  const { self, total, sampled } = analyse(JSON.parse(readFileSync(file, "utf8")) as Profile);
  const idle = self.get("(idle)") ?? 0;
  const busy = sampled - idle;
  const share = (micros: number) => `${((micros / busy) * 100).toFixed(1)}%`;
  const ms = (micros: number) => (micros / 1000).toFixed(0);
  process.stdout.write(`${file}\nsampled ${ms(sampled)} ms, idle ${ms(idle)} ms; shares below are of the ${ms(busy)} ms not idle\n\n`);
  const selfRows = [...self].filter(([name]) => name !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`Top ${top} by self time\n`);
  process.stdout.write(`${table([["self ms", "share", "function"], ...selfRows.map(([name, us]) => [ms(us), share(us), name])])}\n\n`);
  const wynd = [...total].filter(([name]) => /\(src\//.test(name)).sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write("wynd functions (src/) by inclusive time\n");
  process.stdout.write(
    `${table([["total ms", "share", "self ms", "function"], ...wynd.map(([name, us]) => [ms(us), share(us), ms(self.get(name) ?? 0), name])])}\n`,
  );
}

main();
