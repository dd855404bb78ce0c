import path from 'node:path';
import type { Logger } from 'pino';
import { parseBenchCapacity } from '../scaling/capacity/bench-capacity.ts';
import { readInputFile } from '../scaling/input-files.ts';
import { SEED_DEPLOYMENT_SPEC } from '../scaling/manifests/deployment-spec.ts';

/**
 * The capacity benchmark's result in a checkout of the repository, found next to the sources (not in the
 * current folder). Not in the image: `.dockerignore` leaves `bench/` out.
 */
export const CAPACITY_FILE = path.resolve(import.meta.dirname, '../../bench/results/capacity.json');

/**
 * Requests/s one web instance serves within the SLO, for the waiting room's derived admission rate:
 *
 * - WAITING_ROOM_CAPACITY_RPS when set (> 0). Every rendered manifest sets it to the deployment spec's
 *   per-pod figure (`web.capacityPerInstanceRps`), the one `salescale plan` sizes the pods with.
 * - 0 (the default), in a checkout: `bench/results/capacity.json` beside the sources, the capacity
 *   benchmark's measurement of one unrestricted process on this machine, which is what a local run is.
 * - 0 without that file (the image, a hand-made deployment): the deployment spec's per-pod figure, logged
 *   as an assumption.
 */
export async function readCapacityRps(configured: number, logger: Logger, file = CAPACITY_FILE): Promise<number> {
  if (configured > 0) return configured;
  try {
    return parseBenchCapacity(JSON.parse(await readInputFile(file)), file).requestsPerSecondPerInstance;
  } catch (error) {
    const assumedRps = SEED_DEPLOYMENT_SPEC.web.capacityPerInstanceRps;
    logger.warn({ err: error, file, assumedRps }, 'WAITING_ROOM_CAPACITY_RPS is not set and there is no measured capacity: the waiting room derives its rate from the deployment spec\'s per-pod capacity');
    return assumedRps;
  }
}
