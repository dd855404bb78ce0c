import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { LiveSaleCheck } from '../../modules/sale-events/index.ts';
import { rateLimitSubject } from '../../platform/rate-limit/client-key.ts';
import type { LimiterName, LimitPolicy, LimitState, RateLimiter } from '../../platform/rate-limit/limiter.ts';
import type { RateLimitMetrics } from '../../platform/rate-limit/rate-limit.metrics.ts';
import { sendError } from '../../platform/http/error-reply.ts';

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
  /**
   * Requests no limiter counts: an operator's, holding the admin token. The admin API is how an operator restocks,
   * pulls a product, forces a degrade mode or pauses a sale at the peak, when the `sale` limit (and a degrade mode's
   * tighter ones) would otherwise refuse them from the one address they share with their colleagues.
   * @defaultValue () => false
   */
  exempt?: (request: FastifyRequest) => boolean;
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
  /** Policies that count failed responses only: their unit is given back when the reply is sent and succeeded. */
  failures: LimitPolicy[];
  /** The client's address key, which policies counting successes only (`signup`) are kept under. */
  address: string;
  /** Policies counting failed responses only that a signed-in client's are kept under its address (`login`), as `failures`. */
  addressFailures: LimitPolicy[];
  /** Policies that count successful responses only: their unit is given back when the reply is sent and did not succeed. */
  successes: LimitPolicy[];
}

/**
 * The plugin, and its `limit` for the one kind of request that runs no hook: the router's own refusals
 * (`frameworkErrors`: a malformed URL), which must spend the client's budget as any other request does, or a client
 * could send them without end. `limit` sends the 429 (or fail-closed 503) itself when it refuses (`reply.sent`).
 */
export type RateLimitPlugin = FastifyPluginAsync & {
  limit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /**
   * Gives back the failed-attempt units (`checkout`, `login`) `limit` took for a request refused as not the client's
   * own attempt: a cross-site request, which a page of another site can make a shopper's browser send, ten of them
   * to `login` locking the shopper's address out of signing in. The units counted on every request stay spent.
   */
  forgiveAttempt: (request: FastifyRequest) => void;
};

/** Whether a reply counts against a successes-only limiter (`signup`): a 2xx, an account made. */
export function isSuccess(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300;
}

const TOO_MANY = 'too many requests, please retry later';

/** Requests refused 429 only because a degrade mode cut their limits: every refusing limit's configured max admitted them. */
const refusedByCut = new WeakSet<FastifyRequest>();

/**
 * Whether this request's 429 came only from a degrade mode's cut: the client was within its normal budget of every
 * limit that refused it (the degrade-mode figures count such a request as demand, never one past the normal limit).
 */
