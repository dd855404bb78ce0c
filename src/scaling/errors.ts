/**
 * Stable codes for every way the toolkit refuses its input. The CLI prints one line
 * `error [CODE]: message` and exits 2 for any of them.
 */
export const SCALING_ERROR_CODES = [
  'INVALID_DATE',
  'NEGATIVE_CAPACITY',
  'UNKNOWN_POLICY',
  'MALFORMED_CSV',
  'INVALID_OPTION',
  'INSUFFICIENT_HISTORY',
  'MALFORMED_FILE',
  'MALFORMED_HPA',
  'MALFORMED_POD_LIST',
  'MALFORMED_METRICS',
  'UNWRITABLE_OUTPUT',
] as const;

export type ScalingErrorCode = (typeof SCALING_ERROR_CODES)[number];

/** Invalid input given to the scaling toolkit (a refusal, not a bug). */
export class ScalingInputError extends Error {
  readonly code: ScalingErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ScalingErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ScalingInputError';
    this.code = code;
    this.details = details;
  }
}

/** Longest input value an error message quotes: the message names the value, it does not repeat a line of a file. */
const QUOTED_INPUT_MAX = 60;

/** A value from the input, quoted for an error message: at most 60 characters, line breaks and control characters escaped. */
export function quoteInput(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > QUOTED_INPUT_MAX ? `${text.slice(0, QUOTED_INPUT_MAX)}…` : text);
}

/** Longest error line: what a value's quote keeps short elsewhere (a parser's own message) is cut here. */
const ERROR_LINE_MAX = 400;

/** The one line a CLI prints for a refused input: `error [CODE]: message`, line breaks flattened, at most 400 characters. */
export function formatInputError(error: ScalingInputError): string {
  const line = `error [${error.code}]: ${error.message.replace(/\s*[\r\n]+\s*/g, ' ')}`;
  return line.length > ERROR_LINE_MAX ? `${line.slice(0, ERROR_LINE_MAX - 1)}…` : line;
}

/** Parses an ISO-8601 date/time; a bare `YYYY-MM-DD` is midnight UTC. */
export function parseDate(value: string, field = 'date'): Date {
  const trimmed = value.trim();
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
  if (!iso.test(trimmed)) {
    throw new ScalingInputError('INVALID_DATE', `${field}: ${quoteInput(value)} is not an ISO-8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:mm[:ss]Z)`, { field, value });
  }
  const normalised = trimmed.length === 10 ? `${trimmed}T00:00:00Z` : /(?:Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`;
  const date = new Date(normalised.replace(' ', 'T'));
  const [y, m, d] = trimmed.slice(0, 10).split('-').map(Number);
  const [hh = 0, mm = 0] = trimmed.length > 10 ? trimmed.slice(11, 16).split(':').map(Number) : [];
  if (Number.isNaN(date.getTime()) || m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate() || hh > 23 || mm > 59) {
    throw new ScalingInputError('INVALID_DATE', `${field}: ${quoteInput(value)} is not a valid calendar date`, { field, value });
  }
  return date;
}

/**
 * The largest magnitude a numeric option (or a figure read from a file, such as a
 * measured capacity) takes. Far above any real rate, price, factor or duration, and
 * small enough that the products the commands form (base rate × pattern × event × demand factor × orders ×
 * jobs, summed over the minutes of a window) stay finite: 1e308 gave Infinity, printed as "-", "$∞" or null.
 */
export const MAX_OPTION_MAGNITUDE = 1e12;

/** Requires a finite number ≥ 0 (capacities, rates, sizes). */
export function requireNonNegative(value: number, field: string): number {
  if (!Number.isFinite(value)) {
    throw new ScalingInputError('INVALID_OPTION', `${field}: "${value}" is not a number`, { field, value });
  }
  if (value < 0) {
    throw new ScalingInputError('NEGATIVE_CAPACITY', `${field} must not be negative (got ${value})`, { field, value });
  }
  return value;
}

/** Requires a finite number > 0. */
export function requirePositive(value: number, field: string): number {
  requireNonNegative(value, field);
  if (value === 0) {
    throw new ScalingInputError('NEGATIVE_CAPACITY', `${field} must be greater than zero`, { field, value });
  }
  return value;
}
