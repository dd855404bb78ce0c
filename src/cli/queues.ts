import pg from 'pg';
import { requireServices, type AppConfig } from '../platform/config/config.ts';
import { getCliConnectionConfig, survivingLostConnections } from '../platform/db/cli-connection.ts';
import { DEAD_LETTER_REASON_MAX, type DeadLetter, type DeadLetterCursor, claimDeadLetter, getDeadLetterClock, isJobOfLetter, isLetterDoneBy, releaseDeadLetterClaim, listDeadLetterPage, listOpenDeadLetters, markDeadLettersDiscarded, markDeadLettersRetried, reAddJobId } from '../platform/queue/dead-letters.ts';
import { QUEUE_NAMES, type QueueName } from '../platform/queue/queue-definitions.ts';
import { createQueueSet, jobOptions } from '../platform/queue/queues.ts';
import { retryAllAfresh } from '../platform/queue/retry.ts';
import { checkSelectedDatabase, closeRedis, createRedis, waitForRedis } from '../platform/redis/redis.ts';

export interface QueueDepth {
  queue: QueueName;
  /**
   * Paused (from the dashboard, or `salescale queues pause`): no worker takes its jobs, which show as waiting
   * until `salescale queues resume`.
   */
  paused: boolean;
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
  /** Unretried rows in the dead_letters table. */
  deadLetters: number;
}

export interface QueueReport {
  queues: QueueDepth[];
  outbox: { unrelayed: number; oldestAgeSeconds: number };
}

async function withQueues<T>(config: AppConfig, run: (deps: { queues: ReturnType<typeof createQueueSet>; pool: pg.Pool }) => Promise<T>): Promise<T> {
  const urls = requireServices(config);
  const redis = createRedis(urls.redisUrl, { name: 'salescale-cli', role: 'fast-fail', tlsVerify: config.redis.tlsVerify });
  redis.on('error', () => {});
  const pool = survivingLostConnections(new pg.Pool({ ...getCliConnectionConfig(urls.databaseUrl, 'salescale-cli', config.db.caCert), max: 2 }));
  const queues = createQueueSet({ connection: redis, redisPrefix: config.redis.prefix, overrides: { attempts: config.queues.attempts, backoffMs: config.queues.backoffMs } });
  try {
    await waitForRedis(redis, 5000);
    await checkSelectedDatabase(redis, 'REDIS_URL');
    return await run({ queues, pool });
  } finally {
    await queues.close();
    await closeRedis(redis);
    await pool.end();
  }
}

/** Depths, failed counts and dead letters of every queue, plus the outbox backlog. */
export async function getQueueReport(config: AppConfig): Promise<QueueReport> {
  return withQueues(config, async ({ queues, pool }) => {
    const dead = await pool.query<{ queue: string; n: number }>('SELECT queue, count(*)::int AS n FROM dead_letters WHERE retried_at IS NULL AND discarded_at IS NULL GROUP BY queue');
    const deadBy = new Map(dead.rows.map((row) => [row.queue, row.n]));
    const depths: QueueDepth[] = [];
    for (const name of QUEUE_NAMES) {
      const queue = queues.get(name);
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      depths.push({
        queue: name,
        paused: await queue.isPaused(),
        waiting: counts.waiting ?? 0,
        prioritized: counts.prioritized ?? 0,
        delayed: counts.delayed ?? 0,
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        deadLetters: deadBy.get(name) ?? 0,
      });
    }
    const outbox = await pool.query<{ n: number; age: number }>(
      'SELECT count(*)::int AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM outbox WHERE relayed_at IS NULL',
    );
    return { queues: depths, outbox: { unrelayed: outbox.rows[0]?.n ?? 0, oldestAgeSeconds: Math.round(outbox.rows[0]?.age ?? 0) } };
  });
}

