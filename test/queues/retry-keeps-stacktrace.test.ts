import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mayHaveDeadLetter } from '../../src/platform/queue/dead-letters.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { retryAllAfresh } from '../../src/platform/queue/retry.ts';
import { failingWhen, startEmailWorkerSetup, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';

let s: EmailWorkerSetup;
let failing = true;
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1' }, failingWhen(() => failing));
});
after(async () => {
  await s?.close();
});

describe('a failed job retried in Redis with its attempts reset (BullMQ Job.retry), then completed', () => {
  it('keeps the stack trace of its failure, the only sign mayHaveDeadLetter has that it may have a letter to close', async () => {
    const email = s.queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'trace-1' });
    await waitForJobState(email, 'trace-1', 'failed', 'the job to fail');
    failing = false;
    await retryAllAfresh(email, 'failed', 10);
    await waitForJobState(email, 'trace-1', 'completed', 'the job to complete');
    const job = (await email.getJob('trace-1'))!;
    assert.deepEqual(
      { attemptsMade: job.attemptsMade, keepsStackTrace: (job.stacktrace?.length ?? 0) > 0, mayHaveDeadLetter: mayHaveDeadLetter(job) },
      { attemptsMade: 1, keepsStackTrace: true, mayHaveDeadLetter: true },
      'BullMQ no longer keeps a job\'s stack traces across Job.retry: a retried job\'s completion would leave its letter open',
    );
  });
});
