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

  it('learns from complete hours only, with hours that have no rollup as 0, summed over route groups', async () => {
    const sources = scalingDataSources(() => database.url);
    const hourNow = async () => (await client.query<{ h: Date }>(`SELECT date_trunc('hour', now()) AS h`)).rows[0].h.getTime();
    // Retried once if the clock crosses an hour while the test runs (the current hour would become complete).
    for (let attempt = 0; ; attempt++) {
      await client.query('DELETE FROM analytics_hourly');
      const start = await hourNow();
      await client.query(`
        INSERT INTO analytics_hourly (hour, metric, dimension, value) VALUES
          (date_trunc('hour', now()) - interval '3 hours', 'requests', 'products', 10),
          (date_trunc('hour', now()) - interval '3 hours', 'requests', 'categories', 5),
          (date_trunc('hour', now()) - interval '3 hours', 'orders', '', 99),
          (date_trunc('hour', now()) - interval '1 hour', 'requests', 'products', 7),
          (date_trunc('hour', now()), 'requests', 'products', 2)`);
      const history = await sources.loadHourlyHistory?.();
      if ((await hourNow()) !== start && attempt === 0) continue;
      assert.deepEqual(
        history?.map((p) => [p.hour.getTime() - start, p.requests]),
        [
          [-3 * 3_600_000, 15],
          [-2 * 3_600_000, 0],
          [-1 * 3_600_000, 7],
        ],
      );
      return;
    }
  });

  it('reads the sale events', async () => {
    await client.query(`INSERT INTO sale_events (name, starts_at, ends_at, traffic_multiplier) VALUES ('Flash sale', '2026-10-02T10:00:00Z', '2026-10-02T14:00:00Z', 3)`);
    const events = await scalingDataSources(() => database.url).loadSaleEvents?.();
    assert.deepEqual(events?.map((e) => [e.name, new Date(e.startsAt).toISOString(), new Date(e.endsAt).toISOString(), e.trafficMultiplier]), [['Flash sale', '2026-10-02T10:00:00.000Z', '2026-10-02T14:00:00.000Z', 3]]);
  });
});
