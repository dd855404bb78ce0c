import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { parsePrometheusText, total } from '../helpers/prometheus-text.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

/**
 * `queue_jobs_processed_total{status}` tells a failed attempt that is retried from a job that failed for good,
 * so that HighJobFailureRate ("failed jobs < 1 %") counts failed jobs: a job that fails once and then succeeds
 * is not one. A real BullMQ worker (the worker role, in this process) on the fixture's own Redis prefix.
 */
let f: QueueFixture;
let worker: RunningWorker;
const attempts = new Map<string, number>();
const SLOW_FAILURE_MS = 100;
before(async () => {
  f = await createQueueFixture({ QUEUE_ATTEMPTS: 'email=3', QUEUE_BACKOFF_MS: 'email=10', WORKER_QUEUES: 'email' });
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })),
    handlers: {
      [JOBS.sendWelcomeEmail]: async (job) => {
        const n = (attempts.get(job.id!) ?? 0) + 1;
        attempts.set(job.id!, n);
        // blip@: the mail server refuses once, then accepts. down@: it never accepts.
        // down@ takes its time to say no, as a mail server that times out does.
        if (job.data.email === 'down@example.com') await new Promise((resolve) => setTimeout(resolve, SLOW_FAILURE_MS));
        if (job.data.email === 'down@example.com' || n === 1) throw new Error('mail server says no');
      },
    },
  });
});
after(async () => {
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('job outcomes in queue_jobs_processed_total', () => {
  it('counts a job that fails once and then succeeds as retried and completed, and one that exhausts its attempts as failed', async () => {
    const [blip, down] = (
      await enqueueInTransaction(f.db.primary, [
        { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'blip@example.com', name: 'Blip' } },
        { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'down@example.com', name: 'Down' } },
      ])
    ).map((id) => outboxJobId(id!));
    let samples = parsePrometheusText('');
    const count = (status: string) => total(samples, 'queue_jobs_processed_total', { queue: 'email', name: JOBS.sendWelcomeEmail, status });
    // Five attempts in all (two for blip, three for down), each counted once the worker has reported it.
    await waitFor('five attempts counted', async () => {
      samples = parsePrometheusText(await worker.platform.metrics.registry.metrics());
      return count('completed') + count('retried') + count('failed') === 5;
    });
    const email = (await f.inspect()).get('email');
    assert.equal(await (await email.getJob(blip!))!.getState(), 'completed');
    assert.equal(await (await email.getJob(down!))!.getState(), 'failed');
    assert.deepEqual([attempts.get(blip!), attempts.get(down!)], [2, 3]);

    // blip: one retried attempt, then completed. down: two retried attempts, then failed for good.
    assert.deepEqual({ completed: count('completed'), retried: count('retried'), failed: count('failed') }, { completed: 1, retried: 3, failed: 1 });
    // What HighJobFailureRate divides: failed jobs over jobs finished (one of two), not failed attempts over attempts.
    assert.equal(count('failed') / (count('completed') + count('failed')), 0.5);
    const { rows } = await f.db.pools.primary.query('SELECT job_id FROM dead_letters');
    assert.deepEqual(
      rows.map((r) => r.job_id),
      [down],
      'the failed job is the dead letter',
    );

    // Processing time covers every attempt, failed ones too: a mail server that times out makes slow failures,
    // which is what SlowJobProcessing ("processing time < 5 s") must see.
    const durations = (suffix: string) => total(samples, `queue_job_duration_seconds_${suffix}`, { queue: 'email', name: JOBS.sendWelcomeEmail });
    assert.equal(durations('count'), 5, 'one observation per attempt');
    assert.ok(durations('sum') >= (3 * SLOW_FAILURE_MS) / 1000, `the slow failed attempts are in the sum (${durations('sum')} s)`);
  });
});
