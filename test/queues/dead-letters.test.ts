import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { getQueueReport, retryFailed } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { startEmailWorkerSetup, waitForDeadLetter, waitForJobState, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { waitFor, type QueueFixture } from '../helpers/queues.ts';
import { sql } from 'drizzle-orm';

let s: EmailWorkerSetup;
let f: QueueFixture;
let failing = true;
/**
 * How a failing job fails: the mail server refuses, one of its statements fails (with the email as a parameter), or
 * the job fails for good at its first attempt (an UnrecoverableError, as a malformed payload does).
 */
let failure: 'refused' | 'statement' | 'unrecoverable' | 'nul' = 'refused';
const handled: string[] = [];
/** The data each job ran with, by job id (its last run). */
const ranWith = new Map<string, unknown>();
before(async () => {
  s = await startEmailWorkerSetup({ QUEUE_ATTEMPTS: 'email=2', QUEUE_BACKOFF_MS: 'email=10' }, async (job) => {
    handled.push(job.id!);
    ranWith.set(job.id!, job.data);
    if (failing && failure === 'nul') throw new Error('mail server says \u0000no');
    if (failing && failure === 'statement') await s.worker.platform.db.primary.execute(sql`select ${(job.data as { email: string }).email}::int`);
    if (failing && failure === 'unrecoverable') throw new UnrecoverableError('no such mailbox');
    if (failing) throw new Error('mail server says no');
  });
  f = s.f;
});
after(async () => {
  await s?.close();
});

describe('jobs that exhaust their attempts', () => {
  it('are kept as dead letters and run again by `queues retry-failed`, even after Redis trimmed them', async () => {
    const [a, b] = await enqueueInTransaction(f.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'a@example.com', name: 'A' } },
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'b@example.com', name: 'B' } },
    ]);
    const [jobA, jobB] = [outboxJobId(a!), outboxJobId(b!)];
    await waitFor('both jobs to be dead letters', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters WHERE retried_at IS NULL');
      return rows[0].n === 2;
    });
    const { rows } = await f.db.pools.primary.query('SELECT job_id, failed_reason, attempts_made, data FROM dead_letters ORDER BY job_id');
    assert.deepEqual(
      rows.map((row) => [row.job_id, row.failed_reason, row.data.email]),
      [
        [jobA, 'mail server says no', 'a@example.com'],
        [jobB, 'mail server says no', 'b@example.com'],
      ],
    );
    assert.equal(handled.filter((id) => id === jobA).length, 2, 'two attempts (QUEUE_ATTEMPTS=email=2)');

    const config = loadConfig(f.env);
    const report = await getQueueReport(config);
    const email = report.queues.find((q) => q.queue === 'email')!;
    assert.equal(email.failed, 2);
    assert.equal(email.deadLetters, 2);

    // B falls out of Redis's failed set (as `removeOnFail` trimming does); its dead letter remains.
    const { queues } = s;
    await queues.get('email').remove(jobB);
    failing = false;
    const result = await retryFailed(config, 'email');
    assert.deepEqual(result, { retriedFailed: 1, requeuedDeadLetters: 1, closedCompleted: 0, failures: [] });
    await waitFor('both retried jobs to complete', async () => (await queues.get('email').getCompletedCount()) === 2);
    assert.equal(handled.filter((id) => id === jobB).length, 3);
    const after = await getQueueReport(config);
    assert.equal(after.queues.find((q) => q.queue === 'email')!.deadLetters, 0);
  });
});

describe('`queues retry-failed` while the jobs still fail', () => {
  it('leaves every dead letter whose retry failed again visible, however soon it failed', async () => {
    failing = true;
    const ids = await enqueueInTransaction(
      f.db.primary,
      Array.from({ length: 200 }, (_, i) => ({ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `again-${i}@example.com`, name: 'Again' } })),
    );
    const jobIds = ids.map(outboxJobId);
    const unretried = async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters WHERE job_id = ANY($1::text[]) AND retried_at IS NULL', [jobIds]);
      return rows[0].n as number;
    };
    await waitFor('200 dead letters', async () => (await unretried()) === 200);
    const { rows: clock } = await f.db.pools.primary.query('SELECT now() AS t');
    // The mail server still refuses: the worker runs the retried jobs and they fail again, some while the
    // CLI is still enqueueing the others (Redis kept only the last 50 failed jobs; the rest are re-added).
    await retryFailed(loadConfig(f.env), 'email');
    await waitFor('every retried job to fail again', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters WHERE job_id = ANY($1::text[]) AND failed_at > $2', [jobIds, clock[0].t]);
      return rows[0].n === 200;
    });
    assert.equal(await unretried(), 200, 'a job that failed again after its retry is a dead letter again, not marked retried');
    const report = await getQueueReport(loadConfig(f.env));
    assert.equal(report.queues.find((q) => q.queue === 'email')!.deadLetters, 200);
  });
});

