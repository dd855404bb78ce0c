import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { SQL_DEFINITIONS } from '../../src/modules/sql-definitions.ts';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/platform/db/migrate.ts';
import { createEmptyDatabase } from './db.ts';

/**
 * A database migrated as it was before `tag` (that migration and every later one left out), for a test to
 * fill; `upgrade` then applies them all, as `salescale migrate` does, and returns how many it applied.
 */
export async function databaseBefore(tag: string) {
  const before = await mkdtemp(path.join(tmpdir(), 'salescale-migrations-'));
  const isLater = (name: string) => /^\d{4}_/.test(name) && name >= tag;
  await cp(MIGRATIONS_FOLDER, before, { recursive: true, filter: (source) => !isLater(path.basename(source)) });
  const journal = JSON.parse(await readFile(path.join(before, 'meta', '_journal.json'), 'utf8'));
  const upgrades = journal.entries.filter((entry: { tag: string }) => entry.tag >= tag).length;
  journal.entries = journal.entries.filter((entry: { tag: string }) => entry.tag < tag);
  await writeFile(path.join(before, 'meta', '_journal.json'), JSON.stringify(journal));

  const database = await createEmptyDatabase('salescale_upgrade');
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  await migrate(drizzle({ client: db }), { migrationsFolder: before });
  return {
    upgrades,
    q: async (text: string, values: unknown[] = []) => (await db.query(text, values)).rows,
    /** The same connection for Drizzle, for a repository to read the upgraded database as the application does. */
    orm: drizzle({ client: db }),
    upgrade: () => runMigrations(database.url, SQL_DEFINITIONS),
    async drop() {
      await db.end().catch(() => undefined);
      await database.drop();
      await rm(before, { recursive: true, force: true });
    },
  };
}

