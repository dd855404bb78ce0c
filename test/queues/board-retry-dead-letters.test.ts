import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { retryFailed } from '../../src/cli/queues.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueSet, type QueueSet } from '../../src/platform/queue/queues.ts';
import type { RunningWorker } from '../../src/worker/worker-role.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { failingCountdown, startEmailWorker, stopEmailWorker } from '../helpers/dead-letter-setup.ts';
import { waitFor } from '../helpers/queues.ts';

let t: TestApp;
let worker: RunningWorker;
let queues: QueueSet;
/** How many more attempts of each job fail (the mail server refuses them). */
const failuresLeft = new Map<string, number>();
const handled: string[] = [];
before(async () => {
  t = await createTestApp({ QUEUE_ATTEMPTS: 'email=2', QUEUE_BACKOFF_MS: 'email=10', WORKER_QUEUES: 'email', OUTBOX_POLL_INTERVAL_MS: '50' });
  queues = createQueueSet({ connection: t.platform.redis, redisPrefix: t.config.redis.prefix });
  worker = await startEmailWorker(t.config, failingCountdown(failuresLeft, handled));
});
after(async () => {
  await stopEmailWorker(worker);
  await queues?.close();
  await t?.close();
});

/** `queue_dead_letters{queue="email"}` as the web role's /metrics reports it (absent: 0). */
async function deadLetterGauge(): Promise<number> {
  const metrics = await t.app.inject({ url: '/metrics' });
  const line = metrics.body.split('\n').find((row) => row.startsWith('queue_dead_letters{') && row.includes('queue="email"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a dead letter retried from the queue dashboard', () => {
  it('is no longer a dead letter once the retried job completes: QueueDeadLetters resolves and `queues retry-failed` does not run it again', async () => {
    const [outboxId] = await enqueueInTransaction(t.platform.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'board@example.com', name: 'Board' } },
    ]);
    const jobId = outboxJobId(outboxId!);
    failuresLeft.set(jobId, 2); // exhausts QUEUE_ATTEMPTS=email=2
    await waitFor('the job to be a dead letter in the failed set', async () => {
      const job = await queues.get(QUEUES.email).getJob(jobId);
      return job && (await job.getState()) === 'failed' ? true : undefined;
    });
    assert.equal(await deadLetterGauge(), 1);

    // The mail server is back; the operator retries the job from the dashboard (the runbook's Confirm step shows it there).
    const retried = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUES.email}/${jobId}/retry`, headers: { ...t.admin, 'x-admin-actor': 'carol' } });
    assert.equal(retried.statusCode, 204, retried.body);
    await waitFor('the retried job to complete', async () => {
      const job = await queues.get(QUEUES.email).getJob(jobId);
      return job && (await job.getState()) === 'completed' ? true : undefined;
    });
    // The worker closes the letter after BullMQ marked the job completed (off the job's path): wait for it.
    await waitFor('the letter of the completed job to close', async () => ((await deadLetterGauge()) === 0 ? true : undefined));
    const gaugeAfterBoardRetry = await deadLetterGauge();
    // Later, the completed job falls out of Redis (keepCompleted), and someone runs the runbook's retry-failed.
    await queues.get(QUEUES.email).remove(jobId);
    const runsBefore = handled.filter((id) => id === jobId).length;
    const retry = await retryFailed(t.config, QUEUES.email);
    if (retry.requeuedDeadLetters > 0) await waitFor('the re-added job to run', async () => handled.filter((id) => id === jobId).length > runsBefore);

    assert.deepEqual(
      { gaugeAfterBoardRetry, retry, runsOfTheCompletedJobAgain: handled.filter((id) => id === jobId).length - runsBefore },
      { gaugeAfterBoardRetry: 0, retry: { retriedFailed: 0, requeuedDeadLetters: 0, closedCompleted: 0, failures: [] }, runsOfTheCompletedJobAgain: 0 },
      'the dashboard retry left the dead letter unretried: the gauge (and QueueDeadLetters) stays up for a completed job, and retry-failed re-adds and runs it again',
    );
  });
  it("gets the queue's attempts again, as `queues retry-failed` gives them (a mail server still flaky is ridden out)", async () => {
    const [outboxId] = await enqueueInTransaction(t.platform.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'flaky@example.com', name: 'Flaky' } },
    ]);
    const jobId = outboxJobId(outboxId!);
    failuresLeft.set(jobId, 3); // exhausts QUEUE_ATTEMPTS=email=2, then fails once more after the retry
    await waitFor('the job to be a dead letter in the failed set', async () => {
      const job = await queues.get(QUEUES.email).getJob(jobId);
      return job && (await job.getState()) === 'failed' ? true : undefined;
    });
    const retried = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUES.email}/${jobId}/retry`, headers: { ...t.admin, 'x-admin-actor': 'carol' } });
    assert.equal(retried.statusCode, 204, retried.body);
    await waitFor('the retried job to complete, or fail for good', async () => {
      const job = await queues.get(QUEUES.email).getJob(jobId);
      const state = job ? await job.getState() : undefined;
      return job && (job.finishedOn ?? 0) > 0 && (state === 'completed' || state === 'failed') ? true : undefined;
    });
    const job = await queues.get(QUEUES.email).getJob(jobId);
    assert.deepEqual(
      { state: await job!.getState(), attemptsAfterRetry: handled.filter((id) => id === jobId).length - 2 },
      { state: 'completed', attemptsAfterRetry: 2 },
      "the dashboard's retry kept attemptsMade: one attempt, no backoff, dead-lettered again on its first failure",
    );
  });
  it("retry-all from the dashboard gives every failed job the queue's attempts again", async () => {
    const outboxIds = await enqueueInTransaction(t.platform.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'all-1@example.com', name: 'All' } },
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'all-2@example.com', name: 'All' } },
    ]);
    const jobIds = outboxIds.map(outboxJobId);
    for (const id of jobIds) failuresLeft.set(id, 3); // exhausts QUEUE_ATTEMPTS=email=2, then fails once more after the retry
    const states = async () => Promise.all(jobIds.map(async (id) => (await queues.get(QUEUES.email).getJob(id))?.getState()));
    await waitFor('both jobs to be dead letters in the failed set', async () => ((await states()).every((state) => state === 'failed') ? true : undefined));
    const retried = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUES.email}/retry/failed`, headers: { ...t.admin, 'x-admin-actor': 'carol' } });
    assert.equal(retried.statusCode, 200, retried.body);
    assert.deepEqual(retried.json(), { retried: 2, skipped: 0 });
    await waitFor('both retried jobs to complete, or fail for good', async () => {
      const jobs = await Promise.all(jobIds.map((id) => queues.get(QUEUES.email).getJob(id)));
      const done = await Promise.all(jobs.map(async (job) => job && (job.finishedOn ?? 0) > 0 && ['completed', 'failed'].includes(await job.getState())));
      return done.every(Boolean) ? true : undefined;
    });
    assert.deepEqual(
      { states: await states(), attemptsAfterRetry: jobIds.map((id) => handled.filter((handledId) => handledId === id).length - 2) },
      { states: ['completed', 'completed'], attemptsAfterRetry: [2, 2] },
      "the dashboard's retry-all kept attemptsMade",
    );
  });
  it('retry-all retries the others when one job cannot be retried, answers 200 with it skipped, and is audited', async () => {
    const email = queues.get(QUEUES.email);
    const [outboxId] = await enqueueInTransaction(t.platform.db.primary, [{ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'one@example.com', name: 'One' } }]);
    const goodId = outboxJobId(outboxId!);
    failuresLeft.set(goodId, 2); // exhausts QUEUE_ATTEMPTS=email=2
    await waitFor('the job to be a dead letter in the failed set', async () => ((await (await email.getJob(goodId))?.getState()) === 'failed' ? true : undefined));
    // A failed-set entry Redis cannot read as a job (its key holds another type): BullMQ throws reading it.
    const client = t.platform.redis;
    await client.set(email.toKey('unreadable-1'), 'not a job hash');
    await client.zadd(email.toKey('failed'), 1, 'unreadable-1');
    try {
      const retried = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUES.email}/retry/failed`, headers: { ...t.admin, 'x-admin-actor': 'erin' } });
      const state = await (await email.getJob(goodId))?.getState();
      const audited = async () => {
        const reply = await t.app.inject({ url: '/api/v1/admin/actions?limit=100', headers: t.admin });
        return (reply.json().items as { actor: string }[]).some((item) => item.actor === 'erin') ? true : undefined;
      };
      assert.deepEqual(
        { status: retried.statusCode, body: retried.statusCode === 200 ? retried.json() : retried.body, goodRetried: state !== 'failed' },
        { status: 200, body: { retried: 1, skipped: 1 }, goodRetried: true },
        "one job the dashboard's retry-all could not retry made it a 5xx after the others were retried",
      );
      assert.equal(await waitFor('the retry-all to be audited', audited), true);
    } finally {
      await client.zrem(email.toKey('failed'), 'unreadable-1');
      await client.del(email.toKey('unreadable-1'));
    }
  });
});
