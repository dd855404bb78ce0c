import client from 'prom-client';
import type pg from 'pg';

/** Seconds; spans a cached read (~1 ms) to a request a load balancer would give up on. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'route' | 'method' | 'status_code'>;
  cacheHits: client.Counter<'cache'>;
  cacheMisses: client.Counter<'cache'>;
  cacheStale: client.Counter<'cache'>;
  cacheFallbacks: client.Counter<'cache' | 'reason'>;
  /** Registers gauges that read a pool's counters at scrape time. */
  observePool(name: string, pool: pg.Pool, max: number): void;
}

/**
 * One registry per process role instance (tests run several servers in one process, so nothing
 * here touches prom-client's global registry).
 */
export function createMetrics(options: { role: string; instanceId: string }): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ role: options.role, instance_id: options.instanceId });
  client.collectDefaultMetrics({ register: registry });

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
    observePool(name, pool, max) {
      pools.push({ name, pool, max });
    },
  };
}
