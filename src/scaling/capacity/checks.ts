/**
 * Consistency checks a reviewer would otherwise miss: database connections, Redis memory and eviction,
 * and rate limits against the plan's peak. The app's own settings (pool size, where the cache lives, the
 * rate limits) come in as the app reads them (`loadCapacityCheckConfig`); what no setting says (traffic per
 * shopper, Redis's maxmemory, sizes of keys) is an assumption, named as one in the messages. A finding is an
 * error only where the app, as configured, would fail at the plan's peak, or where `manifests` refuses to render it.
 */
import type { LimitPolicy } from '../../platform/rate-limit/limiter.ts';
import { CLI_CONNECTIONS, CONNECTION_HEADROOM_PERCENT, getConnectionCeiling, getMinHeadroom } from '../manifests/connection-budget.ts';
import { CLI_REDIS_CONNECTIONS, countRedisConnections, getRedisConnectionsPerProcess } from './redis-connections.ts';

/** Severity of a finding. */
export type CheckLevel = 'ok' | 'warning' | 'error';

export interface CheckFinding {
  id: 'db-connections' | 'redis-memory' | 'redis-eviction' | 'redis-connections' | 'rate-limit-signed-in' | 'rate-limit-anonymous' | 'node-lead-time' | 'vm-lead-time' | 'node-pool' | 'prescale-time-zone' | 'prescale-start' | 'prescale-end';
  level: CheckLevel;
  message: string;
  /** A concrete fix when the level is not ok. */
  fix?: string;
}

/** The app's settings, as `loadCapacityCheckConfig` reads them (or as the command line overrides them). */
export interface AppCheckSettings {
  /** Pool max of every web process (and of every worker unless `workerDbPoolMax`). */
  dbPoolMax: number;
  /** Pool max of every worker process, when the roles' pools differ (the deployment spec gives each its own). @defaultValue dbPoolMax */
  workerDbPoolMax?: number;
  /** Where `dbPoolMax` came from, for the message (`--db-pool-max`, `DB_POOL_MAX`, the app's default). */
  dbPoolMaxSource: string;
  /** The cache has its own Redis (CACHE_REDIS_URL); else it shares the queue Redis. */
  cacheHasOwnRedis: boolean;
  /** RATE_LIMIT_ENABLED and the limits each request is counted against. */
  rateLimit: { enabled: boolean; policies: Record<'general' | 'customer' | 'sale', Pick<LimitPolicy, 'max' | 'windowMs'>> };
}

/** Assumptions about traffic and sizes that no setting of the app gives. */
export interface CheckAssumptions {
  /** @defaultValue 0.005 */
  dbSecondsPerRequest: number;
  /** Concurrent sessions at peak and their size. @defaultValue 20000 sessions × 2 KB */
  peakSessions: number;
  sessionKb: number;
  /** Cache keys × mean value size (the seed: 10 000 keys). @defaultValue 10000 × 8 KB */
  cacheKeys: number;
  cacheValueKb: number;
  /** Peak queued + retained jobs and their size. @defaultValue 50000 × 2 KB */
  queuedJobs: number;
  jobKb: number;
  /** Requests a legitimate, busy shopper sends per minute at the sale peak (pages × API calls). @defaultValue 40 */
  peakRequestsPerShopperPerMinute: number;
  /** Shoppers sharing one client address (carrier NAT, offices). @defaultValue 3 */
  shoppersPerIp: number;
}

/** Inputs of the checks. */
export interface CheckOptions extends AppCheckSettings, CheckAssumptions {
  /** Web replicas at the plan's peak (or maxReplicas). */
  maxWebReplicas: number;
  maxWorkerReplicas: number;
  /** Peak requests/s (Little's law for busy connections). */
  peakRps: number;
  /**
   * maxmemory of the queue Redis in MB (a setting of Redis, not of the app) and where the figure comes from: the
   * deployment spec's `redis.queueMaxMemoryMb` (what compose and swarm give it) or `--redis-maxmemory`.
   */
  redisMaxMemory: { mb: number; source: string };
  /**
   * Redis `maxclients` (each Redis the app uses) and where the figure comes from: Redis's default 10000 or
   * `--redis-maxclients` (managed tiers allow fewer).
   */
  redisMaxClients: { limit: number; source: string };
  /** Queues each worker runs: one blocking Redis connection each. */
  workerQueues: number;
  /** PostgreSQL max_connections. */
  maxConnections: number;
  /** superuser_reserved_connections + admin/monitoring headroom. */
  reservedConnections: number;
  /** Connections a running `salescale migrate` holds. */
  migrationConnections: number;
  /**
   * Processes a rolling update starts beside the old ones at the maxima (Kubernetes maxSurge), and what says so;
   * a release at the sale's peak holds both generations' pools. None when absent.
   */
  rolloutSurge?: { web: number; worker: number; source: string };
}

