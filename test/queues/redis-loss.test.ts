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
  it('gets the relayed jobs it lost back from the outbox, but not those already applied (a job claim, a sent email), dead-lettered or past retention', async () => {
    // A dead letter retried (`queues retry-failed`) is queued again: lost with Redis, it is a lost job like any other.
    const worker = await f.startWorker();
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `lost-${i}@example.com`, name: 'Lost' } });
      ids.push(id!);
    }
    // A reservation-expired email too: queued again with its priority (behind confirmations), as when first relayed.
    const [expiry] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendReservationExpired, data: { orderId: 1, email: 'lost-expiry@example.com', items: [] } });
    ids.push(expiry!);
    await waitFor('the rows to be relayed', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::bigint[]) AND relayed_at IS NOT NULL', [ids]);
      return rows[0].n === ids.length;
    });
    // One job was applied (its claim committed) and one exhausted its attempts before the loss.
    // A third was dead-lettered too, then retried: queued again, it had not run when Redis lost it.
    const [applied, deadLettered, retried, sent, ...unapplied] = ids as [number, number, number, number, ...number[]];
    const lost = [retried, ...unapplied];
    await f.db.pools.primary.query('INSERT INTO job_claims (queue, job_id) VALUES ($1, $2)', [QUEUES.email, outboxJobId(applied)]);
    // An email's claim is its sent_emails record: sent, so not queued again (it would only skip, behind new emails).
    await f.db.pools.primary.query(`INSERT INTO sent_emails (job_id, template, recipient, message_id) VALUES ($1, 'welcome', 'lost-3@example.com', $2)`, [
      outboxJobId(sent),
      `<${outboxJobId(sent)}@salescale>`,
    ]);
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
    await f.db.pools.primary.query(
      `INSERT INTO dead_letters (queue, job_id, name, data, failed_reason, attempts_made, retried_at) VALUES ($1, $2, $3, '{}', 'boom', 3, now())`,
      [QUEUES.email, outboxJobId(retried), JOBS.sendWelcomeEmail],
    );

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
    ).catch(() => email.getJobs(['waiting', 'prioritized', 'delayed']));
    assert.deepEqual(
      waiting.map((job) => job.id).sort(),
      lost.map(outboxJobId).sort(),
      'the unapplied relayed jobs are queued again (with their outbox job ids), and only they',
    );
    assert.deepEqual(
      waiting.map((job) => [job.name, job.opts.priority ?? 0]).sort(),
      [...lost.slice(0, -1).map(() => [JOBS.sendWelcomeEmail, 0]), [JOBS.sendReservationExpired, 100]].sort(),
      'queued again with their priorities: the reservation-expired email behind the others',
    );
    // Still there a while later: the relay recovers once per loss, not on every pass.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await email.getJobs(['waiting', 'prioritized', 'delayed'])).length, lost.length);
    await worker.stop();
  });

  it('does not queue again the claimless jobs whose effect is visible: expiries of orders no longer pending, gate refreshes older than the gate, degrade notices told', async () => {
    const q = (text: string, values: unknown[] = []) => f.db.pools.primary.query(text, values);
    // This worker also runs `notifications`: the degrade notice is told before the loss.
    const worker = await f.startWorker({ WORKER_QUEUES: 'order,notifications' });
    const queues = await f.inspect();
    const [notice] = await enqueueInTransaction(f.db.primary, {
      queue: QUEUES.notifications,
      name: JOBS.degradeModeChanged,
      data: { from: 'normal', to: 'elevated', trigger: 'auto', reason: 'test', at: new Date().toISOString(), instanceId: 'test' },
    });
    await waitFor('the degrade notice to be told', async () => (await queues.get(QUEUES.notifications).getJobState(outboxJobId(notice!))) === 'completed');
    const customer = (await q(`INSERT INTO customers (email, name, password_hash) VALUES ('loss-buyer@example.com', 'Buyer', 'x') RETURNING id`)).rows[0].id;
    const order = async (status: string) =>
      (await q(`INSERT INTO orders (customer_id, status, total_cents, currency, reservation) VALUES ($1, $2, 100, 'EUR', gen_random_uuid()::text) RETURNING id`, [customer, status])).rows[0]
        .id as number;
    const relayed = async (queue: string, name: string, data: object, ago: string) =>
      (await q(`INSERT INTO outbox (queue, name, data, relayed_at) VALUES ($1, $2, $3, now() - $4::interval) RETURNING id`, [queue, name, data, ago])).rows[0].id as number;
    // A day of orders: each wrote an expiry, each lapse or cancellation a gate refresh; nearly all long done.
    const paidExpiry = await relayed(QUEUES.order, JOBS.expireOrder, { orderId: await order('paid') }, '1 hour');
    const expiredExpiry = await relayed(QUEUES.order, JOBS.expireOrder, { orderId: await order('expired') }, '2 hours');
    const pendingExpiry = await relayed(QUEUES.order, JOBS.expireOrder, { orderId: await order('pending_payment') }, '1 minute');
    const oldRefresh = await relayed(QUEUES.inventory, JOBS.refreshStockGate, { productIds: [1] }, '1 hour');
    const recentRefresh = await relayed(QUEUES.inventory, JOBS.refreshStockGate, { productIds: [2] }, '10 seconds');

    await redis.stop('SIGKILL');
    await redis.start();

    const queued = async () => {
      const lists = await Promise.all(
        [QUEUES.order, QUEUES.inventory, QUEUES.notifications].map((name) => queues.get(name).getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']).catch(() => [])),
      );
      return new Set(lists.flat().map((job) => job.id));
    };
    const needed = [pendingExpiry, recentRefresh].map(outboxJobId);
    await waitFor('the needed jobs to be queued again', async () => {
      const seen = await queued();
      return needed.every((id) => seen.has(id));
    }, 15_000).catch(() => {});
    // The relay recovers in one statement: what is not queued with the needed ones is not queued later.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const seen = await queued();
    const done = [paidExpiry, expiredExpiry, oldRefresh, notice!].map(outboxJobId);
    assert.deepEqual(
      [...needed, ...done].filter((id) => seen.has(id)).sort(),
      needed.sort(),
      'only the expiry of the order still pending and the refresh younger than the gate are queued again',
    );
    await worker.stop();
  });
});
