import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';

let f: QueueFixture;
let redis: PrivateRedis;
before(async () => {
  // No persistence (no AOF, no RDB): a restart comes back empty, as a Redis kept in memory only does.
  redis = await startPrivateRedis({ args: ['--appendonly', 'no', '--maxmemory-policy', 'noeviction'] });
  // This worker processes only `order`: the email jobs stay waiting in Redis, to be lost with it and counted.
  f = await createQueueFixture({ REDIS_URL: redis.url, WORKER_QUEUES: 'order' });
});
after(async () => {
  await f?.close();
  await redis?.destroy();
});

describe('a queue Redis that comes back empty', () => {
  it('gets the relayed jobs it lost back from the outbox, but not those already applied, dead-lettered or past retention', async () => {
    const worker = await f.startWorker();
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `lost-${i}@example.com`, name: 'Lost' } });
      ids.push(id!);
    }
    await waitFor('the rows to be relayed', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::bigint[]) AND relayed_at IS NOT NULL', [ids]);
      return rows[0].n === ids.length;
    });
    // One job was applied (its claim committed) and one exhausted its attempts before the loss.
    const [applied, deadLettered, ...lost] = ids as [number, number, ...number[]];
    await f.db.pools.primary.query('INSERT INTO job_claims (queue, job_id) VALUES ($1, $2)', [QUEUES.email, outboxJobId(applied)]);
    // Relayed before OUTBOX_RETENTION_HOURS (72): about to be deleted, its job long done or dead-lettered.
    await f.db.pools.primary.query(`INSERT INTO outbox (queue, name, data, relayed_at) VALUES ($1, $2, '{"email":"old@example.com"}', now() - interval '73 hours')`, [
      QUEUES.email,
      JOBS.sendWelcomeEmail,
    ]);
    await f.db.pools.primary.query(`INSERT INTO dead_letters (queue, job_id, name, data, failed_reason, attempts_made) VALUES ($1, $2, $3, '{}', 'boom', 3)`, [
      QUEUES.email,
      outboxJobId(deadLettered),
      JOBS.sendWelcomeEmail,
    ]);

    await redis.stop('SIGKILL');
    await redis.start();

    const queues = await f.inspect();
    const email = queues.get(QUEUES.email);
    const waiting = await waitFor(
      'the lost jobs to be in the queue again',
      async () => {
        const jobs = await email.getJobs(['waiting', 'prioritized', 'delayed']).catch(() => []);
        return jobs.length >= lost.length ? jobs : undefined;
      },
      15_000,
    ).catch(() => [] as Awaited<ReturnType<typeof email.getJobs>>);
    assert.deepEqual(
      waiting.map((job) => job.id).sort(),
      lost.map(outboxJobId).sort(),
      'the unapplied relayed jobs are queued again (with their outbox job ids), and only they',
    );
    // Still there a while later: the relay recovers once per loss, not on every pass.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await email.getJobs(['waiting', 'prioritized', 'delayed'])).length, lost.length);
    await worker.stop();
  });
});
