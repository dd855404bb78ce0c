import type { Job, Queue } from 'bullmq';

/** The states a finished job can be retried from (BullMQ's `Job.retry`). */
export type RetriableState = 'failed' | 'completed';

export function isRetriableState(state: string): state is RetriableState {
  return state === 'failed' || state === 'completed';
}

/**
 * Moves a finished job back to waiting (or prioritized: its priority is kept) with its attempts counted afresh
 * (`attemptsMade` and `attemptsStarted` reset), so it gets the queue's attempts and backoff again. BullMQ's own
 * `Job.retry(state)` and bulk `retryJobs` keep `attemptsMade`: the job would get a single try and be dead-lettered
 * again on its first failure. Every retry path (`queues retry-failed`, the dashboard's retry and retry-all) goes
 * through here, so they all give the same attempts.
 *
 * `Job.retry` moves the job only if it is still in `state` (one Redis script): returns false when it no longer is
 * (retried by someone else meanwhile, or removed), so two operators retrying at once run it once.
 */
export async function retryJobAfresh(job: Job, state: RetriableState): Promise<boolean> {
  try {
    await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  } catch (error) {
    if ((await job.getState()) === state) throw error;
    return false;
  }
}

export interface RetryAllResult {
  /** Jobs moved back to waiting with their attempts counted afresh. */
  retried: number;
  /** Jobs whose retry failed (Redis refused it, or the job could not be read): the job stays where it was. */
  failures: { jobId: string; error: Error }[];
  /** Stopped at `maxJobs` with jobs left in the set: call again for the rest. */
  more: boolean;
}

/**
 * Retries every job (at most `maxJobs`) in a queue's `state` set with {@link retryJobAfresh}, reading the set in pages of `pageSize`
 * ids, oldest first, one retry after the other. A job retried here that lands in the set again before this returns
 * (a poison job fails in milliseconds) is not retried a second time, and one job's failure does not stop the others:
 * it is reported in `failures`.
 *
 * @param pageSize ids read per round trip. @defaultValue 1000
 * @param maxJobs jobs tried before it returns with `more` set (a request's bound of work). @defaultValue no limit
 */
export async function retryAllAfresh(queue: Queue, state: RetriableState, pageSize = 1000, maxJobs = Number.POSITIVE_INFINITY): Promise<RetryAllResult> {
  const seen = new Set<string>();
  const result: RetryAllResult = { retried: 0, failures: [], more: false };
  for (;;) {
    // Retried jobs leave the set and ones that fail again return at its newest end, so past the jobs whose retry
    // failed (they stay where they were, oldest first) the set starts with what is left to do.
    const start = result.failures.length;
    const ids = (await queue.getRanges([state], start, start + pageSize - 1, true)).filter((id) => !seen.has(id));
    if (ids.length === 0) return result;
    for (const id of ids) {
      if (seen.size >= maxJobs) {
        result.more = true;
        return result;
      }
      seen.add(id);
      try {
        const job = await queue.getJob(id);
        if (!job) continue; // removed meanwhile
        if (await retryJobAfresh(job, state)) result.retried++;
      } catch (error) {
        result.failures.push({ jobId: id, error: error as Error });
      }
    }
  }
}
