/**
 * Consistency checks a reviewer would otherwise miss: database connections, Redis memory and
 * rate limits against the plan's peak. Defaults are the seed strategy's settings.
 */

/** Severity of a finding. */
export type CheckLevel = 'ok' | 'warning' | 'error';

export interface CheckFinding {
  id: 'db-connections' | 'redis-memory' | 'redis-eviction' | 'rate-limit-general' | 'rate-limit-sale';
  level: CheckLevel;
  message: string;
  /** A concrete fix when the level is not ok. */
  fix?: string;
}

/** Inputs of the checks. */
export interface CheckOptions {
  /** Web replicas at the plan's peak (or maxReplicas). */
  maxWebReplicas: number;
  maxWorkerReplicas: number;
  /** Pool max per process (the seed: 50). @defaultValue 50 */
  dbPoolMax: number;
  /** PostgreSQL max_connections (the seed: 200). @defaultValue 200 */
  maxConnections: number;
  /** superuser_reserved_connections + admin/migration/monitoring headroom. @defaultValue 13 */
  reservedConnections: number;
  /** Peak requests/s and the DB time per request (Little's law for busy connections). */
  peakRps: number;
  /** @defaultValue 0.005 */
  dbSecondsPerRequest: number;
  /** Redis maxmemory in MB (the seed: 256). @defaultValue 256 */
  redisMaxMemoryMb: number;
  /** The seed runs Redis with allkeys-lru, which can evict BullMQ keys. @defaultValue 'allkeys-lru' */
  redisMaxMemoryPolicy: string;
  /** Concurrent sessions at peak and their size. @defaultValue 20000 sessions × 2 KB */
  peakSessions: number;
  sessionKb: number;
  /** Cache: maxKeys × mean value size (the seed: 10 000 keys). @defaultValue 10000 × 8 KB */
  cacheKeys: number;
  cacheValueKb: number;
  /** Peak queued + retained jobs and their size. @defaultValue 50000 × 2 KB */
  queuedJobs: number;
  jobKb: number;
  /** General limiter: 1000 requests per 15 min per client. */
  generalLimit: { max: number; windowSeconds: number };
  /** Sale limiter: 100 requests per minute per client. */
  saleLimit: { max: number; windowSeconds: number };
  /** Requests a legitimate, busy shopper sends per minute at the sale peak (pages × assets/API calls). @defaultValue 40 */
  peakRequestsPerShopperPerMinute: number;
  /** Shoppers sharing one client IP (carrier NAT, offices). @defaultValue 3 */
  shoppersPerIp: number;
}

export const DEFAULT_CHECK_OPTIONS: Omit<CheckOptions, 'maxWebReplicas' | 'maxWorkerReplicas' | 'peakRps'> = {
  dbPoolMax: 50,
  maxConnections: 200,
  reservedConnections: 13,
  dbSecondsPerRequest: 0.005,
  redisMaxMemoryMb: 256,
  redisMaxMemoryPolicy: 'allkeys-lru',
  peakSessions: 20_000,
  sessionKb: 2,
  cacheKeys: 10_000,
  cacheValueKb: 8,
  queuedJobs: 50_000,
  jobKb: 2,
  generalLimit: { max: 1000, windowSeconds: 900 },
  saleLimit: { max: 100, windowSeconds: 60 },
  peakRequestsPerShopperPerMinute: 40,
  shoppersPerIp: 3,
};

