import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPrivatePostgres, type PrivatePostgres, type PrivateStandby } from '../chaos/lib/postgres.ts';
import type { TestApp } from './helpers/app.ts';

/*
 * A real streaming replica: a private PostgreSQL and a hot standby made from it with pg_basebackup, whose replay
 * the test pauses (`pg_wal_replay_pause`), so the replica lags behind the primary as a busy one does.
 */
let primary: PrivatePostgres;
let standby: PrivateStandby;
let t: TestApp;

before(async () => {
  primary = await startPrivatePostgres('salescale_replica_lag');
  standby = await primary.startStandby();
  // The test helpers create each database on the server TEST_PG_ADMIN_URL names, read when they are loaded.
  process.env.TEST_PG_ADMIN_URL = primary.adminUrl;
  const { createTestApp } = await import('./helpers/app.ts');
  t = await createTestApp({}, undefined, { replicaUrl: (url) => standby.urlOf(new URL(url).pathname.slice(1)) });
});
after(async () => {
  await t?.close();
  await standby?.destroy();
  await primary?.destroy();
});

async function createProduct(sku: string, priceCents: number): Promise<number> {
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku, name: `Lag ${sku}`, priceCents, available: 5 } });
  assert.equal(created.statusCode, 201, created.body);
  return created.json().id;
}

describe('catalog reads from a replica that lags behind an admin’s edit (a real streaming standby)', () => {
  it('shows the new price at once, and does not cache the old one, while the replica has not replayed the edit', async () => {
    const id = await createProduct('LAG-1', 1000);
    await standby.caughtUp();
    const before = await t.app.inject({ url: `/api/v1/products/${id}` });
    assert.equal(before.json().priceCents, 1000);
    assert.equal((await t.app.inject({ url: '/api/v1/products?q=LAG' })).json().items[0]?.priceCents, 1000);

    await standby.pauseReplay();
    try {
      const edited = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${id}`, headers: t.admin, payload: { priceCents: 750 } });
      assert.equal(edited.statusCode, 200, edited.body);
      // Before: the invalidated entries were filled again from the replica, which still had 1000, and kept for the
      // product TTL (5 min; an hour in a degrade mode) after the replica caught up.
      assert.equal((await t.app.inject({ url: `/api/v1/products/${id}` })).json().priceCents, 750, 'the product page while the replica lags');
      assert.equal((await t.app.inject({ url: '/api/v1/products?q=LAG' })).json().items[0]?.priceCents, 750, 'the listing while the replica lags');
    } finally {
      await standby.resumeReplay();
    }
    await standby.caughtUp();
    assert.equal((await t.app.inject({ url: `/api/v1/products/${id}` })).json().priceCents, 750, 'after the replica caught up');
  });

  it('reads from the replica again once it has replayed the last write, and from the primary only until then', async () => {
    const { createReplicaReads } = await import('../src/platform/db/replica-reads.ts');
    const db = t.platform.db;
    const reads = createReplicaReads({ db, redis: t.platform.redis, prefix: t.config.redis.prefix });
    await standby.pauseReplay();
    try {
      await createProduct('LAG-2', 500); // a write the replica does not replay
      await reads.wrote();
      assert.equal(await reads.reader(), db.primary, 'behind the recorded write: the primary');
    } finally {
      await standby.resumeReplay();
    }
    await standby.caughtUp();
    assert.equal(await reads.reader(), db.replica, 'caught up: the replica');
  });
});
