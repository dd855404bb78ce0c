import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
/** Job ids whose handler throws. */
const failing = new Set<string>();
before(async () => {
  f = await createQueueFixture({ QUEUE_ATTEMPTS: 'email=1', WORKER_QUEUES: 'email' });
  queues = await f.inspect();
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })),
    handlers: {
      [JOBS.sendWelcomeEmail]: async (job) => {
        if (failing.has(job.id!)) throw new Error('mail server says no');
      },
    },
  });
});
after(async () => {
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('a dead letter whose job completed while its close could not be written', () => {
  it('is closed by `queues retry-failed` (its job is done), not left open while Redis holds the completed job', async () => {
    const email = queues.get('email');
    // The job exhausts its attempt: a dead letter.
    failing.add('done-1');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'done-1' });
    await waitFor('the dead letter', async () => ((await f.db.pools.primary.query("SELECT 1 FROM dead_letters WHERE job_id = 'done-1'")).rowCount === 1 ? true : undefined));
    await waitFor('the job to fail', async () => ((await (await email.getJob('done-1'))?.getState()) === 'failed' ? true : undefined));
    failing.delete('done-1');
    // The worker's close of a letter fails, as it does when PostgreSQL does not answer at the job's completion.
    await f.db.pools.primary.query(`
      CREATE FUNCTION refuse_letter_close() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is not answering'; END $$;
      CREATE TRIGGER refuse_letter_close BEFORE UPDATE ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letter_close();`);
    // Retried (through the dashboard or BullMQ's API, which keep the job): it runs and completes.
    await (await email.getJob('done-1'))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await waitFor('the job to complete', async () => ((await (await email.getJob('done-1'))?.getState()) === 'completed' ? true : undefined));
    // The worker's close, refused, is settled by its shutdown.
    await worker.shutdown('test');
    await worker.platform.close();
    await f.db.pools.primary.query('DROP TRIGGER refuse_letter_close ON dead_letters');

    const retry = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { retry: { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 1, failures: [] }, deadLetters: 0 },
      'the letter of a completed job stays open (queue_dead_letters, QueueDeadLetters) and retry-failed skips it as "closed when it completes"',
    );
  });
});
