import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discardDeadLetters } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { closeDeadLetterOnCompletion } from '../../src/platform/queue/dead-letters.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { startEmailWorkerSetup, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import type { QueueFixture } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
let f: QueueFixture;
let queues: QueueSet;
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1' }, async () => {});
  ({ f, queues } = s);
});
after(async () => {
  await s?.close();
});

/** A letter as a worker writes it (with its job's creation time), or, `jobCreatedAt` null, as an older one did. */
async function insertLetter(jobId: string, jobCreatedAt: number | null = null): Promise<void> {
  await f.db.pools.primary.query(
    `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, job_created_at)
     VALUES ('email', $2, $1, '{}', '{}', 'mail server says no', 1, $3)`,
    [JOBS.sendWelcomeEmail, jobId, jobCreatedAt],
  );
}

async function letter(jobId: string): Promise<{ retried: boolean; discarded: boolean }> {
  const { rows } = await f.db.pools.primary.query('SELECT retried_at IS NOT NULL AS retried, discarded_at IS NOT NULL AS discarded FROM dead_letters WHERE job_id = $1', [jobId]);
  return rows[0];
}

describe('a discarded letter and a completed job', () => {
  it('a discarded letter stays discarded, not also retried, when a job of its id completes', async () => {
    await insertLetter('d-1');
    await f.db.pools.primary.query("UPDATE dead_letters SET discarded_at = now(), discard_reason = 'gone' WHERE job_id = 'd-1'");
    await closeDeadLetterOnCompletion(f.db.pools.primary, 'email', { id: 'd-1', timestamp: 0 });
    assert.deepEqual(await letter('d-1'), { retried: false, discarded: true }, 'the completion closed a discarded letter as retried too');
  });

  it('`queues discard` does not record as discarded a letter whose job completed: its work is done', async () => {
    // The letter's job, retried meanwhile, completed (the worker could not close its letter).
    await queues.get('email').add(JOBS.sendWelcomeEmail, {}, { jobId: 'c-1' });
    await waitForJobState(queues.get('email'), 'c-1', 'completed', 'the job to complete');
    await insertLetter('c-1', (await queues.get('email').getJob('c-1'))!.timestamp);
    const result = await discardDeadLetters(loadConfig(f.env), 'email', { jobIds: ['c-1'], reason: 'never mind', actor: 'test' });
    assert.deepEqual(
      { discarded: result.discarded, notDiscarded: result.notDiscarded.map((left) => left.jobId), letter: await letter('c-1') },
      { discarded: [], notDiscarded: ['c-1'], letter: { retried: false, discarded: false } },
      'a letter of completed work was recorded as given up',
    );
  });

  it('`queues discard` closes a letter without its job\'s creation time whose held job completed before it was written (retry-failed reports it)', async () => {
    // An older worker's letter: the completed job may be another one under its id, so the operator judges.
    await queues.get('email').add(JOBS.sendWelcomeEmail, {}, { jobId: 'c-2' });
    await waitForJobState(queues.get('email'), 'c-2', 'completed', 'the job to complete');
    await insertLetter('c-2');
    const result = await discardDeadLetters(loadConfig(f.env), 'email', { jobIds: ['c-2'], reason: 'checked: sent', actor: 'test' });
    assert.deepEqual({ discarded: result.discarded, letter: await letter('c-2') }, { discarded: ['c-2'], letter: { retried: false, discarded: true } });
  });
});