describe('a job failing on a statement', () => {
  it('keeps the statement\'s values (an email) out of its dead letter and the failed job Redis shows on the board', async () => {
    failing = true;
    failure = 'statement';
    try {
      const email = 'dead.letter.private@example.com';
      const [id] = await enqueueInTransaction(f.db.primary, [{ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email, name: 'Private' } }]);
      const jobId = outboxJobId(id!);
      await waitForDeadLetter(f.db.pools.primary, jobId, 'the job to be a dead letter');
      const { rows } = await f.db.pools.primary.query('SELECT failed_reason FROM dead_letters WHERE job_id = $1', [jobId]);
      assert.match(rows[0].failed_reason, /^Failed query: select \$1::int\nparams: \[1 redacted\]/);
      const job = await s.queues.get('email').getJob(jobId);
      assert.ok(job?.failedReason, 'the failed job is still in Redis');
      assert.ok(!job.failedReason.includes(email), `the board shows no email: ${job.failedReason}`);
      assert.ok(!(job.stacktrace ?? []).join('\n').includes(email), 'nor does its stack trace');
    } finally {
      failure = 'refused';
    }
  });
});

describe('the attempts a dead letter records', () => {
  it('counts every attempt the job made, the last one included', async () => {
    failing = true;
    try {
      const [exhausted] = await enqueueInTransaction(f.db.primary, [{ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'twice@example.com', name: 'Twice' } }]);
      await waitForDeadLetter(f.db.pools.primary, outboxJobId(exhausted!), 'the job that used its 2 attempts to be a dead letter');
      failure = 'unrecoverable';
      const [once] = await enqueueInTransaction(f.db.primary, [{ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'once@example.com', name: 'Once' } }]);
      await waitForDeadLetter(f.db.pools.primary, outboxJobId(once!), 'the job that failed for good at once to be a dead letter');
      const { rows } = await f.db.pools.primary.query('SELECT job_id, attempts_made FROM dead_letters WHERE job_id = ANY($1::text[])', [[outboxJobId(exhausted!), outboxJobId(once!)]]);
      const attempts = new Map(rows.map((row) => [row.job_id, row.attempts_made]));
      assert.equal(attempts.get(outboxJobId(exhausted!)), 2, 'QUEUE_ATTEMPTS=email=2, both made');
      assert.equal(attempts.get(outboxJobId(once!)), 1, 'one attempt, failed for good');
    } finally {
      failure = 'refused';
    }
  });
});

