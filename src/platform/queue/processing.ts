import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
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

/**
 * An error that fails the job at once, without its remaining attempts (and writes its dead letter): an answer from
 * outside (a mail server refusing a message), not a bug, so it is marked `expected` and logged without its stack.
 */
export function failForGood(message: string): Error {
  return Object.assign(new UnrecoverableError(message), { expected: true });
}

export function jobIdOf(job: Job): string {
  if (!job.id) throw new UnrecoverableError(`job ${job.name} has no id`);
  return job.id;
}

/**
 * The payload key where a job that put itself back in the delayed set records when it is due again
 * (`delayJobUntil`). BullMQ keeps only the job's creation time and its first `delay` option: once promoted
 * back to waiting, a job that delayed itself (an `expire-order` job waiting out the payment window, an
 * email the mail server deferred) would read as having waited through its whole delay.
 */
export const RUNNABLE_AT_KEY = 'runnableAt';

/**
 * Puts a running job back in BullMQ's delayed set until `timestamp` without using an attempt, and records
 * when it is due (`RUNNABLE_AT_KEY`); the caller then throws BullMQ's `DelayedError`.
 */
export async function delayJobUntil(job: Job, token: string, timestamp: number): Promise<void> {
  if (typeof job.data === 'object' && job.data !== null && !Array.isArray(job.data)) await job.updateData({ ...job.data, [RUNNABLE_AT_KEY]: timestamp });
  await job.moveToDelayed(timestamp, token);
}

/**
 * When a job in the wait list became runnable (ms since the epoch): the latest of its due time (creation
 * plus its `delay` option), its last attempt's start (a job retried after a backoff, or moved back by a
 * stall) and the due time it recorded when it delayed itself. Time spent delayed on purpose is not waiting.
 */
export function runnableSince(job: Pick<Job, 'timestamp' | 'opts' | 'processedOn' | 'data'>): number {
  const stamped = typeof job.data === 'object' && job.data !== null ? Number((job.data as Record<string, unknown>)[RUNNABLE_AT_KEY]) : Number.NaN;
  return Math.max(job.timestamp + (job.opts?.delay ?? 0), job.processedOn ?? 0, Number.isFinite(stamped) ? stamped : 0);
}

/**
 * How long after its job was first due (queued, plus the delay it was queued with: a confirmation email's 1 s, a
 * degrade mode's deferral of up to an hour) a job that failed on an outage (the mail server deferring or unreachable,
 * PostgreSQL unreachable or out of connections) is put back for later, at growing intervals, without using its
 * attempts. A queue's attempts are spent in seconds (notifications: 3 with no backoff; email: 3 from 2 s), far
 * less than a failover or a provider's outage takes. After the window such a failure is an ordinary one: the
 * remaining attempts, then a dead letter.
 */
export const RETRY_LATER_WINDOW_MS = 3_600_000;

/** The wait before running a job put back for later again: half its age, from 1 s up to 5 min (pure). */
export function retryLaterDelayMs(ageMs: number): number {
  return Math.min(300_000, Math.max(1000, Math.round(ageMs / 2)));
}

/**
 * Puts a job that failed on an outage back in the delayed set (`retryLaterDelayMs`) and returns the `DelayedError`
 * to throw, or returns undefined when it cannot (no lock token, past `RETRY_LATER_WINDOW_MS`, the queue Redis
 * not answering): the caller then throws the failure as it is.
 */
export async function retryLater(job: Job, token: string | undefined, now = Date.now()): Promise<DelayedError | undefined> {
  // From the job's first due time, not its creation: an email deferred an hour by a degrade mode had no window left
  // when it first ran, and the first greylisting after the peak spent its attempts at once into a dead letter.
  const ageMs = now - (job.timestamp + (job.opts?.delay ?? 0));
  if (!token || ageMs >= RETRY_LATER_WINDOW_MS) return undefined;
  try {
    await delayJobUntil(job, token, now + retryLaterDelayMs(ageMs));
  } catch {
    return undefined;
  }
  return Object.assign(new DelayedError(), { [PUT_BACK]: true });
}

const PUT_BACK = Symbol('put back for an outage');

/**
 * Whether `error` is `retryLater`'s: an attempt that met an outage and was put back (counted as `deferred`), not a
 * job that delays itself by design (an `expire-order` waiting for its window).
 */
export function isPutBack(error: unknown): boolean {
  return error instanceof DelayedError && (error as { [PUT_BACK]?: boolean })[PUT_BACK] === true;
}
