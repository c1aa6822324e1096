/**
 * A grouped bar chart as a standalone SVG, without dependencies: one group per scenario, one bar
 * per server, the bar height its ratio to the reference server (ws = 1, drawn as a line), and a
 * marker for wynd's target where there is one.
 *
 * @module
 */

/** One scenario's bars. */
export interface ChartGroup {
  readonly label: string;
  /** Second label line (the metric). */
  readonly sublabel: string;
  /** Server name → ratio to the reference (higher is better); NaN for none. */
  readonly ratios: ReadonlyMap<string, number>;
  /** wynd's target ratio to the reference, if any. */
  readonly target?: number | undefined;
}

const COLORS: Readonly<Record<string, string>> = {
  wynd: "#2563eb",
  "wynd-api": "#60a5fa",
  ws: "#9ca3af",
  "ws-native": "#6b7280",
  raw: "#16a34a",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Renders the chart. */
export function barChart(title: string, subtitle: readonly string[], servers: readonly string[], groups: readonly ChartGroup[]): string {
  const barWidth = 22;
  const groupGap = 48;
  const groupWidth = servers.length * barWidth + groupGap;
  const left = 56;
  const top = 50 + subtitle.length * 16;
  const plotHeight = 300;
  const width = Math.max(left + groups.length * groupWidth + 20, 760);
  const height = top + plotHeight + 90;
  let max = 1;
  for (const g of groups) {
    for (const r of g.ratios.values()) if (Number.isFinite(r)) max = Math.max(max, r);
    if (g.target !== undefined) max = Math.max(max, g.target);
  }
  // A "nice" top of the axis.
  const step = max <= 2 ? 0.5 : max <= 5 ? 1 : max <= 12 ? 2 : 5;
  const axisMax = Math.ceil((max * 1.08) / step) * step;
  const y = (v: number) => top + plotHeight - (v / axisMax) * plotHeight;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  subtitle.forEach((line, i) => out.push(`<text x="${left}" y="${44 + i * 16}" fill="#4b5563">${escapeXml(line)}</text>`));
  for (let v = 0; v <= axisMax + 1e-9; v += step) {
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#6b7280">${v}×</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupWidth + groupGap / 2;
    servers.forEach((server, si) => {
      const r = g.ratios.get(server);
      const x = x0 + si * barWidth;
      if (r === undefined || !Number.isFinite(r)) return;
      out.push(`<rect x="${x + 2}" y="${y(r)}" width="${barWidth - 4}" height="${y(0) - y(r)}" fill="${COLORS[server] ?? "#a855f7"}"><title>${escapeXml(`${server}: ${r.toFixed(2)}×`)}</title></rect>`);
      out.push(`<text x="${x + barWidth / 2}" y="${y(r) - 4}" text-anchor="middle" font-size="10">${r >= 10 ? r.toFixed(0) : r.toFixed(1)}</text>`);
    });
    const wyndIndex = servers.indexOf("wynd");
    if (g.target !== undefined && wyndIndex >= 0) {
      const x = x0 + wyndIndex * barWidth;
      out.push(`<line x1="${x - 2}" x2="${x + barWidth + 2}" y1="${y(g.target)}" y2="${y(g.target)}" stroke="#dc2626" stroke-width="2" stroke-dasharray="4 2"><title>wynd target ${g.target}×</title></line>`);
    }
    const cx = x0 + (servers.length * barWidth) / 2;
    out.push(`<text x="${cx}" y="${top + plotHeight + 18}" text-anchor="middle" font-weight="bold">${escapeXml(g.label)}</text>`);
    out.push(`<text x="${cx}" y="${top + plotHeight + 33}" text-anchor="middle" fill="#6b7280" font-size="11">${escapeXml(g.sublabel)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(1)}" y2="${y(1)}" stroke="#111827" stroke-dasharray="2 3"/>`);
  // Legend.
  let lx = left;
  const ly = top + plotHeight + 60;
  for (const server of servers) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[server] ?? "#a855f7"}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(server)}</text>`);
    lx += 30 + server.length * 7;
  }
  out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="#dc2626" stroke-width="2" stroke-dasharray="4 2"/>`);
  out.push(`<text x="${lx + 22}" y="${ly}">wynd target</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