export function formatQueueReport(report: QueueReport): string {
  // `paused` last: scripts reading the columns before it by position keep working.
  const header = ['queue', 'waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'dead letters', 'paused'];
  const rows = report.queues.map((q) => [q.queue, q.waiting, q.prioritized, q.delayed, q.active, q.completed, q.failed, q.deadLetters, q.paused ? 'yes' : 'no'].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line), '', `outbox: ${report.outbox.unrelayed} unrelayed, oldest ${report.outbox.oldestAgeSeconds} s`, ''].join('\n');
}

/** What `salescale queues pause` / `resume` did: the queue's paused state before and after. */
export interface PauseResult {
  queue: QueueName;
  wasPaused: boolean;
  paused: boolean;
}

/**
 * Pauses (`paused` true) or resumes a queue for every worker, as the dashboard's pause and resume do: a paused queue's
 * jobs wait, its running jobs finish. Setting the state it already has changes nothing and is not an error.
 */
export async function setQueuePaused(config: AppConfig, queueName: QueueName, paused: boolean): Promise<PauseResult> {
  return withQueues(config, async ({ queues }) => {
    const queue = queues.get(queueName);
    const wasPaused = await queue.isPaused();
    if (paused) await queue.pause();
    else await queue.resume();
    return { queue: queueName, wasPaused, paused: await queue.isPaused() };
  });
}

export interface RetryResult {
  /** Jobs moved from BullMQ's failed set back to waiting (or prioritized), their attempts counted afresh. */
  retriedFailed: number;
  /** Dead letters whose job was no longer in Redis, enqueued again under the same id. */
  requeuedDeadLetters: number;
  /**
   * Letters closed because their own job had already completed (`isLetterDoneBy`): the worker could not write the
   * close (PostgreSQL not answering at the job's completion), or an attempt that had lost its lock wrote the letter
   * after another delivery completed. The work is done, nothing is run again.
   */
  closedCompleted: number;
  /** Jobs that could not be retried (Redis or BullMQ refused): each stays failed, its letter open; the others went on. */
  failures: { jobId: string; reason: string }[];
  /**
   * Dead letters (among `requeuedDeadLetters`) re-added under another id than their job's (`reAddJobId`: BullMQ had
   * numbered the job, and refuses an integer id); absent when none was.
   */
  renamed?: { jobId: string; newJobId: string }[];
}

export interface RetryOptions {
  /** Failed-set ids and dead letters read per round trip. @defaultValue 1000 */
  pageSize?: number;
}

/**
 * Retries a queue's failed jobs: everything in BullMQ's failed set, plus dead letters whose job
 * Redis has since trimmed (re-added with the same job id, so processors' once-per-job-id claims
 * still hold; a job BullMQ had numbered, whose integer id BullMQ refuses to add, under one derived
 * from it: `reAddJobId`, reported in `renamed`). Both kinds get the queue's attempts and backoff again (`retryAllAfresh`, the
 * dashboard's retry too). A job that cannot be retried does not stop the others: it is reported
 * in `failures` and its letter stays open.
 *
 * The failed set first, then the letters, both in pages of `pageSize`. A letter whose job Redis
 * still holds is left open: it is closed by the worker when its job completes (`closeDeadLetterOnCompletion`),
 * whichever path retried it, so there is no window in which a job is retried here and its letter
 * missed or closed early (a job whose last attempt fails while this runs is either retried here and
 * closes on completion, or still failed and waits for the next run). A letter whose job Redis dropped
 * is claimed (closed) and then re-added, only if it is still open and the failure that was read (`claimDeadLetter`:
 * one discarded meanwhile is not run), and opened again if the add fails: the re-added job is a new run, whose own
 * exhaustion writes the letter again. A letter whose own job completed (`isLetterDoneBy`: its close not written, or
 * the letter written late by an attempt that lost its lock) is closed; one whose id a newer job holds is reported. A
 * letter re-added under a derived id (`reAddJobId`) is not held up by a newer job under its job's numeric id (BullMQ's
 * counter restarts after a Redis loss): its job is re-added under the derived id, which that job does not hold. Only letters written
 * before the run started are read, so a re-added job that fails again at once is not re-added twice.
 */
