import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import {
  allowLetterCloses,
  failingFor,
  refuseLetterCloses,
  startEmailWorkerSetup,
  waitForDeadLetter,
  waitForJobState,
  type EmailWorkerSetup,
} from '../helpers/dead-letter-setup.ts';

let s: EmailWorkerSetup;
/** Job ids whose handler throws. */
const failing = new Set<string>();
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1' }, failingFor(failing));
});
after(async () => {
  await s?.close();
});

describe('a dead letter whose job completed while its close could not be written', () => {
  it('is closed by `queues retry-failed` (its job is done), not left open while Redis holds the completed job', async () => {
    const { f } = s;
    const email = s.queues.get('email');
    // The job exhausts its attempt: a dead letter.
    failing.add('done-1');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'done-1' });
    await waitForDeadLetter(f.db.pools.primary, 'done-1');
    await waitForJobState(email, 'done-1', 'failed', 'the job to fail');
    failing.delete('done-1');
    // The worker's close of a letter fails, as it does when PostgreSQL does not answer at the job's completion.
    await refuseLetterCloses(f.db.pools.primary);
    // Retried (through the dashboard or BullMQ's API, which keep the job): it runs and completes.
    await (await email.getJob('done-1'))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await waitForJobState(email, 'done-1', 'completed', 'the job to complete');
    // The worker's close, refused, is settled by its shutdown.
    await s.stopWorker();
    await allowLetterCloses(f.db.pools.primary);

    const retry = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { retry: { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 1, failures: [] }, deadLetters: 0 },
      'the letter of a completed job stays open (queue_dead_letters, QueueDeadLetters) and retry-failed skips it as "closed when it completes"',
    );
  });
});