describe('a job whose name, data or error holds a NUL character (one added from the queue dashboard can)', () => {
  it('is a dead letter all the same, each NUL shown as \\0, and `queues retry-failed` re-adds its original name and data', async () => {
    failing = true;
    failure = 'nul';
    try {
      const queue = s.queues.get('email');
      const pool = f.db.pools.primary;
      // A backslash and the text `\0` too: the letter's escaping must not confuse them with a NUL on the way back.
      const data = { email: 'nul\u0000@example.com', name: 'back\\slash, \u0000 and \\0', ['k\u0000ey']: ['\u0000'] };
      const oddName = `${JOBS.sendWelcomeEmail}\u0000`;
      // Ids of their own: re-added under the same ids, which the test follows (a job BullMQ numbered is re-added under another).
      const withData = await queue.add(JOBS.sendWelcomeEmail, data, { jobId: 'nul-in-data' });
      const named = await queue.add(oddName, { email: 'named@example.com', name: 'Named' }, { jobId: 'nul-in-name' });
      await waitForDeadLetter(pool, withData.id!, 'the job with NUL in its data and error to be a dead letter');
      await waitForDeadLetter(pool, named.id!, 'the job with NUL in its name to be a dead letter');
      const { rows } = await pool.query('SELECT job_id, name, data, failed_reason FROM dead_letters WHERE job_id = ANY($1::text[])', [[withData.id, named.id]]);
      const letters = new Map(rows.map((row) => [row.job_id, row]));
      const dataLetter = letters.get(withData.id!);
      assert.equal(dataLetter.name, JOBS.sendWelcomeEmail);
      assert.deepEqual(dataLetter.data, { email: 'nul\\0@example.com', name: 'back\\\\slash, \\0 and \\\\0', ['k\\0ey']: ['\\0'] });
      assert.equal(dataLetter.failed_reason, 'mail server says \\0no');
      const nameLetter = letters.get(named.id!);
      assert.equal(nameLetter.name, `${JOBS.sendWelcomeEmail}\\0`);
      assert.equal(nameLetter.failed_reason, `no processor for job "${JOBS.sendWelcomeEmail}\\0" on queue email`);

      // Redis trimmed both from its failed set: their letters are what is re-added.
      await queue.remove(withData.id!);
      await queue.remove(named.id!);
      failing = false;
      const { rows: clock } = await pool.query('SELECT now() AS t');
      const result = await retryFailed(loadConfig(f.env), 'email');
      assert.deepEqual(
        result.failures.filter((failed) => failed.jobId === withData.id || failed.jobId === named.id),
        [],
      );
      await waitForJobState(queue, withData.id!, 'completed', 'the re-added job to complete');
      assert.deepEqual(ranWith.get(withData.id!), data, 'the job ran again with its original data, NULs and backslashes as they were');
      await waitFor('the re-added job without a processor to fail again', async () => {
        const { rowCount } = await pool.query('SELECT 1 FROM dead_letters WHERE job_id = $1 AND failed_at > $2', [named.id, clock[0].t]);
        return rowCount === 1;
      });
      assert.equal((await queue.getJob(named.id!))?.name, oddName, 'the job was re-added under its original name');
    } finally {
      failure = 'refused';
    }
  });
  it('is a dead letter all the same when its data holds half a surrogate pair (which jsonb refuses too), re-added as it was', async () => {
    failing = true;
    failure = 'nul';
    try {
      const queue = s.queues.get('email');
      const pool = f.db.pools.primary;
      const data = { email: 'half@example.com', name: 'half \ud800 an emoji, a whole one 😀' };
      const job = await queue.add(JOBS.sendWelcomeEmail, data, { jobId: 'lone-surrogate' });
      await waitForDeadLetter(pool, job.id!, 'the job with a lone surrogate in its data to be a dead letter');
      const { rows } = await pool.query('SELECT data FROM dead_letters WHERE job_id = $1', [job.id]);
      assert.deepEqual(rows[0].data, { email: 'half@example.com', name: 'half \\ud800 an emoji, a whole one 😀' });

      await queue.remove(job.id!);
      failing = false;
      const result = await retryFailed(loadConfig(f.env), 'email');
      assert.deepEqual(
        result.failures.filter((failed) => failed.jobId === job.id),
        [],
      );
      await waitForJobState(queue, job.id!, 'completed', 'the re-added job to complete');
      assert.deepEqual(ranWith.get(job.id!), data, 'the job ran again with its original data');
    } finally {
      failure = 'refused';
    }
  });
});

/**
 * A welcome email added without a job id (BullMQ numbers it) that fails for good into a dead letter, then is removed
 * from Redis, so only its letter is left; jobs run without failing afterwards.
 */
async function letterOfLostNumberedJob(data: { email: string; name: string }) {
  failing = true;
  failure = 'unrecoverable';
  try {
    const queue = s.queues.get('email');
    const pool = f.db.pools.primary;
    const job = await queue.add(JOBS.sendWelcomeEmail, data);
    assert.match(job.id!, /^\d+$/, 'BullMQ numbered the job');
    await waitForDeadLetter(pool, job.id!, 'the numbered job to be a dead letter');
    await waitForJobState(queue, job.id!, 'failed', 'the numbered job to be failed in Redis');
    await queue.remove(job.id!);
    failing = false;
    return { queue, pool, job };
  } finally {
    failure = 'refused';
  }
}

