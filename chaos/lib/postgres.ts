import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { freePort } from '../../src/platform/local/local-stack.ts';
import { spawnGroup, sleep, until, type GroupProcess } from './processes.ts';

/** The machine's PostgreSQL binaries (Debian: /usr/lib/postgresql/<major>/bin), newest major first. */
async function binDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const majors = (await readdir(root).catch(() => [])).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) throw new Error(`no PostgreSQL binaries under ${root} (Debian: apt-get install postgresql)`);
  return path.join(root, majors[0]!, 'bin');
}

export interface PrivatePostgres {
  url: string;
  adminUrl: string;
  port: number;
  /** Fast shutdown (SIGINT: sessions are disconnected, checkpoint, clean exit) then start again. */
  restart(): Promise<void>;
  /** Immediate stop (SIGQUIT: every process quits at once, no checkpoint: crash recovery at the next start). */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** pg_terminate_backend on every connection of the application's database; returns how many. */
  terminateBackends(): Promise<number>;
  /** A hot standby streaming from this server (pg_basebackup), on a port of its own. */
  startStandby(): Promise<PrivateStandby>;
  destroy(): Promise<void>;
}

export interface PrivateStandby {
  port: number;
  /** The URL of `database` on the standby. */
  urlOf(database: string): string;
  /** Stops applying the WAL it receives (`pg_wal_replay_pause`): it lags from now on, as a busy replica does. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Waits until it has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL of the chaos suite's own: initdb into a temporary folder, the postmaster on a free
 * loopback port (never the machine's 5432, which other work shares), stopped and removed at the end.
 * As root, the server runs as the `postgres` system user (PostgreSQL refuses to run as root).
 */
export async function startPrivatePostgres(database = 'salescale_chaos'): Promise<PrivatePostgres> {
  const bin = await binDir();
  const dir = await mkdtemp(path.join(tmpdir(), 'salescale-chaos-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  if (asRoot) await chown(dir, ids.uid!, ids.gid!);
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...ids, stdio: 'pipe' });
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = `postgres://postgres@127.0.0.1:${port}/${database}`;
  let server: GroupProcess | undefined;

  async function start(): Promise<void> {
    server = spawnGroup(
      path.join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'max_connections=200', '-c', 'shared_buffers=64MB'],
      ids,
    );
    await until(
      'PostgreSQL to accept connections',
      async () => {
        if (server!.child.exitCode !== null) throw new Error(`postgres exited: ${server!.output()}`);
        const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => {});
        }
      },
      30_000,
    );
  }

  async function stop(signal: NodeJS.Signals): Promise<void> {
    await server?.stop(signal, 20_000);
    server = undefined;
  }

  async function startStandby(): Promise<PrivateStandby> {
    const standbyData = path.join(dir, `standby-${Math.random().toString(36).slice(2, 8)}`);
    const standbyPort = await freePort();
    // -R writes standby.signal and primary_conninfo; initdb's trust rules let replication in from 127.0.0.1. A hot
    // standby needs max_connections at least the primary's.
    execFileSync(path.join(bin, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-D', standbyData, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], { ...ids, stdio: 'pipe' });
    const standbyAdminUrl = `postgres://postgres@127.0.0.1:${standbyPort}/postgres`;
    const standby = spawnGroup(
      path.join(bin, 'postgres'),
      ['-D', standbyData, '-p', String(standbyPort), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'hot_standby=on', '-c', 'max_connections=200'],
      ids,
    );
    const query = async <R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        return (await client.query<R>(text)).rows;
      } finally {
        await client.end().catch(() => {});
      }
    };
    await until(
      'the standby to accept connections',
      async () => {
        if (standby.child.exitCode !== null) throw new Error(`standby exited: ${standby.output()}`);
        return (await query<{ standby: boolean }>(standbyAdminUrl, 'SELECT pg_is_in_recovery() AS standby'))[0]!.standby;
      },
      30_000,
    );
    return {
      port: standbyPort,
      urlOf: (name) => `postgres://postgres@127.0.0.1:${standbyPort}/${name}`,
      pauseReplay: async () => void (await query(standbyAdminUrl, 'SELECT pg_wal_replay_pause()')),
      resumeReplay: async () => void (await query(standbyAdminUrl, 'SELECT pg_wal_replay_resume()')),
      async caughtUp() {
        const [{ lsn }] = (await query<{ lsn: string }>(adminUrl, 'SELECT pg_current_wal_insert_lsn()::text AS lsn')) as [{ lsn: string }];
        await until(
          'the standby to replay the primary\'s writes',
          async () => (await query<{ done: boolean }>(standbyAdminUrl, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS done`))[0]!.done,
          30_000,
          20,
        );
      },
      async destroy() {
        await standby.stop('SIGQUIT', 20_000);
        await rm(standbyData, { recursive: true, force: true });
      },
    };
  }

  await start();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  return {
    url,
    adminUrl,
    port,
    start,
    async restart() {
      await stop('SIGINT');
      await start();
    },
    async crash() {
      await stop('SIGQUIT');
      await sleep(50);
    },
    startStandby,
    async terminateBackends() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
        return rows[0]?.n ?? 0;
      } finally {
        await client.end();
      }
    },
    async destroy() {
      await stop('SIGQUIT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
