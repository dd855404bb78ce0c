import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { databaseBefore } from '../../../test/helpers/migrations.ts';

const MULTIPLIER_RANGE = '0035_sale_events_multiplier_range';

const insertEvent = (multiplier: number, returning = 'traffic_multiplier') => ({
  text: `insert into sale_events (name, starts_at, ends_at, traffic_multiplier) values ('Direct', now(), now() + interval '1 hour', $1) returning ${returning}`,
  values: [multiplier],
});

/**
 * The API takes a traffic multiplier from 0.01 to 1000; the table held any value above 0, so a row written by SQL or
 * another tool (1e-320, 0.001, 5000) reached every reader of the sale events (the capacity plan, the scaling data).
 */
describe('sale events: the traffic multiplier in the database', () => {
  it('refuses a multiplier below 0.01 or above 1000 written by SQL, and takes 0.01 and 1000', async () => {
    const database = await createTestDatabase();
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      for (const multiplier of [0.001, 1001, 1e-320, 0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(db.query(insertEvent(multiplier)), /sale_events_multiplier_range/, String(multiplier));
      }
      for (const multiplier of [0.01, 1000]) {
        const { rows } = await db.query(insertEvent(multiplier));
        assert.equal(rows[0].traffic_multiplier, multiplier);
      }
    } finally {
      await db.end();
      await database.drop();
    }
  });

  it('the migration clamps the multipliers stored before it into 0.01 to 1000 and leaves the others as they are', async () => {
    const upgrade = await databaseBefore(MULTIPLIER_RANGE);
    const { q } = upgrade;
    try {
      const ids: Record<string, number> = {};
      for (const multiplier of [1e-320, 0.001, 0.01, 3, 1000, 5000, Number.NaN, Number.POSITIVE_INFINITY]) {
        const { text, values } = insertEvent(multiplier, 'id');
        ids[multiplier] = Number((await q(text, values))[0].id);
      }
      assert.ok(upgrade.upgrades >= 1, `${MULTIPLIER_RANGE} is a migration to apply`);
      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      const stored = async (multiplier: number) => (await q('select traffic_multiplier from sale_events where id = $1', [ids[multiplier]]))[0].traffic_multiplier;
      assert.equal(await stored(1e-320), 0.01);
      assert.equal(await stored(0.001), 0.01);
      assert.equal(await stored(0.01), 0.01);
      assert.equal(await stored(3), 3);
      assert.equal(await stored(1000), 1000);
      assert.equal(await stored(5000), 1000);
      assert.equal(await stored(Number.NaN), 1, 'NaN: the default');
      assert.equal(await stored(Number.POSITIVE_INFINITY), 1000);
    } finally {
      await upgrade.drop();
    }
  });
});
