import type { AddressInfo } from 'node:net';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { pruneAdminActions } from '../modules/audit/index.ts';
import { refreshStockGateStillNeeded } from '../modules/inventory/processors.ts';
import { pruneSentEmails, SENT_EMAILS_TABLE } from '../modules/notifications/index.ts';
import { EXPIRE_ORDER_STILL_NEEDED } from '../modules/orders/processors.ts';
import { CANCEL_OPEN_INTENTS_STILL_NEEDED } from '../modules/payments/processors.ts';
import type { AppConfig } from '../platform/config/config.ts';
import { classifyDatabaseFailure, redactStatementParameters } from '../platform/db/errors.ts';
import { listenOrExplain } from '../platform/http/listen-error.ts';
import { createOutboxRelay, type OutboxRelay } from '../platform/outbox/outbox-relay.ts';
import { createPlatform, type Platform } from '../platform/platform.ts';
import { closeDeadLetterOnCompletion, mayHaveDeadLetter, recordDeadLetter } from '../platform/queue/dead-letters.ts';
import { isPutBack, retryLater, type JobHandlers } from '../platform/queue/processing.ts';
import { JOBS, type JobName, type QueueName } from '../platform/queue/queue-definitions.ts';
import { type JobOutcome, queueMetricsFor } from '../platform/queue/queue-metrics.ts';
import { jobTraceIds, queueTelemetry } from '../platform/telemetry/trace-context.ts';
import { checkQueueRedis } from '../platform/queue/redis-policy.ts';
import { waitForRedis } from '../platform/redis/redis.ts';
import { CLOSE_STEP_MS, settlesWithin } from '../shared/settles-within.ts';
import { composeWorker } from './compose.ts';
import { createWorkerHttpServer } from './worker-http.ts';

export interface StartWorkerOptions {
  /** Queues to process; defaults to WORKER_QUEUES (all queues when unset). */
  queues?: QueueName[];
  /** Share a platform (and its metrics registry) with the web role, as `salescale up` does. */
  platform?: Platform;
  /** Serve /health, /ready and /metrics on WORKER_PORT. @defaultValue true */
  http?: boolean;
  handlers?: JobHandlers;
}

export interface RunningWorker {
  platform: Platform;
  workers: Worker[];
  relay: OutboxRelay;
  /** http://host:port of the worker's HTTP server, when it has one. */
  url: string | undefined;
  /**
   * Stops taking jobs, waits for active ones up to SHUTDOWN_TIMEOUT_MS (0: no limit), then closes. Jobs still
   * running at the deadline are handed back: moved back to wait (not counted as stalled) and another worker gets them. It resolves
   * without waiting for them (about 2 s after the deadline at most), so the process can exit. Once no job is active, closing
   * waits on the queue Redis for {@link CLOSE_WITHOUT_JOBS_MS} only: when Redis is down or answers nothing, the worker
   * closes without it (a few seconds in all), and what it held comes back through BullMQ's stalled check.
   */
  shutdown(reason: string): Promise<void>;
}

/**
 * How long closing the BullMQ workers may take once none of their jobs is active. With Redis answering it takes
 * milliseconds; longer means the queue Redis is down or black-holed, and every close step would wait on it (its
 * connection waits for a reconnect, `maxRetriesPerRequest: null`) until SHUTDOWN_TIMEOUT_MS: each restart during a
 * Redis outage would cost the whole timeout, and Kubernetes would kill the pod anyway.
 */
const CLOSE_WITHOUT_JOBS_MS = 1000;

/**
 * How the outbox relay tells, after the queue Redis lost its data, whether a relayed job must run again: each job
 * either records a claim when it runs (`job_claims`, or a module's own claim table such as `sent_emails`), so a
 * claimed one is skipped, or has an SQL condition on its outbox row that holds while its effect is not visible yet.
 * A job with neither would be queued again for every row of the outbox's retention. Keyed by every job name, so
 * adding a job does not type-check until this says which.
 */
