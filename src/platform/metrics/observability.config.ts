import { ConfigError, int, num, optionalStr, secretStr, timerMs } from '../config/env-schema.ts';

/**
 * Metrics exposure, `/health` thresholds (the seed strategy's: p95 < 500 ms, p99 < 1000 ms, error
 * rate < 1 % is healthy; p95 > 2 s or error rate > 5 % is its CRITICAL level), the slow-query
 * threshold and the optional CloudWatch Embedded Metric Format lines.
 */
export const observabilityEnv = {
  METRICS_PORT: int({ default: 0, min: 0, max: 65535 }),
  METRICS_TOKEN: secretStr(),
  METRICS_PUBLIC: optionalStr(),
  DB_SLOW_QUERY_MS: int({ default: 100, min: 1 }),
  HEALTH_WINDOW_S: int({ default: 60, min: 1, max: 3600 }),
  HEALTH_P95_DEGRADED_MS: int({ default: 500, min: 1 }),
  HEALTH_P99_DEGRADED_MS: int({ default: 1000, min: 1 }),
  HEALTH_P95_UNHEALTHY_MS: int({ default: 2000, min: 1 }),
  HEALTH_ERROR_DEGRADED_PERCENT: num({ default: 1, min: 0, max: 100 }),
  HEALTH_ERROR_UNHEALTHY_PERCENT: num({ default: 5, min: 0, max: 100 }),
  CLOUDWATCH_EMF_NAMESPACE: optionalStr(),
  CLOUDWATCH_EMF_INTERVAL_MS: timerMs({ default: 60_000, min: 1000 }),
};

type ObservabilityEnv = { [K in keyof typeof observabilityEnv]: ReturnType<(typeof observabilityEnv)[K]['parse']> };

export interface HealthThresholds {
  degradedP95Ms: number;
  degradedP99Ms: number;
  unhealthyP95Ms: number;
  degradedErrorPercent: number;
  unhealthyErrorPercent: number;
}

export interface ObservabilityConfig {
  /**
   * Web role: serve `/metrics` on this port instead of the public one (0 = on the public port).
   * @defaultValue 0
   */
  metricsPort: number;
  /** When set, `/metrics` (web and worker) requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /**
   * Whether the web role's public port serves `/metrics` to anonymous requests (METRICS_PUBLIC).
   * Irrelevant with METRICS_PORT or METRICS_TOKEN set.
   * @defaultValue false in production, true elsewhere
   */
  metricsPublic: boolean;
  /** Queries slower than this are counted in `db_slow_queries_total` and logged. @defaultValue 100 */
  slowQueryMs: number;
  /** `/health` looks at the requests of the last `windowSeconds`. @defaultValue 60 */
  health: { windowSeconds: number; thresholds: HealthThresholds };
  /** CloudWatch EMF: a namespace turns the log lines on. */
  emf: { namespace: string | undefined; intervalMs: number };
}

export function observabilityConfigFrom(e: ObservabilityEnv, isProduction: boolean): ObservabilityConfig {
  if (e.METRICS_PUBLIC !== undefined && !/^(true|false)$/.test(e.METRICS_PUBLIC)) throw new ConfigError('METRICS_PUBLIC', `must be true or false, got "${e.METRICS_PUBLIC}"`);
  // No whitespace around it (`secretStr`): the length counted is that of the token a client presents.
  if (e.METRICS_TOKEN !== undefined && e.METRICS_TOKEN.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  if (e.HEALTH_P95_UNHEALTHY_MS < e.HEALTH_P95_DEGRADED_MS) throw new ConfigError('HEALTH_P95_UNHEALTHY_MS', `must not be below HEALTH_P95_DEGRADED_MS (${e.HEALTH_P95_DEGRADED_MS})`);
  if (e.HEALTH_ERROR_UNHEALTHY_PERCENT < e.HEALTH_ERROR_DEGRADED_PERCENT) {
    throw new ConfigError('HEALTH_ERROR_UNHEALTHY_PERCENT', `must not be below HEALTH_ERROR_DEGRADED_PERCENT (${e.HEALTH_ERROR_DEGRADED_PERCENT})`);
  }
  return {
    metricsPort: e.METRICS_PORT,
    metricsToken: e.METRICS_TOKEN,
    // Closed by default in production: metrics name routes, queues, instance ids and load.
    metricsPublic: e.METRICS_PUBLIC === undefined ? !isProduction : e.METRICS_PUBLIC === 'true',
    slowQueryMs: e.DB_SLOW_QUERY_MS,
    health: {
      windowSeconds: e.HEALTH_WINDOW_S,
      thresholds: {
        degradedP95Ms: e.HEALTH_P95_DEGRADED_MS,
        degradedP99Ms: e.HEALTH_P99_DEGRADED_MS,
        unhealthyP95Ms: e.HEALTH_P95_UNHEALTHY_MS,
        degradedErrorPercent: e.HEALTH_ERROR_DEGRADED_PERCENT,
        unhealthyErrorPercent: e.HEALTH_ERROR_UNHEALTHY_PERCENT,
      },
    },
    emf: { namespace: e.CLOUDWATCH_EMF_NAMESPACE, intervalMs: e.CLOUDWATCH_EMF_INTERVAL_MS },
  };
}
