import type { Database } from '../../platform/db/client.ts';
import type { AnalyticsRepository, RollupIncrement } from './analytics.repository.ts';

interface Pending {
  jobId: string;
  increments: RollupIncrement[];
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Applies rollup increments once per job id, combining the calls that arrive while a statement is
 * running into the next one: one statement claims them all and upserts the summed increments of the
 * jobs newly claimed (one round trip, one commit). Nearly every job increments the same hourly rows, so one
 * transaction per job serialised them all on those rows' locks and a WAL flush each (profiled: the
 * worker's connections spent 72 % of their time in `Lock:transactionid`). Exactly-once holds as
 * before: a job's claim commits with its increments or neither does. A statement that fails on the data
 * (SQLSTATE class 22: a value or an hour out of range) is the fault of some job in it and would fail the same
 * way on every retry, taking whatever shares its batch along (the notifications queue retries at once, so
 * the same jobs meet again until all are dead letters): the batch is then applied job by job, and only the
 * job at fault fails. Any other failure (the database away) rejects every call of its batch, each job then
 * retried on its own schedule.
 * The first call of a quiet period starts at once: batching adds no latency, it only appears under load.
 */
/** A data exception (SQLSTATE class 22): the statement's input is at fault, not the database. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

export function createRollupBatcher(deps: { db: Database; queue: string; repository: AnalyticsRepository; maxBatch?: number }) {
  const { repository } = deps;
  const maxBatch = deps.maxBatch ?? 200;
  let pending: Pending[] = [];
  let running = false;

  async function applyBatch(batch: Pending[]): Promise<void> {
    const firstOf = new Map<string, Pending>();
    for (const item of batch) if (!firstOf.has(item.jobId)) firstOf.set(item.jobId, item);
    const jobs = [...firstOf.values()].map((item) => ({ jobId: item.jobId, increments: item.increments }));
    const claimed = await repository.claimAndIncrement(deps.db.pools.primary, deps.queue, jobs);
    for (const item of batch) item.resolve(claimed.has(item.jobId) && firstOf.get(item.jobId) === item);
  }

  async function drain(): Promise<void> {
    running = true;
    try {
      while (pending.length > 0) {
        const batch = pending.slice(0, maxBatch);
        pending = pending.slice(batch.length);
        try {
          await applyBatch(batch);
        } catch (error) {
          const byJob = Map.groupBy(batch, (item) => item.jobId);
          if (!isDataError(error) || byJob.size === 1) {
            for (const item of batch) item.reject(error);
            continue;
          }
          for (const calls of byJob.values()) {
            await applyBatch(calls).catch((jobError: unknown) => {
              for (const item of calls) item.reject(jobError);
            });
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    /** True when this job's increments were applied now; false when the job had been applied before. */
    apply(jobId: string, increments: RollupIncrement[]): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ jobId, increments, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}
