/**
 * Scenario `queue`: the outbox path (enqueue in a transaction → relay → one `salescale worker`
 * process applying `update-analytics` once per job) against a bare BullMQ no-op producer/worker on
 * the same Redis, in one run.
 *
 *   npm run bench:queue            (= salescale bench queue; BENCH_JOBS=20000 to change the job count)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createDatabase } from '../src/platform/db/client.ts';
import { freePort } from '../src/platform/local/local-stack.ts';
import { enqueueInTransaction } from '../src/platform/outbox/outbox.ts';
import { DEFAULT_CONCURRENCY, JOBS, QUEUES, queuePrefix } from '../src/platform/queue/queue-definitions.ts';
import { loadConfig } from '../src/platform/config/config.ts';
import { startWorker } from '../src/worker/worker-role.ts';
import { TEST_REDIS_URL } from '../test/helpers/db.ts';
import type pg from 'pg';
import { check, round, type Scenario } from './scenario.ts';
import { localRedisPid, startSideCosts, type SideCosts, type SideCostsWindow } from './side-costs.ts';
import { BENCH_SECRETS, MAIN } from './stack.ts';

const ENQUEUE_CONCURRENCY = 16;
/** The notifications queue's concurrency, for our worker and the bare reference alike (BENCH_QUEUE_CONCURRENCY to explore). */
const CONCURRENCY = Number(process.env.BENCH_QUEUE_CONCURRENCY ?? DEFAULT_CONCURRENCY.notifications);

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000);
async function until(check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const queueScenario: Scenario = {
  name: 'queue',
  describe: 'outbox enqueue, relay and one worker process applying update-analytics vs a bare BullMQ no-op worker',
  async run(ctx) {
    const JOBS_COUNT = Number(process.env.BENCH_JOBS ?? 10_000);
    const database = await ctx.database();
    const prefix = database.redisPrefix;
    const dataDir = await mkdtemp(path.join(tmpdir(), 'salescale-bench-queue-'));
    ctx.onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const db = createDatabase({ url: database.url, poolMin: 0, poolMax: ENQUEUE_CONCURRENCY + 2, statementTimeoutMs: 0, applicationName: 'salescale-bench' });
    ctx.onCleanup(() => db.close());
    const pool = db.pools.primary;
    const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]!.n;
    // Exploration only (BENCH_QUEUE_SYNCHRONOUS_COMMIT=off): how much of a job is the WAL flush of its commit.
    if (process.env.BENCH_QUEUE_SYNCHRONOUS_COMMIT === 'off') await pool.query(`ALTER DATABASE ${new URL(database.url).pathname.slice(1)} SET synchronous_commit = off`);
    // 1. Outbox enqueue: one row per transaction, as a checkout writes it, from 16 concurrent clients.
    let next = 0;
    const enqueueStarted = performance.now();
    await Promise.all(
      Array.from({ length: ENQUEUE_CONCURRENCY }, async () => {
        while (next < JOBS_COUNT) {
          const i = next++;
          await db.primary.transaction((tx) =>
            enqueueInTransaction(tx, { queue: QUEUES.notifications, name: JOBS.updateAnalytics, data: { eventType: 'order_created', orderId: i, amountCents: 100 } }),
          );
        }
      }),
    );
    const outboxEnqueueMs = performance.now() - enqueueStarted;

    // 2. One worker process: relays the backlog into BullMQ and applies every job once.
    const port = await freePort();
    const profileDir = process.env.BENCH_WORKER_CPU_PROF;
    const worker = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), MAIN, 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: prefix,
        ...BENCH_SECRETS,
        DATA_DIR: dataDir,
        WORKER_QUEUES: 'notifications',
        WORKER_CONCURRENCY: `notifications=${CONCURRENCY}`,
        WORKER_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    ctx.onCleanup(() => void (worker.exitCode === null && worker.kill('SIGKILL')));
    const workerStarted = performance.now();
    let relayedMs = 0;
    // What the worker's connections wait on while it works (PostgreSQL's own view, sampled).
    const waits = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await pool.query<{ wait: string }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, state) AS wait FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'salescale-worker%' AND state <> 'idle'`,
        );
        for (const { wait } of rows) waits.set(wait, (waits.get(wait) ?? 0) + 1);
        if (rows.length === 0) waits.set('(no active statement)', (waits.get('(no active statement)') ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await until(async () => {
      if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode}`);
      if (!relayedMs && (await count('SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL')) === 0) relayedMs = performance.now() - workerStarted;
      return (await count('SELECT count(*)::int AS n FROM job_claims')) === JOBS_COUNT;
    });
    const workerProcessMs = performance.now() - workerStarted;
    sampling = false;
    await sampler;
    // Steady processing rate from the claims' own timestamps (excludes process start-up).
    const span = (await pool.query<{ ms: number }>('SELECT extract(epoch FROM max(claimed_at) - min(claimed_at)) * 1000 AS ms FROM job_claims')).rows[0]!.ms;
    await new Promise((resolve) => {
      worker.once('exit', resolve);
      worker.kill('SIGTERM');
    });
    const rollup = await count(`SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = 'orders'`);
    if (rollup !== JOBS_COUNT) throw new Error(`expected ${JOBS_COUNT} orders in the rollup, found ${rollup}`);

    // Sides 3–5 run in this process one after the other on the same Redis and database; each is timed
    // from its first to its last completion, with its costs over that window (side-costs.ts).
    // BENCH_QUEUE_ORDER=bare-first (exploration) measures the reference before the worker role.
    const redisProbe = new Redis(TEST_REDIS_URL);
    const meter: Meter = { pool, redisPid: await localRedisPid(redisProbe).finally(() => redisProbe.disconnect()) };
    const bareFirst = process.env.BENCH_QUEUE_ORDER === 'bare-first' ? await measureBare(prefix, JOBS_COUNT, meter) : undefined;
    // 3. The worker role's own machinery (startWorker: its Worker options, dead-letter wrapper,
    //    metrics listeners) with a no-op handler for the same job name, in this process like the reference.
    const machinery = await measureWorkerRole(database.url, `${prefix}-m`, dataDir, JOBS_COUNT, 'no-op', meter);
    // 4. The same with the real update-analytics handler, jobs already in BullMQ (no relay running):
    //    the processing figure comparable with the reference.
    const real = await measureWorkerRole(database.url, `${prefix}-r`, dataDir, JOBS_COUNT, 'real', meter);
    const realRollup = await count(`SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = 'orders'`);
    if (realRollup !== 2 * JOBS_COUNT) throw new Error(`expected ${2 * JOBS_COUNT} orders in the rollup after the second pass, found ${realRollup}`);
    // 5. Reference: bare BullMQ, the same jobs (payload, options) and a no-op processor with the same concurrency, same Redis.
    const reference = bareFirst ?? (await measureBare(prefix, JOBS_COUNT, meter));
    const bare = reference.perS;
    const realNoRelay = real.perS;
    const ours = perSecond(JOBS_COUNT, workerProcessMs);
    const steady = perSecond(JOBS_COUNT, span);
    const samples = [...waits.values()].reduce((a, b) => a + b, 0);
    const waitShares = Object.fromEntries([...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, round(n / Math.max(samples, 1))]));
    ctx.log(`worker connections in PostgreSQL (share of samples): ${JSON.stringify(waitShares)}`);
    return {
      figures: {
        jobs: JOBS_COUNT,
        outboxEnqueuedPerS: perSecond(JOBS_COUNT, outboxEnqueueMs),
        relayedPerS: perSecond(JOBS_COUNT, relayedMs),
        workerProcessedPerS: ours,
        workerSteadyProcessedPerS: steady,
        workerMachineryNoopPerS: machinery.perS,
        workerProcessedNoRelayPerS: realNoRelay,
        bareEnqueuedPerS: reference.enqueuedPerS,
        bareProcessedPerS: bare,
        // The three in-process sides' costs (side-costs.ts, first to last completion): µs of this process's
        // CPU per job, its event loop's shares on a CPU / in the run queue / idle, and the µs per job of the
        // Redis server's and PostgreSQL's CPU on the same cores. The steadier figures on a shared machine.
        ...sideFigures('bare', reference.costs),
        ...sideFigures('workerMachineryNoop', machinery.costs),
        ...sideFigures('workerProcessedNoRelay', real.costs),
      },
      ratios: { processedVsBare: round(ours / bare), steadyProcessedVsBare: round(steady / bare), processedNoRelayVsBare: round(realNoRelay / bare), machineryNoopVsBare: round(machinery.perS / bare) },
      // Like the reference (a Worker created with its jobs already queued), the check takes the worker
      // role processing queued update-analytics jobs with its real handler (no relay running). The
      // process started from an outbox backlog is `processedVsBare` (end to end) and `steadyProcessedVsBare`.
      checks: [check(`processed jobs/s (worker role, update-analytics, concurrency ${CONCURRENCY}) ÷ bare BullMQ no-op`, realNoRelay / bare, '>=', 0.7)],
      details: {
        postgresWaitShares: waitShares,
        machinery: 'startWorker() in the benchmark process, handler replaced by a no-op for update-analytics: the worker role without the job\'s database work',
        processedNoRelay: 'startWorker() in the benchmark process with its real handlers, update-analytics jobs added straight to BullMQ (addBulk), timed from the first to the last completion',
        workerConcurrency: CONCURRENCY,
        outbox: `one row per transaction, ${ENQUEUE_CONCURRENCY} concurrent clients`,
        salescaleWorker: 'one `salescale worker` process from start: relay backlog into BullMQ + update-analytics applied once per job (claim + hourly upsert in one PostgreSQL transaction)',
        bareBullmq: 'addBulk in batches of 1000 of the same update-analytics jobs (payload, removeOnComplete) as the worker role\'s sides; a no-op Worker in the benchmark process, same concurrency, timed from the first to the last completion',
        order: bareFirst ? 'bare BullMQ first, then the worker role (BENCH_QUEUE_ORDER=bare-first)' : 'worker role (no-op, then real handler), then bare BullMQ',
      },
    };
  },
};

