import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { runMigrations } from './migrate.ts';

describe('runMigrations', () => {
  it('applies every migration exactly once when several instances start on an empty database at the same time', async () => {
    const name = `salescale_migrate_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_PG_ADMIN_URL);
    url.pathname = `/${name}`;
    try {
      const applied = await Promise.all(Array.from({ length: 4 }, () => runMigrations(url.toString())));
      const total = applied.reduce((sum, n) => sum + n, 0);
      assert.ok(total >= 2, `applied ${total}`);
      assert.equal(applied.filter((n) => n > 0).length, 1, 'one instance did the work, the others found nothing to do');
      const db = new pg.Client({ connectionString: url.toString() });
      await db.connect();
      const { rows } = await db.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      await db.end();
      assert.equal(rows[0].n, total);
      assert.equal(await runMigrations(url.toString()), 0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
