import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import { traceQueries } from '../telemetry/query-spans.ts';
import { isTracingStarted } from '../telemetry/trace-context.ts';
import { classifyDatabaseFailure, POOL_QUEUE_FULL_MESSAGE } from './errors.ts';
import { pgConnection } from './tls.ts';

/**
 * A Drizzle database. Typed queries go through each module's table objects, so the client carries no
 * schema (the relational query API is not used): platform never needs to know the modules' tables.
 */
export type Db = NodePgDatabase;

export interface DatabaseOptions {
  url: string;
  /** Read replica for catalog reads; writes and read-your-writes paths always use the primary. */
  replicaUrl?: string;
  /** DATABASE_CA_CERT (PEM): the CA the primary's and the replica's certificates are verified against (`pgConnection`). */
  caCert?: string;
  poolMin: number;
  poolMax: number;
  /**
   * Checkouts that may wait for a connection of a full pool; one more is refused at once
   * ({@link POOL_QUEUE_FULL_MESSAGE}, classified `busy`) instead of waiting up to 5 s behind the others.
   * @defaultValue unbounded
   */
  poolQueueMax?: number;
  statementTimeoutMs: number;
  applicationName?: string;
  logger?: Logger;
}

export interface Database {
  /** Writes and reads that must see the latest write. */
  primary: Db;
  /**
   * Reads that tolerate replication lag; the primary when no replica is configured, and for
   * {@link REPLICA_RETRY_MS} after the replica could not be reached (see `fallBackToPrimary`).
   */
  replica: Db;
  pools: { primary: pg.Pool; replica?: pg.Pool };
  /**
   * Throws when the primary does not answer `SELECT 1` within the timeout, unless the pool is busy rather than
   * cut off: every connection checked out and one handed back in working order (or opened) within the last
   * {@link BUSY_PROOF_MS}. A ping queued behind a sale's requests would otherwise call a saturated database
   * down, and `/ready` would take every instance out of the load balancer at the peak.
   */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// PostgreSQL bigint (int8) and numeric come back as strings by default; our ids are far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** How recently a pool connection must have worked for a full pool to count as busy, not down (`ping`). */
export const BUSY_PROOF_MS = 5_000;

/** How long reads stay on the primary after the replica could not be reached, before it is tried again. */
export const REPLICA_RETRY_MS = 5_000;

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Makes `replica`'s reads fall back to `primary`. A read whose replica is unreachable (refused, reset, shutting
 * down, in recovery: `classifyDatabaseFailure` 'unavailable') is run again on the primary, and the next reads go
 * to the primary for {@link REPLICA_RETRY_MS} without trying the replica: a dead replica must not take the
 * catalog down while the primary serves (the replica only ever gets reads, so running one again is safe). A busy
 * replica (pool checkout timeout, too many connections) is not sent to the primary: its load would land on the
 * pool that checkouts need. Transactions (`connect()`) are not redirected; the replica gets none.
 */
