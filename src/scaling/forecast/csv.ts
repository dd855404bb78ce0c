/** Hourly history: the analytics rollups' series, or a CSV import (`hour,requests`). */
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { ScalingInputError, parseDate, quoteInput } from '../errors.ts';

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

/** A CSV file's header (lower-cased) and its data rows, each with its line (where it ends, should a quoted cell span lines). */
export interface CsvTable {
  /** Column names, lower-cased. */
  header: string[];
  /** The header line as written (for messages). */
  headerLine: string;
  delimiter: ',' | ';' | '\t';
  rows: { cells: string[]; line: number }[];
}

/**
 * Reads a CSV file with csv-parse (RFC 4180: quoted fields, a byte-order mark, CRLF or LF line ends),
 * cells trimmed, blank lines and rows of empty cells alone (a spreadsheet's empty rows: `;;;`) skipped. The delimiter is read off the header line: a comma, else a
 * semicolon or a tab (spreadsheet exports in many locales). A row whose column count differs from the
 * header's, or a broken quote, is MALFORMED_CSV naming the line (for a quoted cell over several lines,
 * the line the row ends on).
 */
export function readCsvTable(text: string, source: string): CsvTable {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const delimiter: CsvTable['delimiter'] = firstLine.includes(',') ? ',' : firstLine.includes(';') ? ';' : firstLine.includes('\t') ? '\t' : ',';
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, delimiter, record_delimiter: ['\r\n', '\n', '\r'], skip_empty_lines: true, skip_records_with_empty_values: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (error) {
    if (error instanceof CsvError) throw new ScalingInputError('MALFORMED_CSV', `${source}: ${error.message}`);
    throw error;
  }
  if (records.length === 0) throw new ScalingInputError('MALFORMED_CSV', `${source} is empty`);
  const header = records[0].record.map((h) => h.trim().toLowerCase());
  // Spaces inside quotes too: `" 12 "` is 12.
  const rows = records.slice(1).map(({ record, info }) => ({ cells: record.map((c) => c.trim()), line: info.lines }));
  for (const row of rows) {
    if (row.cells.length !== header.length) throw new ScalingInputError('MALFORMED_CSV', `${source} line ${row.line}: expected ${header.length} columns, got ${row.cells.length}`);
  }
  return { header, headerLine: records[0].record.join(delimiter), delimiter, rows };
}

/** An hour's timestamp: ISO 8601 with a time, `T` or a space before it; one without an offset is UTC (whatever the machine's TZ). */
function parseHour(raw: string, where: string): Date {
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/i.test(raw)) {
    try {
      return parseDate(raw.replace(/^(.{10})t/, '$1T').replace(/z$/, 'Z'), where);
    } catch {
      // reported below, as a CSV error
    }
  }
  throw new ScalingInputError('MALFORMED_CSV', `${where}: ${quoteInput(raw)} is not an ISO timestamp (YYYY-MM-DDTHH:mm[:ss], with Z or an offset; without one it is read as UTC)`);
}

/** The largest count accepted: 2^53 − 1, the last integer a double holds exactly. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * A count as spreadsheets and databases write it: a decimal number ≥ 0, in a trimmed cell — digits with
 * an optional fraction (`12`, `12.5`, `12.`, `.5`), an optional `+`, an optional exponent (`1.2E+06`: how
 * spreadsheets write large numbers). Refused, though `Number()` reads some of them: hex, octal and
 * binary (`0x10` is 16), `Infinity` and `NaN`, a minus sign (`-0` included), digit separators, and
 * anything above MAX_COUNT (`1e400` is Infinity; one count of 1e308 overflowed the sums behind
 * the MASE scale to Infinity, and every backtest MASE read 0: a perfect tie with seasonal naive).
 */
function parseCount(raw: string, where: string): number {
  if (!/^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) throw new ScalingInputError('MALFORMED_CSV', `${where}: requests ${quoteInput(raw)} is not a count (a decimal number ≥ 0, e.g. 12, 12.5 or 1.2e3)`);
  const count = Number(raw);
  if (!(count <= MAX_COUNT)) throw new ScalingInputError('MALFORMED_CSV', `${where}: requests ${quoteInput(raw)} is too large for a count (at most ${MAX_COUNT})`);
  return count;
}

