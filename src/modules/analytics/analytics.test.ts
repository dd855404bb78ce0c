import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { after, before, describe, it, mock } from 'node:test';
import Fastify from 'fastify';
import pino from 'pino';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase, TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { createDatabase, type Database } from '../../platform/db/client.ts';
import { capturingLogger } from '../../../test/helpers/log-lines.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { startTcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { createAnalyticsRepository } from './analytics.repository.ts';
import { orderFollowUps } from '../orders/index.ts';
import { createAnalyticsService, incrementsFor, isAnalyticsEvent, type AnalyticsEvent } from './analytics.service.ts';
import { RequestTally, requestCounter, routeGroupOf } from './request-counter.ts';

describe('analytics rollups (pure)', () => {
  it('turns an order into one order and its revenue in the hour it was placed', () => {
    const increments = incrementsFor({ eventType: 'order_created', orderId: 1, amountCents: 2599, occurredAt: '2026-11-27T10:59:59.999Z' }, new Date());
    const hour = new Date('2026-11-27T10:00:00Z');
    assert.deepEqual(increments, [
      { hour, metric: 'orders', dimension: '', value: 1 },
      { hour, metric: 'revenue_cents', dimension: '', value: 2599 },
    ]);
  });

  it('keeps the revenue of each currency apart: yen and cents are not one number', () => {
    const order = { orderId: 9, email: 'e@example.com', items: [{ productId: 1, name: 'Mug', quantity: 1, unitPriceCents: 3000 }], totalCents: 3000, currency: 'JPY', placedAt: '2026-11-27T10:15:00.000Z' };
    const analytics = orderFollowUps(order).find((job) => job.name === 'update-analytics')!;
    assert.ok(isAnalyticsEvent(analytics.data));
    const revenue = incrementsFor(analytics.data as AnalyticsEvent, new Date()).find((inc) => inc.metric === 'revenue_cents');
    assert.deepEqual(revenue, { hour: new Date('2026-11-27T10:00:00Z'), metric: 'revenue_cents', dimension: 'JPY', value: 3000 });
  });

  it('counts a refund apart from the revenue, in its own hour and currency', () => {
    const event = { eventType: 'order_refunded', orderId: 3, amountCents: 2468, currency: 'KWD', occurredAt: '2026-11-28T09:30:00.000Z' };
    assert.ok(isAnalyticsEvent(event));
    const hour = new Date('2026-11-28T09:00:00Z');
    assert.deepEqual(incrementsFor(event as AnalyticsEvent, new Date()), [
      { hour, metric: 'refunds', dimension: '', value: 1 },
      { hour, metric: 'refunds_cents', dimension: 'KWD', value: 2468 },
    ]);
  });

  it('groups API routes by their first segment and leaves probes out', () => {
    assert.equal(routeGroupOf('/api/v1/products/:id'), 'products');
    assert.equal(routeGroupOf('/api/v1/admin/products'), 'admin');
    assert.equal(routeGroupOf('/docs/json'), 'other');
    assert.equal(routeGroupOf('/health'), undefined);
    assert.equal(routeGroupOf('/admin/queues/api/queues'), undefined);
  });

  it('tallies per hour and puts a failed flush back', () => {
    const tally = new RequestTally();
    tally.record('products', new Date('2026-11-27T10:05:00Z'));
    tally.record('products', new Date('2026-11-27T10:55:00Z'));
    tally.record('categories', new Date('2026-11-27T11:01:00Z'));
    const batch = tally.drain();
    assert.deepEqual(batch, [
      { hour: '2026-11-27T10:00:00.000Z', counts: { products: 2 } },
      { hour: '2026-11-27T11:00:00.000Z', counts: { categories: 1 } },
    ]);
    assert.deepEqual(tally.drain(), []);
    tally.record('products', new Date('2026-11-27T10:30:00Z'));
    tally.restore(batch);
    assert.deepEqual(tally.drain()[0], { hour: '2026-11-27T10:00:00.000Z', counts: { products: 3 } });
  });
});

