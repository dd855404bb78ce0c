/** Plain-text tables for the terminal. */

export type Cell = string | number;

function format(c: Cell): string {
  if (typeof c === 'number') {
    if (!Number.isFinite(c)) return '-';
    return Number.isInteger(c) ? String(c) : c.toFixed(Math.abs(c) >= 100 ? 0 : 2);
  }
  return c;
}

/** Renders rows under a header; numbers right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map(format));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], raw?: readonly Cell[]) =>
    cells.map((c, i) => (raw && typeof raw[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map((r, i) => line(r, rows[i]))].join('\n');
}

export function formatMoney(v: number, currency = 'USD'): string {
  return `${currency === 'USD' ? '$' : `${currency} `}${v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })}`;
}
