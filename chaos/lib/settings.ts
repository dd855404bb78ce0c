import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaseFigures } from './accounting.ts';

/**
 * `CHAOS_SHORT=1` (what `.ci/run` uses): shorter load phases, same faults and the same assertions.
 * The full run (`npm run chaos`) loads each case longer, so more requests straddle each fault.
 */
export const SHORT = process.env.CHAOS_SHORT === '1';

/** Seconds of load per case, and when the fault starts. */
export const LOAD_SECONDS = SHORT ? 12 : 24;
export const FAULT_AT_SECONDS = SHORT ? 3 : 6;

const RESULTS = path.resolve(import.meta.dirname, '../results');

/** Writes a suite's figures to `chaos/results/<suite>.json` (the README quotes the last full run). */
export async function writeResults(suite: string, figures: CaseFigures[]): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${suite}${SHORT ? '.short' : ''}.json`);
  await writeFile(file, JSON.stringify({ suite, short: SHORT, at: new Date().toISOString(), figures }, null, 2) + '\n');
}
