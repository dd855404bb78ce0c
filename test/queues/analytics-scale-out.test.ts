import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enqueueInTransaction } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'notifications' });
});
after(async () => {
  await f?.close();
});

const HOUR = '2026-11-27T10:00:00.000Z';

async function rollup(): Promise<{ requests: number; orders: number; revenue: number }> {
  const { rows } = await f.db.pools.primary.query(
    `SELECT coalesce(sum(value) FILTER (WHERE metric = 'requests'), 0)::int AS requests,
            coalesce(sum(value) FILTER (WHERE metric = 'orders'), 0)::int AS orders,
            coalesce(sum(value) FILTER (WHERE metric = 'revenue_cents'), 0)::int AS revenue
       FROM analytics_hourly WHERE hour = $1`,
    [HOUR],
  );
  return rows[0];
}

describe('analytics rollups with several worker processes', () => {
  it('count every event exactly once while two workers share the queue and one is killed after the first counts', async () => {
    const workers = [await f.startWorker(), await f.startWorker()];
    const batches = 40;
    const perBatch = 10;
    const total = batches * perBatch;
    // Many small transactions, as web instances flushing request counts and orders being paid write them.
    const writing = Promise.all(
      Array.from({ length: batches }, (_, batch) =>
        f.db.primary.transaction((tx) =>
          enqueueInTransaction(
            tx,
            Array.from({ length: perBatch }, (_, i) =>
              i % 2 === 0
                ? { queue: QUEUES.notifications, name: JOBS.updateAnalytics, data: { eventType: 'requests', hour: HOUR, counts: { products: 2, cart: 1 } } }
                : { queue: QUEUES.notifications, name: JOBS.updateAnalytics, data: { eventType: 'order_created', orderId: batch * perBatch + i, amountCents: 150, currency: 'EUR', occurredAt: HOUR } },
            ),
          ),
        ),
      ),
    );
    await waitFor('some events counted', async () => (await rollup()).orders > 0);
    await workers[0]!.stop('SIGKILL');
    workers.push(await f.startWorker());
    await writing;
    const requestJobs = total / 2;
    const orderJobs = total / 2;
    await waitFor('every event counted', async () => (await rollup()).orders >= orderJobs && (await rollup()).requests >= requestJobs * 3, 60_000).catch(() => {});
    // A while longer: a job applied twice (a re-delivery after the kill) would show up now.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(await rollup(), { requests: requestJobs * 3, orders: orderJobs, revenue: orderJobs * 150 });
    const { rows } = await f.db.pools.primary.query(`SELECT count(*)::int AS n FROM job_claims WHERE queue = 'notifications'`);
    assert.equal(rows[0].n, total, 'one claim per job');
    for (const worker of workers.slice(1)) await worker.stop();
  });
});