export const DEFAULT_CHECK_ASSUMPTIONS: CheckAssumptions = {
  dbSecondsPerRequest: 0.005,
  peakSessions: 20_000,
  sessionKb: 2,
  cacheKeys: 10_000,
  cacheValueKb: 8,
  queuedJobs: 50_000,
  jobKb: 2,
  peakRequestsPerShopperPerMinute: 40,
  shoppersPerIp: 3,
};

/**
 * Processes × pool max against max_connections, with a DB_POOL_MAX that fits or a PgBouncer fix. The rule is the
 * generator's (manifests/connection-budget.ts): pools + migrate + one CLI command + reserved must leave
 * CONNECTION_HEADROOM_PERCENT of max_connections free.
 */
export function checkDbConnections(o: CheckOptions): CheckFinding {
  const surge = o.rolloutSurge;
  const webProcesses = o.maxWebReplicas + (surge ? surge.web : 0);
  const workerProcesses = o.maxWorkerReplicas + (surge ? surge.worker : 0);
  const processes = webProcesses + workerProcesses;
  const workerPool = o.workerDbPoolMax ?? o.dbPoolMax;
  const demand = webProcesses * o.dbPoolMax + workerProcesses * workerPool;
  const pools = workerPool === o.dbPoolMax ? `pool max ${o.dbPoolMax}` : `pool max ${o.dbPoolMax} (web) and ${workerPool} (worker)`;
  const headroom = getMinHeadroom(o.maxConnections);
  const usable = getConnectionCeiling(o.maxConnections) - o.reservedConnections - o.migrationConnections - CLI_CONNECTIONS;
  // Busy connections at peak (Little's law) per web instance, +50 % for bursts, at least 2.
  const busyPerInstance = (o.peakRps / Math.max(1, o.maxWebReplicas)) * o.dbSecondsPerRequest;
  const neededPerInstance = Math.max(2, Math.ceil(busyPerInstance * 1.5));
  const fitting = Math.floor(usable / Math.max(1, processes));
  const during = surge ? `, + ${surge.web} web and ${surge.worker} worker during a rolling update (${surge.source}),` : '';
  const summary = `${o.maxWebReplicas} web + ${o.maxWorkerReplicas} worker processes${during} × ${pools} (${o.dbPoolMaxSource}) = ${demand} connections vs max_connections ${o.maxConnections} (${usable} usable after the ${CONNECTION_HEADROOM_PERCENT} % headroom (${headroom}), ${o.reservedConnections} reserved, ${o.migrationConnections} for a running migration and ${CLI_CONNECTIONS} for a CLI command)`;
  if (demand <= usable) return { id: 'db-connections', level: 'ok', message: `${summary}: fits` };
  const fix =
    fitting >= neededPerInstance
      ? `set DB_POOL_MAX to ${fitting} (${processes} × ${fitting} = ${processes * fitting} ≤ ${usable}); peak needs ~${neededPerInstance} busy connections per web instance (${o.peakRps.toFixed(0)} req/s × ${o.dbSecondsPerRequest * 1000} ms DB time), so ${fitting} is enough — or put PgBouncer (transaction pooling) in front with default_pool_size ≤ ${usable}`
      : `a pool of ${fitting} per process is below the ~${neededPerInstance} busy connections each instance needs at peak: put PgBouncer (transaction pooling, max_client_conn ≥ ${demand}, default_pool_size ≤ ${usable}) in front of PostgreSQL, or raise max_connections`;
  return { id: 'db-connections', level: 'error', message: `${summary}: does NOT fit — ${demand - usable} connections over what leaves ${CONNECTION_HEADROOM_PERCENT} % free`, fix };
}

/**
 * Memory of the Redis behind REDIS_URL (queues, sessions, rate limits, carts, the stock gate, and the cache
 * unless CACHE_REDIS_URL gives it its own) against its maxmemory; and how the app deals with eviction.
 */