describe('a job added without a job id of its own (BullMQ numbers it: the dashboard, a producer passing no jobId)', () => {
  it('is re-added by `queues retry-failed` once Redis dropped it, its letter closed once, and a second run adds nothing', async () => {
    // Redis lost the job (trimmed, or restarted with nothing on disk): only its letter is left.
    const email = 'numbered@example.com';
    const { queue, pool, job } = await letterOfLostNumberedJob({ email, name: 'Numbered' });
    const config = loadConfig(f.env);
    const result = await retryFailed(config, 'email');
    assert.deepEqual(
      result.failures.filter((failed) => failed.jobId === job.id),
      [],
      'the letter of a numbered job is re-added',
    );
    assert.deepEqual(result.renamed, [{ jobId: job.id, newJobId: `letter-${job.id}-${job.timestamp}` }], 'under an id BullMQ takes, derived from its own');
    const ranAgain = async () => (await queue.getJobs(['completed'])).filter((held) => (held.data as { email?: string }).email === email);
    await waitFor('the re-added job to complete', async () => ((await ranAgain()).length === 1 ? true : undefined));
    const { rows } = await pool.query('SELECT retried_at FROM dead_letters WHERE job_id = $1', [job.id]);
    assert.notEqual(rows[0].retried_at, null, 'the letter is closed as retried');

    const again = await retryFailed(config, 'email');
    assert.deepEqual(
      again.failures.filter((failed) => failed.jobId === job.id),
      [],
    );
    const { rows: later } = await pool.query('SELECT retried_at FROM dead_letters WHERE job_id = $1', [job.id]);
    assert.deepEqual(later[0].retried_at, rows[0].retried_at, 'the letter was marked retried once');
    const held = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    assert.equal(held.filter((other) => (other.data as { email?: string }).email === email).length, 1, 'a second run does not add the job again');
  });
});

describe('a letter of a numbered job whose id a newer numbered job holds (BullMQ counter ids restart after a Redis loss)', () => {
  it('is re-added by `queues retry-failed` under its derived id, which the newer job does not hold', async () => {
    const email = 'counter-restarted@example.com';
    const { queue, pool, job } = await letterOfLostNumberedJob({ email, name: 'Counter' });
    // Redis lost the job and BullMQ's counter with it: the next job added without an id is numbered as the lost one was.
    await s.worker.platform.redis.set(queue.keys.id!, Number(job.id) - 1);
    const newer = await queue.add(JOBS.sendWelcomeEmail, { email: 'newer@example.com', name: 'Newer' });
    assert.equal(newer.id, job.id, 'the newer job holds the letter\'s numeric id');
    await waitForJobState(queue, newer.id!, 'completed', 'the newer job to complete');

    const result = await retryFailed(loadConfig(f.env), 'email');
    assert.deepEqual(
      result.failures.filter((failed) => failed.jobId === job.id),
      [],
      'the letter was reported as held by a newer job, though its job is re-added under another id',
    );
    const newJobId = `letter-${job.id}-${job.timestamp}`;
    assert.deepEqual(result.renamed, [{ jobId: job.id, newJobId }]);
    await waitForJobState(queue, newJobId, 'completed', 'the re-added job to complete');
    assert.deepEqual((await queue.getJob(newJobId))!.data, { email, name: 'Counter' });
    const { rows } = await pool.query('SELECT retried_at FROM dead_letters WHERE job_id = $1', [job.id]);
    assert.notEqual(rows[0].retried_at, null, 'the letter is closed as retried');
  });

  it('is not run again by `queues retry-failed` when an earlier add under its derived id reached Redis and completed', async () => {
    const email = 'add-reached-redis@example.com';
    const { queue, pool, job } = await letterOfLostNumberedJob({ email, name: 'Reached' });
    // An earlier run's add reached Redis although the run saw it fail (its claim released: the letter is open), and the job completed.
    const newJobId = `letter-${job.id}-${job.timestamp}`;
    await queue.add(JOBS.sendWelcomeEmail, { email, name: 'Reached' }, { jobId: newJobId });
    await waitForJobState(queue, newJobId, 'completed', 'the earlier re-add to complete');
    const ranBefore = handled.filter((id) => id === newJobId).length;

    const result = await retryFailed(loadConfig(f.env), 'email');
    assert.deepEqual(result.failures.filter((failed) => failed.jobId === job.id), []);
    const { rows } = await pool.query('SELECT retried_at FROM dead_letters WHERE job_id = $1', [job.id]);
    assert.notEqual(rows[0].retried_at, null, 'the letter is closed');
    const pending = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
    assert.deepEqual(pending.filter((other) => (other.data as { email?: string }).email === email), [], 'the completed job is not added again');
    assert.equal(await (await queue.getJob(newJobId))!.getState(), 'completed');
    assert.equal(handled.filter((id) => id === newJobId).length, ranBefore, 'the work ran once');
  });
});
