import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
let worker: RunningWorker;
/** Job ids whose handler fails for good. */
const failing = new Set<string>();
const realNow = Date.now;
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'email' });
  queues = await f.inspect();
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })),
    handlers: {
      [JOBS.sendWelcomeEmail]: async (job) => {
        if (failing.has(job.id!)) throw new UnrecoverableError('mail server says no');
      },
    },
  });
});
after(async () => {
  Date.now = realNow;
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('a dead letter whose job completed on a worker whose clock is behind PostgreSQL\'s, its close not written', () => {
  it('is closed by `queues retry-failed` (its own job, by its creation time, completed): the clocks are not compared', async () => {
    const email = queues.get('email');
    failing.add('behind-1');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'behind-1' });
    await waitFor('the dead letter', async () => ((await f.db.pools.primary.query("SELECT 1 FROM dead_letters WHERE job_id = 'behind-1'")).rowCount === 1 ? true : undefined));
    await waitFor('the job to fail', async () => ((await (await email.getJob('behind-1'))?.getState()) === 'failed' ? true : undefined));
    failing.delete('behind-1');
    // The worker's close of a letter fails, as it does when PostgreSQL does not answer at the job's completion.
    await f.db.pools.primary.query(`
      CREATE FUNCTION refuse_letter_close() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is not answering'; END $$;
      CREATE TRIGGER refuse_letter_close BEFORE UPDATE ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letter_close();`);
    // Retried; it completes on a worker whose clock is ten minutes behind PostgreSQL's (its finishedOn).
    const skew = 10 * 60_000;
    await (await email.getJob('behind-1'))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    Date.now = () => realNow() - skew;
    try {
      await waitFor('the job to complete', async () => ((await (await email.getJob('behind-1'))?.getState()) === 'completed' ? true : undefined));
    } finally {
      Date.now = realNow;
    }
    await worker.shutdown('test');
    await worker.platform.close();
    await f.db.pools.primary.query('DROP TRIGGER refuse_letter_close ON dead_letters');

    const retry = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { retry: { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 1, failures: [] }, deadLetters: 0 },
      'the letter of its own completed job stays open, unreported, because the worker\'s clock (finishedOn) is behind PostgreSQL\'s (failed_at)',
    );
  });
});