/** `<side>CpuUsPerJob` and the rest of a side's costs as flat figures. */
function sideFigures(side: string, costs: SideCosts): Record<string, number> {
  return Object.fromEntries(Object.entries(costs).map(([key, value]) => [`${side}${key[0]!.toUpperCase()}${key.slice(1)}`, value]));
}

/** The benchmark's pool (to find this database's PostgreSQL backends) and the local Redis server's pid. */
interface Meter {
  pool: pg.Pool;
  redisPid: number | undefined;
}

interface SideResult {
  perS: number;
  costs: SideCosts;
}

/** The same jobs for every side (the worker role's and the reference's): an order's update-analytics payload. */
function analyticsJobs(from: number, count: number) {
  return Array.from({ length: count }, (_, j) => ({
    name: JOBS.updateAnalytics,
    data: { eventType: 'order_created', orderId: from + j, amountCents: 100 },
    opts: { removeOnComplete: 100 },
  }));
}

async function fill(queue: Queue, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i += 1000) await queue.addBulk(analyticsJobs(i, Math.min(1000, jobs - i)));
}

/**
 * Counts the completions of `workers` until `jobs`, timed from the first to the last, with the side's
 * costs (side-costs.ts) over that same window: opened at the first completion, closed at the last.
 */
function watchCompletions(workers: Worker[], jobs: number, meter: Meter): () => Promise<SideResult> {
  let done = 0;
  let first = 0;
  let last = 0;
  let failure: Error | undefined;
  let window: SideCostsWindow | undefined;
  let costs: Promise<SideCosts> | undefined;
  for (const worker of workers) {
    worker.on('completed', () => {
      last = performance.now();
      if (done++ === 0) {
        first = last;
        window = startSideCosts(meter.pool, meter.redisPid);
      }
      if (done === jobs) costs = window?.close(jobs - 1, last - first);
    });
    worker.on('failed', (_job, error) => {
      failure ??= error;
    });
  }
  return async () => {
    await until(async () => {
      if (failure) throw failure;
      return done >= jobs;
    });
    if (!costs) throw new Error("the side's cost window never opened");
    return { perS: perSecond(jobs - 1, last - first), costs: await costs };
  };
}

