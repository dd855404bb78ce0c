import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { closeRedis, createRedis } from '../../src/platform/redis/redis.ts';
import { SQL_DEFINITIONS } from '../../src/modules/sql-definitions.ts';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/platform/db/migrate.ts';

/** The machine's PostgreSQL (CI and every session have it on 127.0.0.1:5432 with trust auth). */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function urlFor(database: string): string {
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A template per migration set and SQL definitions: tests clone it instead of migrating each time (as Immich does). */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER, { recursive: true }).map(String).sort()) {
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(file).update(readFileSync(path.join(MIGRATIONS_FOLDER, file)));
  }
  for (const file of SQL_DEFINITIONS) hash.update(path.basename(file)).update(readFileSync(file));
  return `salescale_template_${hash.digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function ensureTemplate(): Promise<string> {
  const template = templateName();
  await withAdmin(async (admin) => {
    // Test files run in parallel processes: one builds the template, the others wait on the lock.
    await admin.query('SELECT pg_advisory_lock(7202611)');
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (rowCount) return;
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      await runMigrations(urlFor(building), SQL_DEFINITIONS);
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock(7202611)');
    }
  });
  return template;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = `salescale_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    // CREATE DATABASE … TEMPLATE fails while another session is connected to the template; retry, for up to 30 s of
    // the clock (not 20 tries: other files' sessions on a loaded machine may hold the template longer than 2 s).
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  return {
    name,
    url: urlFor(name),
    drop: () => dropDatabase(name),
  };
}

/**
 * Drops a test database, once the connections its pools were ending have gone (up to 5 s), then by force. pg-pool's
 * `end()` resolves once it has told its clients to end, not once their backends have gone: DROP … WITH (FORCE) at once
 * terminated a backend still closing, whose client (let go by its pool, with no listener left) raised the
 * termination error as an uncaught exception and failed a test file whose tests had all passed (CI).
 */
async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (admin) => {
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}

/** A fresh database with nothing in it, not even the migrations (for tests of migrating itself). */
export async function createEmptyDatabase(prefix = 'salescale_empty'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withAdmin(async (admin) => void (await admin.query(`CREATE DATABASE ${name}`)));
  return {
    name,
    url: urlFor(name),
    drop: () => dropDatabase(name),
  };
}

const issuedPrefixes = new Set<string>();
let sweepStarted = false;

/**
 * A Redis key prefix no other test uses (every Salescale key starts with it). Whatever keys a test file
 * leaves under its prefixes are removed when its process has nothing left to do (`beforeExit`, which
 * `node --test` lets run in each file's process), so a run leaves the shared Redis as it found it even
 * where a test's own teardown misses keys (a hash-tagged variant of the prefix, a child process's keys).
 */
export function testPrefix(): string {
  const prefix = `test-${randomBytes(6).toString('hex')}`;
  issuedPrefixes.add(prefix);
  if (issuedPrefixes.size === 1) process.on('beforeExit', sweepIssuedPrefixes);
  return prefix;
}

async function sweepIssuedPrefixes(): Promise<void> {
  if (sweepStarted) return;
  sweepStarted = true;
  for (const prefix of issuedPrefixes) await deleteRedisKeys(`*${prefix}*`).catch(() => undefined);
}

/** Removes the keys matching `pattern` from the shared test Redis (a test's or a benchmark's own prefix). */
export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = createRedis(TEST_REDIS_URL, { name: 'salescale-test-cleanup', role: 'queue' });
  try {
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    await closeRedis(redis);
  }
}
