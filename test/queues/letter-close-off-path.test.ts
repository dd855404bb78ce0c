import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { failingFor, startEmailWorkerSetup, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { waitFor } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
/** Job ids whose handler throws. */
const failing = new Set<string>();
before(async () => {
  // No statement timeout: a statement waiting on the locked table waits until the lock is released.
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1', DB_STATEMENT_TIMEOUT_MS: '0' }, failingFor(failing));
});
after(async () => {
  await s?.close();
});

/** Holds dead_letters locked against writes (as a PostgreSQL that does not answer them) until the returned release. */
async function lockDeadLetters(): Promise<() => Promise<void>> {
  const client: pg.PoolClient = await s.f.db.pools.primary.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE dead_letters IN EXCLUSIVE MODE');
  return async () => {
    await client.query('COMMIT');
    client.release();
  };
}

async function stateOf(jobId: string): Promise<string | undefined> {
  return (await (await s.queues.get('email').getJob(jobId))?.getState()) === 'completed' ? 'completed' : undefined;
}

async function openLetters(): Promise<string[]> {
  const { rows } = await s.f.db.pools.primary.query<{ job_id: string }>('SELECT job_id FROM dead_letters WHERE retried_at IS NULL AND discarded_at IS NULL ORDER BY job_id');
  return rows.map((row) => row.job_id);
}

describe('closing the dead letter of a completed job', () => {
  it('is not on the path of a job that never failed: it completes while dead_letters cannot be written', { timeout: 30_000 }, async () => {
    const release = await lockDeadLetters();
    try {
      await s.queues.get('email').add(JOBS.sendWelcomeEmail, {}, { jobId: 'fresh-1' });
      assert.equal(await waitFor('the fresh job to complete while dead_letters is locked', () => stateOf('fresh-1'), 20_000), 'completed');
    } finally {
      await release();
    }
  });

  it('does not hold the job: a retried dead letter completes while dead_letters cannot be written, and closes once it can', { timeout: 30_000 }, async () => {
    const email = s.queues.get('email');
    failing.add('retried-1');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'retried-1' });
    await waitFor('the dead letter', async () => ((await openLetters()).includes('retried-1') ? true : undefined));
    failing.delete('retried-1');
    const release = await lockDeadLetters();
    try {
      await (await email.getJob('retried-1'))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      assert.equal(await waitFor('the retried job to complete while dead_letters is locked', () => stateOf('retried-1'), 20_000), 'completed');
    } finally {
      await release();
    }
    await waitFor('the letter to close', async () => ((await openLetters()).includes('retried-1') ? undefined : true));
  });
});
