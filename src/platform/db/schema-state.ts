import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

const JOURNAL = path.join(import.meta.dirname, 'migrations', 'meta', '_journal.json');

let newestWhen: number | undefined;

/** The `when` of this release's newest migration (drizzle-kit's journal; drizzle records it as `created_at`). */
export function getNewestMigrationWhen(): number {
  newestWhen ??= Math.max(0, ...(JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: { when: number }[] }).entries.map((entry) => entry.when));
  return newestWhen;
}

/**
 * Whether the database lacks this release's newest migration (never migrated, or `migrate` of this release not run
 * yet): drizzle applies every migration newer than the newest it recorded, so that one tells. A database ahead of
 * the release (a rollback) is not behind: an older release runs on a newer schema (expand/contract).
 */
export async function isSchemaBehind(pool: Pick<pg.Pool, 'query'>): Promise<boolean> {
  // Two statements: a query naming a table that does not exist fails when it is parsed, whatever a CASE would run.
  const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass('drizzle.__drizzle_migrations')::text AS t`);
  if (exists.rows[0]?.t == null) return true;
  const { rows } = await pool.query<{ newest: string | null }>('SELECT max(created_at)::text AS newest FROM drizzle.__drizzle_migrations');
  const newest = rows[0]?.newest;
  return newest == null || Number(newest) < getNewestMigrationWhen();
}

/**
 * A readiness check of the schema: `behind` while the database lacks this release's newest migration, `up` once it has
 * it (then never read again: a database only moves forward, and a rollback's is ahead), undefined when it could not be
 * read in `timeoutMs` (the database check says why).
 */
export function createSchemaCheck(pool: Pick<pg.Pool, 'query'>, timeoutMs = 1500): () => Promise<'up' | 'behind' | undefined> {
  let current = false;
  return async () => {
    if (current) return 'up';
    let timer: NodeJS.Timeout | undefined;
    try {
      const behind = await Promise.race([isSchemaBehind(pool), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
      current = !behind;
      return behind ? 'behind' : 'up';
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
}