function getRedisLossRecovery(config: AppConfig): Record<JobName, 'claims' | { stillNeeded: string }> {
  return {
    [JOBS.sendWelcomeEmail]: 'claims',
    [JOBS.sendOrderConfirmation]: 'claims',
    [JOBS.sendReservationExpired]: 'claims',
    [JOBS.sendPaymentReturned]: 'claims',
    [JOBS.expireOrder]: { stillNeeded: EXPIRE_ORDER_STILL_NEEDED },
    [JOBS.cancelOpenIntents]: { stillNeeded: CANCEL_OPEN_INTENTS_STILL_NEEDED },
    [JOBS.orderPaid]: 'claims',
    [JOBS.orderPlacedLegacy]: 'claims',
    [JOBS.updateStock]: 'claims',
    [JOBS.refreshStockGate]: { stillNeeded: refreshStockGateStillNeeded(config.checkout.stockGateTtlS) },
    [JOBS.updateAnalytics]: 'claims',
    [JOBS.degradeModeChanged]: 'claims',
  };
}

function isFinalAttempt(job: Job, error: unknown): boolean {
  return error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Whether the attempt BullMQ just reported failed ended its job: `moveToFailed` sets the job's `finishedOn` only
 * when it moves the job to the failed set (attempts exhausted, an UnrecoverableError, a second stall, a backoff
 * that gives up), and leaves it unset when it retries the job. Read from BullMQ's own decision rather than
 * recomputed, so the metric cannot disagree with the job's state.
 */
function failedForGood(job: Job | undefined): boolean {
  return job === undefined || job.finishedOn !== undefined;
}

/** Runs the processors of the chosen queues plus the outbox relay until `shutdown`. */
export async function startWorker(config: AppConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const platform = options.platform ?? createPlatform(config, 'worker');
  const { logger, db } = platform;
  const queueNames = options.queues ?? config.queues.worker;

  // Refused at start (a Redis database the server does not have, a queue Redis unfit for production), the platform is
  // closed before rethrowing when created here, as the web role does: an in-process caller would keep its pools and
  // connections open. composeWorker closes what it opened itself.
  const services = await (async () => {
    // Before anything reads or writes Redis: a database the server does not have is a configuration error, not database 0.
    await platform.checkRedisDatabases();
    await checkRedisWhenReachable(platform.redis, config, logger);
    return composeWorker(platform, { handlers: options.handlers });
  })().catch(async (error: unknown) => {
    if (!options.platform) await platform.close().catch(() => {});
    throw error;
  });
  const { mailer, handlers, producers, expiry, giveBack } = services;
  const connection = services.connections.queue;
  const queueMetrics = queueMetricsFor(platform.metrics.registry);
  queueMetrics.observeQueues(producers);
  queueMetrics.observeOutbox(db.pools.primary);

  /** Dead-letter writes made off the processor (closes of completed jobs' letters, stalled jobs' letters), settled (bounded) before the pools close. */
  const letterWrites = new Set<Promise<void>>();
  /** Jobs running in this process with their lock tokens, to hand back at the shutdown deadline. */
  const active = new Map<Job, string>();
  let onIdle: (() => void) | undefined;
  const whenIdle = () => (active.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onIdle = resolve)));
  const workers = queueNames.map((queue) => {
    const worker = new Worker(
      queue,
      async (job: Job, token?: string) => {
        const handler = handlers[job.name as JobName];
        if (token) active.set(job, token);
        const startedAt = performance.now();
        let delayed = false;
        try {
          if (!handler) throw new UnrecoverableError(`no processor for job "${job.name}" on queue ${queue}`);
          return await handler(job, token);
        } catch (error) {
          // The job moved itself to the delayed set (it runs later): not a failure.
          if (error instanceof DelayedError) {
            delayed = true;
            if (isPutBack(error)) queueMetrics.processed.inc({ queue, name: job.name, status: 'deferred' });
            throw error;
          }
          // A failed statement's values (emails, addresses) leave the error before its message becomes the dead
          // letter's reason, the failed job's `failedReason` and stack in Redis (shown on the board) and its span.
          redactStatementParameters(error, error as Record<string, unknown>);
          // PostgreSQL unreachable or out of connections (a failover, a restart, a pool exhausted): every job of every
          // queue fails the same way until it is back, and the queues' attempts are spent in seconds (notifications: 3
          // with no backoff), so a failover dead-lettered the sale's analytics counts, stock updates and fan-outs. Such a
          // job is put back for later without using an attempt (`retryLater`).
          const failure = classifyDatabaseFailure(error);
          if (failure === 'unavailable' || failure === 'busy') {
            const later = await retryLater(job, token);
            if (later) {
              delayed = true;
              queueMetrics.processed.inc({ queue, name: job.name, status: 'deferred' });
              logger.warn({ queue, jobId: job.id, job: job.name, database: failure, err: error }, 'database unavailable: job put back for later');
              throw later;
            }
          }
          // Written before BullMQ moves the job to its trimmed failed set, so it can never vanish; before it counts this
          // attempt too, which the letter's attempts include.
          if (isFinalAttempt(job, error)) {
            await recordDeadLetter(db.pools.primary, queue, job, String((error as Error).message ?? error), job.attemptsMade + 1).catch((dlqError) =>
              logger.error({ err: dlqError, queue, jobId: job.id }, 'could not record a dead letter; the job stays in the failed set'),
            );
          }
          throw error;
        } finally {
          active.delete(job);
          if (active.size === 0) onIdle?.();
          // Every attempt's time, failed ones included: a dependency that times out makes slow failures, and
          // SlowJobProcessing must see them (timing completions only, it stayed quiet while SMTP hung).
          if (!delayed) queueMetrics.duration.observe({ queue, name: job.name }, (performance.now() - startedAt) / 1000);
        }
      },
      {
        connection,
        prefix: producers.prefix,
        concurrency: config.queues.concurrency[queue],
        lockDuration: config.queues.lockDurationMs,
        stalledInterval: config.queues.lockDurationMs,
        // A job whose worker died under it is delivered once more; a second stall fails it, visibly (failed
        // state, dead letter, `queue_jobs_processed_total{status="failed"}`): a job that kills its worker twice
        // is poison, and must not take a third one down.
        maxStalledCount: 1,
        telemetry: queueTelemetry(),
      },
    );
    worker.on('completed', (job) => {
      queueMetrics.processed.inc({ queue, name: job.name, status: 'completed' });
      // After BullMQ marked the job completed, off the processor: the worker's slot does not wait on PostgreSQL (one
      // more round trip per job at a sale's peak, a connection timeout when it is down). A letter left open here
      // (PostgreSQL not answering) is closed by `queues retry-failed`, which sees its own job (the creation time the
      // letter recorded) completed: no clock is compared (isLetterDoneBy).
      if (mayHaveDeadLetter(job)) {
        const closing = closeDeadLetterOnCompletion(db.pools.primary, queue, job)
          .catch((dlqError: unknown) => logger.warn({ err: dlqError, queue, jobId: job.id }, 'could not close the dead letter of a completed job'))
          .finally(() => letterWrites.delete(closing));
        letterWrites.add(closing);
      }
    });
    worker.on('failed', (job, error) => {
      const final = failedForGood(job);
      const status: JobOutcome = final ? 'failed' : 'retried';
      queueMetrics.processed.inc({ queue, name: job?.name ?? 'unknown', status });
      // Outside the job's span: the trace it continues comes from the job itself, so the line leads to that trace.
      logger.warn({ queue, jobId: job?.id, job: job?.name, attemptsMade: job?.attemptsMade, final, ...jobTraceIds(job?.opts.telemetry?.metadata), err: error }, 'job attempt failed');
      // A job that stalled too often fails without passing through the processor's catch.
      // BullMQ has already failed the job (nothing to hold back): written off the event, waited for at shutdown; a
      // failed write is logged (the job stays in the failed set, which `queues retry-failed` retries whole).
      if (job && /stalled more than/i.test(error.message)) {
        const writing = recordDeadLetter(db.pools.primary, queue, job, error.message)
          .catch((dlqError: unknown) => logger.warn({ err: dlqError, queue, jobId: job.id }, 'could not record the dead letter of a stalled job; the job stays in the failed set'))
          .finally(() => letterWrites.delete(writing));
        letterWrites.add(writing);
      }
    });
    worker.on('error', (error) => logger.warn({ err: error, queue }, 'worker error'));
    return worker;
  });

  const relay = createOutboxRelay({
    pool: db.pools.primary,
    queues: producers,
    redis: platform.redis,
    logger,
    pollIntervalMs: config.outbox.pollIntervalMs,
    batchSize: config.outbox.batchSize,
    retentionHours: config.outbox.retentionHours,
    claimRetentionHours: config.outbox.claimRetentionHours,
    // Admin action records keep their own, longer retention (ADMIN_ACTION_RETENTION_DAYS), pruned in the same pass.
    pruneWithClaims: [(retentionHours) => pruneSentEmails(db.pools.primary, retentionHours), () => pruneAdminActions(db.pools.primary)],
    claimTables: [SENT_EMAILS_TABLE],
    // Jobs without a claim, queued again after a Redis loss only while their effect is not visible yet.
    stillNeeded: Object.fromEntries(Object.entries(getRedisLossRecovery(config)).flatMap(([job, way]) => (way === 'claims' ? [] : [[job, way.stillNeeded]]))),
    onRelayed: (count) => queueMetrics.relayed.inc(count),
    onError: () => queueMetrics.relayErrors.inc(),
  });
  relay.start();
  const sweeper = config.payments.sweepIntervalMs > 0 ? expiry.start(config.payments.sweepIntervalMs) : undefined;
  // Money owed back whose call failed, retried on the sweep's interval (see createGiveBackRetry).
  const giveBackRetry = config.payments.sweepIntervalMs > 0 ? giveBack.start(config.payments.sweepIntervalMs) : undefined;

  let draining = false;
  let url: string | undefined;
  const server =
    options.http === false
      ? undefined
      : createWorkerHttpServer({
          db,
          redis: platform.redis,
          metrics: platform.metrics,
          metricsToken: config.observability.metricsToken,
          status: () => ({
            draining,
            queues: Object.fromEntries(workers.map((worker) => [worker.name, { running: worker.isRunning(), concurrency: worker.concurrency }])),
          }),
        });
  if (server) {
    await listenOrExplain(
      { host: config.http.host, port: config.worker.port, portVariable: 'WORKER_PORT' },
      () =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.worker.port, config.http.host, () => resolve());
        }),
    );
    const address = server.address() as AddressInfo;
    url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  }
  await platform.cluster.join('worker');
  logger.info({ queues: queueNames, url, mail: mailer.describe, degradeMode: platform.cluster.mode() }, 'worker role running');

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      draining = true;
      logger.info({ reason }, 'worker draining: no new jobs, waiting for active ones');
      // Leaving the cluster is best effort (the heartbeat lapses anyway): bounded, as it may wait on a Redis not answering.
      await Promise.all([settlesWithin(platform.cluster.leave('worker'), CLOSE_STEP_MS), relay.stop(), sweeper?.stop(), giveBackRetry?.stop()]);
      let timer: NodeJS.Timeout | undefined;
      const closed = Promise.all(workers.map((worker) => worker.close())).then(() => 'closed' as const);
      // SHUTDOWN_TIMEOUT_MS=0: no limit (active jobs are waited for until they end), as for the web role.
      const timedOut = new Promise<'timed out'>((resolve) => {
        if (config.shutdown.timeoutMs > 0) timer = setTimeout(() => resolve('timed out'), config.shutdown.timeoutMs);
      });
      const unanswered = whenIdle()
        .then(() => new Promise((resolve) => setTimeout(resolve, CLOSE_WITHOUT_JOBS_MS).unref()))
        .then(() => 'redis not answering' as const);
      const outcome = await Promise.race([closed, timedOut, unanswered]);
      const finished = outcome === 'closed';
      if (outcome === 'redis not answering') {
        // No job runs here, yet closing waits on the queue Redis (a job's completion, the next fetch, the connection's
        // QUIT): it is down or answers nothing. Close without it. A job whose result it never received, and a job
        // fetched as it went away, return once their lock lapses: the stalled check of another worker re-delivers them.
        logger.warn({ redis: connection.status, closeWaitMs: CLOSE_WITHOUT_JOBS_MS }, 'queue Redis not answering: closing the workers without it');
        await settlesWithin(Promise.all(workers.map((worker) => worker.close(true))), CLOSE_STEP_MS);
        connection.disconnect();
      } else if (outcome === 'timed out') {
        logger.error({ timeoutMs: config.shutdown.timeoutMs, jobs: active.size }, 'active jobs did not finish in time; handing them back to the queue');
        // Moved back to wait, lock released: another worker takes them at once. Left to their lock lapsing, BullMQ's
        // stalled check would take them back instead and count a stall, so a job handed back twice (two deploys
        // during a mail server's outage) or handed back once and then on a worker that dies failed for good as
        // "stalled more than allowable limit" (maxStalledCount 1), a dead letter never sent. A job that finished
        // meanwhile refuses the move (its lock is gone): nothing to hand back.
        const handBack = Promise.all(
          [...active].map(([job, token]) =>
            job.moveToWait(token).catch((error: unknown) => logger.warn({ err: error, jobId: job.id, job: job.name }, 'could not hand a job back; it returns once its lock lapses')),
          ),
        );
        await settlesWithin(handBack, CLOSE_STEP_MS);
        await settlesWithin(Promise.all(workers.map((worker) => worker.close(true))), CLOSE_STEP_MS);
      }
      clearTimeout(timer);
      await settlesWithin(Promise.all(letterWrites), CLOSE_STEP_MS);
      // The producers' queues close on the queue Redis too: bounded, like every step that may wait on it.
      await (finished ? services.close() : settlesWithin(services.close(), CLOSE_STEP_MS));
      if (server) await new Promise((resolve) => server.close(resolve));
      // A handed-back job may still hold a pooled connection (an email's claim transaction while the mail server
      // never answers): closing the pool would wait for it. The process exits instead; PostgreSQL rolls the
      // transaction back when the connection drops, and the re-delivery does the work.
      if (!options.platform) {
        await (finished ? platform.close() : settlesWithin(platform.close(), CLOSE_STEP_MS));
      }
      logger.info('worker role stopped');
    })();
    return stopping;
  };
  return { platform, workers, relay, url, shutdown };
}

/**
 * Checks the queue Redis's eviction policy now if it answers, and again after every reconnect
 * (a failover may bring a differently configured server).
 */
async function checkRedisWhenReachable(redis: Redis, config: AppConfig, logger: Platform['logger']): Promise<void> {
  const check = () => checkQueueRedis(redis, { isProduction: config.isProduction, logger });
  const recheckOnReconnect = () => redis.on('ready', () => void check().catch((error) => logger.error({ err: error }, 'queue Redis check failed')));
  try {
    await waitForRedis(redis, 5000);
  } catch {
    logger.warn('queue Redis unreachable at start; the worker waits for it and checks it when it answers');
    recheckOnReconnect();
    return;
  }
  await check();
  recheckOnReconnect();
}
