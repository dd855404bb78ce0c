import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { createInspectedQueueFixture, runSalescale } from '../helpers/queue-cli.ts';
import type { QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
before(async () => {
  ({ f, queues } = await createInspectedQueueFixture());
});
after(async () => {
  await f?.close();
});
beforeEach(async () => {
  await f.db.pools.primary.query('DELETE FROM dead_letters');
  await queues.get('email').obliterate({ force: true });
});

/**
 * Two dead letters Redis no longer holds, the older one with an option BullMQ refuses (a float priority, as a letter
 * written by an older release could hold), so re-adding it throws.
 */
async function insertLetters(): Promise<void> {
  await f.db.pools.primary.query(
    `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, failed_at) VALUES
       ('email', 'outbox-refused', $1, '{"email":"a@example.com","name":"A"}', '{"priority":1.5}', 'mail server says no', 3, now() - interval '2 minutes'),
       ('email', 'outbox-fine', $1, '{"email":"b@example.com","name":"B"}', '{}', 'mail server says no', 3, now() - interval '1 minute')`,
    [JOBS.sendWelcomeEmail],
  );
}

async function openLetters(): Promise<string[]> {
  const { rows } = await f.db.pools.primary.query<{ job_id: string }>("SELECT job_id FROM dead_letters WHERE queue = 'email' AND retried_at IS NULL ORDER BY job_id");
  return rows.map((row) => row.job_id);
}

describe('`queues retry-failed` when one job cannot be retried', () => {
  it('retries the others, closes their letters and reports the one that failed', async () => {
    await insertLetters();
    const result = await retryFailed(loadConfig(f.env), 'email');
    assert.deepEqual(
      {
        retried: { retriedFailed: result.retriedFailed, requeuedDeadLetters: result.requeuedDeadLetters },
        failures: result.failures.map((failure) => [failure.jobId, /float/i.test(failure.reason)]),
        open: await openLetters(),
        requeued: Boolean(await queues.get('email').getJob('outbox-fine')),
      },
      { retried: { retriedFailed: 0, requeuedDeadLetters: 1 }, failures: [['outbox-refused', true]], open: ['outbox-refused'], requeued: true },
    );
  });
  it('the command exits non-zero after the others, naming the job that failed', async () => {
    await insertLetters();
    const run = await runSalescale(f.env, ['queues', 'retry-failed', 'email']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /1 dead letters enqueued again/);
    assert.match(run.stderr, /outbox-refused/);
    assert.deepEqual(await openLetters(), ['outbox-refused']);
  });
});

describe('`queues retry-failed` in pages', () => {
  it('re-adds and closes every letter Redis dropped across pages, and leaves open the letters of jobs Redis still holds', async () => {
    const ids = ['outbox-p1', 'outbox-p2', 'outbox-p3', 'outbox-p4', 'outbox-p5', 'outbox-h1', 'outbox-h2', 'outbox-h3'];
    // All failed at the same instant: the page boundaries fall between letters of one failed_at.
    await f.db.pools.primary.query(
      `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, failed_at)
       SELECT 'email', id, $1, '{"email":"p@example.com","name":"P"}', '{}', 'mail server says no', 3, '2026-01-01T00:00:00Z' FROM unnest($2::text[]) AS id`,
      [JOBS.sendWelcomeEmail, ids],
    );
    // Jobs Redis still holds (waiting: already retried by someone, not completed yet).
    // Created before their letters were written (a job created after it under its id would be another job).
    for (const id of ['outbox-h1', 'outbox-h2', 'outbox-h3']) await queues.get('email').add(JOBS.sendWelcomeEmail, {}, { jobId: id, timestamp: Date.parse('2025-12-31T23:00:00Z') });
    const result = await retryFailed(loadConfig(f.env), 'email', { pageSize: 2 });
    const requeued = await Promise.all(['outbox-p1', 'outbox-p2', 'outbox-p3', 'outbox-p4', 'outbox-p5'].map(async (id) => Boolean(await queues.get('email').getJob(id))));
    assert.deepEqual(
      { result, open: await openLetters(), requeued },
      { result: { retriedFailed: 0, requeuedDeadLetters: 5, closedCompleted: 0, failures: [] }, open: ['outbox-h1', 'outbox-h2', 'outbox-h3'], requeued: [true, true, true, true, true] },
    );
  });
});