/** Instances × pool max against max_connections, with a pool size that fits or a PgBouncer fix. */
export function checkDbConnections(o: CheckOptions): CheckFinding {
  const processes = o.maxWebReplicas + o.maxWorkerReplicas;
  const demand = processes * o.dbPoolMax;
  const usable = o.maxConnections - o.reservedConnections;
  // Busy connections at peak (Little's law) per web instance, +50 % for bursts, at least 2.
  const busyPerInstance = (o.peakRps / Math.max(1, o.maxWebReplicas)) * o.dbSecondsPerRequest;
  const neededPerInstance = Math.max(2, Math.ceil(busyPerInstance * 1.5));
  const fitting = Math.floor(usable / Math.max(1, processes));
  const summary = `${o.maxWebReplicas} web + ${o.maxWorkerReplicas} worker processes × pool max ${o.dbPoolMax} = ${demand} connections vs max_connections ${o.maxConnections} (${usable} usable after ${o.reservedConnections} reserved)`;
  if (demand <= usable) return { id: 'db-connections', level: 'ok', message: `${summary}: fits` };
  const fix =
    fitting >= neededPerInstance
      ? `set the pool max to ${fitting} per process (${processes} × ${fitting} = ${processes * fitting} ≤ ${usable}); peak needs ~${neededPerInstance} busy connections per web instance (${o.peakRps.toFixed(0)} req/s × ${o.dbSecondsPerRequest * 1000} ms DB time), so ${fitting} is enough — or put PgBouncer (transaction pooling) in front with default_pool_size ≤ ${usable}`
      : `a pool of ${fitting} per process is below the ~${neededPerInstance} busy connections each instance needs at peak: put PgBouncer (transaction pooling, max_client_conn ≥ ${demand}, default_pool_size ≤ ${usable}) in front of PostgreSQL, or raise max_connections`;
  return { id: 'db-connections', level: 'error', message: `${summary}: does NOT fit — ${demand - usable} connections over`, fix };
}

export function checkRedisMemory(o: CheckOptions): CheckFinding[] {
  const mb = (kb: number) => kb / 1024;
  const sessions = mb(o.peakSessions * o.sessionKb);
  const cache = mb(o.cacheKeys * o.cacheValueKb);
  const queues = mb(o.queuedJobs * o.jobKb);
  // Redis per-key overhead (~100 B) on top of values.
  const overhead = mb(((o.peakSessions + o.cacheKeys + o.queuedJobs) * 100) / 1024);
  const total = sessions + cache + queues + overhead;
  const share = total / o.redisMaxMemoryMb;
  const detail = `sessions ${sessions.toFixed(0)} MB + cache ${cache.toFixed(0)} MB + queues ${queues.toFixed(0)} MB + key overhead ${overhead.toFixed(0)} MB = ${total.toFixed(0)} MB of maxmemory ${o.redisMaxMemoryMb} MB (${(share * 100).toFixed(0)} %)`;
  const findings: CheckFinding[] = [];
  if (share > 0.8) {
    const suggested = 2 ** Math.ceil(Math.log2(total / 0.6));
    findings.push({ id: 'redis-memory', level: share > 1 ? 'error' : 'warning', message: `Redis at peak: ${detail}`, fix: `set maxmemory to at least ${suggested} MB (peak at ≤ 60 %), or move the cache to its own Redis` });
  } else findings.push({ id: 'redis-memory', level: 'ok', message: `Redis at peak: ${detail}` });
  if (o.redisMaxMemoryPolicy !== 'noeviction') {
    findings.push({
      id: 'redis-eviction',
      level: 'error',
      message: `Redis maxmemory-policy is ${o.redisMaxMemoryPolicy}: under memory pressure it evicts BullMQ job and lock keys (lost or duplicated jobs)`,
      fix: 'use maxmemory-policy noeviction for the queue Redis (BullMQ requires it) and a separate allkeys-lru Redis for the cache',
    });
  }
  return findings;
}

export function checkRateLimits(o: CheckOptions): CheckFinding[] {
  const perIpPerMinute = o.peakRequestsPerShopperPerMinute * o.shoppersPerIp;
  const check = (id: 'rate-limit-general' | 'rate-limit-sale', name: string, l: { max: number; windowSeconds: number }): CheckFinding => {
    const expected = perIpPerMinute * (l.windowSeconds / 60);
    const msg = `${name} limit ${l.max} req / ${l.windowSeconds / 60} min per client vs a legitimate peak of ${expected.toFixed(0)} (${o.peakRequestsPerShopperPerMinute} req/min × ${o.shoppersPerIp} shoppers per IP)`;
    if (expected <= l.max * 0.8) return { id, level: 'ok', message: `${msg}: fits` };
    const fix = `raise to ≥ ${Math.ceil(expected * 1.5)} per ${l.windowSeconds / 60} min, or key the limit by session/customer id instead of IP`;
    return { id, level: expected > l.max ? 'error' : 'warning', message: `${msg}: legitimate shoppers would be limited`, fix };
  };
  return [check('rate-limit-general', 'general', o.generalLimit), check('rate-limit-sale', 'sale', o.saleLimit)];
}

export function runChecks(o: CheckOptions): CheckFinding[] {
  return [checkDbConnections(o), ...checkRedisMemory(o), ...checkRateLimits(o)];
}