export function refusedOnlyByDegradeCut(request: FastifyRequest): boolean {
  return refusedByCut.has(request);
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
export function rateLimit(options: RateLimitPluginOptions): RateLimitPlugin {
  const pending = new WeakMap<FastifyRequest, Pending>();
  const customerIdOf = options.customerIdOf ?? (() => undefined);

  /** Counts a request against its limits; refused, the 429 (or fail-closed 503) is sent. */
  const limit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const routeConfig = request.routeOptions.config.rateLimit;
    if (routeConfig === false || isOperationalPath(request.routeOptions.url) || options.exempt?.(request)) return;
    const subject = rateLimitSubject({ ip: request.ip, customerId: customerIdOf(request) });
    // Accounts registered and failed sign-ins are counted by address even for a signed-in client (`byAddress`): each
    // account is a fresh `customer` budget, and counted per account, every new account would bring the budget for the
    // next one (and guesses at other customers' passwords with it).
    const address = subject.signedIn ? rateLimitSubject({ ip: request.ip }).key : subject.key;
    const all = typeof options.policies === 'function' ? options.policies() : options.policies;
    const policies: LimitPolicy[] = [subject.signedIn ? all.customer : all.general];
    const successes: LimitPolicy[] = [];
    const addressAttempts: LimitPolicy[] = [];
    if (await options.sale.isLive()) policies.push(all.sale);
    for (const name of routeConfig?.limiters ?? []) {
      const policy = all[name];
      if (policy.countSuccessesOnly) successes.push(policy);
      else if (policy.byAddress && subject.signedIn) addressAttempts.push(policy);
      else policies.push(policy);
    }

    /** Reserves `group` under `key`: `refused` once the 429 (or fail-closed 503) is sent, `unavailable` when Redis failed open. */
    const reserve = async (key: string, group: LimitPolicy[], code: string, message: string): Promise<'allowed' | 'refused' | 'unavailable'> => {
      let decision: Awaited<ReturnType<RateLimiter['reserve']>>;
      try {
        // A failed-attempts limiter's unit is taken now and given back on success: checked now and
        // recorded after a failure, every attempt of a burst would pass before the first was counted.
        decision = await options.limiter.reserve(key, group);
      } catch (error) {
        const closed = group.filter((p) => p.failClosed);
        // Each limiter's own outcome: a fail-open one allowed, even where a fail-closed one refused the request.
        for (const p of group) options.metrics.redisFailures.inc({ limiter: p.name, outcome: p.failClosed ? 'refused' : 'allowed' });
        request.log.warn({ err: error, limiters: group.map((p) => p.name) }, closed.length > 0 ? 'rate limit unavailable: refusing' : 'rate limit unavailable: allowing');
        if (closed.length === 0) return 'unavailable';
        reply.header('retry-after', '1');
        sendError(reply, 503, 'RATE_LIMIT_UNAVAILABLE', 'this action is temporarily unavailable, please retry shortly', {
          limiters: closed.map((p) => p.name),
        });
        return 'refused';
      }
      const headers = headerValues(decision.states);
      const policyHeader = reply.getHeader('ratelimit-policy');
      const limitHeader = reply.getHeader('ratelimit');
      reply.header('ratelimit-policy', policyHeader ? `${String(policyHeader)}, ${headers.policy}` : headers.policy);
      reply.header('ratelimit', limitHeader ? `${String(limitHeader)}, ${headers.limit}` : headers.limit);
      if (decision.allowed) return 'allowed';
      const refused = decision.states.filter((s) => !s.allowed);
      for (const s of refused) options.metrics.rejections.inc({ limiter: s.policy.name });
      if (refused.every((s) => s.withinBaseLimit)) refusedByCut.add(request);
      const retryAfterS = Math.max(1, Math.ceil(Math.max(...refused.map((s) => s.retryAfterMs)) / 1000));
      reply.header('retry-after', String(retryAfterS));
      sendError(reply, 429, code, message, { limiters: refused.map((s) => s.policy.name), retryAfterSeconds: retryAfterS });
      return 'refused';
    };

    // The sign-up limit first: refused, the request costs nothing else.
    const signedUp =
      successes.length > 0
        ? await reserve(address, successes, 'SIGNUP_RATE_LIMITED', 'too many accounts were registered from this network, please retry later or check out as a guest')
        : undefined;
    if (signedUp === 'refused') return reply;
    const taken = signedUp === 'allowed' ? successes : [];
    // A signed-in client's attempts under its address: a key of another Redis Cluster slot than its customer id's, so a call of its own.
    const attempted = addressAttempts.length > 0 ? await reserve(address, addressAttempts, 'RATE_LIMITED', TOO_MANY) : undefined;
    if (attempted === 'refused') {
      if (taken.length > 0) giveBack(request, address, taken);
      return reply;
    }
    const attempts = attempted === 'allowed' ? addressAttempts : [];
    const outcome = await reserve(subject.key, policies, 'RATE_LIMITED', TOO_MANY);
    if (outcome === 'refused') {
      if (taken.length > 0 || attempts.length > 0) giveBack(request, address, [...taken, ...attempts]);
      return reply;
    }
    const failures = outcome === 'allowed' ? policies.filter((p) => p.countFailuresOnly) : [];
    if (failures.length > 0 || taken.length > 0 || attempts.length > 0) {
      pending.set(request, { subject: subject.key, failures, notFailures: routeConfig?.notFailures, address, addressFailures: attempts, successes: taken });
    }
  };

  const forgiveAttempt = (request: FastifyRequest): void => {
    const entry = pending.get(request);
    if (entry === undefined) return;
    if (entry.failures.length > 0) giveBack(request, entry.subject, entry.failures);
    if (entry.addressFailures.length > 0) giveBack(request, entry.address, entry.addressFailures);
    entry.failures = [];
    entry.addressFailures = [];
  };

  function giveBack(request: FastifyRequest, subject: string, policies: LimitPolicy[]): void {
    options.limiter.giveBack(subject, policies).catch((error: unknown) => {
      for (const p of policies) options.metrics.redisFailures.inc({ limiter: p.name, outcome: 'not_given_back' });
      request.log.warn({ err: error, limiters: policies.map((p) => p.name) }, "could not give an attempt's unit back to its rate limit");
    });
  }

  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onRequest', limit);

    // On send, not on response: onResponse never runs for a client that hung up before the reply (a reload while
    // checkout waits on locked stock, a dropped mobile connection), so each such success kept its unit and a buyer
    // was locked out of checkout after a few reloads. The reply's status is final here; the unit goes back
    // without holding the reply up (the buyer's next request follows it on the same Redis connection).
    app.addHook('onSend', (request, reply, payload, done) => {
      const entry = pending.get(request);
      if (entry) {
        pending.delete(request);
        if (!isFailedAttempt(reply.statusCode, entry.notFailures)) {
          if (entry.failures.length > 0) giveBack(request, entry.subject, entry.failures);
          if (entry.addressFailures.length > 0) giveBack(request, entry.address, entry.addressFailures);
        }
        if (entry.successes.length > 0 && !isSuccess(reply.statusCode)) giveBack(request, entry.address, entry.successes);
      }
      done(null, payload);
    });
  };
  // Hooks must apply to every route of the app, not only to routes registered inside this plugin.
  return Object.assign(fp(plugin, { name: 'salescale-rate-limit', fastify: '5.x', dependencies: ['salescale-sessions'] }), { limit, forgiveAttempt });
}