export async function retryFailed(config: AppConfig, queueName: QueueName, options: RetryOptions = {}): Promise<RetryResult> {
  const pageSize = options.pageSize ?? 1000;
  return withQueues(config, async ({ queues, pool }) => {
    const queue = queues.get(queueName);
    // Letters written after this are failures of this run's retries: the next run's work.
    const startedAt = await getDeadLetterClock(pool);
    const failed = await retryAllAfresh(queue, 'failed', pageSize);
    const failures = failed.failures.map(({ jobId, error }) => ({ jobId, reason: error.message }));
    let requeuedDeadLetters = 0;
    let closedCompleted = 0;
    const renamed: NonNullable<RetryResult['renamed']> = [];
    let cursor: DeadLetterCursor | undefined;
    for (;;) {
      const page = await listDeadLetterPage(pool, queueName, startedAt, cursor, pageSize);
      if (page.length === 0) break;
      cursor = page.at(-1);
      // One pipelined round trip for the page (ioredis sends concurrent commands together).
      const held = await Promise.all(page.map((letter) => queue.getJob(letter.jobId)));
      const done: DeadLetter[] = [];
      for (const [i, letter] of page.entries()) {
        // The id its job is re-added under: its own, unless BullMQ numbered the job (an integer id, which BullMQ
        // refuses to add): then one derived from it.
        const jobId = reAddJobId(letter);
        const renamedLetter = jobId !== letter.jobId;
        // A newer job under a numbered job's id (BullMQ's counter restarts after a Redis loss) is none of the letter's
        // business: its job is re-added under the derived id, which the newer job does not hold.
        const job = renamedLetter && held[i] && !isJobOfLetter(held[i], letter) ? undefined : held[i];
        if (job && !isJobOfLetter(job, letter)) {
          // The letter's job cannot be re-added under its id while the newer job holds it.
          failures.push({ jobId: letter.jobId, reason: 'its job id is held by a newer job (added after the letter): discard the letter, or retry it once Redis drops that job' });
          continue;
        }
        if (job) {
          // Still in Redis: retried above, running or waiting, closed by the worker when it completes. Completed: the
          // worker could not write the close (PostgreSQL not answering), or an attempt that had lost its lock wrote the
          // letter after another delivery completed: done (isLetterDoneBy). A letter without the job's creation time
          // whose job completed before it was written is reported: only the operator can tell.
          if ((await job.getState()) !== 'completed') continue;
          if (isLetterDoneBy(job, letter)) done.push(letter);
          else failures.push({ jobId: letter.jobId, reason: LEGACY_COMPLETED_BEFORE_LETTER });
          continue;
        }
        // Claimed first: a letter discarded (or re-added by another run) since the page was read is left alone.
        const claim = await claimDeadLetter(pool, queueName, letter);
        if (!claim) continue;
        try {
          await queue.add(letter.name, letter.data, { ...jobOptions(letter.name, letter.opts), jobId });
          requeuedDeadLetters++;
          if (renamedLetter) renamed.push({ jobId: letter.jobId, newJobId: jobId });
        } catch (error) {
          await releaseDeadLetterClaim(pool, queueName, letter.jobId, claim);
          failures.push({ jobId: letter.jobId, reason: (error as Error).message });
        }
      }
      closedCompleted += await markDeadLettersRetried(pool, queueName, done);
    }
    return { retriedFailed: failed.retried, requeuedDeadLetters, closedCompleted, failures, ...(renamed.length > 0 ? { renamed } : {}) };
  });
}

/** Why retry-failed leaves a letter without the job's creation time whose held job completed before it was written. */
const LEGACY_COMPLETED_BEFORE_LETTER =
  'its job completed before the letter was written, and the letter (written by an older worker) does not record which job it was: check the work, then discard the letter';

export interface DiscardRequest {
  /** The letters to discard, by job id; `undefined` with `all`. */
  jobIds?: string[];
  /** Every open letter of the queue. */
  all?: boolean;
  /** Why, recorded on each letter (required: a discarded letter is work given up). */
  reason: string;
  /** Who, recorded on each letter. */
  actor?: string;
}

