import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'bullmq';
import { closeDeadLetterOnCompletion, isJobOfLetter, listOpenDeadLetters, recordDeadLetter } from '../../src/platform/queue/dead-letters.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'email' });
});
after(async () => {
  await f?.close();
});

describe('which job is a dead letter\'s own', () => {
  it('is decided alike by the worker\'s close (SQL) and by retry-failed and discard (isJobOfLetter)', async () => {
    const failedAt = Date.parse('2026-01-01T00:00:00.000Z');
    // Letters with and without the job's creation time; jobs created before, at and after the letter was written
    // (to the millisecond and across the microseconds failed_at keeps).
    const letters = [
      { id: 'own', jobCreatedAt: failedAt - 60_000, failedAt: '2026-01-01T00:00:00.000Z' },
      { id: 'older', jobCreatedAt: null, failedAt: '2026-01-01T00:00:00.000Z' },
      { id: 'older-us', jobCreatedAt: null, failedAt: '2026-01-01T00:00:00.000500Z' },
    ];
    const jobTimes = [failedAt - 60_000, failedAt - 1, failedAt, failedAt + 1, failedAt + 60_000];
    const disagreements: string[] = [];
    let n = 0;
    for (const letter of letters) {
      for (const timestamp of jobTimes) {
        const jobId = `${letter.id}-${n++}`;
        await f.db.pools.primary.query(
          `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, failed_at, job_created_at)
           VALUES ('email', $1, $2, '{}', '{}', 'no', 1, $3::timestamptz, $4)`,
          [jobId, JOBS.sendWelcomeEmail, letter.failedAt, letter.jobCreatedAt],
        );
        const [read] = await listOpenDeadLetters(f.db.pools.primary, 'email', [jobId], undefined, 1);
        const own = isJobOfLetter({ timestamp }, read!);
        await closeDeadLetterOnCompletion(f.db.pools.primary, 'email', { id: jobId, timestamp });
        const { rows } = await f.db.pools.primary.query('SELECT retried_at IS NOT NULL AS closed FROM dead_letters WHERE job_id = $1', [jobId]);
        if (rows[0].closed !== own) disagreements.push(`${jobId} (job created at ${timestamp - failedAt} ms from the letter): SQL ${rows[0].closed}, isJobOfLetter ${own}`);
      }
    }
    assert.deepEqual(disagreements, [], 'the two forms of the rule disagree');
  });

  it('is set again when a worker rewrites a letter an older worker left without it, or with an earlier job\'s', async () => {
    for (const [jobId, stale] of [['rewritten-null', null], ['rewritten-stale', 1]] as const) {
      await f.db.pools.primary.query(
        `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, job_created_at)
         VALUES ('email', $1, $2, '{}', '{}', 'no', 1, $3)`,
        [jobId, JOBS.sendWelcomeEmail, stale],
      );
      const job = { id: jobId, name: JOBS.sendWelcomeEmail, data: {}, opts: {}, attemptsMade: 3, timestamp: 1_767_225_600_000 } as unknown as Job;
      await recordDeadLetter(f.db.pools.primary, 'email', job, 'no again');
    }
    const { rows } = await f.db.pools.primary.query("SELECT job_id, job_created_at::float8 AS t FROM dead_letters WHERE job_id LIKE 'rewritten-%' ORDER BY job_id");
    assert.deepEqual(rows.map((row) => [row.job_id, row.t]), [['rewritten-null', 1_767_225_600_000], ['rewritten-stale', 1_767_225_600_000]]);
  });
});
