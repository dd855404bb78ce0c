import type { Job } from 'bullmq';
import type pg from 'pg';
import { loadConfig, type AppConfig } from '../../src/platform/config/config.ts';
import { createLogger, type Logger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import type { JobHandler } from '../../src/platform/queue/processing.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { closeRedis, createRedis } from '../../src/platform/redis/redis.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { createQueueFixture, waitFor, type QueueFixture } from './queues.ts';

type EmailQueue = ReturnType<QueueSet['get']>;

/** An in-process worker (no HTTP server) running `handler` for welcome emails, on a platform of its own. */
export async function startEmailWorker(config: AppConfig, handler: JobHandler, logger: Logger = createLogger({ level: 'silent' })): Promise<RunningWorker> {
  return startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', logger),
    handlers: { [JOBS.sendWelcomeEmail]: handler },
  });
}

/** Shuts `worker` down and closes its platform (nothing when it never started). */
export async function stopEmailWorker(worker: RunningWorker | undefined): Promise<void> {
  await worker?.shutdown('test');
  await worker?.platform.close();
}

export interface EmailWorkerSetup {
  f: QueueFixture;
  /** Queues to inspect (closed with the fixture). */
  queues: QueueSet;
  worker: RunningWorker;
  /** Shuts the worker down and closes its platform, once (which settles its letter closes); later calls wait for that. */
  stopWorker(): Promise<void>;
  /** Stops the worker, then closes the fixture (database, Redis keys, data folder). For the test file's `after`. */
  close(): Promise<void>;
}

/**
 * A queue fixture (`env` added to its environment, the email queue the worker's only one), queues to inspect and an
 * in-process worker whose welcome-email handler is `handler`. Whatever started is closed by `close`, also when the
 * worker fails to start.
 */
export async function startEmailWorkerSetup(env: Record<string, string>, handler: JobHandler, options: { logger?: Logger } = {}): Promise<EmailWorkerSetup> {
  const f = await createQueueFixture({ ...env, WORKER_QUEUES: 'email' });
  let worker: RunningWorker;
  let queues: QueueSet;
  try {
    queues = await f.inspect();
    worker = await startEmailWorker(loadConfig(f.env), handler, options.logger);
  } catch (error) {
    await f.close();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stopWorker = () => (stopped ??= stopEmailWorker(worker));
  return {
    f,
    queues,
    worker,
    stopWorker,
    async close() {
      try {
        await stopWorker();
      } finally {
        await f.close();
      }
    },
  };
}

/** A handler that throws `error()` for the jobs `fails` picks, and completes the others. */
export function failingWhen(fails: (job: Job) => boolean, error: () => Error = () => new Error('mail server says no')): JobHandler {
  return async (job) => {
    if (fails(job)) throw error();
  };
}

/** A handler that throws for the job ids in `ids` (while they are in it), and completes the others. */
export function failingFor(ids: Set<string>, error?: () => Error): JobHandler {
  return failingWhen((job) => ids.has(job.id!), error);
}

/** A handler that throws once for each job id in `ids` (taking it out), and completes the others. */
export function failingOnceFor(ids: Set<string>, error: () => Error = () => new Error('mail server busy')): JobHandler {
  return failingWhen((job) => ids.delete(job.id!), error);
}

/**
 * A handler that records each job id it runs in `handled`, and throws while `failuresLeft` holds more failures for the
 * job (one fewer each time): a mail server refusing that many attempts.
 */
export function failingCountdown(failuresLeft: Map<string, number>, handled: string[]): JobHandler {
  return async (job) => {
    handled.push(job.id!);
    const left = failuresLeft.get(job.id!) ?? 0;
    if (left > 0) {
      failuresLeft.set(job.id!, left - 1);
      throw new Error('mail server says no');
    }
  };
}

/** Waits until the job `jobId` of `queue` is in `state` (`what` names it in the timeout's error). */
export async function waitForJobState(queue: EmailQueue, jobId: string, state: string, what: string, timeoutMs?: number): Promise<void> {
  await waitFor(what, async () => ((await (await queue.getJob(jobId))?.getState()) === state ? true : undefined), timeoutMs);
}

/** Waits until a dead letter of `jobId` is written (open or not). */
export async function waitForDeadLetter(pool: pg.Pool, jobId: string, what = 'the dead letter'): Promise<void> {
  await waitFor(what, async () => ((await pool.query('SELECT 1 FROM dead_letters WHERE job_id = $1', [jobId])).rowCount === 1 ? true : undefined));
}

/** Whether the dead letter of `jobId` is open (neither retried nor discarded). */
export async function isLetterOpen(pool: pg.Pool, jobId: string): Promise<boolean> {
  const { rows } = await pool.query('SELECT 1 FROM dead_letters WHERE job_id = $1 AND retried_at IS NULL AND discarded_at IS NULL', [jobId]);
  return rows.length === 1;
}

/** Runs `use` with a Redis connection of its own to the fixture's queue Redis (to drop a job's lock, say), then closes it. */
export async function withLockRedis<T>(f: QueueFixture, use: (redis: ReturnType<typeof createRedis>) => Promise<T>): Promise<T> {
  const redis = createRedis(f.env.REDIS_URL!, { name: 'salescale-test-lock', role: 'queue' });
  try {
    return await use(redis);
  } finally {
    await closeRedis(redis);
  }
}

/** Makes every close of a dead letter fail, as it does when PostgreSQL does not answer at the job's completion. */
export async function refuseLetterCloses(pool: pg.Pool): Promise<void> {
  await pool.query(`
      CREATE FUNCTION refuse_letter_close() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is not answering'; END $$;
      CREATE TRIGGER refuse_letter_close BEFORE UPDATE ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letter_close();`);
}

/** Undoes {@link refuseLetterCloses}. */
export async function allowLetterCloses(pool: pg.Pool): Promise<void> {
  await pool.query('DROP TRIGGER refuse_letter_close ON dead_letters');
}
