import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discardDeadLetters, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { failingFor, isLetterOpen, startEmailWorkerSetup, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { waitFor } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
/** Job ids whose handler throws. */
const failing = new Set<string>();
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1' }, failingFor(failing));
});
after(async () => {
  await s?.close();
});

const isOpen = (jobId: string) => isLetterOpen(s.f.db.pools.primary, jobId);

describe("a dead letter whose job was added by a producer whose clock is ahead of PostgreSQL's", () => {
  it('is the letter of that job: `queues discard` removes its failed job, so retry-failed cannot run it', async () => {
    const email = s.queues.get('email');
    failing.add('ahead-2');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'ahead-2', timestamp: Date.now() + 10 * 60_000 });
    await waitFor('the dead letter', async () => (await isOpen('ahead-2') ? true : undefined));
    await waitForJobState(email, 'ahead-2', 'failed', 'the job to fail');
    const result = await discardDeadLetters(loadConfig(s.f.env), 'email', { jobIds: ['ahead-2'], reason: 'mailbox gone', actor: 'test' });
    assert.deepEqual(
      { discarded: result.discarded, failedJobLeft: Boolean(await email.getJob('ahead-2')) },
      { discarded: ['ahead-2'], failedJobLeft: false },
      "the letter's own failed job was taken for a newer one and left in the failed set, for retry-failed to run",
    );
  });

  it('is the letter of that job: `queues retry-failed` retries it, and its completion closes the letter', async () => {
    const email = s.queues.get('email');
    failing.add('ahead-1');
    // The producer's clock is ten minutes ahead: the job's creation time is after the letter's failed_at.
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'ahead-1', timestamp: Date.now() + 10 * 60_000 });
    await waitFor('the dead letter', async () => (await isOpen('ahead-1') ? true : undefined));
    await waitForJobState(email, 'ahead-1', 'failed', 'the job to fail');
    failing.delete('ahead-1');

    const retry = await retryFailed(loadConfig(s.f.env), 'email');
    await waitForJobState(email, 'ahead-1', 'completed', 'the retried job to complete');
    // Shutting down settles the worker's letter closes.
    await s.stopWorker();
    assert.deepEqual(
      { retriedFailed: retry.retriedFailed, failures: retry.failures, open: await isOpen('ahead-1') },
      { retriedFailed: 1, failures: [], open: false },
      "the letter's own job was taken for a newer one under its id: retry-failed reported it, and its completion left the letter open",
    );
  });
});
