import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { enqueueInTransaction } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { redisServerPid } from '../helpers/process-group.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';

/**
 * The outbox relay locks its batch (`FOR UPDATE SKIP LOCKED`) and holds it while BullMQ takes the jobs. A worker
 * frozen in that window (SIGSTOP, a paused VM, a GC stall) kept its connection open and its rows locked: every other
 * relay skips them, so the follow-ups they carry (stock, emails, analytics) waited for as long as the freeze lasted.
 */
describe('a worker frozen while its relay holds a batch', () => {
  let f: QueueFixture;
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
    // This worker relays only: the relayed job stays in Redis.
    f = await createQueueFixture({ REDIS_URL: redis.url, WORKER_QUEUES: 'inventory', WORKER_CONCURRENCY: 'inventory=1' });
  });
  after(async () => {
    await f?.close();
    await redis?.destroy();
  });

  /** How long after the freeze another worker's relay must have relayed the rows (the frozen one still frozen). */
  const BOUND_MS = 30_000;

  it('lets another worker relay the rows while it stays frozen', async () => {
    const pool = f.db.pools.primary;
    const first = await f.startWorker();
    const redisPid = redisServerPid(redis.port);
    let redisStopped = false;
    let frozen = false;
    try {
      // A pass has run (it set its marker): the next one finds the row below.
      const inspect = await f.inspect();
      const probe = new Redis(redis.url);
      try {
        await waitFor('the relay marker', async () => (await probe.exists(`${inspect.prefix}:outbox-relay:marker`)) === 1);
      } finally {
        probe.disconnect();
      }
      // Redis answers nothing: the relay's pass locks the row and waits on BullMQ's add, idle in its transaction.
      process.kill(redisPid, 'SIGSTOP');
      redisStopped = true;
      const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId: 1, quantity: 1 } });
      await waitFor('the relay to hold the row, idle in its transaction', async () => {
        const { rows } = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND query ILIKE '%FOR UPDATE SKIP LOCKED%'`,
        );
        return rows.length > 0;
      });
      first.process.kill('SIGSTOP');
      frozen = true;
      const frozenAt = Date.now();
      process.kill(redisPid, 'SIGCONT');
      redisStopped = false;

      const second = await f.startWorker();
      try {
        await waitFor(
          'the row to be relayed by the other worker',
          async () => (await pool.query('SELECT relayed_at FROM outbox WHERE id = $1', [id])).rows[0]?.relayed_at,
          Math.max(1000, BOUND_MS - (Date.now() - frozenAt)),
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}: the rows stay locked by the frozen worker's relay`);
        });
        const { rows } = await pool.query('SELECT relay_errors FROM outbox WHERE id = $1', [id]);
        assert.equal(rows[0].relay_errors, 0, 'relayed by the other worker, not failed');
      } finally {
        await second.stop();
      }
    } finally {
      if (redisStopped) process.kill(redisPid, 'SIGCONT');
      if (frozen) first.process.kill('SIGCONT');
      await first.stop('SIGKILL');
    }
  });
});
