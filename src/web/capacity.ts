import path from 'node:path';
import type { Logger } from 'pino';
import { parseBenchCapacity } from '../scaling/capacity/bench-capacity.ts';
import { readInputFile } from '../scaling/input-files.ts';

/** The capacity figure the repository ships (the capacity benchmark's result), next to the sources. */
export const CAPACITY_FILE = path.resolve(import.meta.dirname, '../../bench/results/capacity.json');
/** When neither WAITING_ROOM_CAPACITY_RPS nor the file gives a figure: a deliberately modest guess. */
const ASSUMED_RPS = 200;

/**
 * Requests/s one web instance serves within the SLO: WAITING_ROOM_CAPACITY_RPS when set (> 0), else
 * `bench/results/capacity.json`, else an assumption that is logged as such.
 */
export async function readCapacityRps(configured: number, logger: Logger, file = CAPACITY_FILE): Promise<number> {
  if (configured > 0) return configured;
  try {
    return parseBenchCapacity(JSON.parse(await readInputFile(file)), file).requestsPerSecondPerInstance;
  } catch (error) {
    logger.warn({ err: error, file, assumedRps: ASSUMED_RPS }, 'no measured capacity: the waiting room derives its rate from an assumed capacity');
    return ASSUMED_RPS;
  }
}
