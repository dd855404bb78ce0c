import type { HealthThresholds } from './observability.config.ts';
import type { RecentSummary } from './recent-requests.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** The seed strategy's queue-depth thresholds: > 1000 is its WARNING, > 5000 its CRITICAL. */
export const QUEUE_DEPTH_HEALTH = { degraded: 1000, unhealthy: 5000 } as const;

/** The seed strategy's "DB connections > 80 %" (connections in use over the pool ceiling). */
export const DB_POOL_DEGRADED_RATIO = 0.8;

export interface HealthInputs {
  recent: RecentSummary;
  pool: { total: number; idle: number; waiting: number; max: number };
  /** Runnable backlog across queues; undefined when Redis did not answer. */
  queueDepth: number | undefined;
}

/**
 * The worst level any threshold reaches, with one reason per crossed threshold (so an on-call engineer
 * sees why). Latency and error figures come from the recent window; pool and queue figures are now.
 */
export function getHealthStatus(inputs: HealthInputs, t: HealthThresholds): { status: HealthStatus; reasons: string[] } {
  const reasons: string[] = [];
  let status: HealthStatus = 'healthy';
  const flag = (level: Exclude<HealthStatus, 'healthy'>, reason: string) => {
    reasons.push(reason);
    if (level === 'unhealthy' || status === 'healthy') status = level;
  };
  const { recent, pool, queueDepth } = inputs;
  if (recent.p95Ms > t.unhealthyP95Ms) flag('unhealthy', `p95 ${recent.p95Ms} ms > ${t.unhealthyP95Ms} ms`);
  else if (recent.p95Ms > t.degradedP95Ms) flag('degraded', `p95 ${recent.p95Ms} ms > ${t.degradedP95Ms} ms`);
  if (recent.p99Ms > t.degradedP99Ms) flag('degraded', `p99 ${recent.p99Ms} ms > ${t.degradedP99Ms} ms`);
  const errors = Math.round(recent.errorRatePercent * 100) / 100;
  if (recent.errorRatePercent > t.unhealthyErrorPercent) flag('unhealthy', `error rate ${errors} % > ${t.unhealthyErrorPercent} %`);
  else if (recent.errorRatePercent > t.degradedErrorPercent) flag('degraded', `error rate ${errors} % > ${t.degradedErrorPercent} %`);
  const inUse = pool.total - pool.idle;
  if (pool.max > 0 && inUse / pool.max > DB_POOL_DEGRADED_RATIO) flag('degraded', `database pool ${inUse}/${pool.max} in use (> ${DB_POOL_DEGRADED_RATIO * 100} %)`);
  if (queueDepth !== undefined) {
    if (queueDepth > QUEUE_DEPTH_HEALTH.unhealthy) flag('unhealthy', `queue depth ${queueDepth} > ${QUEUE_DEPTH_HEALTH.unhealthy}`);
    else if (queueDepth > QUEUE_DEPTH_HEALTH.degraded) flag('degraded', `queue depth ${queueDepth} > ${QUEUE_DEPTH_HEALTH.degraded}`);
  }
  return { status, reasons };
}
