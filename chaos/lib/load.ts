/**
 * Open-model shopper load and Jepsen-style accounting. Requests arrive at a fixed rate whatever
 * the replies (a sale's shoppers don't wait for the servers), each request's outcome is `ok`,
 * `failed` (a definite refusal: nothing happened) or `unknown` (5xx, timeout, connection error: it
 * may have happened), and unknown checkouts are reconciled from the database afterwards.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { sleep } from './processes.ts';

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface Attempt {
  kind: 'checkout' | 'pay' | 'browse' | 'login';
  /** ms since the load started. */
  start: number;
  end: number;
  status: number;
  /** Our error code, when the reply had our error body. */
  code?: string;
  retryAfter?: string;
  outcome: Outcome;
  /** Network-level failure (no HTTP reply). */
  error?: string;
  /** Checkouts: the buyer, the key and the lines. */
  buyer?: number;
  key?: string;
  units?: Map<number, number>;
  /** A 201 checkout's order id. */
  orderId?: number;
}

export interface Buyer {
  email: string;
  password: string;
  cookie?: string;
}

export interface ShopperLoadOptions {
  url: string;
  buyers: Buyer[];
  /** Products a checkout picks from (one line, 1–2 units). */
  productIds: number[];
  /** Products browsed (GET /products/:id). */
  browseIds: number[];
  ratePerSecond: number;
  durationMs: number;
  /** Share of arrivals that are checkouts (the rest browse). @defaultValue 1 */
  checkoutShare?: number;
  /** Each request's own limit; past it the client gives up (unknown). @defaultValue 10000 */
  timeoutMs?: number;
  /** @defaultValue 'keep-alive' */
  connections?: ClientConnections;
}

export interface LoadRun {
  startedAt: number;
  attempts: Attempt[];
}

function classify(kind: Attempt['kind'], status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  // A refusal in our shape says nothing was done (out of stock, signed out, rate limited, bad input).
  if (status >= 400 && status < 500) return 'failed';
  // 5xx (ours or the LB's): a checkout or a payment may have committed before the reply was lost.
  return kind === 'checkout' || kind === 'pay' ? 'unknown' : 'failed';
}

/**
 * Connections to the load balancer. Kept alive by default, like a browser. `fresh` opens one per
 * request: an nginx reload (how nginx deregisters an upstream) closes its old workers' idle client
 * connections, and a client that picks such a connection at that moment sees "socket hang up" — an
 * artefact of reloading nginx, not of the instances (a cloud LB changes its targets without that).
 */
const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
export type ClientConnections = 'keep-alive' | 'fresh';

interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  connections?: ClientConnections;
}

function send(url: string, init: SendInit): Promise<{ status: number; code?: string; id?: number; retryAfter?: string; cookie?: string; error?: string }> {
  return new Promise((resolve) => {
    const request = http.request(url, {
      method: init.method ?? 'GET',
      headers: { ...init.headers, ...(init.body ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) },
      agent: init.connections === 'fresh' ? false : keepAliveAgent,
      timeout: init.timeoutMs,
    });
    const timer = setTimeout(() => request.destroy(new Error('timeout')), init.timeoutMs);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        let code: string | undefined;
        let id: number | undefined;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          code = body?.error?.code;
          id = typeof body?.id === 'number' ? body.id : undefined;
        } catch {
          // not ours (an LB page)
        }
        const setCookie = response.headers['set-cookie'] ?? [];
        const cookie = setCookie.find((c) => c.startsWith('salescale_sid='))?.split(';')[0];
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, code, id, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, cookie });
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        resolve({ status: 0, error: error.message });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 0, error: (error as NodeJS.ErrnoException).code ?? error.message });
    });
    request.end(init.body);
  });
}

/** Signs a buyer in (POST /sessions); true when it got a session. */
export async function signIn(url: string, buyer: Buyer, timeoutMs = 10_000, connections: ClientConnections = 'keep-alive'): Promise<Attempt> {
  const start = performance.now();
  const reply = await send(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: buyer.email, password: buyer.password }),
    timeoutMs,
    connections,
  });
  if (reply.cookie) buyer.cookie = reply.cookie;
  return { kind: 'login', start, end: performance.now(), status: reply.status, code: reply.code, retryAfter: reply.retryAfter, outcome: classify('login', reply.status), error: reply.error };
}

