import Stripe from 'stripe';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server answering the few Stripe API calls Salescale makes, in Stripe's documented
 * shapes (https://docs.stripe.com/api/payment_intents, /api/refunds, /api/events, /api/errors,
 * /api/idempotent_requests), so the official SDK runs unchanged against it (its host/port/protocol
 * settings). It keeps Stripe's rules that matter here: form-encoded parameters, the secret key,
 * idempotency keys (at most 255 characters, else 400; same key + same parameters → the first response
 * replayed with `Idempotent-Replayed: true`; other parameters → 400 `idempotency_error`), the PaymentIntent state
 * machine (capture only from `requires_capture`, else 400 `payment_intent_unexpected_state`), and the
 * events it would send. Test controls stand in for the buyer confirming in the browser.
 */

export type PaymentIntentStatus = 'requires_payment_method' | 'requires_capture' | 'succeeded' | 'canceled' | 'processing';

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  capture_method: 'automatic' | 'manual';
  client_secret: string;
  confirmation_method: 'automatic';
  created: number;
  currency: string;
  customer: null;
  description: null;
  last_payment_error: null | { code: string; decline_code: string; message: string; type: 'card_error' };
  latest_charge: string | null;
  livemode: false;
  metadata: Record<string, string>;
  payment_method: string | null;
  payment_method_types: string[];
  status: PaymentIntentStatus;
  canceled_at: number | null;
  cancellation_reason: string | null;
}

const UNSUPPORTED_CURRENCIES = new Set(['irr', 'kpw', 'syp', 'cuc']);

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/** Stripe's form encoding: `metadata[orderId]=1` → `{ metadata: { orderId: '1' } }`. */
function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.replace(/\]/g, '').split('[');
    let target = out as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]!] = value;
  }
  return out;
}

export interface StripeServer {
  url: string;
  intents: Map<string, Intent>;
  /** Side effects per intent (replays of an idempotent request are not counted). */
  captures: Map<string, number>;
  cancels: Map<string, number>;
  refunds: Map<string, number>;
  /** Every event Stripe would have sent, in order. */
  events: StripeEvent[];
  /**
   * Refunds and cancels of these intents (or the calls listed in `calls`: `capture`, `cancel`, `refund`) are answered with
   * this error instead (a 4xx Stripe refuses for good, such as `charge_expired_for_refund`, a 429 it sends for now, which
   * is not kept under the idempotency key, or a 500); delete the entry to let them through again.
   */
  refusals: Map<string, { status: number; code?: string; message: string; afterRunning?: boolean; calls?: readonly ('capture' | 'cancel' | 'refund')[]; type?: 'card_error'; declineCode?: string }>;
  /**
   * Every request is answered with this error before it runs, as Stripe answers a key it does not take: 401
   * `authentication_error` (a wrong, revoked or rolled key), 403 `permission_error` (a restricted key lacking the
   * permission). Nothing is kept under the idempotency key. Set it back to `undefined` once the key is "fixed".
   */
  refuseAll: { status: 401 | 403; message: string } | undefined;
  /**
   * `POST /v1/payment_intents` (a pay call's createIntent) is answered with this error instead, as Stripe answers it
   * (kept under the idempotency key like any request that ran, but a 429): a `card_error` decline, an
   * `invalid_request_error` on a parameter, a 429 `rate_limit_error`, a 5xx `api_error`; or `'reset'`: the connection is
   * closed without an answer. Set it back to `undefined` to let pay calls through again.
   */
  refuseCreate: { status: number; type: string; message: string; code?: string; declineCode?: string; param?: string } | 'reset' | undefined;
  /**
   * Set to n: the next n `POST /v1/payment_intents` are each held until all n have arrived (then it clears itself),
   * so that n pay calls surely race past their "no open intent yet" check. Release them with `releaseCreates()`.
   */
  holdCreates: number | undefined;
  /** How many `POST /v1/payment_intents` are being held now (see `holdCreates`). */
  readonly heldCreates: number;
  releaseCreates(): void;
  /** Requests received, by path (with idempotency keys). */
  requests: { method: string; path: string; idempotencyKey: string | undefined; replayed: boolean }[];
  /** The buyer confirms the intent in the browser: authorized (manual capture) or captured, or declined. */
  confirm(intentId: string, outcome?: 'authorize' | 'capture' | 'decline'): StripeEvent[];
  event(type: string, object: Record<string, unknown>): StripeEvent;
  close(): Promise<void>;
}

