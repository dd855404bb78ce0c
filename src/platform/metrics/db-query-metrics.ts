import { performance } from 'node:perf_hooks';
import type client from 'prom-client';
import type pg from 'pg';
import type { Logger } from 'pino';

/** Seconds; from an index lookup (~0.2 ms) to the statement timeout. */
export const DB_QUERY_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const OPERATIONS: Record<string, string> = {
  SELECT: 'select',
  INSERT: 'insert',
  UPDATE: 'update',
  DELETE: 'delete',
  WITH: 'with',
  BEGIN: 'transaction',
  COMMIT: 'transaction',
  ROLLBACK: 'transaction',
  SAVEPOINT: 'transaction',
  RELEASE: 'transaction',
  START: 'transaction',
};

/** A bounded label from the statement's first keyword (never the SQL text itself). */
export function getOperation(text: string | undefined): string {
  const keyword = /^\s*\(?\s*([A-Za-z]+)/.exec(text ?? '')?.[1]?.toUpperCase();
  return (keyword && OPERATIONS[keyword]) ?? 'other';
}

export interface QueryInstruments {
  duration: client.Histogram<'pool' | 'operation'>;
  slow: client.Counter<'pool' | 'operation'>;
  slowQueryMs: number;
  logger?: Logger;
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Times every statement run on the pool's connections (pool.query and checked-out clients alike,
 * drizzle transactions included). The time is the statement's own, from client.query to its
 * result — waiting for a pool connection is visible in `db_pool_connections{state="waiting"}`.
 * Must be called before the pool opens its first connection.
 */
export function instrumentPool(pool: pg.Pool, name: string, instruments: QueryInstruments): void {
  pool.on('connect', (connection) => {
    const original = connection.query as unknown as QueryFn;
    const timed: QueryFn = function (this: unknown, ...args: unknown[]) {
      const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
      const text = typeof first === 'string' ? first : first?.text;
      const started = performance.now();
      const done = () => {
        const ms = performance.now() - started;
        const labels = { pool: name, operation: getOperation(text) };
        instruments.duration.observe(labels, ms / 1000);
        if (ms >= instruments.slowQueryMs) {
          instruments.slow.inc(labels);
          instruments.logger?.warn({ pool: name, operation: labels.operation, durationMs: Math.round(ms), sql: text?.slice(0, 300) }, 'slow query');
        }
      };
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = function (this: unknown, ...result: unknown[]) {
          done();
          return (last as QueryFn).apply(this, result);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args) as { then?: unknown; once?: unknown } | undefined;
      if (typeof result?.then === 'function') {
        (result as Promise<unknown>).then(done, done);
      } else if (typeof result?.once === 'function') {
        // A Submittable (cursor, stream): done when it ends or fails.
        const emitter = result as unknown as NodeJS.EventEmitter;
        emitter.once('end', done);
        emitter.once('error', done);
      }
      return result;
    };
    (connection as unknown as { query: QueryFn }).query = timed;
  });
}
