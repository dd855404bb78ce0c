/**
 * Heroku Key-Value Store (heroku-redis) plans for app.json, sized from the spec as the other clouds' Redis are:
 * one add-on for the queues (REDIS_URL, noeviction: BullMQ jobs and locks, sessions, rate limits, carts, the stock
 * gate) and one for the cache (CACHE_REDIS_URL, allkeys-lru). A plan must hold its Redis's peak memory (the capacity
 * check's estimate, at most 60 % full, as `plan` advises) and every connection the dynos open at the spec's maxima.
 */
import { DEFAULT_CHECK_ASSUMPTIONS, type CheckAssumptions } from '../capacity/checks.ts';
import { countRedisConnections } from '../capacity/redis-connections.ts';
import type { DeploymentSpec } from './deployment-spec.ts';

export interface HerokuRedisPlan {
  name: string;
  memoryMb: number;
  /** Heroku's connection limit: past it Redis refuses new clients (`ERR max number of clients reached`). */
  connectionLimit: number;
}

/**
 * Heroku Dev Center, "Heroku Key-Value Store Technical Characterization" (Common Runtime premium tier). premium-0
 * to premium-5 are multi-tenant; from premium-7 on an instance is single-tenant.
 */
export const HEROKU_REDIS_PLANS: readonly HerokuRedisPlan[] = [
  { name: 'premium-0', memoryMb: 50, connectionLimit: 40 },
  { name: 'premium-1', memoryMb: 100, connectionLimit: 80 },
  { name: 'premium-2', memoryMb: 250, connectionLimit: 200 },
  { name: 'premium-3', memoryMb: 500, connectionLimit: 400 },
  { name: 'premium-4', memoryMb: 750, connectionLimit: 700 },
  { name: 'premium-5', memoryMb: 1024, connectionLimit: 1000 },
  { name: 'premium-7', memoryMb: 7 * 1024, connectionLimit: 10_000 },
  { name: 'premium-9', memoryMb: 10 * 1024, connectionLimit: 25_000 },
  { name: 'premium-10', memoryMb: 25 * 1024, connectionLimit: 40_000 },
  { name: 'premium-12', memoryMb: 50 * 1024, connectionLimit: 65_000 },
  { name: 'premium-14', memoryMb: 100 * 1024, connectionLimit: 65_000 },
];

/** A Redis is sized so that its estimated peak fills at most this share of it (the advice of `plan`'s redis-memory check). */
export const REDIS_PEAK_SHARE = 0.6;

/** Headroom for one-off dynos (`heroku run`, `salescale queues`) and the release phase. */
const ONE_OFF_CONNECTIONS = 10;

export interface HerokuRedisNeed {
  role: 'queue' | 'cache';
  memoryMb: number;
  connections: number;
}

/**
 * What each Redis needs at the spec's maxima. Web connections count twice: with Preboot the old dynos keep theirs
 * until the new ones serve. Memory is the capacity check's estimate (`salescale plan`), the cache on its own Redis.
 */
export function getHerokuRedisNeeds(spec: DeploymentSpec, assumptions: CheckAssumptions = DEFAULT_CHECK_ASSUMPTIONS): HerokuRedisNeed[] {
  const mb = (kb: number) => kb / 1024;
  const a = assumptions;
  // Values plus Redis's ~100 B per key.
  const queueMemory = mb(a.peakSessions * a.sessionKb + a.queuedJobs * a.jobKb + ((a.peakSessions + a.queuedJobs) * 100) / 1024);
  const cacheMemory = mb(a.cacheKeys * a.cacheValueKb + (a.cacheKeys * 100) / 1024);
  // Connections per process as `plan` counts them (capacity/redis-connections.ts).
  const connections = countRedisConnections({ web: 2 * spec.web.replicas.max, worker: spec.worker.replicas.max, workerQueues: spec.worker.queues.length }, ONE_OFF_CONNECTIONS);
  return [
    { role: 'queue', memoryMb: queueMemory, connections: connections.queue },
    { role: 'cache', memoryMb: cacheMemory, connections: connections.cache },
  ];
}

/** The smallest plan that holds the need's peak at ≤ 60 % and all of its connections; undefined if none does. */
export function pickHerokuRedisPlan(need: HerokuRedisNeed): HerokuRedisPlan | undefined {
  return HEROKU_REDIS_PLANS.find((p) => need.memoryMb <= p.memoryMb * REDIS_PEAK_SHARE && need.connections <= p.connectionLimit);
}
