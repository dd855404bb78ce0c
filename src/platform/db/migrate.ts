import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { getCliConnectionConfig } from './cli-connection.ts';

export const MIGRATIONS_FOLDER = path.join(import.meta.dirname, 'migrations');

/** Arbitrary constant shared by every Salescale process: `hashtext('salescale:migrations')` in spirit. */
const MIGRATION_LOCK_KEY = 7_202_611_29;

/**
 * Applies pending migrations (tables: drizzle-kit's history), then the SQL definition files
 * (functions: `CREATE OR REPLACE`, applied on every run, in order; the modules list theirs in
 * `modules/sql-definitions.ts` and the composition root passes them, as platform knows no module).
 * Safe to run from many instances at once: a session-level advisory lock serialises them, and the
 * later ones find nothing left to do. Returns the number of migrations applied.
 */
export async function runMigrations(databaseUrl: string, definitions: readonly string[] = []): Promise<number> {
  const client = new pg.Client(getCliConnectionConfig(databaseUrl, 'salescale-migrate'));
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const before = await countApplied(client);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    for (const file of definitions) await client.query(await readFile(file, 'utf8'));
    return (await countApplied(client)) - before;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`SELECT to_regclass('drizzle.__drizzle_migrations') AS t`);
  if (exists.rows[0]?.t === null) return 0;
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return rows[0]?.n ?? 0;
}
