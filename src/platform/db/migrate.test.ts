import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createEmptyDatabase } from '../../../test/helpers/db.ts';
import { runMigrations } from './migrate.ts';

describe('runMigrations', () => {
  it('applies every migration exactly once when several instances start on an empty database at the same time', async () => {
    const database = await createEmptyDatabase('salescale_migrate');
    const url = database.url;
    try {
      const applied = await Promise.all(Array.from({ length: 4 }, () => runMigrations(url)));
      const total = applied.reduce((sum, n) => sum + n, 0);
      assert.ok(total >= 2, `applied ${total}`);
      assert.equal(applied.filter((n) => n > 0).length, 1, 'one instance did the work, the others found nothing to do');
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      await db.end();
      assert.equal(rows[0].n, total);
      assert.equal(await runMigrations(url), 0);
    } finally {
      await database.drop();
    }
  });
});
