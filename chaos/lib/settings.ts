import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * `CHAOS_SHORT=1` (what `.ci/run` uses): shorter load phases, fewer buyers and the headline cases
 * (PostgreSQL crashed for 5 s, Redis killed without persistence, both scale-ins), with the same assertions. The full run (`npm run chaos`) runs every case with longer loads.
 */
export const SHORT = process.env.CHAOS_SHORT === '1';

/** Seconds of load per case, and when the fault starts. */
export const LOAD_SECONDS = SHORT ? 8 : 24;
export const FAULT_AT_SECONDS = SHORT ? 2 : 6;

/** A case the short run leaves out (CI keeps to the headline cases of each suite). */
export const FULL_RUN_ONLY: false | string = SHORT ? 'full run only (npm run chaos without CHAOS_SHORT)' : false;

const RESULTS = path.resolve(import.meta.dirname, '../results');

/** Writes a suite's figures to `chaos/results/<suite>.json` (the README quotes the last full run). */
export async function writeResults(suite: string, figures: object[]): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${suite}${SHORT ? '.short' : ''}.json`);
  await writeFile(file, JSON.stringify({ suite, short: SHORT, at: new Date().toISOString(), figures }, null, 2) + '\n');
}