export function checkRedisMemory(o: CheckOptions): CheckFinding[] {
  const mb = (kb: number) => kb / 1024;
  const sessions = mb(o.peakSessions * o.sessionKb);
  const cache = o.cacheHasOwnRedis ? 0 : mb(o.cacheKeys * o.cacheValueKb);
  const queues = mb(o.queuedJobs * o.jobKb);
  // Redis per-key overhead (~100 B) on top of values.
  const overhead = mb(((o.peakSessions + (o.cacheHasOwnRedis ? 0 : o.cacheKeys) + o.queuedJobs) * 100) / 1024);
  const total = sessions + cache + queues + overhead;
  const share = total / o.redisMaxMemory.mb;
  const parts = `sessions ${sessions.toFixed(0)} MB + ${o.cacheHasOwnRedis ? '' : `cache ${cache.toFixed(0)} MB + `}queues ${queues.toFixed(0)} MB + key overhead ${overhead.toFixed(0)} MB`;
  const where = o.cacheHasOwnRedis ? 'the queue Redis (REDIS_URL; the cache has its own, CACHE_REDIS_URL)' : 'the queue Redis (REDIS_URL), which also holds the cache (CACHE_REDIS_URL is not set)';
  const detail = `${where} at peak: ${parts} = ${total.toFixed(0)} MB of maxmemory ${o.redisMaxMemory.mb} MB (${o.redisMaxMemory.source}) (${(share * 100).toFixed(0)} %)`;
  const findings: CheckFinding[] = [];
  if (share > 0.8) {
    const suggested = 2 ** Math.ceil(Math.log2(total / 0.6));
    // It never evicts (below): full, it refuses writes, and enqueues, sessions and checkouts fail.
    const fix = `set maxmemory to at least ${suggested} MB (peak at ≤ 60 %)${o.cacheHasOwnRedis ? '' : ', or give the cache its own Redis (CACHE_REDIS_URL, allkeys-lru)'}`;
    findings.push({ id: 'redis-memory', level: share > 1 ? 'error' : 'warning', message: `Redis: ${detail}`, fix });
  } else findings.push({ id: 'redis-memory', level: 'ok', message: `Redis: ${detail}` });
  findings.push({
    id: 'redis-eviction',
    level: 'ok',
    message: `Redis eviction: the worker reads the queue Redis's maxmemory-policy at start and, in production, refuses to start unless it is noeviction (elsewhere it logs an error): BullMQ jobs and locks, sessions and the stock gate must not be evicted; ${o.cacheHasOwnRedis ? 'the cache\'s own Redis may evict (allkeys-lru)' : 'the cache shares it, so its keys only expire by their TTL'}`,
  });
  return findings;
}

/**
 * Redis connections of every process at the maxima during a rolling update (as `checkDbConnections` counts them) and
 * one CLI command, per Redis, against maxclients: past it Redis refuses new clients (`ERR max number of clients
 * reached`), so the new pods of a release cannot reach their sessions, stock gate or queues. More than
 * CONNECTION_HEADROOM_PERCENT of it in use is a warning, as for PostgreSQL.
 */
export function checkRedisConnections(o: CheckOptions): CheckFinding {
  const surge = o.rolloutSurge;
  const web = surge ? `(${o.maxWebReplicas} + ${surge.web})` : String(o.maxWebReplicas);
  const worker = surge ? `(${o.maxWorkerReplicas} + ${surge.worker})` : String(o.maxWorkerReplicas);
  const processes = { web: o.maxWebReplicas + (surge?.web ?? 0), worker: o.maxWorkerReplicas + (surge?.worker ?? 0), workerQueues: o.workerQueues };
  const per = getRedisConnectionsPerProcess(o.workerQueues);
  const count = countRedisConnections(processes, CLI_REDIS_CONNECTIONS);
  const redises = [
    { name: `queue Redis (REDIS_URL${o.cacheHasOwnRedis ? '' : ', which also serves the cache'})`, per: per.queue, total: count.queue },
    ...(o.cacheHasOwnRedis ? [{ name: 'cache Redis (CACHE_REDIS_URL)', per: per.cache, total: count.cache }] : []),
  ];
  const { limit, source } = o.redisMaxClients;
  const ceiling = getConnectionCeiling(limit);
  const most = Math.max(...redises.map((r) => r.total));
  const parts = redises.map((r) => `${r.name}: ${web} web × ${r.per.web} + ${worker} worker × ${r.per.worker} + CLI ${CLI_REDIS_CONNECTIONS} = ${r.total} connections`).join('; ');
  const summary = `Redis connections at the maxima${surge ? ` during a rolling update (${surge.source})` : ''}, ${parts} vs maxclients ${limit} (${source})`;
  if (most <= ceiling) return { id: 'redis-connections', level: 'ok', message: `${summary}: fits` };
  const fix = `raise maxclients (or pick a Redis tier that allows ≥ ${Math.ceil(most / (1 - CONNECTION_HEADROOM_PERCENT / 100))}), or lower the web/worker maxima`;
  if (most > limit) return { id: 'redis-connections', level: 'error', message: `${summary}: does NOT fit — new clients past ${limit} are refused (ERR max number of clients reached)`, fix };
  return { id: 'redis-connections', level: 'warning', message: `${summary}: leaves under ${CONNECTION_HEADROOM_PERCENT} % of maxclients free`, fix };
}

