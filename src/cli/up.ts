import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { survivingLostConnections } from '../platform/db/cli-connection.ts';
import { seedCatalog } from '../modules/catalog/index.ts';
import { loadConfig } from '../platform/config/config.ts';
import { SQL_DEFINITIONS } from '../modules/sql-definitions.ts';
import { runMigrations } from '../platform/db/migrate.ts';
import { claimDataDir, findRedisServer, LocalStackError, startEmbeddedPostgres, StartInterruptedError, startLocalRedis, type LocalService } from '../platform/local/local-stack.ts';
import { listenOrExplain } from '../platform/http/listen-error.ts';
import { createLogger } from '../platform/logger/logger.ts';
import { startWeb } from '../web/web-role.ts';
import type { Stoppable } from './termination.ts';
import { startWorker } from '../worker/worker-role.ts';

const DEMO = { products: 1000, categories: 24 };

/** The secrets `up` keeps for development, each with the random bytes it is generated from. */
const GENERATED_SECRETS = { ADMIN_API_TOKEN: 24, SESSION_SECRET: 32 } as const;

/** Development secrets kept under the data folder so the admin token survives restarts. */
async function localSecrets(dataDir: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  if (env.NODE_ENV === 'production') return {};
  const file = path.join(dataDir, 'secrets.json');
  const stored: Record<string, string> = existsSync(file) ? parseSecrets(file, await readFile(file, 'utf8')) : {};
  // A secret missing from the file (new, or edited by hand) is generated and written into it: one generated for the
  // process alone would be an admin token nobody can read, since `up` names the file and never prints the token.
  const missing = Object.entries(GENERATED_SECRETS).filter(([name]) => stored[name] === undefined);
  if (missing.length > 0) {
    for (const [name, bytes] of missing) stored[name] = randomBytes(bytes).toString('base64url');
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
    // `mode` applies only when the file is created: one edited by hand may be readable by everyone, and now holds the
    // admin token.
    await chmod(file, 0o600);
  }
  return Object.fromEntries(Object.entries(stored).filter(([name]) => !env[name]));
}

/** The stored secrets; a file cut short (a full disk) or edited by hand is said in one line, not a SyntaxError's stack. */
function parseSecrets(file: string, text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    parsed = error;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || parsed instanceof Error || Object.values(parsed).some((value) => typeof value !== 'string')) {
    const why = parsed instanceof Error ? parsed.message : 'expected {"ADMIN_API_TOKEN": "…", "SESSION_SECRET": "…"}';
    throw new LocalStackError(`${file} is not a JSON object of secrets (${why}): fix it, or remove it (new ones are then generated, and the admin token changes)`);
  }
  return parsed as Record<string, string>;
}

/**
 * DATA_DIR cannot be created or written (EACCES, EROFS, ENOTDIR): an operator's problem, said in one line.
 * Left as it was, a stack trace, or for EACCES the CLI's "cannot listen … (choose another PORT)".
 */
function unusableDataDir(dataDir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC'].includes(code)) return error;
  return new LocalStackError(`DATA_DIR ${dataDir} cannot be used: ${(error as Error).message}: set DATA_DIR to a folder you can write`);
}

/**
 * Fails with the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL: a {@link ListenError}) when `port` cannot be listened on, so that `up` stops
 * before it starts PostgreSQL and Redis rather than after, with their shutdown in the way of the cause.
 * The web role listens for real later (a port taken meanwhile still fails there, as cleanly).
 */
async function ensureCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await listenOrExplain(
    { host, port, portVariable: 'PORT' },
    () =>
      new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
      }),
  );
}

/**
 * `salescale up`: everything on one machine with nothing configured. Starts an embedded PostgreSQL
 * and a local redis-server for whatever DATABASE_URL / REDIS_URL leave unset, migrates, seeds a demo
 * catalog into an empty database, and runs the web role until Ctrl-C (or SIGTERM, or SIGHUP when the
 * terminal closes): the worker and the web role drain first, then the local services stop.
 *
 * The caller listens for the signals before calling it (`runUntilSignal`): on one during start-up `interrupted`
 * is aborted, the step under way finishes, the steps left are skipped, and the handle returned stops what started;
 * when the step under way fails, what started is stopped and its error thrown, as without a signal.
 * The local services run in their own process group, so a Ctrl-C reaches only this process.
 */
