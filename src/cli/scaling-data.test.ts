import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { scalingDataSources } from './scaling-data.ts';

describe('the scaling toolkit reads the database (real PostgreSQL)', () => {
  let database: TestDatabase;
  let client: pg.Client;
  before(async () => {
    database = await createTestDatabase();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await database?.drop();
  });

  const warnings: string[] = [];
  const sourcesWith = (flushIntervalMs: number) =>
    scalingDataSources(
      () => ({ databaseUrl: database.url, analyticsFlushIntervalMs: flushIntervalMs, timeZone: 'UTC' }),
      (line) => warnings.push(line),
    );
  const hourNow = async () => (await client.query<{ h: Date }>(`SELECT date_trunc('hour', now()) AS h`)).rows[0].h.getTime();

  /**
   * Rollups at hours -3 (two route groups, and an order row that is not a request), -1 and 0 (the hour
   * being counted), then `check(start)`; retried once if the clock crosses an hour meanwhile.
   */
  async function withRollups(check: (start: number) => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await client.query('DELETE FROM analytics_hourly; DELETE FROM outbox; DELETE FROM job_claims; DELETE FROM dead_letters');
      const start = await hourNow();
      await client.query(`
        INSERT INTO analytics_hourly (hour, metric, dimension, value) VALUES
          (date_trunc('hour', now()) - interval '3 hours', 'requests', 'products', 10),
          (date_trunc('hour', now()) - interval '3 hours', 'requests', 'categories', 5),
          (date_trunc('hour', now()) - interval '3 hours', 'orders', '', 99),
          (date_trunc('hour', now()) - interval '1 hour', 'requests', 'products', 7),
          (date_trunc('hour', now()), 'requests', 'products', 2)`);
      try {
        await check(start);
        return;
      } catch (error) {
        if ((await hourNow()) === start || attempt > 0) throw error;
      }
    }
  }
  const H = 3_600_000;
  const read = async (flushIntervalMs: number, start: number) => (await sourcesWith(flushIntervalMs).loadHourlyHistory?.())?.map((p) => [p.hour.getTime() - start, p.requests]);
  /** A web instance's request counts for the hour `hoursAgo` before this one, in the outbox; relayed `relayedAgo` ago, or not yet. */
  const countsInOutbox = async (hoursAgo: number, relayedAgo: string | null = null) =>
    (
      await client.query<{ id: string }>(
        `INSERT INTO outbox (queue, name, data, relayed_at)
         VALUES ('notifications', 'update-analytics', jsonb_build_object('eventType', 'requests', 'hour', date_trunc('hour', now()) - make_interval(hours => $1), 'counts', '{"products": 3}'::jsonb), now() - $2::interval)
         RETURNING id`,
        [hoursAgo, relayedAgo],
      )
    ).rows[0].id;

  it('learns from complete hours only, with hours that have no rollup as 0, summed over route groups', async () => {
    await withRollups(async (start) => {
      assert.deepEqual(await read(0, start), [
        [-3 * H, 15],
        [-2 * H, 0],
        [-1 * H, 7],
      ]);
      // An hour's last counts reach the outbox up to a flush interval after it ends: with a flush
      // interval of an hour (less the 5 s allowed for the relay), the last hour is not complete yet
      // (hour -2 is, and without a rollup it reads as 0).
      assert.deepEqual(await read(3_595_000, start), [
        [-3 * H, 15],
        [-2 * H, 0],
      ]);
    });
  });

  it('reads the hours after the last rollup as 0 up to the last complete hour: rollups that stopped are an outage, not the end of the history', async () => {
    await withRollups(async (start) => {
      // Nothing was written for the last two hours (the worker dead-lettering every count, no traffic at all):
      // the history still runs to the last complete hour, where the forecast's data-gap rule can see the zeros.
      await client.query(`DELETE FROM analytics_hourly WHERE hour >= date_trunc('hour', now()) - interval '1 hour'`);
      assert.deepEqual(await read(0, start), [
        [-3 * H, 15],
        [-2 * H, 0],
        [-1 * H, 0],
      ]);
    });
  });

  it('stops before the oldest hour whose request counts are still waiting to be applied', async () => {
    await withRollups(async (start) => {
      // Counts for two hours ago sit in the outbox (or BullMQ, or the worker): that hour and every later one
      // are under-counted until they are applied.
      await client.query(`INSERT INTO analytics_hourly (hour, metric, dimension, value) VALUES (date_trunc('hour', now()) - interval '2 hours', 'requests', 'products', 4)`);
      const id = await countsInOutbox(2);
      await countsInOutbox(1);
      assert.deepEqual(await read(0, start), [[-3 * H, 15]]);
      // Applied (the worker's claim commits with the increments): only the later hour's counts still wait.
      await client.query(`INSERT INTO job_claims (queue, job_id) VALUES ('notifications', $1)`, [`outbox-${id}`]);
      assert.deepEqual(await read(0, start), [
        [-3 * H, 15],
        [-2 * H, 4],
      ]);
      assert.match(warnings.at(-1) ?? '', /^warning: the history ends before .*: request counts of that hour are still waiting to be applied/);
      // Counts the relay has not sent yet hold the history back however old they are (the relay will send them) ...
      await client.query(`DELETE FROM outbox WHERE NOT EXISTS (SELECT 1 FROM job_claims c WHERE c.job_id = 'outbox-' || outbox.id)`);
      await client.query(`UPDATE outbox SET created_at = now() - interval '3 days'`);
      await countsInOutbox(2);
      assert.deepEqual(await read(0, start), [[-3 * H, 15]]);
      // ... counts failed for good (dead-lettered, not retried) and counts relayed more than a day ago and
      // never applied (lost with Redis, which keeps nothing on disk) do not, nor does an order's event.
      await client.query(`DELETE FROM outbox WHERE NOT EXISTS (SELECT 1 FROM job_claims c WHERE c.job_id = 'outbox-' || outbox.id)`);
      const failed = await countsInOutbox(2, '1 minute');
      await client.query(
        `INSERT INTO dead_letters (queue, job_id, name, data, failed_reason, attempts_made) VALUES ('notifications', $1, 'update-analytics', '{}', 'boom', 3)`,
        [`outbox-${failed}`],
      );
      await countsInOutbox(2, '25 hours');
      await client.query(`INSERT INTO outbox (queue, name, data) VALUES ('notifications', 'update-analytics', '{"eventType": "order_created", "orderId": 1, "amountCents": 100}')`);
      const warned = warnings.length;
      assert.deepEqual(await read(0, start), [
        [-3 * H, 15],
        [-2 * H, 4],
        [-1 * H, 7],
      ]);
      assert.equal(warnings.length, warned, 'no warning when nothing holds the history back');
      // Retried from the dead letters (`salescale queues retry-failed`): waiting again.
      await client.query(`UPDATE dead_letters SET retried_at = now()`);
      assert.deepEqual(await read(0, start), [[-3 * H, 15]]);
    });
  });

  it('reads the sale events', async () => {
    await client.query(`INSERT INTO sale_events (name, starts_at, ends_at, traffic_multiplier) VALUES ('Flash sale', '2026-10-02T10:00:00Z', '2026-10-02T14:00:00Z', 3)`);
    const events = await sourcesWith(0).loadSaleEvents?.();
    assert.deepEqual(events?.map((e) => [e.name, new Date(e.startsAt).toISOString(), new Date(e.endsAt).toISOString(), e.trafficMultiplier]), [['Flash sale', '2026-10-02T10:00:00.000Z', '2026-10-02T14:00:00.000Z', 3]]);
  });
});
