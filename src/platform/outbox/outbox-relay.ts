import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import { isQueueName, type QueueName } from '../queue/queue-definitions.ts';
import { jobOptions, refusalOf, type QueueSet } from '../queue/queues.ts';
import { pruneJobClaims } from '../queue/job-claims.ts';
import { outboxJobId } from './outbox.ts';

export interface OutboxRelayOptions {
  pool: pg.Pool;
  queues: QueueSet;
  /**
   * The queue Redis (the queue set's connection), where the relay keeps a marker key: a Redis that comes
   * back without it lost what it held, and the relay queues the relayed rows not yet applied again
   * (`requeueLostRows`). Without it, nothing is recovered.
   */
  redis?: Redis;
  logger: Logger;
  /** Sleep between passes that found less than a full batch. @defaultValue 500 */
  pollIntervalMs?: number;
  /** Rows per transaction. @defaultValue 200 */
  batchSize?: number;
  /** Relayed rows are deleted after this long. @defaultValue 72 */
  retentionHours?: number;
  /** Job claims are deleted after this long (`pruneJobClaims`), in the same periodic clean-up. @defaultValue 168 */
  claimRetentionHours?: number;
  /**
   * Other once-per-job records (a module's own claims, e.g. the notifications module's `sent_emails`), deleted
   * with the job claims and after the same `claimRetentionHours` (which each is given), and other records with a
   * retention of their own (the admin audit trail's `admin_actions`) pruned in the same periodic pass. @defaultValue none
   */
  pruneWithClaims?: ReadonlyArray<(retentionHours: number) => Promise<unknown>>;
  /**
   * Tables of those other once-per-job records, each with a `job_id` column holding the job's id
   * (`outbox-<id>`): a row whose job has such a record was applied, and is not queued again after a Redis
   * loss (`requeueLostRows`). A trusted identifier, never input. @defaultValue none
   */
  claimTables?: readonly string[];
  /**
   * Per job name, for jobs that take no claim: an SQL condition on the relayed outbox row `o` that holds while
   * the job is still needed, i.e. while its effect is not yet visible (`expire-order`: the order still waits for
   * payment). A row whose condition is false is not queued again after a Redis loss (`requeueLostRows`). A job
   * name absent here is queued again unless claimed. Trusted SQL, never input. @defaultValue none
   */
  stillNeeded?: Readonly<Record<string, string>>;
  /** Called after each pass with the number of rows relayed (for metrics). */
  onRelayed?: (count: number) => void;
  onError?: (error: unknown) => void;
}

export interface OutboxRelay {
  start(): void;
  /** Finishes the pass in progress, then stops. */
  stop(): Promise<void>;
  /** One pass: relays up to one batch and returns how many rows it relayed. */
  relayOnce(): Promise<number>;
}

interface Row {
  id: number;
  queue: string;
  name: string;
  data: object;
  opts: object;
  trace_context: string | null;
}

const CLEANUP_EVERY_MS = 60_000;
/** Relayed rows deleted per statement: a short transaction. */
const CLEANUP_BATCH = 5000;
/** A clean-up stops after this long and goes on at the next pass, so relaying never waits long behind it. */
const CLEANUP_BUDGET_MS = 1000;
/** Parked rows (`unknown queue`, `refused by BullMQ: …`) were never in Redis: a loss does not bring them back. */
const PARKED = `coalesce(o.last_error = 'unknown queue' OR o.last_error LIKE 'refused by BullMQ:%', false)`;
const MAX_BACKOFF_MS = 5000;
/**
 * A pass never holds its row locks longer than this waiting for Redis: one deadline over all of the pass's adds (one
 * `addBulk` per queue of the batch, sent together), not one per add.
 */
const ADD_TIMEOUT_MS = 10_000;
/**
 * PostgreSQL ends a pass's transaction that sits idle longer than this (`idle_in_transaction_session_timeout`, local
 * to it): a live relay is idle only while BullMQ takes the jobs, at most ADD_TIMEOUT_MS however many queues the
 * batch spans (their adds run at once under that one deadline; one after the other, each with 10 s, a batch over
 * two queues on a slow Redis was idle 16 s and ended by PostgreSQL after its jobs reached BullMQ, on every pass), so
 * only a relay whose process froze in the middle of a pass (SIGSTOP, a paused VM, a GC stall: its connection stays
 * open) reaches it. Its rows then go back to the other relays, which skipped them (`SKIP LOCKED`) for as long as the
 * freeze lasted.
 */
