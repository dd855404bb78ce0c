/** Plain-text tables for the terminal. */

export type Cell = string | number;

function format(c: Cell): string {
  if (typeof c === 'number') {
    if (!Number.isFinite(c)) return '-';
    return Number.isInteger(c) ? String(c) : c.toFixed(Math.abs(c) >= 100 ? 0 : 2);
  }
  return c;
}

/**
 * A rate at 3 significant digits at least, never rounded to nothing: 0.0112 req/s (40 requests an hour) is
 * `0.0112`, not `0.01` (36 an hour) or `0.00`; 4.5 is `4.50`, 1234.5 is `1235`.
 */
export function formatRate(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  if (a < 1e-9) return v.toExponential(2);
  return v.toFixed(2 - Math.floor(Math.log10(a)));
}

/** Renders rows under a header; numbers right-aligned, through the column's `formats` entry when it has one. */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[], formats: readonly (((v: number) => string) | undefined)[] = []): string {
  const text = rows.map((r) => r.map((c, i) => (typeof c === 'number' && formats[i] ? formats[i](c) : format(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], raw?: readonly Cell[]) =>
    cells.map((c, i) => (raw && typeof raw[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map((r, i) => line(r, rows[i]))].join('\n');
}

export function formatMoney(v: number, currency = 'USD'): string {
  return `${currency === 'USD' ? '$' : `${currency} `}${v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })}`;
}
