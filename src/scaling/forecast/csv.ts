/** Hourly history: the analytics rollups' series, or a CSV import (`hour,requests`). */
import { ScalingInputError } from '../errors.ts';

/** Requests observed in one hour. */
export interface HourlyPoint {
  /** Hour start. */
  hour: Date;
  requests: number;
}

const HOUR_MS = 3_600_000;

/** Longest gap filled (hours); a longer one is an error. */
export const MAX_FILLED_GAP_HOURS = 168;

/** Hours missing from a history and how they were filled. */
export interface GapReport {
  filledHours: number;
  firstMissing?: string;
  method: string;
}

/**
 * Parses `hour,requests` CSV (header required; ISO timestamps on the hour; strictly ascending).
 * A bad line, a duplicate or an out-of-order hour raises MALFORMED_CSV naming the line. Gaps of up to
 * a week are filled (the same hour a week earlier, else linear interpolation) and reported through
 * `onGaps`; longer gaps are refused.
 */
export function parseHourlyCsv(text: string, source = 'CSV', onGaps?: (report: GapReport) => void): HourlyPoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new ScalingInputError('MALFORMED_CSV', `${source} is empty`);
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const hi = header.indexOf('hour');
  const ri = header.indexOf('requests');
  if (hi < 0 || ri < 0) throw new ScalingInputError('MALFORMED_CSV', `${source} line 1: header must name the columns "hour" and "requests" (got "${lines[0]}")`);
  const points: HourlyPoint[] = [];
  const gaps: GapReport = { filledHours: 0, method: 'the same hour one week earlier where the history has it, else linear interpolation' };
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
    if (prev && hour.getTime() === prev.hour.getTime()) throw new ScalingInputError('MALFORMED_CSV', `${where}: duplicate hour ${hour.toISOString()}`);
    if (prev && hour.getTime() < prev.hour.getTime()) throw new ScalingInputError('MALFORMED_CSV', `${where}: ${hour.toISOString()} comes after ${prev.hour.toISOString()} (hours must be sorted ascending)`);
    if (prev && hour.getTime() > prev.hour.getTime() + HOUR_MS) {
      const missing = (hour.getTime() - prev.hour.getTime()) / HOUR_MS - 1;
      if (missing > MAX_FILLED_GAP_HOURS) throw new ScalingInputError('MALFORMED_CSV', `${where}: ${missing} hours missing after ${prev.hour.toISOString()} (gaps longer than ${MAX_FILLED_GAP_HOURS} h are not filled)`);
      for (let j = 1; j <= missing; j++) {
        const t = prev.hour.getTime() + j * HOUR_MS;
        const weekAgo = points.length >= 168 ? points[points.length - 168] : undefined;
        const value = weekAgo ? weekAgo.requests : prev.requests + ((requests - prev.requests) * j) / (missing + 1);
        if (!gaps.firstMissing) gaps.firstMissing = new Date(t).toISOString();
        gaps.filledHours++;
        points.push({ hour: new Date(t), requests: value });
      }
    }
    points.push({ hour, requests });
  }
  if (points.length === 0) throw new ScalingInputError('MALFORMED_CSV', `${source} has a header but no rows`);
  if (gaps.filledHours > 0) onGaps?.(gaps);
  return points;
}

export function formatHourlyCsv(points: readonly HourlyPoint[]): string {
  return ['hour,requests', ...points.map((p) => `${p.hour.toISOString()},${Math.round(p.requests)}`)].join('\n') + '\n';
}
