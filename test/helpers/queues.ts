import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, type Database } from '../../src/platform/db/client.ts';
import { createQueueSet, type QueueSet } from '../../src/platform/queue/queues.ts';
import { closeRedis, createRedis } from '../../src/platform/redis/redis.ts';
import { ADMIN_TOKEN } from './app.ts';
import { TEST_REDIS_URL, createTestDatabase, deleteRedisKeys, testPrefix, type TestDatabase } from './db.ts';
import { startInstance, type Instance } from './instances.ts';

export interface QueueFixture {
  database: TestDatabase;
  db: Database;
  prefix: string;
  dataDir: string;
  mailDir: string;
  /** Environment of worker processes (own database, Redis prefix and data folder). */
  env: Record<string, string>;
  /** Queues to inspect, on `redisUrl` (default the fixture's REDIS_URL). */
  inspect(redisUrl?: string): Promise<QueueSet>;
  /** Starts `salescale worker` as a child process and waits for `readyPath` (default /ready) to answer 200. */
  startWorker(env?: Record<string, string>, readyPath?: string, options?: { detached?: boolean }): Promise<Instance>;
  close(): Promise<void>;
}

/** A database, Redis prefix and data folder of the test file's own, plus helpers to run workers. */
export async function createQueueFixture(extraEnv: Record<string, string> = {}): Promise<QueueFixture> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'salescale-queue-test-'));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    LOG_LEVEL: 'error',
    DATA_DIR: dataDir,
    OUTBOX_POLL_INTERVAL_MS: '50',
    // A killed worker's jobs come back after this (the production default is 30 s).
    WORKER_LOCK_DURATION_MS: '2000',
    // Below the lock duration (checked at load): a frozen worker's job transaction is ended before its re-delivery.
    WORKER_JOB_IDLE_TIMEOUT_MS: '1500',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...extraEnv,
  };
  const db = createDatabase({ url: database.url, poolMin: 0, poolMax: 4, statementTimeoutMs: 0, applicationName: 'salescale-test' });
  const opened: Array<{ close(): Promise<void> }> = [];
  const workers: Instance[] = [];
  return {
    database,
    db,
    prefix,
    dataDir,
    mailDir: path.join(dataDir, 'mail'),
    env,
    async inspect(redisUrl = env.REDIS_URL!) {
      const connection = createRedis(redisUrl, { name: 'salescale-test-inspect', role: 'queue' });
      connection.on('error', () => {});
      const queues = createQueueSet({ connection, redisPrefix: prefix });
      opened.push({
        close: async () => {
          await queues.close();
          await closeRedis(connection);
        },
      });
      return queues;
    },
    async startWorker(overrides = {}, readyPath = '/ready', options = {}) {
      // Its port (PORT and WORKER_PORT) is found by startInstance, which starts it again on another one if it was taken.
      const instance = await startInstance({ env: { ...env, ...overrides }, command: 'worker', readyPath, ...options });
      workers.push(instance);
      return instance;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      for (const resource of opened) await resource.close().catch(() => {});
      await deleteRedisKeys(`{${prefix}}*`).catch(() => {});
      await db.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value, or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
