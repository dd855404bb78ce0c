import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discardDeadLetters, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { failingOnceFor, isLetterOpen, startEmailWorkerSetup, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';

let s: EmailWorkerSetup;
/** Job ids whose handler throws once. */
const failOnce = new Set<string>();
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=2', QUEUE_BACKOFF_MS: 'email=1' }, failingOnceFor(failOnce));
});
after(async () => {
  await s?.close();
});

const isOpen = (jobId: string) => isLetterOpen(s.f.db.pools.primary, jobId);

describe('a job id reused by a newer job (BullMQ counter ids restart after a Redis loss)', () => {
  before(async () => {
    // The old jobs' letters, written when they exhausted their attempts, before Redis lost its jobs: a minute ago,
    // so the new jobs' creation times (whole ms) are after them however fast this machine adds them.
    for (const id of ['job-5', 'job-6', 'job-7']) {
      await s.f.db.pools.primary.query(
        `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, failed_at)
         VALUES ('email', $2, $1, '{"old":true}', '{}', 'mail server says no', 2, now() - interval '1 minute')`,
        [JOBS.sendWelcomeEmail, id],
      );
    }
    // New jobs added from the dashboard get the same ids again; job-5 fails once, then each completes.
    failOnce.add('job-5');
    for (const id of ['job-5', 'job-6', 'job-7']) {
      await s.queues.get('email').add(JOBS.sendWelcomeEmail, { new: true }, { jobId: id });
      await waitForJobState(s.queues.get('email'), id, 'completed', `the new job ${id} to complete`);
    }
    // Shutting down settles the worker's letter closes.
    await s.stopWorker();
  });

  it("does not close the old job's letter when the new job completes", async () => {
    assert.equal(await isOpen('job-5'), true, 'the new job job-5 closed the letter of the old job-5, whose work was never done');
  });

  it('is not taken by `queues retry-failed` for the letter\'s job: the letter stays open, reported', async () => {
    const retry = await retryFailed(loadConfig(s.f.env), 'email');
    assert.deepEqual(
      { open: await isOpen('job-6'), closedCompleted: retry.closedCompleted, failures: retry.failures.map((failure) => failure.jobId) },
      { open: true, closedCompleted: 0, failures: ['job-5', 'job-6', 'job-7'] },
      'retry-failed took the new job job-6 for the letter\'s and closed the letter as completed',
    );
  });

  it('lets `queues discard` close the letter without removing the newer job', async () => {
    const result = await discardDeadLetters(loadConfig(s.f.env), 'email', { jobIds: ['job-7'], reason: 'order gone', actor: 'test' });
    assert.deepEqual(
      { discarded: result.discarded, newJob: await (await s.queues.get('email').getJob('job-7'))?.getState() },
      { discarded: ['job-7'], newJob: 'completed' },
    );
  });
});
