import client from 'prom-client';
import type pg from 'pg';
import type { Logger } from 'pino';
import { DB_QUERY_DURATION_BUCKETS, instrumentPool } from './db-query-metrics.ts';
import { observeDataDirectory } from './disk-metrics.ts';
import { getCpuLimitCores, getMemoryLimitBytes } from './process-limits.ts';

/** Seconds; spans a cached read (~1 ms) to a request a load balancer would give up on. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'route' | 'method' | 'status_code'>;
  cacheHits: client.Counter<'cache'>;
  cacheMisses: client.Counter<'cache'>;
  cacheStale: client.Counter<'cache'>;
  cacheFallbacks: client.Counter<'cache' | 'reason'>;
  dbQueryDuration: client.Histogram<'pool' | 'operation'>;
  dbSlowQueries: client.Counter<'pool' | 'operation'>;
  /**
   * Registers gauges that read a pool's counters at scrape time and times the statements run on its
   * connections (call before the pool's first query).
   */
  observePool(name: string, pool: pg.Pool, max: number): void;
}

export interface MetricsOptions {
  role: string;
  instanceId: string;
  /** Statements at least this slow count in `db_slow_queries_total` and are logged. @defaultValue 100 */
  slowQueryMs?: number;
  /** Reports the free space of the filesystem holding this directory, when it exists. */
  dataDir?: string;
  logger?: Logger;
}

/**
 * One registry per process role instance (tests run several servers in one process, so nothing
 * here touches prom-client's global registry).
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ role: options.role, instance_id: options.instanceId });
  // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_*_seconds, heap, GC.
  client.collectDefaultMetrics({ register: registry });
  // The denominators of the CPU and memory utilization alerts (src/scaling/alerts/alert-rules.ts).
  const cpuLimit = getCpuLimitCores();
  new client.Gauge({
    name: 'process_cpu_limit_cores',
    help: 'CPU this process may use: the cgroup quota when set, else 1 (one event-loop thread)',
    registers: [registry],
    collect() {
      this.set(cpuLimit);
    },
  });
  new client.Gauge({
    name: 'process_memory_limit_bytes',
    help: 'Memory this process may use: the cgroup limit when set, else physical memory',
    registers: [registry],
    collect() {
      this.set(getMemoryLimitBytes());
    },
  });
  if (options.dataDir) observeDataDirectory(registry, options.dataDir);
  const dbQueryDuration = new client.Histogram({
    name: 'db_query_duration_seconds',
    help: 'PostgreSQL statement duration by pool and operation (select, insert, update, delete, with, transaction, other)',
    labelNames: ['pool', 'operation'],
    buckets: DB_QUERY_DURATION_BUCKETS,
    registers: [registry],
  });
  const dbSlowQueries = new client.Counter({
    name: 'db_slow_queries_total',
    help: `PostgreSQL statements slower than DB_SLOW_QUERY_MS (${options.slowQueryMs ?? 100} ms)`,
    labelNames: ['pool', 'operation'],
    registers: [registry],
  });

  const pools: Array<{ name: string; pool: pg.Pool; max: number }> = [];
  new client.Gauge({
    name: 'db_pool_connections',
    help: 'PostgreSQL pool connections by state (total, idle, waiting = queued checkouts, max = configured ceiling)',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { name, pool, max } of pools) {
        this.set({ pool: name, state: 'total' }, pool.totalCount);
        this.set({ pool: name, state: 'idle' }, pool.idleCount);
        this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
        this.set({ pool: name, state: 'max' }, max);
      }
    },
  });

  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status code',
      labelNames: ['route', 'method', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    }),
    cacheHits: new client.Counter({ name: 'cache_hits_total', help: 'Cache reads served from Redis', labelNames: ['cache'], registers: [registry] }),
    cacheMisses: new client.Counter({ name: 'cache_misses_total', help: 'Cache reads that loaded from the database', labelNames: ['cache'], registers: [registry] }),
    cacheStale: new client.Counter({
      name: 'cache_stale_served_total',
      help: 'Expired entries served while another instance refreshed them (stampede protection)',
      labelNames: ['cache'],
      registers: [registry],
    }),
    cacheFallbacks: new client.Counter({
      name: 'cache_fallbacks_total',
      help: 'Cache operations that failed (Redis unreachable or slow) and fell back to the database',
      labelNames: ['cache', 'reason'],
      registers: [registry],
    }),
    dbQueryDuration,
    dbSlowQueries,
    observePool(name, pool, max) {
      pools.push({ name, pool, max });
      instrumentPool(pool, name, { duration: dbQueryDuration, slow: dbSlowQueries, slowQueryMs: options.slowQueryMs ?? 100, logger: options.logger });
    },
  };
}
