import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';

let f: QueueFixture;
let redis: PrivateRedis;
before(async () => {
  // Persistence as a queue Redis should have it: every write on disk before it is acknowledged.
  redis = await startPrivateRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'] });
  f = await createQueueFixture({ REDIS_URL: redis.url, WORKER_QUEUES: 'notifications' });
});
after(async () => {
  await f?.close();
  await redis?.destroy();
});

describe('Redis restarted under load', () => {
  it('workers resume by themselves and every outbox row is applied exactly once', async () => {
    const workers = await Promise.all([f.startWorker(), f.startWorker()]);
    const ids: number[] = [];
    let amount = 0;
    let producing = true;
    const producer = (async () => {
      for (let i = 1; producing; i++) {
        const [id] = await enqueueInTransaction(f.db.primary, {
          queue: QUEUES.notifications,
          name: JOBS.updateAnalytics,
          data: { eventType: 'order_created', orderId: i, amountCents: i, occurredAt: '2026-11-27T10:15:00Z' },
        });
        ids.push(id!);
        amount += i;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    await waitFor('jobs to flow', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM job_claims');
      return rows[0].n >= 100;
    });
    await redis.stop('SIGKILL'); // a crash, not a clean shutdown
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.start();
    const claimsAtRestart = (await f.db.pools.primary.query('SELECT count(*)::int AS n FROM job_claims')).rows[0].n as number;
    // Keep producing until the workers have visibly resumed on the restarted Redis.
    await waitFor('work to resume after the restart', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM job_claims');
      return rows[0].n >= claimsAtRestart + 100;
    });
    producing = false;
    await producer;

    await waitFor(
      `all ${ids.length} events to be applied`,
      async () => {
        const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM job_claims');
        return rows[0].n === ids.length;
      },
      60_000,
    );
    const { rows: claims } = await f.db.pools.primary.query<{ job_id: string }>('SELECT job_id FROM job_claims ORDER BY job_id');
    assert.deepEqual(claims.map((row) => row.job_id).sort(), ids.map(outboxJobId).sort(), 'every outbox row applied, none missing');
    const { rows: rollup } = await f.db.pools.primary.query(`SELECT metric, value::float8 AS value FROM analytics_hourly WHERE hour = '2026-11-27T10:00:00Z' ORDER BY metric`);
    assert.deepEqual(rollup, [
      { metric: 'orders', value: ids.length },
      { metric: 'revenue_cents', value: amount },
    ], 'each event counted exactly once');
    const unrelayed = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL');
    assert.equal(unrelayed.rows[0].n, 0);
    for (const worker of workers) assert.equal((await fetch(`${worker.url}/ready`)).status, 200);
  });
});
