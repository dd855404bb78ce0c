/**
 * A measured per-instance capacity (`--bench <file>`) and the choice between the sources of the figure.
 *
 * File shape (written by the load benchmark to `bench/results/capacity.json`; write the same from any load
 * test of your own pod):
 * ```json
 * { "requestsPerSecondPerInstance": 180, "p95Ms": 480, "sloP95Ms": 500,
 *   "measuredAt": "2026-11-20T10:00:00Z", "scenario": "browse+checkout mix", "instance": "c6i.large" }
 * ```
 * Only `requestsPerSecondPerInstance` (> 0, at most 1e12, the bound of `--capacity`) and `measuredAt` (ISO date) are required.
 */
import { MAX_OPTION_MAGNITUDE, ScalingInputError, parseDate, quoteInput } from '../errors.ts';
import { readInputFile } from '../input-files.ts';

/** The benchmark results file. */
export interface BenchCapacity {
  /** Highest requests/s one instance served with p95 within the SLO. */
  requestsPerSecondPerInstance: number;
  /** When the benchmark ran. */
  measuredAt: string;
  /** p95 measured at that rate. */
  p95Ms?: number;
  /** SLO the benchmark searched against. */
  sloP95Ms?: number;
  scenario?: string;
  instance?: string;
}

/** Where the capacity benchmark (`npm run bench`, scenario `capacity`) writes its result. */
export const DEFAULT_BENCH_CAPACITY_PATH = 'bench/results/capacity.json';

/**
 * Least capacity per instance taken (req/s): one request per 100 s. Below it a figure is no measurement of a web
 * pod (1e-300 planned every hour at --max); the upper bound is MAX_OPTION_MAGNITUDE.
 */
export const MIN_CAPACITY_RPS = 0.01;

/** Validates the parsed file. */
export function parseBenchCapacity(data: unknown, source = DEFAULT_BENCH_CAPACITY_PATH): BenchCapacity {
  const d = data as Partial<BenchCapacity> | null;
  if (!d || typeof d !== 'object') throw new ScalingInputError('MALFORMED_FILE', `${source}: expected a JSON object`);
  // A number, or a numeric string: `Number()` also read true as 1 req/s, [180] as 180 and "" as 0.
  const raw = d.requestsPerSecondPerInstance as unknown;
  const rps = typeof raw === 'number' || (typeof raw === 'string' && raw.trim() !== '') ? Number(raw) : Number.NaN;
  if (!Number.isFinite(rps)) throw new ScalingInputError('MALFORMED_FILE', `${source}: requestsPerSecondPerInstance is missing or not a number${raw === undefined ? '' : ` (got ${quoteInput(typeof raw === 'object' && raw !== null ? JSON.stringify(raw) : String(raw))})`}`);
  if (rps <= 0) throw new ScalingInputError('NEGATIVE_CAPACITY', `${source}: requestsPerSecondPerInstance must be > 0 (got ${rps})`);
  if (rps < MIN_CAPACITY_RPS) throw new ScalingInputError('MALFORMED_FILE', `${source}: requestsPerSecondPerInstance ${rps} is too small (at least ${MIN_CAPACITY_RPS} req/s, one request per 100 s)`);
  // The bound --capacity has: 1e308 made simulate's ready capacity (replicas × it) Infinity, null in --json.
  if (rps > MAX_OPTION_MAGNITUDE) throw new ScalingInputError('MALFORMED_FILE', `${source}: requestsPerSecondPerInstance ${rps} is too large (at most ${MAX_OPTION_MAGNITUDE.toExponential()})`);
  // A missing date read as `measuredAt: "" is not an ISO-8601 date`, a value the file does not hold.
  const measuredAt = d.measuredAt as unknown;
  if (measuredAt === undefined || measuredAt === null) throw new ScalingInputError('MALFORMED_FILE', `${source}: measuredAt is missing (when the benchmark ran, an ISO-8601 date, e.g. 2026-12-01T10:00:00Z)`);
  if (typeof measuredAt !== 'string') throw new ScalingInputError('MALFORMED_FILE', `${source}: measuredAt must be text (got ${quoteInput(JSON.stringify(measuredAt))})`);
  parseDate(measuredAt, `${source} measuredAt`);
  // Printed in the capacity's source line: an object read "on [object Object]".
  for (const key of ['instance', 'scenario'] as const) {
    const value = d[key] as unknown;
    if (value !== undefined && typeof value !== 'string') throw new ScalingInputError('MALFORMED_FILE', `${source}: ${key} must be text (got ${quoteInput(JSON.stringify(value))})`);
  }
  return { ...d, requestsPerSecondPerInstance: rps, measuredAt };
}

/** Where the capacity figure came from. */
export interface CapacitySource {
  requestsPerSecondPerInstance: number;
  source: string;
}

/** Reads and validates a results file; a file that cannot be read is refused (MALFORMED_FILE), never replaced by another figure. */
export async function readBenchCapacity(path: string, flag = '--bench'): Promise<BenchCapacity> {
  let text: string;
  try {
    text = await readInputFile(path);
  } catch (e) {
    throw new ScalingInputError('MALFORMED_FILE', `${flag} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ScalingInputError('MALFORMED_FILE', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseBenchCapacity(json, path);
}

/**
 * The per-instance capacity: `--capacity` if given, else the measured file if one is named (`--bench`;
 * a relative path is read from the current folder), else the deployed pod's figure. Nothing is looked up
 * implicitly: the source line says which one it was.
 */
export async function resolveCapacity(opts: { flag?: number; benchPath?: string; deployed: CapacitySource }): Promise<CapacitySource> {
  // The flag is parsed within its bounds (toBoundedNumber, atLeast MIN_CAPACITY_RPS) like every numeric option.
  if (opts.flag !== undefined) {
    return { requestsPerSecondPerInstance: opts.flag, source: `--capacity${opts.benchPath !== undefined ? ` (given with --bench ${opts.benchPath}, which it overrides)` : ''}` };
  }
  if (opts.benchPath !== undefined) {
    const b = await readBenchCapacity(opts.benchPath);
    return { requestsPerSecondPerInstance: b.requestsPerSecondPerInstance, source: `--bench ${opts.benchPath}: measured ${b.measuredAt}${b.instance ? ` on ${b.instance}` : ''}` };
  }
  return opts.deployed;
}
