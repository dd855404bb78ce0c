import { UnrecoverableError, type Job } from 'bullmq';
import type { JobName } from './queue-definitions.ts';

/**
 * A job processor. BullMQ delivers at least once (a stalled job is delivered again), so every
 * handler must make its side effect idempotent on `job.id`. `token` is the job's lock token (for
 * `job.moveToDelayed`).
 */
export type JobHandler = (job: Job, token?: string) => Promise<unknown>;

export type JobHandlers = Partial<Record<JobName, JobHandler>>;

/** Rejects a malformed payload for good: retrying cannot fix it. */
export function requirePayload<T>(job: Job, valid: (data: unknown) => data is T): T {
  if (!valid(job.data)) throw new UnrecoverableError(`job ${job.name} ${job.id} has a malformed payload`);
  return job.data;
}

/** An error that fails the job at once, without its remaining attempts (and writes its dead letter). */
export function failForGood(message: string): Error {
  return new UnrecoverableError(message);
}

export function jobIdOf(job: Job): string {
  if (!job.id) throw new UnrecoverableError(`job ${job.name} has no id`);
  return job.id;
}