/**
 * Parses `hour,requests` CSV (header required; ISO timestamps on the hour of their own offset, so a
 * +05:30 file is moved onto whole UTC hours and reported through `onRealigned`; strictly ascending).
 * A bad line, a duplicate or an out-of-order hour raises MALFORMED_CSV naming the line. Gaps of up to
 * a week are filled (the same hour a week earlier, else linear interpolation) and reported through
 * `onGaps`; longer gaps are refused.
 */
export function parseHourlyCsv(text: string, source = 'CSV', onGaps?: (report: GapReport) => void, onRealigned?: (report: RealignReport) => void): HourlyPoint[] {
  const { header, headerLine, delimiter, rows } = readCsvTable(text, source);
  const hi = header.indexOf('hour');
  const ri = header.indexOf('requests');
  if (hi < 0 || ri < 0) throw new ScalingInputError('MALFORMED_CSV', `${source} line 1: header must name the columns "hour" and "requests" (got ${quoteInput(headerLine)})`);
  const points: HourlyPoint[] = [];
  const gaps: GapReport = { filledHours: 0, method: 'the same hour one week earlier where the history has it, else linear interpolation' };
  for (const { cells, line } of rows) {
    const where = `${source} line ${line}`;
    const hour = parseHour(cells[hi], where);
    const offset = minutesPastUtcHour(hour);
    if (offset % QUARTER_HOUR_MINUTES !== 0) throw new ScalingInputError('MALFORMED_CSV', `${where}: ${cells[hi]} is not on the hour`);
    const offsetBefore = points.length > 0 ? minutesPastUtcHour(points[0].hour) : offset;
    if (offset !== offsetBefore) throw new ScalingInputError('MALFORMED_CSV', `${where}: ${cells[hi]} starts ${offset} minutes past a UTC hour, the rows before it ${offsetBefore}: give every hour in one time zone's offset`);
    const requests = parseCount(cells[ri], where);
    // Where `;` separates the columns, `.` often groups thousands (1.234 = 1234): refused rather than guessed.
    if (delimiter === ';' && /^\d{1,3}(\.\d{3})+$/.test(cells[ri])) throw new ScalingInputError('MALFORMED_CSV', `${where}: requests ${quoteInput(cells[ri])} is ambiguous in a ";" file (1,234 with "." grouping thousands, or 1.234?): write it without a thousands separator`);
    const prev = points.at(-1);
    if (prev && hour.getTime() === prev.hour.getTime()) throw new ScalingInputError('MALFORMED_CSV', `${where}: duplicate hour ${hour.toISOString()} (a file in local clock time repeats an hour when the clock goes back: give each hour its UTC offset, or merge the two rows)`);
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
  const offsetMinutes = minutesPastUtcHour(points[0].hour);
  if (offsetMinutes === 0) return points;
  if (points.length < 2) throw new ScalingInputError('MALFORMED_CSV', `${source} has one row, ${offsetMinutes} minutes past a UTC hour: at least two are needed to cover a whole UTC hour`);
  const utcHours = onUtcHours(points, offsetMinutes);
  onRealigned?.({ offsetMinutes, hours: utcHours.length });
  return utcHours;
}

const QUARTER_HOUR_MINUTES = 15;

/** How a history kept on a half or quarter hour was moved onto whole UTC hours. */
export interface RealignReport {
  offsetMinutes: number;
  hours: number;
}

function minutesPastUtcHour(hour: Date): number {
  return ((hour.getTime() % HOUR_MS) + HOUR_MS) % HOUR_MS / 60_000;
}

/**
 * A shop in India (+05:30) or Nepal (+05:45) keeps its hours on the half or quarter UTC hour; the
 * models, events and outputs run on whole UTC hours. Each whole UTC hour takes the part of each of the
 * two kept hours it overlaps, pro rata (demand assumed even within an hour): 05:00Z of an India file
 * is the second half of 10:00+05:30 and the first half of 11:00+05:30. The first and last half hours,
 * which cover no whole UTC hour, are dropped.
 */
function onUtcHours(points: readonly HourlyPoint[], offsetMinutes: number): HourlyPoint[] {
  const shareOfEarlier = offsetMinutes / 60;
  return points.slice(1).map((later, i) => ({
    hour: new Date(later.hour.getTime() - offsetMinutes * 60_000),
    requests: shareOfEarlier * points[i].requests + (1 - shareOfEarlier) * later.requests,
  }));
}

export function formatHourlyCsv(points: readonly HourlyPoint[]): string {
  return ['hour,requests', ...points.map((p) => `${p.hour.toISOString()},${Math.round(p.requests)}`)].join('\n') + '\n';
}