/** Jobs/s and costs of the worker role (startWorker) on queued update-analytics jobs, with a no-op or its real handler. */
async function measureWorkerRole(databaseUrl: string, prefix: string, dataDir: string, jobs: number, handler: 'no-op' | 'real', meter: Meter): Promise<SideResult> {
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    ...BENCH_SECRETS,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    OUTBOX_POLL_INTERVAL_MS: '1000',
    WORKER_CONCURRENCY: `notifications=${CONCURRENCY}`,
  });
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.notifications, { connection, prefix: queuePrefix(prefix) });
  try {
    await fill(queue, jobs);
    const worker = await startWorker(config, { queues: [QUEUES.notifications], http: false, ...(handler === 'no-op' ? { handlers: { [JOBS.updateAnalytics]: async () => undefined } } : {}) });
    try {
      return await watchCompletions(worker.workers, jobs, meter)();
    } finally {
      await worker.shutdown('benchmark done');
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    connection.disconnect();
  }
}

/** The reference: a bare BullMQ no-op Worker, same concurrency and Redis, on the same jobs (payload and options) as the worker role. */
async function measureBare(prefix: string, jobs: number, meter: Meter): Promise<SideResult & { enqueuedPerS: number }> {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-noop', { connection, prefix: queuePrefix(prefix) });
  try {
    const started = performance.now();
    await fill(queue, jobs);
    const enqueuedPerS = perSecond(jobs, performance.now() - started);
    const worker = new Worker('bench-noop', async () => undefined, { connection, prefix: queuePrefix(prefix), concurrency: CONCURRENCY });
    try {
      return { ...(await watchCompletions([worker], jobs, meter)()), enqueuedPerS };
    } finally {
      await worker.close();
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    connection.disconnect();
  }
}
