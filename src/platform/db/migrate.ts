import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

export const MIGRATIONS_FOLDER = path.join(import.meta.dirname, 'migrations');

/** Arbitrary constant shared by every Salescale process: `hashtext('salescale:migrations')` in spirit. */
const MIGRATION_LOCK_KEY = 7_202_611_29;

/**
 * Applies pending migrations. Safe to run from many instances at once: a session-level advisory
 * lock serialises them, and the later ones find nothing left to do. Returns the number applied.
 */
export async function runMigrations(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'salescale-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const before = await countApplied(client);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
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
