import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { createOutboxRelay } from '../../src/platform/outbox/outbox-relay.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES, type QueueName } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { TEST_REDIS_URL } from '../helpers/db.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

let f: QueueFixture;
before(async () => {
  // These workers process only `order`: the email jobs the tests enqueue stay waiting, to be counted.
  f = await createQueueFixture({ WORKER_QUEUES: 'order' });
});
after(async () => {
  await f?.close();
});

async function writeWelcome(email: string): Promise<number> {
  const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email, name: 'Test' } });
  return id!;
}

async function relayedAt(id: number): Promise<Date | null> {
  const { rows } = await f.db.pools.primary.query('SELECT relayed_at FROM outbox WHERE id = $1', [id]);
  return rows[0].relayed_at;
}

/** A PostgreSQL backend still holding the dead relay's row lock is gone once its socket closes. */
async function waitUntilUnlocked(id: number): Promise<void> {
  await waitFor('the killed relay transaction to roll back', async () => {
    const { rowCount } = await f.db.pools.primary.query('SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE NOWAIT', [id]).catch(() => ({ rowCount: 0 }));
    return rowCount === 1;
  });
}

describe('outbox relay', () => {
  it('enqueues a committed row exactly once when the relay is killed before its enqueue reaches Redis', async () => {
    const proxy = await startTcpProxy(6379);
    try {
      const queues = await f.inspect(TEST_REDIS_URL);
      const id = await writeWelcome('killed-before@example.com');
      // The relay's add carries the job id; the proxy swallows it, so Redis never sees the job.
      const held = proxy.holdOn(outboxJobId(id), 'request');
      // /health, not /ready: the held connection is the one /ready pings through.
      const first = await f.startWorker({ REDIS_URL: proxy.url }, '/health');
      await held;
      await first.stop('SIGKILL');
      await waitUntilUnlocked(id);
      assert.equal(await relayedAt(id), null, 'the row stays unrelayed');
      assert.equal(await queues.get('email').getJob(outboxJobId(id)), undefined, 'Redis never received the job');

      const second = await f.startWorker();
      await waitFor('the restarted relay to relay the row', () => relayedAt(id));
      await second.stop();
      const job = await queues.get('email').getJob(outboxJobId(id));
      assert.deepEqual(job?.data, { email: 'killed-before@example.com', name: 'Test' });
      assert.equal(await queues.get('email').getWaitingCount(), 1);
    } finally {
      await proxy.close();
    }
  });

  it('does not duplicate a job whose enqueue succeeded when the relay died before marking the row', async () => {
    const proxy = await startTcpProxy(6379);
    try {
      const queues = await f.inspect(TEST_REDIS_URL);
      const before = await queues.get('email').getWaitingCount();
      const id = await writeWelcome('killed-after@example.com');
      // Redis executes the add; the reply (and so the relay's commit) never comes.
      const held = proxy.holdOn(outboxJobId(id), 'reply');
      const first = await f.startWorker({ REDIS_URL: proxy.url }, '/health');
      await held;
      await first.stop('SIGKILL');
      await waitUntilUnlocked(id);
      assert.equal(await relayedAt(id), null, 'the row stays unrelayed');
      assert.ok(await queues.get('email').getJob(outboxJobId(id)), 'the job reached Redis');

      const second = await f.startWorker();
      await waitFor('the restarted relay to relay the row', () => relayedAt(id));
      await second.stop();
      const waiting = await queues.get('email').getWaiting();
      assert.equal(waiting.filter((job) => job.id === outboxJobId(id)).length, 1, 'relayed twice, enqueued once');
      assert.equal(waiting.length, before + 1);
    } finally {
      await proxy.close();
    }
  });

  it('keeps rows in PostgreSQL while Redis is down and drains them, processed once each, when it returns', async () => {
    const redis = await startPrivateRedis();
    try {
      const worker = await f.startWorker({ REDIS_URL: redis.url, WORKER_QUEUES: 'email' });
      await redis.stop();
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) ids.push(await writeWelcome(`outage-${i}@example.com`));
      // Give the relay several passes against the dead Redis.
      await waitFor('relay errors to be recorded', async () => {
        const { rows } = await f.db.pools.primary.query('SELECT min(relay_errors)::int AS errors FROM outbox WHERE id = ANY($1::bigint[])', [ids]);
        return rows[0].errors >= 2;
      });
      const pending = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::bigint[]) AND relayed_at IS NULL', [ids]);
      assert.equal(pending.rows[0].n, 40, 'every row waits in the outbox');

      await redis.start();
      await waitFor('the outbox to drain', async () => {
        const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL');
        return rows[0].n === 0;
      });
      const expected = ids.map((id) => `outbox-${id}@salescale.local.eml`).sort();
      // Only these rows' emails: a worker on this (new, empty) Redis also relays again the earlier tests' rows that were never processed.
      const written = async () => (await readdir(f.mailDir).catch(() => [])).filter((name) => ids.some((id) => name === `outbox-${id}@salescale.local.eml`)).sort();
      await waitFor('every email to be written', async () => (await written()).length >= 40);
      const files = await written();
      assert.deepEqual(files, expected);
      // A send commits its sent_emails record only after the file is written (notifications.service.ts sendOnce),
      // so the last records may land a moment after the last file.
      const recorded = async () => (await f.db.pools.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM sent_emails WHERE job_id = ANY($1::text[])', [ids.map(outboxJobId)])).rows[0]!.n;
      await waitFor('every send to be recorded', async () => (await recorded()) >= 40).catch(() => {});
      assert.equal(await recorded(), 40);
      await worker.stop();
    } finally {
      await redis.destroy();
    }
  });

  it('parks a row BullMQ refuses (its options) with the reason, and relays the rows behind it', async () => {
    const queues = await f.inspect();
    // A hand-written row, or one from a bug: BullMQ refuses the priority before it sends anything to Redis.
    const [bad] = await enqueueInTransaction(f.db.primary, {
      queue: QUEUES.email,
      name: JOBS.sendWelcomeEmail,
      data: { email: 'poison-row@example.com', name: 'Test' },
      opts: { priority: 3_000_000 },
    });
    const good = await writeWelcome('behind-the-poison@example.com');
    const worker = await f.startWorker();
    try {
      await waitFor('the row behind the refused one to be relayed', () => relayedAt(good));
      assert.ok(await queues.get('email').getJob(outboxJobId(good)));
      const { rows } = await f.db.pools.primary.query('SELECT relayed_at, last_error FROM outbox WHERE id = $1', [bad]);
      assert.match(rows[0].last_error, /Priority should be between/);
      assert.notEqual(rows[0].relayed_at, null, 'parked: no pass tries it again');
      assert.equal(await queues.get('email').getJob(outboxJobId(bad!)), undefined);
    } finally {
      await worker.stop();
    }
  });

  it('the worker deletes relayed rows, job claims, sent-email and admin action records past their retention, keeping the claims of dead-lettered jobs', async () => {
    const q = (text: string, values: unknown[] = []) => f.db.pools.primary.query(text, values);
    const old = await writeWelcome('old-relayed@example.com');
    await q(`UPDATE outbox SET relayed_at = now() - interval '73 hours' WHERE id = $1`, [old]);
    await q(`INSERT INTO job_claims (queue, job_id, claimed_at) VALUES
      ('order', 'prune-old', now() - interval '8 days'),
      ('order', 'prune-dead-lettered', now() - interval '8 days'),
      ('order', 'prune-retried', now() - interval '8 days'),
      ('order', 'prune-retried-lately', now() - interval '8 days'),
      ('order', 'prune-recent', now() - interval '6 days')`);
    await q(`INSERT INTO dead_letters (queue, job_id, name, data, failed_reason, attempts_made, retried_at) VALUES
      ('order', 'prune-dead-lettered', 'process-order', '{}', 'boom', 5, NULL),
      ('order', 'prune-retried', 'process-order', '{}', 'boom', 5, now() - interval '8 days'),
      ('order', 'prune-retried-lately', 'process-order', '{}', 'boom', 5, now() - interval '1 hour')`);
    // An email's once-per-job record holds its recipient's address: kept as long as a job claim, not for good.
    await q(`INSERT INTO sent_emails (job_id, template, recipient, message_id, sent_at) VALUES
      ('prune-sent-old', 'welcome', 'old-buyer@example.com', '<prune-sent-old@salescale>', now() - interval '8 days'),
      ('prune-sent-recent', 'welcome', 'recent-buyer@example.com', '<prune-sent-recent@salescale>', now() - interval '6 days')`);
    // The admin audit trail is kept 90 days (ADMIN_ACTION_RETENTION_DAYS), pruned in the same clean-up.
    await q(`INSERT INTO admin_actions (method, route, status, request_id, client, created_at) VALUES
      ('PATCH', '/api/v1/admin/products/:id', 200, 'prune-audit-old', '10.0.0.1', now() - interval '91 days'),
      ('PATCH', '/api/v1/admin/products/:id', 200, 'prune-audit-recent', '10.0.0.1', now() - interval '89 days')`);
    const worker = await f.startWorker();
    try {
      const claims = async () => (await q(`SELECT job_id FROM job_claims WHERE job_id LIKE 'prune-%' ORDER BY job_id`)).rows.map((r) => r.job_id);
      const sent = async () => (await q(`SELECT job_id FROM sent_emails WHERE job_id LIKE 'prune-%' ORDER BY job_id`)).rows.map((r) => r.job_id);
      // The worker process starts and runs its first clean-up in its own time (a loaded machine can take well over 5 s).
      await waitFor('the old sent-email record to be pruned', async () => !(await sent()).includes('prune-sent-old')).catch(() => {});
      assert.deepEqual(await sent(), ['prune-sent-recent'], 'sent-email records past JOB_CLAIM_RETENTION_HOURS are deleted');
      const audited = async () => (await q(`SELECT request_id FROM admin_actions WHERE request_id LIKE 'prune-%' ORDER BY request_id`)).rows.map((r) => r.request_id);
      await waitFor('the old admin action to be pruned', async () => !(await audited()).includes('prune-audit-old')).catch(() => {});
      assert.deepEqual(await audited(), ['prune-audit-recent'], 'admin action records past 90 days are deleted');
      await waitFor('the old claims to be pruned', async () => !(await claims()).includes('prune-old'));
      // Waiting in dead_letters to be retried, or retried lately (the retry may still wait behind a backlog):
      // its effect may be applied, so the retry must find the claim.
      assert.deepEqual(await claims(), ['prune-dead-lettered', 'prune-recent', 'prune-retried-lately']);
      assert.equal((await q('SELECT 1 FROM outbox WHERE id = $1', [old])).rowCount, 0, 'the relayed row past OUTBOX_RETENTION_HOURS is deleted');
    } finally {
      await worker.stop();
    }
  });

  it('deletes relayed rows past their retention faster than a sale writes them (not 5,000 a minute)', async () => {
    const q = (text: string, values: unknown[] = []) => f.db.pools.primary.query(text, values);
    // A sale at 100 paid orders a second writes about 30,000 rows a minute (order-paid, expiry, stock, email, analytics).
    await q(`INSERT INTO outbox (queue, name, data, relayed_at) SELECT 'email', 'send-welcome-email', '{}', now() - interval '73 hours' FROM generate_series(1, 30000)`);
    const worker = await f.startWorker();
    try {
      const left = async () => (await q(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at < now() - interval '72 hours'`)).rows[0].n as number;
      // The first clean-up runs as the relay starts; the next one only a minute later.
      await waitFor('the first clean-up', async () => (await left()) < 30_000);
      // What its 1 s budget leaves goes in the next passes; a loaded machine can take longer than a fixed 2 s over the
      // six batches. Gone within 25 s of the first batch, still well before the next clean-up a minute later.
      await waitFor('every row past retention to be deleted', async () => (await left()) === 0, 25_000).catch(() => {});
      assert.equal(await left(), 0, 'one clean-up deletes a minute of a sale’s rows');
    } finally {
      await worker.stop();
    }
  });

  it('keeps relaying on every pass while its clean-up fails (a DELETE timing out), trying the clean-up again a minute later', async () => {
    const pool = new pg.Pool({ connectionString: f.database.url, max: 2, options: '-c statement_timeout=300' });
    const holder = await f.db.pools.primary.connect();
    const queues = await f.inspect();
    let failedPasses = 0;
    const relay = createOutboxRelay({ pool, queues, logger: pino({ level: 'silent' }), pollIntervalMs: 100, onError: () => failedPasses++ });
    try {
      // A relayed row past retention whose lock another transaction holds: the clean-up's DELETE waits on it and times out.
      const old = await writeWelcome('locked-old@example.com');
      await f.db.pools.primary.query(`UPDATE outbox SET relayed_at = now() - interval '73 hours' WHERE id = $1`, [old]);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE', [old]);
      relay.start();
      await waitFor('the first clean-up to fail', () => failedPasses >= 1);
      const id = await writeWelcome('relayed-meanwhile@example.com');
      await waitFor('the row written meanwhile to be relayed', async () => (await relayedAt(id)) !== null);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(failedPasses, 1, 'one failed clean-up, not a failed pass each time');
    } finally {
      await relay.stop();
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      await pool.end();
    }
  });
  // RELAY_IDLE_TIMEOUT_MS (15 s) ends a pass idle that long, so a frozen relay gives its rows back; a live pass is
  // idle while BullMQ takes its jobs. Added one queue after the other, each within ADD_TIMEOUT_MS (10 s), a batch
  // over two queues on a slow (not dead) Redis was idle 16 s and ended by PostgreSQL after its jobs reached BullMQ:
  // sent again by the next pass, which died the same way, and the outbox never drained.
  it('relays a batch over two queues on a slow but live Redis (8 s per add) without its idle limit ending the pass', async () => {
    const real = await f.inspect();
    // A Redis answering each add in 8 s (below the relay's 10 s add timeout): the real BullMQ add, delayed.
    const slow: QueueSet = {
      ...real,
      get(name: QueueName) {
        const queue = real.get(name);
        return new Proxy(queue, {
          get(target, prop, receiver) {
            if (prop === 'addBulk') {
              return async (...args: Parameters<typeof queue.addBulk>) => {
                await new Promise((resolve) => setTimeout(resolve, 8000));
                return target.addBulk(...args);
              };
            }
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
    const ids = [
      ...(await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'slow-redis@example.com', name: 'R' } })),
      ...(await enqueueInTransaction(f.db.primary, { queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId: 1, quantity: 1 } })),
    ];
    const relay = createOutboxRelay({ pool: f.db.pools.primary, queues: slow, logger: pino({ level: 'silent' }) });
    const relayed = await relay.relayOnce().catch((error: unknown) => `failed: ${(error as Error).message}`);
    assert.equal(relayed, 2, 'the healthy pass relays both rows');
    const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::bigint[]) AND relayed_at IS NOT NULL', [ids]);
    assert.equal(rows[0].n, 2);
  });
});

// After the relay's tests: its rows stay waiting in the email queue, which those tests count.
describe('outbox writes', () => {
  // ON CONFLICT DO NOTHING is for a writer retrying a write under its dedupe key; without a target it also dropped a job
  // whose row met any other unique conflict (here its id, the sequence set back as a restore can leave it), returning
  // no id and no error: the job was lost while its transaction committed.
  it('skips a job whose dedupe key is already in the outbox, and fails on any other unique conflict instead of dropping the job', async () => {
    const keyed = { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'dedupe@example.com', name: 'Test' }, dedupeKey: `test:${Date.now()}` } as const;
    assert.equal((await enqueueInTransaction(f.db.primary, keyed)).length, 1);
    assert.deepEqual(await enqueueInTransaction(f.db.primary, keyed), [], 'the repeated dedupe key writes nothing');
    const id = await writeWelcome('collide@example.com');
    try {
      await f.db.pools.primary.query(`SELECT setval(pg_get_serial_sequence('outbox', 'id'), $1)`, [id - 1]);
      await assert.rejects(writeWelcome('dropped@example.com'), (error: Error & { cause?: { code?: string }; code?: string }) => {
        assert.equal(error.cause?.code ?? error.code, '23505', String(error));
        return true;
      });
    } finally {
      await f.db.pools.primary.query(`SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT max(id) FROM outbox))`);
    }
  });
});

// Last: its worker sends every email waiting in the queue, which the tests above leave there to count.
describe('email priorities', () => {
  it('sends a confirmation before the reservation-expired emails queued ahead of it (a real worker, one send at a time)', async () => {
    const expiries = 20;
    // A paid order, so that its confirmation is still wanted when its job runs.
    const { rows: paid } = await f.db.pools.primary.query<{ id: string }>(`
      WITH buyer AS (INSERT INTO customers (email, name, password_hash) VALUES ('paid-buyer@example.com', 'Paid Buyer', 'x') RETURNING id)
      INSERT INTO orders (customer_id, status, total_cents, currency, reservation, paid_at) SELECT id, 'paid', 1000, 'USD', 'priority-test', now() FROM buyer RETURNING id`);
    const orderId = Number(paid[0]!.id);
    // A sale's mass expiry: its emails relayed to the email queue before any worker of that queue runs.
    const expired = await enqueueInTransaction(
      f.db.primary,
      Array.from({ length: expiries }, (_, i) => ({
        queue: QUEUES.email,
        name: JOBS.sendReservationExpired,
        data: { orderId: 100_000 + i, email: `expired-${i}@example.com`, items: [{ name: 'Sold-out item', quantity: 1 }] },
      })),
    );
    const relay = createOutboxRelay({ pool: f.db.pools.primary, queues: await f.inspect(), logger: pino({ level: 'silent' }) });
    while ((await relay.relayOnce()) > 0);
    // Then a paid buyer's confirmation, its 1 s delay over (a delayed job waits for a worker of its queue to promote it).
    const [confirmation] = await enqueueInTransaction(f.db.primary, {
      queue: QUEUES.email,
      name: JOBS.sendOrderConfirmation,
      data: { orderId, email: 'paid-buyer@example.com', name: 'Paid Buyer', guest: false, items: [{ name: 'Sold-out item', quantity: 1, unitPriceCents: 1000 }], totalCents: 1000, currency: 'USD' },
      opts: { delay: 0 },
    });
    while ((await relay.relayOnce()) > 0);
    const jobIds = [...expired, confirmation!].map(outboxJobId);
    const sender = await f.startWorker({ WORKER_QUEUES: 'email', WORKER_CONCURRENCY: 'email=1' });
    try {
      const sent = async () => (await f.db.pools.primary.query<{ job_id: string }>('SELECT job_id FROM sent_emails WHERE job_id = ANY($1) ORDER BY sent_at, job_id', [jobIds])).rows.map((row) => row.job_id);
      const order = await waitFor('every email sent', async () => {
        const ids = await sent();
        return ids.length === jobIds.length ? ids : undefined;
      });
      assert.equal(order.indexOf(outboxJobId(confirmation!)), 0, `the confirmation is sent first, not behind the ${expiries} expiry emails queued before it: ${order.join(', ')}`);
    } finally {
      await sender.stop();
    }
  });
});