export async function startStripeServer(options: { secretKey: string }): Promise<StripeServer> {
  const intents = new Map<string, Intent>();
  const captures = new Map<string, number>();
  const cancels = new Map<string, number>();
  const refunds = new Map<string, number>();
  const events: StripeEvent[] = [];
  const refusals: StripeServer['refusals'] = new Map();
  const requests: StripeServer['requests'] = [];
  const idempotent = new Map<string, { hash: string; status: number; body: unknown }>();
  /** Refund objects by intent (`GET /v1/refunds?payment_intent=`). */
  const refundObjects = new Map<string, Record<string, unknown>[]>();

  function event(type: string, object: Record<string, unknown>): StripeEvent {
    const e: StripeEvent = {
      id: id('evt'),
      object: 'event',
      api_version: '2025-11-17.clover',
      created: now(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    events.push(e);
    return e;
  }

  const error = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => ({ status, body: { error: { type, message, ...extra } } });

  function handle(method: string, path: string, params: Record<string, unknown>, unrefused = false): { status: number; body: unknown } {
    const intentPath = /^\/v1\/payment_intents\/([^/]+)(?:\/(capture|cancel))?$/.exec(path);
    const call = method !== 'POST' ? undefined : path === '/v1/refunds' ? 'refund' : intentPath?.[2] === 'cancel' || intentPath?.[2] === 'capture' ? intentPath[2] : undefined;
    const callIntent = call === 'refund' ? String(params.payment_intent) : intentPath?.[1];
    const listed = call && callIntent && !unrefused ? refusals.get(callIntent) : undefined;
    const refusal = listed && (listed.calls ?? ['cancel', 'refund']).includes(call!) ? listed : undefined;
    // `afterRunning`: the call happens, then Stripe answers with the error anyway (a 500 whose outcome is unknown to the caller).
    if (refusal?.afterRunning) {
      handle(method, path, params, true);
      return error(refusal.status, refusal.status >= 500 ? 'api_error' : 'invalid_request_error', refusal.message, refusal.code ? { code: refusal.code } : {});
    }
    if (refusal) {
      const type = refusal.type ?? (refusal.status >= 500 ? 'api_error' : refusal.status === 429 ? 'rate_limit_error' : 'invalid_request_error');
      return error(refusal.status, type, refusal.message, { ...(refusal.code ? { code: refusal.code } : {}), ...(refusal.declineCode ? { decline_code: refusal.declineCode } : {}) });
    }
    if (method === 'POST' && path === '/v1/payment_intents' && api.refuseCreate !== undefined && api.refuseCreate !== 'reset') {
      const r = api.refuseCreate;
      return error(r.status, r.type, r.message, { ...(r.code ? { code: r.code } : {}), ...(r.declineCode ? { decline_code: r.declineCode } : {}), ...(r.param ? { param: r.param } : {}) });
    }
    if (method === 'POST' && path === '/v1/payment_intents') {
      const amount = Number(params.amount);
      if (!Number.isInteger(amount) || amount < 1) return error(400, 'invalid_request_error', 'Invalid integer: amount', { param: 'amount', code: 'parameter_invalid_integer' });
      if (typeof params.currency !== 'string') return error(400, 'invalid_request_error', 'Missing required param: currency.', { param: 'currency', code: 'parameter_missing' });
      // A few ISO 4217 currencies in use that Stripe does not take (absent from https://docs.stripe.com/currencies).
      if (UNSUPPORTED_CURRENCIES.has(params.currency)) return error(400, 'invalid_request_error', `Invalid currency: ${params.currency}. Stripe currently supports these currencies: usd, eur, …`, { param: 'currency' });
      // Stripe's bounds for USD (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
      if (params.currency === 'usd' && amount < 50) return error(400, 'invalid_request_error', 'Amount must be at least $0.50 usd', { param: 'amount', code: 'amount_too_small' });
      if (amount > 99_999_999) return error(400, 'invalid_request_error', 'Amount must be no more than $999,999.99', { param: 'amount', code: 'amount_too_large' });
      const intentId = id('pi');
      const intent: Intent = {
        id: intentId,
        object: 'payment_intent',
        amount,
        amount_capturable: 0,
        amount_received: 0,
        capture_method: params.capture_method === 'manual' ? 'manual' : 'automatic',
        client_secret: `${intentId}_secret_${randomBytes(12).toString('hex')}`,
        confirmation_method: 'automatic',
        created: now(),
        currency: params.currency,
        customer: null,
        description: null,
        last_payment_error: null,
        latest_charge: null,
        livemode: false,
        metadata: (params.metadata as Record<string, string>) ?? {},
        payment_method: null,
        payment_method_types: ['card'],
        status: 'requires_payment_method',
        canceled_at: null,
        cancellation_reason: null,
      };
      intents.set(intentId, intent);
      event('payment_intent.created', intent as unknown as Record<string, unknown>);
      return { status: 200, body: intent };
    }
    if (intentPath) {
      const intent = intents.get(intentPath[1]!);
      if (!intent) return error(404, 'invalid_request_error', `No such payment_intent: '${intentPath[1]}'`, { code: 'resource_missing', param: 'intent' });
      const unexpected = (action: string) =>
        error(400, 'invalid_request_error', `This PaymentIntent could not be ${action} because it has a status of ${intent.status}.`, {
          code: 'payment_intent_unexpected_state',
          payment_intent: structuredClone(intent),
        });
      if (method === 'GET' && !intentPath[2]) return { status: 200, body: intent };
      if (method === 'POST' && intentPath[2] === 'capture') {
        if (intent.status !== 'requires_capture') return unexpected('captured');
        intent.status = 'succeeded';
        intent.amount_received = intent.amount;
        intent.amount_capturable = 0;
        captures.set(intent.id, (captures.get(intent.id) ?? 0) + 1);
        event('payment_intent.succeeded', intent as unknown as Record<string, unknown>);
        return { status: 200, body: intent };
      }
      if (method === 'POST' && intentPath[2] === 'cancel') {
        if (intent.status === 'succeeded' || intent.status === 'canceled') return unexpected('canceled');
        intent.status = 'canceled';
        intent.amount_capturable = 0;
        intent.canceled_at = now();
        intent.cancellation_reason = typeof params.cancellation_reason === 'string' ? params.cancellation_reason : null;
        cancels.set(intent.id, (cancels.get(intent.id) ?? 0) + 1);
        event('payment_intent.canceled', intent as unknown as Record<string, unknown>);
        return { status: 200, body: intent };
      }
    }
    if (method === 'GET' && path === '/v1/refunds') {
      const data = refundObjects.get(String(params.payment_intent)) ?? [];
      return { status: 200, body: { object: 'list', data, has_more: false, url: '/v1/refunds' } };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const intent = intents.get(String(params.payment_intent));
      if (!intent) return error(404, 'invalid_request_error', `No such payment_intent: '${params.payment_intent}'`, { code: 'resource_missing', param: 'payment_intent' });
      if (intent.status !== 'succeeded') {
        return error(400, 'invalid_request_error', `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, { code: 'charge_not_refundable' });
      }
      if ((refunds.get(intent.id) ?? 0) > 0) return error(400, 'invalid_request_error', `Charge ${intent.latest_charge} has already been refunded.`, { code: 'charge_already_refunded' });
      refunds.set(intent.id, 1);
      const refund = {
        id: id('re'),
        object: 'refund',
        amount: intent.amount_received,
        charge: intent.latest_charge,
        created: now(),
        currency: intent.currency,
        metadata: {},
        payment_intent: intent.id,
        reason: null,
        status: 'succeeded',
      };
      refundObjects.set(intent.id, [...(refundObjects.get(intent.id) ?? []), refund]);
      event('charge.refunded', {
        id: intent.latest_charge,
        object: 'charge',
        amount: intent.amount,
        amount_refunded: intent.amount_received,
        currency: intent.currency,
        payment_intent: intent.id,
        refunded: true,
        metadata: intent.metadata,
      });
      return { status: 200, body: refund };
    }
    return error(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  const api = { refuseAll: undefined as StripeServer['refuseAll'], refuseCreate: undefined as StripeServer['refuseCreate'], holdCreates: undefined as number | undefined };
  const held: (() => void)[] = [];
  const release = () => {
    api.holdCreates = undefined;
    for (const serve of held.splice(0)) serve();
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      if (api.holdCreates !== undefined && req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v1/payment_intents') {
        held.push(serve);
        if (held.length >= api.holdCreates) release();
        return;
      }
      serve();
    });
    const serve = () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? '/').split('?')[0]!;
      const key = req.headers['idempotency-key'] as string | undefined;
      if (req.headers.authorization !== `Bearer ${options.secretKey}`) {
        send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_***' } });
        return;
      }
      if (api.refuseAll) {
        requests.push({ method: req.method ?? 'GET', path, idempotencyKey: key, replayed: false });
        send(api.refuseAll.status, { error: { type: api.refuseAll.status === 401 ? 'authentication_error' : 'permission_error', message: api.refuseAll.message } });
        return;
      }
      if (api.refuseCreate === 'reset' && req.method === 'POST' && path === '/v1/payment_intents') {
        requests.push({ method: req.method, path, idempotencyKey: key, replayed: false });
        req.socket.destroy();
        return;
      }
      const params = parseForm(req.method === 'GET' ? ((req.url ?? '').split('?')[1] ?? '') : raw);
      const method = req.method ?? 'GET';
      if (key !== undefined && key.length > 255) {
        requests.push({ method, path, idempotencyKey: key, replayed: false });
        send(400, { error: { type: 'invalid_request_error', message: 'Idempotency keys can be at most 255 characters long.' } });
        return;
      }
      if (key !== undefined && method === 'POST') {
        const hash = createHash('sha256').update(`${path}\n${raw}`).digest('hex');
        const seen = idempotent.get(key);
        if (seen) {
          requests.push({ method, path, idempotencyKey: key, replayed: true });
          if (seen.hash !== hash) {
            send(400, {
              error: {
                type: 'idempotency_error',
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
              },
            });
            return;
          }
          send(seen.status, seen.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
          return;
        }
        const result = handle(method, path, params);
        // Stripe keeps the result of a request that ran, 4xx and 5xx included; not one refused before it ran (429).
        if (result.status !== 429) idempotent.set(key, { hash, status: result.status, body: result.body });
        requests.push({ method, path, idempotencyKey: key, replayed: false });
        send(result.status, result.body, { 'idempotency-key': key });
        return;
      }
      requests.push({ method, path, idempotencyKey: key, replayed: false });
      const result = handle(method, path, params);
      send(result.status, result.body);
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    get refuseAll() {
      return api.refuseAll;
    },
    set refuseAll(refusal) {
      api.refuseAll = refusal;
    },
    get holdCreates() {
      return api.holdCreates;
    },
    set holdCreates(count) {
      api.holdCreates = count;
    },
    get heldCreates() {
      return held.length;
    },
    releaseCreates: release,
    get refuseCreate() {
      return api.refuseCreate;
    },
    set refuseCreate(refusal) {
      api.refuseCreate = refusal;
    },
    url: `http://127.0.0.1:${port}`,
    intents,
    captures,
    cancels,
    refunds,
    events,
    refusals,
    requests,
    event,
    confirm(intentId, outcome = 'authorize') {
      const intent = intents.get(intentId);
      if (!intent) throw new Error(`no intent ${intentId}`);
      if (intent.status !== 'requires_payment_method') throw new Error(`intent ${intentId} is ${intent.status}`);
      intent.payment_method = id('pm');
      if (outcome === 'decline') {
        intent.last_payment_error = { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', type: 'card_error' };
        return [event('payment_intent.payment_failed', intent as unknown as Record<string, unknown>)];
      }
      intent.latest_charge = id('ch');
      if (outcome === 'capture') {
        intent.status = 'succeeded';
        intent.amount_received = intent.amount;
        return [event('payment_intent.succeeded', intent as unknown as Record<string, unknown>)];
      }
      intent.status = 'requires_capture';
      intent.amount_capturable = intent.amount;
      return [event('payment_intent.amount_capturable_updated', intent as unknown as Record<string, unknown>)];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The `app.inject` request of a webhook delivery of `event`, signed with `secret` as Stripe signs it (the one way the
 * payment tests deliver events).
 */
export function signedWebhook(event: StripeEvent, secret: string) {
  const payload = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret });
  return { method: 'POST' as const, url: '/api/v1/payments/webhooks/stripe', headers: { 'content-type': 'application/json', 'stripe-signature': header }, payload };
}
