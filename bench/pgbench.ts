/**
 * The physical reference for a hot-product checkout: pgbench running the single-statement
 * conditional update on one row, at its best client count, against the machine's PostgreSQL.
 * Any design that takes one row lock per sold unit is bounded by this figure; beating it needs
 * batching (e.g. reservations taken in bulk), not a faster single-row path.
 *
 *   import { measurePgbenchSingleRow } from './pgbench.ts';
 *   const ref = await measurePgbenchSingleRow({ durationSeconds: 4, log: ctx.log });
 *   if (!ref.available) return skip(ref.reason);
 *   ref.bestTps, ref.bestClients
 *
 * Also a diagnostic scenario on its own: `npx salescale bench pgbench`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../test/helpers/db.ts';
import { round, skip, type Scenario } from './scenario.ts';

export const PGBENCH_INSTALL_HINT = 'install the PostgreSQL client tools that carry pgbench: `apt-get install -y postgresql-contrib` (Debian 12: PostgreSQL 15; the binary lands in /usr/lib/postgresql/15/bin/pgbench)';

export const SINGLE_ROW_UPDATE = 'UPDATE bench_hot SET available = available - 1 WHERE id = 1 AND available >= 1;';

export type PgbenchReference =
  | {
      available: true;
      bestTps: number;
      bestClients: number;
      perClients: Array<{ clients: number; tps: number; latencyAvgMs: number }>;
      statement: string;
      pgbench: string;
    }
  | { available: false; reason: string };

/** pgbench on PATH, else the newest under /usr/lib/postgresql/<major>/bin. */
export function findPgbench(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pgbench'))) return path.join(dir, 'pgbench');
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const candidate = path.join(root, major, 'bin', 'pgbench');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Parses `tps = 1234.5 (without initial connection time)` and `latency average = 1.2 ms`. */
export function parsePgbenchOutput(out: string): { tps: number; latencyAvgMs: number } {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out) ?? /tps = ([\d.]+)/.exec(out);
  if (!tps) throw new Error(`unexpected pgbench output: ${out.slice(-300)}`);
  const latency = /latency average = ([\d.]+) ms/.exec(out);
  return { tps: Number(tps[1]), latencyAvgMs: latency ? Number(latency[1]) : Number.NaN };
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pgbench failed: ${error.message}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export interface PgbenchOptions {
  /** Seconds per client count. @defaultValue 4 */
  durationSeconds?: number;
  /** Client counts tried; the best tps wins. @defaultValue [1, 2, 4, 8, 16, 32] */
  clients?: number[];
  log?: (message: string) => void;
}

/**
 * Creates a throw-away database with one row, runs the conditional update at each client count
 * (prepared statements, no vacuum, threads = min(clients, CPUs)), drops the database.
 */
export async function measurePgbenchSingleRow(options: PgbenchOptions = {}): Promise<PgbenchReference> {
  const binary = findPgbench();
  if (!binary) return { available: false, reason: `pgbench not found; ${PGBENCH_INSTALL_HINT}` };
  const durationSeconds = options.durationSeconds ?? 4;
  const clientCounts = options.clients ?? [1, 2, 4, 8, 16, 32];
  const admin = new URL(TEST_PG_ADMIN_URL);
  const name = `salescale_pgbench_${process.pid}_${Date.now().toString(36)}`;
  const adminClient = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await adminClient.connect();
  const dir = await mkdtemp(path.join(tmpdir(), 'salescale-pgbench-'));
  try {
    await adminClient.query(`CREATE DATABASE ${name}`);
    const dbUrl = new URL(TEST_PG_ADMIN_URL);
    dbUrl.pathname = `/${name}`;
    const setup = new pg.Client({ connectionString: dbUrl.toString() });
    await setup.connect();
    // Stock large enough never to sell out during the run: every transaction updates the row.
    await setup.query('CREATE TABLE bench_hot (id int PRIMARY KEY, available bigint NOT NULL)');
    await setup.query('INSERT INTO bench_hot VALUES (1, 1000000000000)');
    await setup.end();
    const script = path.join(dir, 'single-row.sql');
    await writeFile(script, `${SINGLE_ROW_UPDATE}\n`);
    const env = {
      ...process.env,
      PGHOST: admin.hostname,
      PGPORT: admin.port || '5432',
      PGUSER: decodeURIComponent(admin.username || 'postgres'),
      ...(admin.password ? { PGPASSWORD: decodeURIComponent(admin.password) } : {}),
    };
    const perClients: Array<{ clients: number; tps: number; latencyAvgMs: number }> = [];
    for (const clients of clientCounts) {
      const threads = Math.min(clients, 2);
      const out = await run(binary, ['-n', '-M', 'prepared', '-f', script, '-c', String(clients), '-j', String(threads), '-T', String(durationSeconds), name], env, (durationSeconds + 60) * 1000);
      const parsed = parsePgbenchOutput(out);
      perClients.push({ clients, tps: round(parsed.tps), latencyAvgMs: parsed.latencyAvgMs });
      options.log?.(`pgbench single-row update, ${clients} clients: ${Math.round(parsed.tps)} tps`);
    }
    const best = perClients.reduce((a, b) => (b.tps > a.tps ? b : a));
    return { available: true, bestTps: best.tps, bestClients: best.clients, perClients, statement: SINGLE_ROW_UPDATE, pgbench: binary };
  } finally {
    await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await adminClient.end();
    await rm(dir, { recursive: true, force: true });
  }
}

export const pgbenchScenario: Scenario = {
  name: 'pgbench',
  describe: 'pgbench single-statement conditional update on one row, best client count (the checkout-hot reference)',
  optional: true,
  async run(ctx) {
    const ref = await measurePgbenchSingleRow({ durationSeconds: Math.max(2, Math.round(ctx.durationSeconds / 2)), log: ctx.log });
    if (!ref.available) return skip(ref.reason);
    return { figures: { bestTps: ref.bestTps, bestClients: ref.bestClients }, ratios: {}, checks: [], details: { ...ref } };
  },
};