export async function runUp(env: NodeJS.ProcessEnv = process.env, interrupted: AbortSignal = new AbortController().signal): Promise<Stoppable> {
  const base = loadConfig(env);
  const logger = createLogger({ level: base.logLevel, name: 'up', instanceId: base.instanceId });
  // A Ctrl-C during a start-up step of seconds (initdb, migrations) is acknowledged at once, not after the step.
  const sayInterrupted = () => logger.info({ signal: interrupted.reason as unknown }, 'start-up interrupted: stopping after the step under way');
  interrupted.addEventListener('abort', sayInterrupted, { once: true });
  await ensureCanListen(base.http.host, base.http.port);
  if (!base.redis.url) findRedisServer(); // before PostgreSQL is initialised (seconds, and a data folder) for nothing
  const dataDir = path.resolve(base.dataDir);
  await mkdir(dataDir, { recursive: true }).catch((error: unknown) => {
    throw unusableDataDir(dataDir, error);
  });
  await claimDataDir(dataDir).catch((error: unknown) => {
    throw unusableDataDir(dataDir, error);
  });
  const started: LocalService[] = [];
  const stopLocal = async () => {
    for (const service of started.reverse()) await service.stop().catch((error) => logger.warn({ err: error }, 'stopping a local service failed'));
  };
  let roles: { stop: () => Promise<void> } | undefined;
  const up: Stoppable = {
    async shutdown() {
      await roles?.stop();
      await stopLocal();
    },
  };
  const startup = (async () => {
    if (interrupted.aborted) return;
    const overrides: Record<string, string> = await localSecrets(dataDir, env).catch((error: unknown) => {
      throw unusableDataDir(dataDir, error);
    });
    if (!base.db.url) {
      const postgres = await startEmbeddedPostgres(dataDir, logger, interrupted);
      started.push(postgres);
      overrides.DATABASE_URL = postgres.url;
    }
    if (interrupted.aborted) return;
    if (!base.redis.url) {
      const redis = await startLocalRedis(dataDir, logger);
      started.push(redis);
      overrides.REDIS_URL = redis.url;
    }
    if (interrupted.aborted) return;
    const config = loadConfig({ ...env, ...overrides });
    const applied = await runMigrations(config.db.url!, SQL_DEFINITIONS);
    logger.info({ applied }, 'migrations applied');
    await seedIfEmpty(config.db.url!, config.checkout.stockShards, logger);
    if (interrupted.aborted) return;
    const web = await startWeb(config);
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    roles = {
      async stop() {
        await worker?.shutdown('signal');
        await web.shutdown('signal');
      },
    };
    if (interrupted.aborted) return;
    // The worker role in the same process, sharing the web role's pools and metrics registry; its log lines
    // are named `worker`, so that a job's lines are not read as the web role's.
    const workerLogger = createLogger({ level: config.logLevel, name: 'worker', instanceId: config.instanceId });
    worker = await startWorker(config, { platform: { ...web.platform, logger: workerLogger }, http: false });
    const lines = [
      '',
      `  Salescale is running (${started.length > 0 ? 'local services under ' + dataDir : 'your DATABASE_URL / REDIS_URL'})`,
      `  Storefront ${web.url}/`,
      `  API        ${web.url}/api/v1/products`,
      `  API docs   ${web.url}/docs`,
      `  Health     ${web.url}/health   Ready ${web.url}/ready`,
      `  Metrics    ${metricsUrlOf(web.url, config.observability.metricsPort)}`,
      `  Queues     ${web.url}/admin/queues (admin token)   Mail ${path.join(dataDir, 'mail')}${config.mail.smtpUrl ? ' (unused: SMTP_URL is set)' : ''}`,
      // Where the token is, never the token: this output may land in a log that is shipped and kept.
      `  Admin      Authorization: Bearer <ADMIN_API_TOKEN${overrides.ADMIN_API_TOKEN ? ` in ${path.join(dataDir, 'secrets.json')}` : ', as set'}>`,
      '  Stop       Ctrl-C',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  })();
  try {
    await startup;
  } catch (error) {
    if (error instanceof StartInterruptedError) return up; // the signal's handler stops what started and exits 0
    // Also after a signal: a step that failed is the outcome, said in one line with serve's exit code (the signal's
    // handler leaves a failed start to the CLI). Returning the handle instead made it exit 0 without a word.
    await roles?.stop().catch((stopError) => logger.warn({ err: stopError }, 'stopping the roles failed'));
    await stopLocal();
    throw error;
  } finally {
    interrupted.removeEventListener('abort', sayInterrupted);
  }
  return up;
}

/** Where `/metrics` is served: on METRICS_PORT's listener (same host) when set, else beside the API on PORT. */
function metricsUrlOf(webUrl: string, metricsPort: number): string {
  const url = new URL('/metrics', webUrl);
  if (metricsPort > 0) url.port = String(metricsPort);
  return url.href;
}

async function seedIfEmpty(databaseUrl: string, stockShards: number, logger: ReturnType<typeof createLogger>): Promise<void> {
  const pool = survivingLostConnections(new pg.Pool({ connectionString: databaseUrl, max: 2 }));
  try {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
    if ((rows[0]?.n ?? 0) > 0) return;
    const result = await seedCatalog(pool, { ...DEMO, stockShards });
    logger.info(result, 'seeded a demo catalog into the empty database');
  } finally {
    await pool.end();
  }
}