describe('hourly request history', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ ANALYTICS_FLUSH_INTERVAL_MS: '100' });
  });
  after(async () => {
    await t?.close();
  });

  it('counts web requests per route group through the outbox and serves them as an hourly series', async () => {
    for (let i = 0; i < 5; i++) await t.app.inject({ url: '/api/v1/products' });
    await t.app.inject({ url: '/api/v1/categories' });
    await t.app.inject({ url: '/health' });
    // Flushes run every 100 ms: wait until all six counted requests are in the outbox.
    const rows = await waitFor('request counts in the outbox', async () => {
      const { rows } = await t.platform.db.pools.primary.query(`SELECT id, data FROM outbox WHERE name = 'update-analytics' ORDER BY id`);
      const counted = rows.reduce((sum, row) => sum + Object.values(row.data.counts as Record<string, number>).reduce((a, b) => a + b, 0), 0);
      return counted === 6 ? rows : undefined;
    });
    const service = createAnalyticsService({ db: t.platform.db, repository: createAnalyticsRepository() });
    for (const row of rows) {
      assert.equal(await service.apply(`outbox-${row.id}`, row.data as AnalyticsEvent), true);
      assert.equal(await service.apply(`outbox-${row.id}`, row.data as AnalyticsEvent), false, 'a re-delivered job changes nothing');
    }
    const now = new Date();
    const hour = new Date(now);
    hour.setUTCMinutes(0, 0, 0);
    const from = new Date(hour.getTime() - 2 * 3600_000);
    const to = new Date(hour.getTime() + 3600_000);
    assert.deepEqual(await service.getHourlyRequests(from, to), [
      { hour: from, requests: 0 },
      { hour: new Date(hour.getTime() - 3600_000), requests: 0 },
      { hour, requests: 6 },
    ]);
    assert.deepEqual((await service.getHourlyRequests(hour, to, 'products')).map((p) => p.requests), [5]);
  });

  it('serves whole UTC hours whatever time zone the database session is in (India: +05:30)', async () => {
    const hour = new Date();
    hour.setUTCMinutes(0, 0, 0);
    const from = new Date(hour.getTime() - 3600_000);
    const to = new Date(hour.getTime() + 3600_000);
    // A server initialised on a machine in India has `timezone = 'Asia/Kolkata'`, and sessions inherit it.
    const points = await t.platform.db.primary.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL timezone = 'Asia/Kolkata'`);
      return createAnalyticsRepository().series(tx, 'requests', from, to, undefined);
    });
    assert.deepEqual(points, [
      { hour: from, value: 0 },
      { hour, value: 6 },
    ]);
  });
});

/** The request counts the outbox holds, summed over its `update-analytics` rows. */
async function countsInOutbox(pool: pg.Pool | pg.Client): Promise<number> {
  const { rows } = await pool.query(`SELECT data FROM outbox WHERE name = 'update-analytics'`);
  return rows.reduce((sum, row) => sum + Object.values(row.data.counts as Record<string, number>).reduce((a, b) => a + b, 0), 0);
}

/** The backend of the app's outbox insert while it waits on a lock another session holds. */
async function waitingInsert(observer: pg.Client, after = 0): Promise<number> {
  return waitFor('an outbox insert waiting on the lock', async () => {
    // Parsing the insert takes the table's lock: it waits there, before pg_stat_activity shows its text.
    const { rows } = await observer.query(`SELECT pid FROM pg_locks WHERE relation = 'outbox'::regclass AND NOT granted AND pid <> $1`, [after]);
    return rows[0]?.pid as number | undefined;
  });
}

describe('request counts at shutdown', () => {
  it('a timed flush that fails while the app closes has its counts flushed by the final flush, not lost', async () => {
    const { logger, lines } = capturingLogger('info');
    // The app's connections close last, after every onClose hook, the request counter's final flush among them.
    let connectionsClosing = false;
    const t = await createTestApp({ ANALYTICS_FLUSH_INTERVAL_MS: '100' }, undefined, {
      logger,
      services: (web) => {
        const close = web.close.bind(web);
        web.close = () => {
          connectionsClosing = true;
          return close();
        };
      },
    });
    const locker = new pg.Client({ connectionString: t.database.url });
    await locker.connect();
    try {
      // The timed flush's insert waits on this lock: it is in flight when close() begins.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox IN SHARE MODE');
      for (let i = 0; i < 3; i++) await t.app.inject({ url: '/api/v1/products' });
      const pid = await waitingInsert(locker);
      const closed = t.app.close();
      // Once close() has reached the final flush (it waits for the one in flight, or has run and the app goes on
      // to close its connections), the in-flight flush fails (its connection ends), then the lock goes.
      await waitFor('close() at the final flush', () => connectionsClosing || lines.some((line) => line.msg.includes('waiting for the flush in flight')));
      await locker.query('SELECT pg_terminate_backend($1)', [pid]);
      await locker.query('ROLLBACK');
      await closed;
      assert.equal(await countsInOutbox(locker), 3, 'the three requests reach the outbox, once');
      assert.ok(!lines.some((line) => /lost/.test(line.msg)), 'nothing is reported lost');
    } finally {
      await locker.end();
      await t.close();
    }
  });
});

describe('request counts on a lost reply', () => {
  it('a flush whose insert committed but whose reply was lost is not sent again: the counts reach the outbox once', async () => {
    const { logger, lines } = capturingLogger('warn');
    const proxy = await startTcpProxy(Number(new URL(TEST_PG_ADMIN_URL).port || 5432), 'postgres');
    const throughProxy = (url: string) => {
      const viaProxy = new URL(url);
      viaProxy.port = String(proxy.port);
      return viaProxy.toString();
    };
    const t = await createTestApp({ ANALYTICS_FLUSH_INTERVAL_MS: '100' }, undefined, { logger, databaseUrl: throughProxy });
    const direct = new pg.Client({ connectionString: t.database.url });
    await direct.connect();
    try {
      // The next outbox insert runs and commits; its reply never reaches the app, whose connection then drops.
      const held = proxy.holdOn('insert into "outbox"', 'reply');
      for (let i = 0; i < 4; i++) await t.app.inject({ url: '/api/v1/products' });
      await held;
      await waitFor('the flush committed', async () => (await countsInOutbox(direct)) > 0);
      proxy.dropHeld();
      await waitFor('the flush seen as failed', () => lines.some((line) => line.msg.startsWith('request counts not flushed')));
      // The next flushes (timed, then the final one) send the counts put back again.
      await t.app.close();
      assert.equal(await countsInOutbox(direct), 4, 'four requests, counted once');
    } finally {
      await direct.end();
      await t.close();
      await proxy.close();
    }
  });
});

describe('request counts after a long outage', () => {
  // Each failed flush keeps its batch; they were all sent again in one insert, at 6 bind parameters a row: past 10,922
  // rows that insert exceeds PostgreSQL's 65,535 parameters, and every flush after failed for good, the counts lost at
  // shutdown. The outage is made by the database handle refusing the first inserts; the rest is the real database.
  it('sends the counts of 11,000 failed flushes once the database is back, in inserts PostgreSQL accepts', async () => {
    const database = await createTestDatabase();
    const db = createDatabase({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000 });
    const { logger, lines } = capturingLogger('info');
    let down = true;
    const primary: Database['primary'] = Object.create(db.primary);
    primary.insert = ((table: Parameters<Database['primary']['insert']>[0]) => {
      if (down) throw new Error('database unavailable');
      return db.primary.insert(table);
    }) as Database['primary']['insert'];
    let record: ((request: never) => void) | undefined;
    mock.timers.enable({ apis: ['setInterval'] });
    const app = Fastify({ loggerInstance: pino({ level: 'silent' }) });
    try {
      await app.register(
        requestCounter({ db: { ...db, primary }, logger, flushIntervalMs: 1000, whenDone: (_app, handler) => {
          record = handler as never;
        } }),
      );
      await app.ready();
      const failures = 11_000;
      for (let i = 0; i < failures; i++) {
        record?.({ routeOptions: { url: '/api/v1/products' } } as never);
        mock.timers.tick(1000);
        // The failed flush settles (its insert refused at once) before the next falls due.
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(lines.filter((line) => line.msg.startsWith('request counts not flushed;')).length, failures);
      down = false;
      record?.({ routeOptions: { url: '/api/v1/products' } } as never);
      await app.close();
      assert.ok(!lines.some((line) => /lost/.test(line.msg)), 'nothing is reported lost');
      const { rows } = await db.pools.primary.query(`SELECT count(*)::int AS n, sum((data->'counts'->>'products')::int)::int AS requests FROM outbox WHERE name = 'update-analytics'`);
      assert.deepEqual(rows[0], { n: failures + 1, requests: failures + 1 });
    } finally {
      mock.timers.reset();
      await app.close();
      await db.close();
      await database.drop();
    }
  });
});
