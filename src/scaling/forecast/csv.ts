/** Hourly history: the analytics rollups' series, or a CSV import (`hour,requests`). */
import { ScalingInputError } from '../errors.ts';

/** Requests observed in one hour. */
export interface HourlyPoint {
  /** Hour start. */
  hour: Date;
  requests: number;
}

const HOUR_MS = 3_600_000;

/**
 * Parses `hour,requests` CSV (header required; ISO timestamps on the hour; ascending, gap-free).
 * Any bad line raises MALFORMED_CSV naming the line.
 */
export function parseHourlyCsv(text: string, source = 'CSV'): HourlyPoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new ScalingInputError('MALFORMED_CSV', `${source} is empty`);
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const hi = header.indexOf('hour');
  const ri = header.indexOf('requests');
  if (hi < 0 || ri < 0) throw new ScalingInputError('MALFORMED_CSV', `${source} line 1: header must name the columns "hour" and "requests" (got "${lines[0]}")`);
  const points: HourlyPoint[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    const where = `${source} line ${i + 1}`;
    if (cells.length !== header.length) throw new ScalingInputError('MALFORMED_CSV', `${where}: expected ${header.length} columns, got ${cells.length}`);
    const hour = new Date(cells[hi].trim());
    const requests = Number(cells[ri].trim());
    if (Number.isNaN(hour.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(cells[hi].trim())) throw new ScalingInputError('MALFORMED_CSV', `${where}: "${cells[hi]}" is not an ISO timestamp`);
    if (hour.getTime() % HOUR_MS !== 0) throw new ScalingInputError('MALFORMED_CSV', `${where}: ${cells[hi]} is not on the hour`);
    if (cells[ri].trim() === '' || !Number.isFinite(requests) || requests < 0) throw new ScalingInputError('MALFORMED_CSV', `${where}: requests "${cells[ri]}" is not a count ≥ 0`);
    const prev = points.at(-1);
    if (prev && hour.getTime() !== prev.hour.getTime() + HOUR_MS) {
      throw new ScalingInputError('MALFORMED_CSV', `${where}: expected ${new Date(prev.hour.getTime() + HOUR_MS).toISOString()} (hours must ascend without gaps)`);
    }
    points.push({ hour, requests });
  }
  if (points.length === 0) throw new ScalingInputError('MALFORMED_CSV', `${source} has a header but no rows`);
  return points;
}

export function formatHourlyCsv(points: readonly HourlyPoint[]): string {
  return ['hour,requests', ...points.map((p) => `${p.hour.toISOString()},${Math.round(p.requests)}`)].join('\n') + '\n';
}
