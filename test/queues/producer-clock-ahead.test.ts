import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discardDeadLetters, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
let worker: RunningWorker | undefined;
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

async function isOpen(jobId: string): Promise<boolean> {
  const { rows } = await f.db.pools.primary.query('SELECT 1 FROM dead_letters WHERE job_id = $1 AND retried_at IS NULL AND discarded_at IS NULL', [jobId]);
  return rows.length === 1;
}

describe("a dead letter whose job was added by a producer whose clock is ahead of PostgreSQL's", () => {
  it('is the letter of that job: `queues discard` removes its failed job, so retry-failed cannot run it', async () => {
    const email = queues.get('email');
    failing.add('ahead-2');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'ahead-2', timestamp: Date.now() + 10 * 60_000 });
    await waitFor('the dead letter', async () => (await isOpen('ahead-2') ? true : undefined));
    await waitFor('the job to fail', async () => ((await (await email.getJob('ahead-2'))?.getState()) === 'failed' ? true : undefined));
    const result = await discardDeadLetters(loadConfig(f.env), 'email', { jobIds: ['ahead-2'], reason: 'mailbox gone', actor: 'test' });
    assert.deepEqual(
      { discarded: result.discarded, failedJobLeft: Boolean(await email.getJob('ahead-2')) },
      { discarded: ['ahead-2'], failedJobLeft: false },
      "the letter's own failed job was taken for a newer one and left in the failed set, for retry-failed to run",
    );
  });

  it('is the letter of that job: `queues retry-failed` retries it, and its completion closes the letter', async () => {
    const email = queues.get('email');
    failing.add('ahead-1');
    // The producer's clock is ten minutes ahead: the job's creation time is after the letter's failed_at.
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'ahead-1', timestamp: Date.now() + 10 * 60_000 });
    await waitFor('the dead letter', async () => (await isOpen('ahead-1') ? true : undefined));
    await waitFor('the job to fail', async () => ((await (await email.getJob('ahead-1'))?.getState()) === 'failed' ? true : undefined));
    failing.delete('ahead-1');

    const retry = await retryFailed(loadConfig(f.env), 'email');
    await waitFor('the retried job to complete', async () => ((await (await email.getJob('ahead-1'))?.getState()) === 'completed' ? true : undefined));
    // Shutting down settles the worker's letter closes.
    await worker!.shutdown('test');
    await worker!.platform.close();
    worker = undefined;
    assert.deepEqual(
      { retriedFailed: retry.retriedFailed, failures: retry.failures, open: await isOpen('ahead-1') },
      { retriedFailed: 1, failures: [], open: false },
      "the letter's own job was taken for a newer one under its id: retry-failed reported it, and its completion left the letter open",
    );
  });
});
