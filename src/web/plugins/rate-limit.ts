import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { LiveSaleCheck } from '../../modules/sale-events/index.ts';
import { rateLimitSubject } from '../../platform/rate-limit/client-key.ts';
import type { LimiterName, LimitPolicy, LimitState, RateLimiter } from '../../platform/rate-limit/limiter.ts';
import type { RateLimitMetrics } from '../../platform/rate-limit/rate-limit.metrics.ts';
import { sendError } from '../http/error-reply.ts';

/**
 * Per-route rate limit options, given as `config: { rateLimit: … }` in a route's options.
 * `false` exempts the route from every limiter.
 */
export interface RouteRateLimit {
  /** Limiters applied on top of the general (or per-customer) and sale limits, e.g. `['checkout']`. */
  limiters: LimiterName[];
  /**
   * Client-error statuses of this route that are not failed attempts (see {@link isFailedAttempt}), e.g. `[409]` on
   * checkout: the shop's state refused it (sold out, a purchase cap, an order no longer payable), not the client.
   */
  notFailures?: number[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: RouteRateLimit | false;
  }
}

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  /** The limits; a function is read on every request (degrade modes tighten them cluster-wide). */
  policies: Record<LimiterName, LimitPolicy> | (() => Record<LimiterName, LimitPolicy>);
  sale: LiveSaleCheck;
  metrics: RateLimitMetrics;
  logger: Logger;
  /**
   * The signed-in customer's id, when there is one. Customers (sessions) do not exist yet; until
   * they do every request is counted by client address.
   * @defaultValue () => undefined
   */
  customerIdOf?: (request: FastifyRequest) => string | undefined;
}

/**
 * Whether a reply counts against the failed-attempt limiters (`checkout`, `login`): a client error the route does
 * not list in `notFailures`, never a server error (503 DATABASE_BUSY, OVERLOADED: the shop's failure, not the
 * client's attempt; at a sale's peak ten of them locked a shopper out of checkout for the window).
 */
export function isFailedAttempt(statusCode: number, notFailures: readonly number[] = []): boolean {
  return statusCode >= 400 && statusCode < 500 && !notFailures.includes(statusCode);
}

/** Probes and operator endpoints are never limited: a load balancer must always see the truth. */
export function isOperationalPath(url: string | undefined): boolean {
  return url === '/health' || url === '/ready' || url === '/metrics' || (url !== undefined && (url === '/docs' || url.startsWith('/docs/')));
}

interface Pending {
  subject: string;
  notFailures: readonly number[] | undefined;
  /** Policies that count failed responses only: their unit is given back in onResponse when the reply succeeded. */
  failures: LimitPolicy[];
}

function headerValues(states: LimitState[]): { policy: string; limit: string } {
  return {
    policy: states.map((s) => `"${s.policy.name}";q=${s.policy.max};w=${Math.ceil(s.policy.windowMs / 1000)}`).join(', '),
    limit: states.map((s) => `"${s.policy.name}";r=${s.remaining};t=${Math.ceil(s.resetMs / 1000)}`).join(', '),
  };
}

/**
 * Shared rate limits (Redis, one round trip per request). Every request outside the operational
 * paths is counted against `general` (anonymous, by address) or `customer` (signed in, by id), and
 * against `sale` while a sale event is live; routes add more through `config.rateLimit`.
 * Refusals are 429 `RATE_LIMITED` with `Retry-After`; every limited reply carries the IETF draft
 * `RateLimit-Policy` and `RateLimit` headers. When Redis is unreachable, fail-open limiters let the
 * request through and fail-closed ones answer 503 `RATE_LIMIT_UNAVAILABLE`; each such request is
 * counted, and the next request tries Redis again (the client reconnects on its own).
 */
export function rateLimit(options: RateLimitPluginOptions): FastifyPluginAsync {
  const pending = new WeakMap<FastifyRequest, Pending>();
  const customerIdOf = options.customerIdOf ?? (() => undefined);

  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const routeConfig = request.routeOptions.config.rateLimit;
      if (routeConfig === false || isOperationalPath(request.routeOptions.url)) return;
      const subject = rateLimitSubject({ ip: request.ip, customerId: customerIdOf(request) });
      const all = typeof options.policies === 'function' ? options.policies() : options.policies;
      const policies: LimitPolicy[] = [subject.signedIn ? all.customer : all.general];
      if (await options.sale.isLive()) policies.push(all.sale);
      for (const name of routeConfig?.limiters ?? []) policies.push(all[name]);

      let decision: Awaited<ReturnType<RateLimiter['reserve']>>;
      try {
        // A failed-attempts limiter's unit is taken now and given back on success: checked now and
        // recorded after a failure, every attempt of a burst would pass before the first was counted.
        decision = await options.limiter.reserve(subject.key, policies);
      } catch (error) {
        const closed = policies.filter((p) => p.failClosed);
        for (const p of policies) options.metrics.redisFailures.inc({ limiter: p.name, outcome: closed.length > 0 ? 'refused' : 'allowed' });
        request.log.warn({ err: error, limiters: policies.map((p) => p.name) }, closed.length > 0 ? 'rate limit unavailable: refusing' : 'rate limit unavailable: allowing');
        if (closed.length === 0) return;
        reply.header('retry-after', '1');
        return sendError(reply, 503, 'RATE_LIMIT_UNAVAILABLE', 'this action is temporarily unavailable, please retry shortly', {
          limiters: closed.map((p) => p.name),
        });
      }

      const headers = headerValues(decision.states);
      reply.header('ratelimit-policy', headers.policy);
      reply.header('ratelimit', headers.limit);
      if (!decision.allowed) {
        const refused = decision.states.filter((s) => !s.allowed);
        for (const s of refused) options.metrics.rejections.inc({ limiter: s.policy.name });
        const retryAfterS = Math.max(1, Math.ceil(Math.max(...refused.map((s) => s.retryAfterMs)) / 1000));
        reply.header('retry-after', String(retryAfterS));
        return sendError(reply, 429, 'RATE_LIMITED', 'too many requests, please retry later', {
          limiters: refused.map((s) => s.policy.name),
          retryAfterSeconds: retryAfterS,
        });
      }
      const failures = policies.filter((p) => p.countFailuresOnly);
      if (failures.length > 0) pending.set(request, { subject: subject.key, failures, notFailures: routeConfig?.notFailures });
    });

    app.addHook('onResponse', async (request, reply) => {
      const entry = pending.get(request);
      if (!entry || isFailedAttempt(reply.statusCode, entry.notFailures)) return;
      try {
        await options.limiter.giveBack(entry.subject, entry.failures);
      } catch (error) {
        for (const p of entry.failures) options.metrics.redisFailures.inc({ limiter: p.name, outcome: 'not_given_back' });
        request.log.warn({ err: error }, "could not give a successful attempt's unit back to its rate limit");
      }
    });
  };
  // Hooks must apply to every route of the app, not only to routes registered inside this plugin.
  return fp(plugin, { name: 'salescale-rate-limit', fastify: '5.x', dependencies: ['salescale-sessions'] });
}
