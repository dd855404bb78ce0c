import client from 'prom-client';

export interface RateLimitMetrics {
  rejections: client.Counter<'limiter'>;
  /** `outcome`: `allowed` (failed open), `refused` (failed closed), `not_given_back` (a successful attempt's unit kept). */
  redisFailures: client.Counter<'limiter' | 'outcome'>;
}

export function rateLimitMetricsFor(registry: client.Registry): RateLimitMetrics {
  return {
    rejections: new client.Counter({ name: 'rate_limit_rejections_total', help: 'Requests refused with 429 by a rate limiter', labelNames: ['limiter'], registers: [registry] }),
    redisFailures: new client.Counter({
      name: 'rate_limit_redis_failures_total',
      help: 'Rate limit checks that could not reach Redis, by limiter and what was done (allowed = failed open, refused = failed closed)',
      labelNames: ['limiter', 'outcome'],
      registers: [registry],
    }),
  };
}
