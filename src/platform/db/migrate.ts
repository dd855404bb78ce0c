import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { getCliConnectionConfig, survivingLostConnections } from './cli-connection.ts';
import { getNewestMigrationWhen } from './schema-state.ts';

export const MIGRATIONS_FOLDER = path.join(import.meta.dirname, 'migrations');

/** Arbitrary constant shared by every Salescale process: `hashtext('salescale:migrations')` in spirit. */
const MIGRATION_LOCK_KEY = 7_202_611_29;

/** What a `migrate` run did. */
export interface MigrationOutcome {
  /** Migrations this run applied. */
  applied: number;
  /**
   * Migrations in the database that this release does not know: a newer release applied them (this one is a
   * rollback). Then nothing is applied and the SQL definition files are not either (see `migrateWithOutcome`).
   */
  unknown: number;
}

/**
 * Applies pending migrations (tables: drizzle-kit's history), then the SQL definition files
 * (functions: `CREATE OR REPLACE`, applied on every run, in order; the modules list theirs in
 * `modules/sql-definitions.ts` and the composition root passes them, as platform knows no module).
 * Safe to run from many instances at once: a session-level advisory lock serialises them, and the
 * later ones find nothing left to do. Returns the number of migrations applied.
 */
export async function runMigrations(databaseUrl: string, definitions: readonly string[] = []): Promise<number> {
  return (await migrateWithOutcome(databaseUrl, definitions)).applied;
}

/**
 * `runMigrations`, saying also whether the database is ahead of this release. A release older than the
 * database (a rollback, an old image's migrate job run again) applies nothing: drizzle's migrator finds no
 * migration newer than the database's last. Its SQL definition files are left out too: the database's
 * functions are the newer release's, which the older code already ran against during the rolling update
 * that brought it in (expand/contract), while the older text over them would run the newer instances still
 * serving against functions they were never run with.
 */
export async function migrateWithOutcome(databaseUrl: string, definitions: readonly string[] = [], caCert?: string): Promise<MigrationOutcome> {
  const client = survivingLostConnections(new pg.Client(getCliConnectionConfig(databaseUrl, 'salescale-migrate', caCert)));
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const unknown = await countUnknown(client);
    if (unknown > 0) return { applied: 0, unknown };
    const before = await countApplied(client);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    for (const file of definitions) await client.query(await readFile(file, 'utf8'));
    return { applied: (await countApplied(client)) - before, unknown: 0 };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

/** Applied migrations newer than this release's newest (drizzle orders them by `created_at`, its journal's `when`). */
async function countUnknown(client: pg.Client): Promise<number> {
  const exists = await client.query(`SELECT to_regclass('drizzle.__drizzle_migrations') AS t`);
  if (exists.rows[0]?.t === null) return 0;
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations WHERE created_at > $1', [getNewestMigrationWhen()]);
  return rows[0]?.n ?? 0;
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`SELECT to_regclass('drizzle.__drizzle_migrations') AS t`);
  if (exists.rows[0]?.t === null) return 0;
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return rows[0]?.n ?? 0;
}
