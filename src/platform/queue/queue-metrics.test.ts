import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DelayedError, Worker } from 'bullmq';
import client from 'prom-client';
import { deleteRedisKeys, TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { freePort } from '../local/local-stack.ts';
import { createRedis } from '../redis/redis.ts';
import { delayJobUntil, RUNNABLE_AT_KEY } from './processing.ts';
import { QUEUE_NAMES } from './queue-definitions.ts';
import { queueMetricsFor } from './queue-metrics.ts';
import { createQueueSet } from './queues.ts';

const deadPort = await freePort();

describe('queue gauges while Redis is unreachable', () => {
  // A `queue` connection waits for Redis to come back (BullMQ needs it): every read hangs until its timeout.
  const connection = createRedis(`redis://127.0.0.1:${deadPort}`, { name: 'queue-metrics-test', role: 'queue' });
  const queues = createQueueSet({ connection, redisPrefix: 'queue-metrics-test' });
  after(async () => {
    await queues.close();
    connection.disconnect();
  });

  it('answer the scrape within one read timeout, whatever the number of queues, and leave the depths out', async () => {
    assert.ok(QUEUE_NAMES.length >= 4);
    const registry = new client.Registry();
    queueMetricsFor(registry).observeQueues(queues);
    const started = performance.now();
    const json = await registry.getMetricsAsJSON();
    const elapsedMs = performance.now() - started;
    assert.deepEqual(json.find((m) => m.name === 'queue_jobs')?.values, []);
    assert.deepEqual(json.find((m) => m.name === 'queue_oldest_waiting_job_age_seconds')?.values, []);
    // Each queue's read times out at 1.5 s; one after the other, 4 queues made a 6 s scrape (a 5 s scrape
    // timeout then lost every metric of the instance for the whole outage). All at once, one timeout (1.5 s) and
    // whatever a busy machine adds to it. Reads in series take at least 4 × 1.5 s = 6 s however fast the machine
    // is (each waits out its own timer), so any scrape under 6 s proves they ran at once: the bound sits just below
    // that, leaving a loaded CI machine 4.4 s over the one timeout.
    assert.ok(elapsedMs < 5900, `the scrape took ${Math.round(elapsedMs)} ms`);
  });
});

/**
 * Queues on the shared test Redis, under a prefix of this run's own, observed by a registry of their own; closed and
 * their keys deleted after the suite. `ages()` reads queue_oldest_waiting_job_age_seconds by queue.
 */
function observedQueues(name: string, names?: Parameters<typeof createQueueSet>[0]['names']) {
  const connection = createRedis(TEST_REDIS_URL, { name, role: 'queue' });
  const prefix = testPrefix();
  const queues = createQueueSet({ connection, redisPrefix: prefix, ...(names ? { names } : {}) });
  const registry = new client.Registry();
  queueMetricsFor(registry).observeQueues(queues);
  after(async () => {
    await queues.close();
    await deleteRedisKeys(`*${prefix}*`);
    connection.disconnect();
  });
  const ages = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await registry.getMetricsAsJSON()).find((m) => m.name === 'queue_oldest_waiting_job_age_seconds')!.values.map((v) => [v.labels.queue, v.value]));
  /** A queue's age as ages() reads it, with the clock read right before (t0) and right after (t1) it. */
  const timedAge = async (queue: string): Promise<[age: number, t0: number, t1: number]> => {
    const t0 = Date.now();
    const read = await ages();
    const t1 = Date.now();
    return [read[queue]!, t0, t1];
  };
  return { queues, ages, timedAge };
}

/**
 * The gauge is in seconds, unrounded: (its clock's Date.now() − the due time) / 1000, both whole milliseconds, so
 * it is exact to the millisecond. Read between t0 and t1, a job runnable since `dueAt` reads within
 * [(t0 − dueAt) / 1000, (t1 − dueAt) / 1000]; the tolerance is that one millisecond of resolution, no more.
 */
function assertAgeBetween(age: number, t0: number, t1: number, dueAt: number, what: string) {
  const resolutionS = 0.001;
  const [low, high] = [(t0 - dueAt) / 1000 - resolutionS, (t1 - dueAt) / 1000 + resolutionS];
  assert.ok(age >= low && age <= high, `${what} reads ${age} s old, not within [${low}, ${high}] s of its due time`);
}

describe('the oldest waiting job age', () => {
  const { queues, ages, timedAge } = observedQueues('queue-metrics-age-test');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('counts the time a job has been runnable, not the time it spent delayed on purpose', async () => {
    // A job added with a delay (a confirmation email, follow-ups deferred by a degrade mode) becomes runnable at
    // its due time: promoted then, it has waited for nothing yet.
    const job = await queues.get('email').add('send-order-confirmation', { orderId: 1 }, { delay: 1500 });
    // Its due time as BullMQ records it: its creation plus its delay.
    const dueAt = job.timestamp + job.opts.delay!;
    await sleep(1600);
    await job.promote();
    const [age, t0, t1] = await timedAge('email');
    // Runnable since its due time: the gauge's clock is read during ages(), between t0 and t1, so the age lies
    // between what had gone by since then at t0 and at t1, however late a loaded machine ran this. Counted from the
    // job's addition it would read 1.5 s more, past the upper bound unless ages() itself stalled over 1.5 s.
    assertAgeBetween(age, t0, t1, dueAt, 'a delayed job just promoted');
    await queues.get('email').obliterate({ force: true });
  });

  it('reads prioritized jobs too (every stock sync is prioritized)', async () => {
    await queues.get('inventory').add('update-stock', { productId: 1, quantity: 1 }, { priority: 10 });
    await sleep(1100);
    const age = (await ages()).inventory!;
    assert.ok(age >= 1, `a stock sync waiting for 1.1 s reads ${age} s`);
    await queues.get('inventory').obliterate({ force: true });
  });
});

describe('the oldest waiting job age of a job that delayed itself', () => {
  const { queues, timedAge } = observedQueues('queue-metrics-redelay-test', ['order']);

  it('leaves out the time an expire-order job spent waiting out the payment window', async () => {
    // The expire-order job runs once at checkout and puts itself back in the delayed set until the window ends.
    const workerConnection = createRedis(TEST_REDIS_URL, { name: 'queue-metrics-redelay-worker', role: 'queue' });
    let delayed!: () => void;
    let dueAt = 0;
    const wentBack = new Promise<void>((resolve) => (delayed = resolve));
    const worker = new Worker(
      'order',
      async (job, token) => {
        dueAt = Date.now() + 1500;
        await delayJobUntil(job, token!, dueAt);
        delayed();
        throw new DelayedError();
      },
      { connection: workerConnection, prefix: queues.prefix },
    );
    const job = await queues.get('order').add('expire-order', { orderId: 1 });
    await wentBack;
    // The only worker stops: nobody takes the job again once it is due.
    await worker.close();
    workerConnection.disconnect();
    assert.equal(await job.getState(), 'delayed');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    // Due: promoted back to waiting (what a worker's next fetch does).
    await job.promote();
    assert.equal(await job.getState(), 'waiting');
    const [age, t0, t1] = await timedAge('order');
    // As above: dueAt is the due time the job recorded when it put itself back (runnableAt); counted from when it
    // went back, 1.5 s more.
    assert.equal((await queues.get('order').getJob(job.id!))?.data[RUNNABLE_AT_KEY], dueAt);
    assertAgeBetween(age, t0, t1, dueAt, 'an expire-order job just due');
  });
});