/** One checkout with a given key (a retry reuses the key, as a real client does). */
export async function checkout(url: string, buyerIndex: number, buyer: Buyer, lines: Map<number, number>, key: string, timeoutMs = 10_000, connections: ClientConnections = 'keep-alive'): Promise<Attempt> {
  const start = performance.now();
  const reply = await send(`${url}/api/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: buyer.cookie ?? '', 'idempotency-key': key },
    body: JSON.stringify({ items: [...lines].map(([productId, quantity]) => ({ productId, quantity })) }),
    timeoutMs,
    connections,
  });
  if (reply.status === 401) buyer.cookie = undefined;
  return {
    kind: 'checkout',
    start,
    end: performance.now(),
    status: reply.status,
    code: reply.code,
    retryAfter: reply.retryAfter,
    outcome: classify('checkout', reply.status),
    error: reply.error,
    buyer: buyerIndex,
    key,
    units: lines,
    orderId: reply.status === 201 ? reply.id : undefined,
  };
}

/** Pays an order with the test provider's approving card (same Idempotency-Key on a retry). */
export async function pay(url: string, buyer: Buyer, orderId: number, timeoutMs = 10_000, connections: ClientConnections = 'keep-alive'): Promise<Attempt> {
  const start = performance.now();
  const reply = await send(`${url}/api/v1/orders/${orderId}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: buyer.cookie ?? '', 'idempotency-key': `pay-${orderId}` },
    body: JSON.stringify({ token: 'tok_ok' }),
    timeoutMs,
    connections,
  });
  return { kind: 'pay', start, end: performance.now(), status: reply.status, code: reply.code, retryAfter: reply.retryAfter, outcome: classify('pay', reply.status), error: reply.error, orderId };
}

/** Runs the load; resolves when every request it started has finished. */
export async function runShopperLoad(options: ShopperLoadOptions, onTick?: (elapsedMs: number) => void): Promise<LoadRun> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const connections = options.connections ?? 'keep-alive';
  const checkoutShare = options.checkoutShare ?? 1;
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  const busy = new Set<number>();
  const origin = performance.now();
  const interval = 1000 / options.ratePerSecond;
  let n = 0;
  const track = (work: Promise<Attempt | Attempt[]>) => {
    const p = work.then((result) => {
      for (const attempt of [result].flat()) attempts.push({ ...attempt, start: attempt.start - origin, end: attempt.end - origin });
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  while (performance.now() - origin < options.durationMs) {
    const due = origin + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    onTick?.(performance.now() - origin);
    n++;
    if (Math.random() >= checkoutShare) {
      const id = options.browseIds[n % options.browseIds.length]!;
      track(
        (async () => {
          const start = performance.now();
          const reply = await send(`${options.url}/api/v1/products/${id}`, { timeoutMs, connections });
          return { kind: 'browse' as const, start, end: performance.now(), status: reply.status, code: reply.code, retryAfter: reply.retryAfter, outcome: classify('browse', reply.status), error: reply.error };
        })(),
      );
      continue;
    }
    // A buyer has one checkout at a time (as a person does); a busy pick takes the next free one.
    let index = Math.floor(Math.random() * options.buyers.length);
    for (let tries = 0; busy.has(index) && tries < options.buyers.length; tries++) index = (index + 1) % options.buyers.length;
    if (busy.has(index)) continue;
    const buyer = options.buyers[index]!;
    const productId = options.productIds[Math.floor(Math.random() * options.productIds.length)]!;
    const lines = new Map([[productId, 1 + Math.floor(Math.random() * 2)]]);
    busy.add(index);
    track(
      (async () => {
        const done: Attempt[] = [];
        if (!buyer.cookie) done.push(await signIn(options.url, buyer, timeoutMs, connections));
        if (buyer.cookie) {
          const placed = await checkout(options.url, index, buyer, lines, `chaos-${randomUUID()}`, timeoutMs, connections);
          done.push(placed);
          // Checkout reserves; the buyer pays at once (the confirmation email follows the payment).
          if (placed.orderId !== undefined) done.push(await pay(options.url, buyer, placed.orderId, timeoutMs, connections));
        }
        return done;
      })().finally(() => busy.delete(index)),
    );
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  return { startedAt: origin, attempts };
}
