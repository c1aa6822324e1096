/**
 * Text output in the autocannon style: box-drawn tables, and numbers with units.
 *
 * @module
 */

/** A box-drawn table; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (left: string, mid: string, right: string) =>
    left + widths.map((w) => "─".repeat(w + 2)).join(mid) + right;
  const out = [line("┌", "┬", "┐")];
  rows.forEach((row, r) => {
    out.push("│" + widths.map((w, i) => ` ${(row[i] ?? "").padEnd(w)} `).join("│") + "│");
    out.push(r === rows.length - 1 ? line("└", "┴", "┘") : line("├", "┼", "┤"));
  });
  return out.join("\n");
}

/** Microseconds as milliseconds, autocannon style ("0.42 ms"). */
export function ms(micros: number): string {
  const value = micros / 1000;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ms`;
}

/** A count with thousands separators, or a short form ("1.23M", "45.6k") when `short`. */
export function count(value: number, short = false): string {
  if (!Number.isFinite(value)) return String(value);
  if (short) {
    if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
    if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  }
  return Math.round(value).toLocaleString("en-US");
}

/** Bytes in decimal units as autocannon prints them ("2.84 MB"). */
export function bytes(value: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Bytes in binary units ("1.28 KiB"), for memory. */
export function kib(value: number): string {
  if (Math.abs(value) < 1024) return `${Math.round(value)} B`;
  if (Math.abs(value) < 1024 * 1024) return `${(value / 1024).toFixed(2)} KiB`;
  return `${(value / 1024 / 1024).toFixed(2)} MiB`;
}

/** A share in percent, rounded ("97%"). */
export function percent(value: number): string {
  return `${value.toFixed(0)}%`;
}

/** A ratio ("5.12×"), or "–" when it cannot be computed. */
export function ratio(value: number): string {
  return Number.isFinite(value) && value > 0 ? `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×` : "–";
}
