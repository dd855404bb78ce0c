import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnrecoverableError } from 'bullmq';
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
/** Job ids whose handler fails for good. */
const failing = new Set<string>();
const realNow = Date.now;
before(async () => {
  s = await startEmailWorkerSetup({}, failingFor(failing, () => new UnrecoverableError('mail server says no')));
});
after(async () => {
  Date.now = realNow;
  await s?.close();
});

describe('a dead letter whose job completed on a worker whose clock is behind PostgreSQL\'s, its close not written', () => {
  it('is closed by `queues retry-failed` (its own job, by its creation time, completed): the clocks are not compared', async () => {
    const { f } = s;
    const email = s.queues.get('email');
    failing.add('behind-1');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'behind-1' });
    await waitForDeadLetter(f.db.pools.primary, 'behind-1');
    await waitForJobState(email, 'behind-1', 'failed', 'the job to fail');
    failing.delete('behind-1');
    // The worker's close of a letter fails, as it does when PostgreSQL does not answer at the job's completion.
    await refuseLetterCloses(f.db.pools.primary);
    // Retried; it completes on a worker whose clock is ten minutes behind PostgreSQL's (its finishedOn).
    const skew = 10 * 60_000;
    await (await email.getJob('behind-1'))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    Date.now = () => realNow() - skew;
    try {
      await waitForJobState(email, 'behind-1', 'completed', 'the job to complete');
    } finally {
      Date.now = realNow;
    }
    await s.stopWorker();
    await allowLetterCloses(f.db.pools.primary);

    const retry = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { retry: { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 1, failures: [] }, deadLetters: 0 },
      'the letter of its own completed job stays open, unreported, because the worker\'s clock (finishedOn) is behind PostgreSQL\'s (failed_at)',
    );
  });
});