export interface DiscardResult {
  /** Letters closed, by job id. */
  discarded: string[];
  /** Letters named (or found) but left open, and why. */
  notDiscarded: { jobId: string; reason: string }[];
}

/** Why `reason` cannot be recorded on a discarded letter, or undefined when it can. */
export function checkDiscardReason(reason: string): string | undefined {
  if (reason.trim() === '') return 'a reason is required to discard dead letters (--reason)';
  if (reason.length > DEAD_LETTER_REASON_MAX) return `the reason is ${reason.length} characters long; a dead letter keeps at most ${DEAD_LETTER_REASON_MAX}`;
  return undefined;
}

/**
 * Closes dead letters that will never succeed (a mailbox that does not exist, an order deleted since) without
 * running their jobs: the letter stays in `dead_letters` with `discarded_at`, the reason and the actor, and leaves
 * queue_dead_letters (so QueueDeadLetters resolves). A letter whose job is still in BullMQ's failed set has that job
 * removed first, so `queues retry-failed` cannot run it; one whose job is waiting or running again (retried
 * meanwhile) is left open: it closes when the job completes, or is a dead letter again if it fails; one whose job
 * completed is not given up but done, and is left to `queues retry-failed` to close. Each is reported.
 */
export async function discardDeadLetters(config: AppConfig, queueName: QueueName, request: DiscardRequest, options: RetryOptions = {}): Promise<DiscardResult> {
  const refused = checkDiscardReason(request.reason);
  if (refused) throw new Error(refused);
  if ((request.jobIds === undefined) === !request.all) throw new Error('name the letters to discard, or all of them, not both');
  const pageSize = options.pageSize ?? 1000;
  const note = { reason: request.reason, actor: request.actor };
  return withQueues(config, async ({ queues, pool }) => {
    const queue = queues.get(queueName);
    const result: DiscardResult = { discarded: [], notDiscarded: [] };
    const found = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const letters = await listOpenDeadLetters(pool, queueName, request.jobIds, after, pageSize);
      if (letters.length === 0) break;
      after = letters.at(-1)!.jobId;
      const held = await Promise.all(letters.map((letter) => queue.getJob(letter.jobId)));
      const closable: string[] = [];
      for (const [i, letter] of letters.entries()) {
        const id = letter.jobId;
        found.add(id);
        // A newer job under the letter's id (reused) is none of the letter's business: left where it is.
        const job = held[i] && isJobOfLetter(held[i], letter) ? held[i] : undefined;
        const state = job ? await job.getState() : undefined;
        if (state === 'completed' && isLetterDoneBy(job!, letter)) {
          // Its work is done, not given up: not recorded as discarded.
          result.notDiscarded.push({ jobId: id, reason: 'its job completed (the work is done): `queues retry-failed` closes its letter' });
        } else if (!job || state === 'unknown' || state === 'completed') {
          // Completed but not shown done (a letter without the job's creation time, completed before it was written):
          // retry-failed reports it for the operator, who may discard it.
          closable.push(id);
        } else if (state === 'failed') {
          try {
            await job.remove(); // throws when a worker holds its lock (retried and taken meanwhile)
            closable.push(id);
          } catch (error) {
            result.notDiscarded.push({ jobId: id, reason: `its failed job could not be removed: ${(error as Error).message}` });
          }
        } else {
          result.notDiscarded.push({ jobId: id, reason: `its job is ${state} (retried meanwhile): it closes when it completes` });
        }
      }
      const discarded = await markDeadLettersDiscarded(pool, queueName, closable, note);
      result.discarded.push(...discarded);
      // Closed between the listing and the discard (re-added by `queues retry-failed`, or its job completed).
      for (const id of closable) if (!discarded.includes(id)) result.notDiscarded.push({ jobId: id, reason: 'closed meanwhile (retried or completed)' });
    }
    for (const id of request.jobIds ?? []) if (!found.has(id)) result.notDiscarded.push({ jobId: id, reason: 'no open dead letter' });
    result.discarded.sort();
    result.notDiscarded.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
    return result;
  });
}
