import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { failingCountdown, startEmailWorkerSetup, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { waitFor, type QueueFixture } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
let f: QueueFixture;
/** How many more attempts of each job fail (the mail server refuses them). */
const failuresLeft = new Map<string, number>();
const handled: string[] = [];
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=2', QUEUE_BACKOFF_MS: 'email=10' }, failingCountdown(failuresLeft, handled));
  f = s.f;
});
after(async () => {
  await s?.close();
});

describe('`queues retry-failed` gives a retried job its attempts again', () => {
  it('a failed job still in Redis gets the queue\'s attempts again, as one Redis trimmed (re-added from its dead letter) does', async () => {
    const [a, b] = await enqueueInTransaction(f.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'kept@example.com', name: 'Kept' } },
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'trimmed@example.com', name: 'Trimmed' } },
    ]);
    const [kept, trimmed] = [outboxJobId(a!), outboxJobId(b!)];
    // Both exhaust their two attempts (QUEUE_ATTEMPTS=email=2), then each fails once more after the retry:
    // a mail server still flaky when the operator retries, which the queue's second attempt rides out.
    failuresLeft.set(kept, 3);
    failuresLeft.set(trimmed, 3);
    await waitFor('both jobs to be dead letters', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters WHERE retried_at IS NULL AND job_id = ANY($1::text[])', [[kept, trimmed]]);
      return rows[0].n === 2;
    });
    const { queues } = s;
    await queues.get('email').remove(trimmed); // fell out of Redis's failed set, as `keepFailed` trimming does
    const { rows: clock } = await f.db.pools.primary.query('SELECT now() AS t');

    assert.deepEqual(await retryFailed(loadConfig(f.env), 'email'), { retriedFailed: 1, requeuedDeadLetters: 1, closedCompleted: 0, failures: [] });
    await waitFor('the trimmed job to complete on its second attempt after the retry', async () => handled.filter((id) => id === trimmed).length === 4);
    await waitFor('the kept job to complete, or fail for good', async () => {
      const job = await queues.get('email').getJob(kept);
      return job && (job.finishedOn ?? 0) > 0 && (await job.getState()) !== 'active' ? true : undefined;
    });
    const { rows } = await f.db.pools.primary.query('SELECT job_id, failed_reason FROM dead_letters WHERE failed_at > $1', [clock[0].t]);
    const keptJob = await queues.get('email').getJob(kept);
    assert.deepEqual(
      { state: await keptJob!.getState(), attemptsAfterRetry: handled.filter((id) => id === kept).length - 2, deadLettersAgain: rows.map((row) => row.job_id) },
      { state: 'completed', attemptsAfterRetry: 2, deadLettersAgain: [] },
      'the job Redis still held got one attempt after the retry and was dead-lettered again on it; the trimmed one got two and completed',
    );
  });
});