function fallBackToPrimary(replica: pg.Pool, primary: pg.Pool, logger?: Logger): void {
  const onReplica = replica.query.bind(replica) as QueryFn;
  const onPrimary = primary.query.bind(primary) as QueryFn;
  let primaryUntil = 0;
  const query: QueryFn = (...args) => {
    // Callback style and submittables (streams) are left alone; Drizzle uses promises.
    if (typeof args.at(-1) === 'function' || typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function') return onReplica(...args);
    if (Date.now() < primaryUntil) return onPrimary(...args);
    return (onReplica(...args) as Promise<unknown>).catch((error: unknown) => {
      if (classifyDatabaseFailure(error) !== 'unavailable') throw error;
      if (Date.now() >= primaryUntil) logger?.warn({ err: error, retryMs: REPLICA_RETRY_MS }, 'read replica unreachable; reading from the primary');
      primaryUntil = Date.now() + REPLICA_RETRY_MS;
      return onPrimary(...args);
    });
  };
  replica.query = query as typeof replica.query;
}

type ConnectFn = (callback?: (...args: unknown[]) => void) => unknown;

/**
 * Bounds the checkouts waiting for a connection of a full pool. pg's pool queues every checkout, each for up to
 * `connectionTimeoutMillis`: under a sale's overload with the pool exhausted the queue grew with the arrival rate
 * (thousands of requests each holding its socket and memory for 5 s), every request then waited its 5 s, and those
 * that got a connection had waited nearly as long. Past `queueMax` waiters a checkout fails at once, a 503
 * DATABASE_BUSY with Retry-After, while the ones queued keep their turn. `query()` checks out through `connect()`.
 */
function boundQueue(pool: pg.Pool, max: number, queueMax: number): void {
  const connect = pool.connect.bind(pool) as ConnectFn;
  const bounded: ConnectFn = (callback) => {
    if (pool.waitingCount < queueMax || pool.idleCount > 0 || pool.totalCount < max) return connect(callback);
    const error = new Error(POOL_QUEUE_FULL_MESSAGE);
    if (!callback) return Promise.reject(error);
    process.nextTick(callback, error);
    return undefined;
  };
  pool.connect = bounded as typeof pool.connect;
}

function poolConfig(url: string, options: DatabaseOptions): pg.PoolConfig {
  return {
    ...pgConnection(url, options.caCert),
    min: options.poolMin,
    max: options.poolMax,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs || undefined,
    application_name: options.applicationName ?? 'salescale',
    keepAlive: true,
  };
}

function createPool(url: string, options: DatabaseOptions, role: 'primary' | 'replica', primary?: pg.Pool): pg.Pool {
  const pool = new pg.Pool(poolConfig(url, options));
  if (options.poolQueueMax !== undefined) boundQueue(pool, options.poolMax, options.poolQueueMax);
  if (primary) fallBackToPrimary(pool, primary, options.logger);
  // An idle client can be killed by a server restart or failover (57P01); the pool replaces it.
  // Without this listener the 'error' event would crash the process.
  pool.on('error', (error) => options.logger?.warn({ err: error, role }, 'idle database connection lost'));
  // A checked-out client has no pool listener: a connection reset between two statements of a
  // transaction (a server crash, pg_terminate_backend) emitted 'error' with no listener and killed
  // the process (found by the chaos suite: the worker died when PostgreSQL crashed mid-transaction).
  // The statement in progress, or the next one, fails and the holder handles that; release() then
  // drops the broken client.
  pool.on('connect', (client) => client.on('error', (error) => options.logger?.warn({ err: error, role }, 'database connection lost while checked out')));
  if (isTracingStarted()) traceQueries(pool);
  return pool;
}

export function createDatabase(options: DatabaseOptions): Database {
  const primaryPool = createPool(options.url, options, 'primary');
  const replicaPool = options.replicaUrl ? createPool(options.replicaUrl, options, 'replica', primaryPool) : undefined;
  // A connection opened, or handed back without a connection error, proves PostgreSQL answers.
  let workedAt = Number.NEGATIVE_INFINITY;
  const worked = () => (workedAt = Date.now());
  primaryPool.on('connect', worked);
  primaryPool.on('release', (error: Error | undefined) => {
    if (!error) worked();
  });
  const busy = () => primaryPool.idleCount === 0 && primaryPool.totalCount >= options.poolMax && Date.now() - workedAt < BUSY_PROOF_MS;
  const primary = drizzle({ client: primaryPool });
  const replica = replicaPool ? drizzle({ client: replicaPool }) : primary;
  return {
    primary,
    replica,
    pools: { primary: primaryPool, replica: replicaPool },
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([primaryPool.query('SELECT 1'), timeout]);
      } catch (error) {
        if (!busy()) throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await Promise.all([primaryPool.end(), replicaPool?.end()]);
    },
  };
}
