import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { closeRedis, createRedis } from '../../src/platform/redis/redis.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
let worker: RunningWorker;
/** Runs of the job so far; the first waits for `releaseFirst`, then fails for good. */
let runs = 0;
let firstStarted: () => void;
const firstRunning = new Promise<void>((resolve) => (firstStarted = resolve));
let releaseFirst: () => void;
const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'email' });
  queues = await f.inspect();
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })),
    handlers: {
      [JOBS.sendWelcomeEmail]: async () => {
        runs++;
        if (runs > 1) return; // the delivery after the lock was lost: completes
        firstStarted();
        await firstReleased;
        throw new UnrecoverableError('the mailbox does not exist');
      },
    },
  });
});
after(async () => {
  releaseFirst();
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('a dead letter written by an attempt that lost its lock, after another delivery of the job completed', () => {
  it('does not stay open while Redis holds the completed job: `queues retry-failed` closes it (the job is done)', async () => {
    const email = queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'lost-1' });
    await firstRunning;
    // The first attempt loses its lock (its worker stalled past the lock duration: the lock expired), so the stalled
    // check delivers the job again, and that delivery completes.
    const redis = createRedis(f.env.REDIS_URL!, { name: 'salescale-test-lock', role: 'queue' });
    try {
      await redis.del(`${email.toKey('lost-1')}:lock`);
    } finally {
      await closeRedis(redis);
    }
    await waitFor('the second delivery to complete', async () => ((await (await email.getJob('lost-1'))?.getState()) === 'completed' ? true : undefined));
    // The first attempt then fails for good: the worker writes the letter (BullMQ then refuses to move the job,
    // which is not its any more).
    releaseFirst();
    await waitFor('the late dead letter', async () => ((await f.db.pools.primary.query("SELECT 1 FROM dead_letters WHERE job_id = 'lost-1'")).rowCount === 1 ? true : undefined));
    await worker.shutdown('test');
    await worker.platform.close();

    const { closedCompleted, ...retry } = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { state: await (await email.getJob('lost-1'))?.getState(), retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { state: 'completed', retry: { retriedFailed: 0, requeuedDeadLetters: 0, failures: [] }, deadLetters: 0 },
      `the letter of a job that completed before the letter was written stays open: retry-failed neither closes it (finishedOn before failed_at) nor reports it (closedCompleted ${closedCompleted})`,
    );
  });
});
