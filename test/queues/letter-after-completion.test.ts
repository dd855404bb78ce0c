import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { startEmailWorkerSetup, waitForDeadLetter, waitForJobState, withLockRedis, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';

let s: EmailWorkerSetup;
/** Runs of the job so far; the first waits for `releaseFirst`, then fails for good. */
let runs = 0;
let firstStarted: () => void;
const firstRunning = new Promise<void>((resolve) => (firstStarted = resolve));
let releaseFirst: () => void;
const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
before(async () => {
  s = await startEmailWorkerSetup({}, async () => {
    runs++;
    if (runs > 1) return; // the delivery after the lock was lost: completes
    firstStarted();
    await firstReleased;
    throw new UnrecoverableError('the mailbox does not exist');
  });
});
after(async () => {
  releaseFirst();
  await s?.close();
});

describe('a dead letter written by an attempt that lost its lock, after another delivery of the job completed', () => {
  it('does not stay open while Redis holds the completed job: `queues retry-failed` closes it (the job is done)', async () => {
    const { f } = s;
    const email = s.queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'lost-1' });
    await firstRunning;
    // The first attempt loses its lock (its worker stalled past the lock duration: the lock expired), so the stalled
    // check delivers the job again, and that delivery completes.
    await withLockRedis(f, (redis) => redis.del(`${email.toKey('lost-1')}:lock`));
    await waitForJobState(email, 'lost-1', 'completed', 'the second delivery to complete');
    // The first attempt then fails for good: the worker writes the letter (BullMQ then refuses to move the job,
    // which is not its any more).
    releaseFirst();
    await waitForDeadLetter(f.db.pools.primary, 'lost-1', 'the late dead letter');
    await s.stopWorker();

    const { closedCompleted, ...retry } = await retryFailed(loadConfig(f.env), 'email');
    const report = await getQueueReport(loadConfig(f.env));
    assert.deepEqual(
      { state: await (await email.getJob('lost-1'))?.getState(), retry, deadLetters: report.queues.find((q) => q.queue === 'email')!.deadLetters },
      { state: 'completed', retry: { retriedFailed: 0, requeuedDeadLetters: 0, failures: [] }, deadLetters: 0 },
      `the letter of a job that completed before the letter was written stays open: retry-failed neither closes it (finishedOn before failed_at) nor reports it (closedCompleted ${closedCompleted})`,
    );
  });
});
