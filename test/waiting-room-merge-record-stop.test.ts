import { sql } from 'drizzle-orm';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import type { LogLine } from './helpers/log-lines.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/**
 * A merge record PostgreSQL refused is tried again in the background until the instance stops (see the room's
 * `recordMerges`): a try still running when it stops is not followed by another, on one in-process instance with
 * real PostgreSQL and Redis.
 */
describe('waiting room: a merge record tried again when the instance stops', () => {
  let lines: LogLine[];
  let t: TestApp;
  let url: string;
  let closed = false;

  before(async () => {
    ({ t, url, logged: lines } = await listeningWaitingRoomApp({ TRUST_PROXY: '127.0.0.1' }, { logged: 'info' }));
  });
  after(async () => {
    if (!closed) await t?.app.close();
    await t?.platform.close();
    await t?.database.drop();
  });

  const visitorCookie = (setCookie: string[]) => setCookie.find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;

  it('does not try a merge record again after the room stopped, and logs it as left to Redis', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'merge-record-stop' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'merge-record-stop');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const join = (headers: Record<string, string>) => request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers });
    const admitted = async (ticket: string, cookie: string) => {
      for (const deadline = Date.now() + 30_000; ; ) {
        const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
        if (status.body.state === 'admitted') return;
        assert.ok(Date.now() < deadline, JSON.stringify(status.body));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    // The account's ticket (device 1), then a guest ticket (device 2), both admitted.
    const first = await join({ cookie: session!, 'x-forwarded-for': '10.8.1.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await admitted(first.body.ticket, session!);
    const guest = await join({ 'x-forwarded-for': '10.8.1.2' });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const guestCookie = visitorCookie(guest.headers.getSetCookie());
    await admitted(guest.body.ticket, guestCookie);

    // This test's database refuses every merge record, counting the tries; from the second on, a try first waits for
    // an advisory lock the test holds, so that it is still running when the room stops.
    const lockKey = 730_199;
    const db = t.platform.db.primary;
    await db.execute(sql.raw(`CREATE SEQUENCE merge_record_tries`));
    await db.execute(
      sql.raw(`CREATE FUNCTION refuse_merge_records() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.replaced_by IS NOT NULL THEN
            IF nextval('merge_record_tries') > 1 THEN PERFORM pg_advisory_xact_lock(${lockKey}); END IF;
            RAISE EXCEPTION 'merge records refused by the test';
          END IF;
          RETURN NEW;
        END $$`),
    );
    await db.execute(sql`CREATE TRIGGER refuse_merge_records BEFORE INSERT ON waiting_room_spent_passes FOR EACH ROW EXECUTE FUNCTION refuse_merge_records()`);
    const holder = new pg.Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [lockKey]);
      // Device 2 signs in and joins again: the merge's first record fails, and is tried again in the background.
      const merged = await join({ cookie: `${session!}; ${guestCookie}`, 'x-forwarded-for': '10.8.1.2' });
      assert.equal(merged.status, 201, JSON.stringify(merged.body));
      const tries = async () => Number((await holder.query<{ n: string }>('SELECT last_value AS n FROM merge_record_tries')).rows[0]!.n);
      // The second try waits for the lock.
      for (const deadline = Date.now() + 30_000; ; ) {
        const waiting = await holder.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, [lockKey]);
        if (Number(waiting.rows[0]!.n) > 0) break;
        assert.ok(Date.now() < deadline, 'the merge record was never tried again');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(await tries(), 2);

      // The instance stops while that try runs; then the try fails.
      await t.app.close();
      closed = true;
      await holder.query('SELECT pg_advisory_unlock($1)', [lockKey]);
      const stopped = (line: { msg?: string }) => line.msg?.startsWith('waiting room: stopped before merged tickets were recorded') === true;
      for (const deadline = Date.now() + 30_000; !lines.some(stopped); ) {
        assert.ok((await tries()) <= 2, 'the merge record was tried again after the room stopped');
        assert.ok(Date.now() < deadline, 'the merge record left to Redis at the stop was never logged');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(await tries(), 2, 'no try after the room stopped');
    } finally {
      await holder.end();
    }
  });
});
