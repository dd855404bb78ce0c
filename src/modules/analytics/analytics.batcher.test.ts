import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.ts';
import { createDatabase, type Database } from '../../platform/db/client.ts';
import { createAnalyticsRepository } from './analytics.repository.ts';
import { createAnalyticsService } from './analytics.service.ts';

describe('analytics rollups applied in batches', () => {
  let database: TestDatabase;
  let db: Database;
  before(async () => {
    database = await createTestDatabase();
    db = createDatabase({ url: database.url, poolMin: 0, poolMax: 12, statementTimeoutMs: 0, applicationName: 'analytics-batcher-test' });
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  it('applies each job exactly once when many jobs and re-deliveries arrive at the same time', async () => {
    const service = createAnalyticsService({ db, repository: createAnalyticsRepository() });
    const occurredAt = '2026-11-27T10:15:00.000Z';
    const event = (i: number) => ({ eventType: 'order_created' as const, orderId: i, amountCents: 100 + i, occurredAt });
    // 300 jobs, 100 of them delivered twice concurrently (a stalled job re-delivered while the first run is still going).
    const calls = [...Array.from({ length: 300 }, (_, i) => ({ id: `job-${i}`, i })), ...Array.from({ length: 100 }, (_, i) => ({ id: `job-${i}`, i }))];
    const results = await Promise.all(calls.map(({ id, i }) => service.apply(id, event(i))));
    assert.equal(results.filter(Boolean).length, 300, 'every job applied once, every duplicate refused');
    assert.equal(await service.apply('job-7', event(7)), false, 'a later re-delivery changes nothing');
    const { rows } = await db.pools.primary.query<{ metric: string; value: string }>(`SELECT metric, value::text FROM analytics_hourly WHERE hour = '2026-11-27T10:00:00Z' ORDER BY metric`);
    const expectedRevenue = Array.from({ length: 300 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
    assert.deepEqual(rows, [
      { metric: 'orders', value: '300' },
      { metric: 'revenue_cents', value: String(expectedRevenue) },
    ]);
    const claims = await db.pools.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM job_claims');
    assert.equal(claims.rows[0]!.n, 300);
  });

  it('rejects only the job whose data fails the statement; the jobs batched with it are applied', async () => {
    const service = createAnalyticsService({ db, repository: createAnalyticsRepository() });
    // An hour outside timestamptz's range makes the upsert fail after the claims were inserted: the same on
    // every attempt, so a batch that kept it failed each time with every job in it (the notifications queue
    // retries at once, so the same jobs met again, and all used up their attempts: dead letters).
    const bad = { eventType: 'order_created' as const, orderId: 1, amountCents: 1, occurredAt: '+275760-09-13T00:00:00.000Z' };
    const good = { eventType: 'order_created' as const, orderId: 2, amountCents: 1, occurredAt: '2026-11-27T11:00:00.000Z' };
    const first = service.apply('slow-first', good); // runs alone; the next ones share a batch
    const [a, b, c, d] = await Promise.allSettled([
      service.apply('bad', bad),
      service.apply('good-neighbour', good),
      service.apply('good-neighbour', good),
      service.apply('other-neighbour', good),
    ]);
    assert.equal(await first, true);
    assert.equal(a.status, 'rejected');
    assert.match(String((a as PromiseRejectedResult).reason), /out of range|timestamp/i);
    assert.deepEqual([b, c, d].map((r) => (r.status === 'fulfilled' ? r.value : 'rejected')), [true, false, true], 'neighbours applied once each');
    const claims = await db.pools.primary.query(`SELECT job_id FROM job_claims WHERE job_id IN ('bad', 'good-neighbour', 'other-neighbour') ORDER BY job_id`);
    assert.deepEqual(claims.rows.map((row) => row.job_id), ['good-neighbour', 'other-neighbour'], 'no claim of the failed job survived');
    const { rows } = await db.pools.primary.query(`SELECT value::int AS n FROM analytics_hourly WHERE hour = '2026-11-27T11:00:00Z' AND metric = 'orders'`);
    assert.equal(rows[0].n, 3);
  });
});
