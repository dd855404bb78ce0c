import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { mayHaveDeadLetter } from '../../src/platform/queue/dead-letters.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { retryAllAfresh } from '../../src/platform/queue/retry.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
let worker: RunningWorker;
let failing = true;
before(async () => {
  f = await createQueueFixture({ QUEUE_ATTEMPTS: 'email=1', WORKER_QUEUES: 'email' });
  queues = await f.inspect();
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })),
    handlers: {
      [JOBS.sendWelcomeEmail]: async () => {
        if (failing) throw new Error('mail server says no');
      },
    },
  });
});
after(async () => {
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('a failed job retried in Redis with its attempts reset (BullMQ Job.retry), then completed', () => {
  it('keeps the stack trace of its failure, the only sign mayHaveDeadLetter has that it may have a letter to close', async () => {
    const email = queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'trace-1' });
    await waitFor('the job to fail', async () => ((await (await email.getJob('trace-1'))?.getState()) === 'failed' ? true : undefined));
    failing = false;
    await retryAllAfresh(email, 'failed', 10);
    await waitFor('the job to complete', async () => ((await (await email.getJob('trace-1'))?.getState()) === 'completed' ? true : undefined));
    const job = (await email.getJob('trace-1'))!;
    assert.deepEqual(
      { attemptsMade: job.attemptsMade, keepsStackTrace: (job.stacktrace?.length ?? 0) > 0, mayHaveDeadLetter: mayHaveDeadLetter(job) },
      { attemptsMade: 1, keepsStackTrace: true, mayHaveDeadLetter: true },
      'BullMQ no longer keeps a job\'s stack traces across Job.retry: a retried job\'s completion would leave its letter open',
    );
  });
});
