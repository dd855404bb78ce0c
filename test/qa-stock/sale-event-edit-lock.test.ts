import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * Checkout's `place_order` takes `FOR KEY SHARE` on each live event row it counts a line in (orders.sql: "an edit
 * does not wait for it"). An admin's edit of the event changes no key column, so its row lock must be one that does
 * not conflict with `FOR KEY SHARE` (`FOR NO KEY UPDATE`): with `FOR UPDATE` the edit waits for every checkout in
 * flight, and every checkout after it waits for the edit. No timing here: the edit either answers while a checkout's
 * lock is held, or PostgreSQL shows it waiting on a lock.
 */
describe('editing a live sale event while checkouts hold its row', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('does not wait for a FOR KEY SHARE lock on the event row', async () => {
    const now = Date.now();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: 'Live drop', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as number;

    const holder = new pg.Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('begin');
      // What an in-flight checkout holds on the event row until its order commits.
      await holder.query('select 1 from sale_events where id = $1 for key share', [id]);
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

      let replied = false;
      const patch = t.app
        .inject({
          method: 'PATCH',
          url: `/api/v1/admin/sale-events/${id}`,
          headers: t.admin,
          payload: { maxPerCustomer: 2, endsAt: new Date(now + 7_200_000).toISOString(), trafficMultiplier: 3, name: 'Live drop (edited)' },
        })
        .finally(() => {
          replied = true;
        });
      let waited = false;
      while (!replied && !waited) {
        const waiting = await t.platform.db.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> ${holderPid}`,
        );
        waited = Number(waiting.rows[0]!.n) > 0;
        if (!waited) await sleep(5);
      }
      await holder.query('rollback');
      const reply = await patch;
      assert.equal(waited, false, 'the edit waited for the lock an in-flight checkout holds on the event row');
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().maxPerCustomer, 2);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
  });
});
