import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { discardDeadLetters, getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { startEmailWorkerSetup, waitForDeadLetter, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { runSalescale } from '../helpers/queue-cli.ts';
import type { QueueFixture } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
let f: QueueFixture;
let queues: QueueSet;
/** Releases the jobs the handler holds running (the `-running` ones). */
let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=1' }, async (job) => {
    if (job.id!.endsWith('-failed')) throw new Error('mailbox does not exist');
    // Retried meanwhile: it failed before (its stack trace kept), and runs again.
    if (job.id!.endsWith('-running') && job.attemptsMade === 0) throw new Error('mail server busy');
    if (job.id!.endsWith('-running')) await held;
  });
  ({ f, queues } = s);
});
afterEach(() => {
  release();
  held = new Promise<void>((resolve) => (release = resolve));
});
after(async () => {
  release();
  await s?.close();
});

/**
 * Three letters of the email queue: `<run>-failed` (its job failed for good and is still in BullMQ's failed set, its
 * letter written by the worker), `<run>-gone` (Redis dropped its job) and `<run>-running` (retried by someone
 * meanwhile: its job is running again).
 */
async function insertLetters(run: string): Promise<void> {
  const email = queues.get('email');
  await email.add(JOBS.sendWelcomeEmail, {}, { jobId: `${run}-failed` });
  await waitForJobState(email, `${run}-failed`, 'failed', 'the job to fail for good');
  await waitForDeadLetter(f.db.pools.primary, `${run}-failed`, 'its dead letter');
  // The running job was created before its letter was written (a job added after it under its id is another job).
  await email.add(JOBS.sendWelcomeEmail, {}, { jobId: `${run}-running`, attempts: 2, backoff: { type: 'fixed', delay: 1 } });
  await waitForJobState(email, `${run}-running`, 'active', 'the retried job to run');
  await f.db.pools.primary.query(
    `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made)
     SELECT 'email', id, $1, '{"email":"nobody@example.invalid","name":"N"}', '{}', 'mailbox does not exist', 1 FROM unnest($2::text[]) AS id`,
    [JOBS.sendWelcomeEmail, [`${run}-gone`, `${run}-running`]],
  );
}

async function letters(run: string): Promise<Record<string, { open: boolean; reason: string | null; by: string | null }>> {
  const { rows } = await f.db.pools.primary.query(
    "SELECT job_id, retried_at IS NULL AND discarded_at IS NULL AS open, discard_reason, discarded_by FROM dead_letters WHERE queue = 'email' AND job_id LIKE $1 ORDER BY job_id",
    [`${run}-%`],
  );
  return Object.fromEntries(rows.map((row) => [row.job_id.slice(run.length + 1), { open: row.open, reason: row.discard_reason, by: row.discarded_by }]));
}
describe('`queues discard`', () => {
  it('closes the named letters without running them, recording why and who, and removes a failed job so retry-failed cannot run it', async () => {
    await insertLetters('a');
    const result = await discardDeadLetters(loadConfig(f.env), 'email', { jobIds: ['a-gone', 'a-failed', 'a-running', 'a-unknown'], reason: 'mailbox does not exist', actor: 'carol' });
    assert.deepEqual(result, {
      discarded: ['a-failed', 'a-gone'],
      notDiscarded: [
        { jobId: 'a-running', reason: 'its job is active (retried meanwhile): it closes when it completes' },
        { jobId: 'a-unknown', reason: 'no open dead letter' },
      ],
    });
    assert.deepEqual(await letters('a'), {
      failed: { open: false, reason: 'mailbox does not exist', by: 'carol' },
      gone: { open: false, reason: 'mailbox does not exist', by: 'carol' },
      running: { open: true, reason: null, by: null },
    });
    assert.equal(await queues.get('email').getJob('a-failed'), undefined, 'the failed job is gone from Redis');
    const report = await getQueueReport(loadConfig(f.env));
    assert.equal(report.queues.find((q) => q.queue === 'email')!.deadLetters, 1, 'the dead-letter count leaves out the discarded letters');
    assert.deepEqual(await retryFailed(loadConfig(f.env), 'email'), { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 0, failures: [] });
  });
  it('the command discards --all with a reason, and refuses without one', async () => {
    await insertLetters('b');
    const salescale = (args: string[]) => runSalescale(f.env, args);
    const refused = await salescale(['queues', 'discard', 'email', '--all']);
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /--reason/);
    const run = await salescale(['queues', 'discard', 'email', '--all', '--reason', 'mailbox does not exist', '--actor', 'dave']);
    assert.equal(run.code, 1, run.stderr); // one letter (its job retried meanwhile) not discarded
    assert.match(run.stdout, /email: 2 dead letters discarded/);
    assert.match(run.stderr, /b-running/);
    assert.deepEqual(Object.entries(await letters('b')).map(([id, letter]) => [id, letter.open, letter.by]), [
      ['failed', false, 'dave'],
      ['gone', false, 'dave'],
      ['running', true, null],
    ]);
  });
});
