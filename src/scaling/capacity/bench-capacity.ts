/**
 * Reads the benchmark's per-instance capacity from `bench/results/capacity.json`.
 *
 * File shape (written by the load benchmark):
 * ```json
 * { "requestsPerSecondPerInstance": 180, "p95Ms": 480, "sloP95Ms": 500,
 *   "measuredAt": "2026-11-20T10:00:00Z", "scenario": "browse+checkout mix", "instance": "c6i.large" }
 * ```
 * Only `requestsPerSecondPerInstance` (> 0) and `measuredAt` (ISO date) are required.
 */
import { ScalingInputError, parseDate } from '../errors.ts';
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

export const DEFAULT_BENCH_CAPACITY_PATH = 'bench/results/capacity.json';

/** Validates the parsed file. */
export function parseBenchCapacity(data: unknown, source = DEFAULT_BENCH_CAPACITY_PATH): BenchCapacity {
  const d = data as Partial<BenchCapacity> | null;
  if (!d || typeof d !== 'object') throw new ScalingInputError('MALFORMED_FILE', `${source}: expected a JSON object`);
  const rps = Number(d.requestsPerSecondPerInstance);
  if (!Number.isFinite(rps)) throw new ScalingInputError('MALFORMED_FILE', `${source}: requestsPerSecondPerInstance is missing or not a number`);
  if (rps <= 0) throw new ScalingInputError('NEGATIVE_CAPACITY', `${source}: requestsPerSecondPerInstance must be > 0 (got ${rps})`);
  parseDate(String(d.measuredAt ?? ''), `${source} measuredAt`);
  return { ...d, requestsPerSecondPerInstance: rps, measuredAt: String(d.measuredAt) };
}

/** Where the capacity figure came from. */
export interface CapacitySource {
  requestsPerSecondPerInstance: number;
  source: string;
}

/**
 * Flag value if given, else the results file if it exists, else the fallback (labelled as an
 * assumption so that reports never pass it off as measured).
 */
export async function resolveCapacity(opts: { flag?: number; path?: string; fallback: number }): Promise<CapacitySource> {
  if (opts.flag !== undefined) {
    if (!(opts.flag > 0)) throw new ScalingInputError('NEGATIVE_CAPACITY', `--capacity must be > 0 (got ${opts.flag})`);
    return { requestsPerSecondPerInstance: opts.flag, source: '--capacity flag' };
  }
  const path = opts.path ?? DEFAULT_BENCH_CAPACITY_PATH;
  let text: string | undefined;
  try {
    text = await readInputFile(path);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    return { requestsPerSecondPerInstance: opts.fallback, source: `assumed default (${path} not found: run the capacity benchmark)` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ScalingInputError('MALFORMED_FILE', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const b = parseBenchCapacity(json, path);
  return { requestsPerSecondPerInstance: b.requestsPerSecondPerInstance, source: `${path} (measured ${b.measuredAt})` };
}