export const RELAY_IDLE_TIMEOUT_MS = ADD_TIMEOUT_MS + 5000;

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Moves outbox rows into BullMQ. Each pass locks a batch with `FOR UPDATE SKIP LOCKED` (so any
 * number of relays share the work without waiting on each other), adds the jobs with the outbox id
 * as job id, marks the rows relayed and commits. A crash before the commit leaves the rows for the
 * next pass, whose adds BullMQ ignores for ids it already holds; Redis being away fails the pass
 * fast (the queue set's connection does not wait) and the rows wait in PostgreSQL.
 *
 * Polling rather than LISTEN/NOTIFY: NOTIFY takes a database-wide lock at commit, which serialises
 * exactly the checkout commits a sale needs to run in parallel; an indexed poll of an (almost
 * always) empty partial index costs next to nothing.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const batchSize = options.batchSize ?? 200;
  const retentionHours = options.retentionHours ?? 72;
  const claimRetentionHours = options.claimRetentionHours ?? 168;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastCleanup = 0;
  let lastClaimsPrune = 0;
  const markerKey = `${options.queues.prefix}:outbox-relay:marker`;

  /**
   * Redis held since the marker was set (it is set after each recovery and never expires; the queue Redis
   * runs with noeviction): true, or false when Redis came back empty (a restart without persistence, a
   * flush, a failover to an empty replica), or undefined when Redis does not answer (the adds fail anyway).
   */
  async function redisKeptItsJobs(): Promise<boolean | undefined> {
    if (!options.redis) return true;
    try {
      return (await withTimeout(options.redis.exists(markerKey), ADD_TIMEOUT_MS, 'reading the relay marker')) === 1;
    } catch {
      return undefined;
    }
  }

  /**
   * After a Redis loss: every relayed row within retention whose job was neither applied (no job claim) nor
   * dead-lettered (a dead letter retried with `queues retry-failed` was queued again, so it counts as queued) is
   * made unrelayed again, and the passes that follow add it again under its own job id. A job
   * Redis still holds is not added twice (BullMQ keeps one per id); one whose claim is a module's own record
   * (`claimTables`: an email's `sent_emails`) is not queued again either, so a sale's sent confirmations do not
   * queue up again ahead of new ones; one that takes no claim is queued again only while `stillNeeded` says its
   * effect is not yet visible (an expiry: its order still pending), so the expiries of a retention's worth of
   * orders long paid or lapsed do not queue up ahead of new jobs. The marker is
   * set only after the rows are back, so a relay that dies in between recovers again on its next pass.
   */
  async function requeueLostRows(): Promise<void> {
    const claimedElsewhere = (options.claimTables ?? []).map((table) => `\n         AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.job_id = 'outbox-' || o.id)`).join('');
    const needed = Object.entries(options.stillNeeded ?? {});
    const stillNeeded = needed.length === 0 ? '' : `\n         AND CASE ${needed.map(([, condition], i) => `WHEN o.name = $${i + 2} THEN coalesce((${condition}), true)`).join(' ')} ELSE true END`;
    const { rowCount } = await options.pool.query(
      `UPDATE outbox o SET relayed_at = NULL
       WHERE o.relayed_at >= now() - make_interval(hours => $1) AND NOT ${PARKED}
         AND NOT EXISTS (SELECT 1 FROM job_claims c WHERE c.queue = o.queue AND c.job_id = 'outbox-' || o.id)${claimedElsewhere}
         AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.queue = o.queue AND d.job_id = 'outbox-' || o.id AND d.retried_at IS NULL)${stillNeeded}`,
      [retentionHours, ...needed.map(([name]) => name)],
    );
    await withTimeout(options.redis!.set(markerKey, new Date().toISOString()), ADD_TIMEOUT_MS, 'setting the relay marker');
    if ((rowCount ?? 0) > 0) options.logger.warn({ rows: rowCount }, 'the queue Redis lost its jobs: relayed rows not yet applied are relayed again');
  }

  async function relayOnce(): Promise<number> {
    if ((await redisKeptItsJobs()) === false) await requeueLostRows();
    const client = await options.pool.connect();
    let rows: Row[] = [];
    try {
      // One round trip: the pass's own idle limit, before it locks anything.
      await client.query(`BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${RELAY_IDLE_TIMEOUT_MS}`);
      ({ rows } = await client.query<Row>(
        'SELECT id, queue, name, data, opts, trace_context FROM outbox WHERE relayed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
        [batchSize],
      ));
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const byQueue = new Map<QueueName, Row[]>();
      const unknown: number[] = [];
      for (const row of rows) {
        if (!isQueueName(row.queue)) unknown.push(row.id);
        else byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
      }
      const refused: { id: number; reason: string }[] = [];
      const adds: Promise<unknown>[] = [];
      for (const [queue, queued] of byQueue) {
        const jobs = [];
        for (const row of queued) {
          const job = {
            name: row.name,
            data: row.data,
            // BullMQ's telemetry makes the job's consumer span a child of the trace that wrote the row.
            opts: { ...jobOptions(row.name, row.opts), jobId: outboxJobId(row.id), ...(row.trace_context ? { telemetry: { metadata: row.trace_context } } : {}) },
          };
          // One refused job fails the whole addBulk, on every pass: it would hold back every row behind it.
          const reason = refusalOf(options.queues.get(queue), job.name, job.data, job.opts);
          if (reason === undefined) jobs.push(job);
          else refused.push({ id: row.id, reason: `refused by BullMQ: ${reason}` });
        }
        if (jobs.length > 0) adds.push(options.queues.get(queue).addBulk(jobs));
      }
      // All queues' adds at once, under one deadline: the pass is idle at most ADD_TIMEOUT_MS, below its idle limit.
      // One that fails fails the pass (the rows stay unrelayed); the others' jobs are kept once per id when re-added.
      if (adds.length > 0) await withTimeout(Promise.all(adds), ADD_TIMEOUT_MS, `adding the jobs of ${rows.length - unknown.length - refused.length} rows to ${adds.length} queues`);
      if (unknown.length > 0) {
        // Only a hand-written row can get here (enqueueInTransaction checks names): park it, visibly.
        options.logger.error({ ids: unknown }, 'outbox rows name an unknown queue; marked relayed with an error');
        await client.query(`UPDATE outbox SET last_error = 'unknown queue' WHERE id = ANY($1::bigint[])`, [unknown]);
      }
      for (const { id, reason } of refused) {
        // A hand-written row or a bug (enqueueInTransaction does not check option ranges): parked the same way.
        options.logger.error({ id, reason }, 'outbox row refused by BullMQ; marked relayed with an error');
        await client.query('UPDATE outbox SET last_error = $2 WHERE id = $1', [id, reason.slice(0, 500)]);
      }
      await client.query('UPDATE outbox SET relayed_at = now() WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (rows.length > 0) {
        await options.pool
          .query('UPDATE outbox SET relay_errors = relay_errors + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id), String((error as Error).message ?? error).slice(0, 500)])
          .catch(() => {});
      }
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes relayed rows past retention in batches until none is left or the budget is spent; rows left then
   * are deleted from the next pass on, not a minute later. One batch a minute (5,000 rows) was far below what a
   * sale writes (about five rows per paid order): the table grew for as long as orders came in.
   */
  async function cleanup(): Promise<void> {
    if (Date.now() - lastCleanup >= CLEANUP_EVERY_MS) {
      // Set first: a clean-up that fails (a statement timeout) is tried again a minute later, not on every pass,
      // so it never holds the relaying back to one batch per backoff.
      lastCleanup = Date.now();
      const started = lastCleanup;
      let more: boolean;
      do {
        const { rowCount } = await options.pool.query(
          `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE relayed_at < now() - make_interval(hours => $1) ORDER BY relayed_at LIMIT $2)`,
          [retentionHours, CLEANUP_BATCH],
        );
        more = (rowCount ?? 0) === CLEANUP_BATCH;
      } while (more && Date.now() - started < CLEANUP_BUDGET_MS);
      lastCleanup = more ? 0 : Date.now();
    }
    if (Date.now() - lastClaimsPrune >= CLEANUP_EVERY_MS) {
      lastClaimsPrune = Date.now();
      await pruneJobClaims(options.pool, claimRetentionHours);
      for (const prune of options.pruneWithClaims ?? []) await prune(claimRetentionHours);
    }
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        const relayed = await relayOnce();
        options.onRelayed?.(relayed);
        if (failures > 0) options.logger.info({ relayed }, 'outbox relay recovered');
        failures = 0;
        await cleanup();
        if (relayed < batchSize && running) await sleep(pollIntervalMs);
      } catch (error) {
        options.onError?.(error);
        if (failures === 0) options.logger.warn({ err: error }, 'outbox relay pass failed; rows stay in PostgreSQL and are retried');
        failures++;
        if (running) await sleep(Math.min(pollIntervalMs * 2 ** Math.min(failures, 8), MAX_BACKOFF_MS));
      }
    }
  }

  return {
    relayOnce,
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