function perWindow(perMinute: number, l: { max: number; windowMs: number }): { expected: number; window: string } {
  const minutes = l.windowMs / 60_000;
  return { expected: perMinute * minutes, window: `${Number(minutes.toFixed(2))} min` };
}

/**
 * The limits as the app counts them (`platform/rate-limit/client-key.ts`): a signed-in buyer by customer
 * id against `customer` (and `sale` while a sale is live); anyone else by address (an IPv4 address, an IPv6
 * /64) against `general` and `sale`. A busy buyer who is limited is an error; shoppers who have not signed in
 * and share an address (carrier NAT, an office) sharing its budget is the design's trade-off, a warning.
 */
export function checkRateLimits(o: CheckOptions): CheckFinding[] {
  if (!o.rateLimit.enabled) {
    return [
      { id: 'rate-limit-signed-in', level: 'ok', message: 'rate limits are off (RATE_LIMIT_ENABLED=false): no shopper is limited' },
      { id: 'rate-limit-anonymous', level: 'ok', message: 'rate limits are off (RATE_LIMIT_ENABLED=false): no shopper is limited' },
    ];
  }
  const { general, customer, sale } = o.rateLimit.policies;
  const compare = (perMinute: number, limits: [string, string, { max: number; windowMs: number }][]) =>
    limits.map(([name, variable, l]) => {
      const { expected, window } = perWindow(perMinute, l);
      return { name, variable, l, expected, window, over: expected > l.max, near: expected > l.max * 0.8, text: `${name} ${l.max} / ${window} vs ${expected.toFixed(0)}` };
    });
  const raise = (rows: ReturnType<typeof compare>) => rows.filter((r) => r.near).map((r) => `${r.variable} to ≥ ${Math.ceil(r.expected * 1.5)}`).join(' and ');
  const level = (rows: ReturnType<typeof compare>, over: CheckLevel): CheckLevel => (rows.some((r) => r.over) ? over : rows.some((r) => r.near) ? 'warning' : 'ok');

  const buyer = compare(o.peakRequestsPerShopperPerMinute, [
    ['customer', 'RATE_LIMIT_CUSTOMER_MAX', customer],
    ['sale', 'RATE_LIMIT_SALE_MAX', sale],
  ]);
  const buyerLevel = level(buyer, 'error');
  const buyerMessage = `signed-in buyers, counted by customer id: ${buyer.map((r) => r.text).join(', ')} (one busy buyer at ${o.peakRequestsPerShopperPerMinute} req/min)`;
  const signedIn: CheckFinding =
    buyerLevel === 'ok'
      ? { id: 'rate-limit-signed-in', level: 'ok', message: `${buyerMessage}: fits` }
      : { id: 'rate-limit-signed-in', level: buyerLevel, message: `${buyerMessage}: ${buyerLevel === 'error' ? 'a busy buyer would be limited' : 'close to the limit'}`, fix: `raise ${raise(buyer)}` };

  const perAddress = o.peakRequestsPerShopperPerMinute * o.shoppersPerIp;
  const visitors = compare(perAddress, [
    ['general', 'RATE_LIMIT_GENERAL_MAX', general],
    ['sale', 'RATE_LIMIT_SALE_MAX', sale],
  ]);
  const visitorLevel = level(visitors, 'warning');
  const visitorMessage = `shoppers not signed in, counted by address (IPv4, IPv6 /64): ${visitors.map((r) => r.text).join(', ')} (${o.shoppersPerIp} busy shoppers behind one address: carrier NAT, an office)`;
  const anonymous: CheckFinding =
    visitorLevel === 'ok'
      ? { id: 'rate-limit-anonymous', level: 'ok', message: `${visitorMessage}: fits` }
      : {
          id: 'rate-limit-anonymous',
          level: visitorLevel,
          message: `${visitorMessage}: ${visitors.some((r) => r.over) ? 'they share the address\'s budget and would be limited until they sign in (signed-in buyers have their own)' : 'close to the limit'}`,
          fix: `raise ${raise(visitors)}, or have shoppers sign in before the sale`,
        };
  return [signedIn, anonymous];
}

export function runChecks(o: CheckOptions): CheckFinding[] {
  return [checkDbConnections(o), ...checkRedisMemory(o), checkRedisConnections(o), ...checkRateLimits(o)];
}
