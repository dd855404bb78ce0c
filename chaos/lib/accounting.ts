/**
 * From a load run to the figures each chaos case prints and asserts: replies by status, the LB's
 * own 502/504s, 500s, latency, 503s without Retry-After, unknown checkouts reconciled from
 * PostgreSQL (committed-but-unreported), units in 201 replies vs units gone from stock vs units in
 * placed orders, oversold units, missing and duplicate confirmation emails, seconds to recover.
 */
import type pg from 'pg';
import type { SmtpSink } from '../../test/helpers/smtp-sink.ts';
import { checkout, pay, signIn, type Attempt, type Buyer } from './load.ts';
import { sleep } from './processes.ts';

export interface CaseFigures {
  case: string;
  requests: number;
  ok: number;
  failed: number;
  unknown: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  lb502: number;
  lb504: number;
  replies500: number;
  maxLatencyMs: number;
  requestsOver5s: number;
  unavailableWithoutRetryAfter: number;
  checkouts: number;
  committedButUnreported: number;
  unknownNotCommitted: number;
  oversoldUnits: number;
  unitsIn201Replies: number;
  unitsGoneFromStock: number;
  unitsInPlacedOrders: number;
  missingEmails?: number;
  duplicateEmails?: number;
  /** Seconds from healing the fault until every checkout after it succeeded (null: no fault healed in the run). */
  secondsToRecover: number | null;
  /** Anything case-specific (a gate check, an LB log line, settings). */
  notes: Record<string, unknown>;
}

export interface Tally {
  attempts: Attempt[];
  /** Checkout replies of the unknown retries (reconciliation), kept apart from the load's figures. */
  retries: Attempt[];
}

function count<T>(items: T[], key: (item: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function units(attempts: Attempt[]): number {
  return attempts.filter((a) => a.kind === 'checkout' && a.status === 201).reduce((n, a) => n + [...(a.units?.values() ?? [])].reduce((x, y) => x + y, 0), 0);
}

/**
 * Reconciles the unknown checkouts: which committed (found by their Idempotency-Key), then retries
 * each with its key as a client would (a committed one is replayed as 201, one that did not commit
 * is placed now or refused).
 */
export async function reconcile(pool: pg.Pool, url: string, attempts: Attempt[], buyers: Buyer[]): Promise<{ committed: number; notCommitted: number; retries: Attempt[] }> {
  const unknown = attempts.filter((a) => a.kind === 'checkout' && a.outcome === 'unknown');
  if (unknown.length === 0) return { committed: 0, notCommitted: 0, retries: [] };
  const { rows } = await pool.query<{ key: string }>('SELECT idempotency_key AS key FROM orders WHERE idempotency_key = ANY($1::text[])', [unknown.map((a) => a.key)]);
  const committed = new Set(rows.map((r) => r.key));
  const retries: Attempt[] = [];
  for (const attempt of unknown) {
    const buyer = buyers[attempt.buyer!]!;
    for (let tries = 0; tries < 5; tries++) {
      if (!buyer.cookie) await signIn(url, buyer);
      const retry = await checkout(url, attempt.buyer!, buyer, attempt.units!, attempt.key!);
      if (retry.outcome !== 'unknown' && retry.status !== 401) {
        retries.push(retry);
        if (retry.orderId !== undefined) retries.push(await pay(url, buyer, retry.orderId));
        break;
      }
      await sleep(500);
    }
  }
  return { committed: committed.size, notCommitted: unknown.length - committed.size, retries };
}

/** Confirmation emails per order for `orderIds`, waiting up to `timeoutMs` for the missing ones. */
export async function emailFigures(smtp: SmtpSink, orderIds: number[], timeoutMs: number): Promise<{ missing: number; duplicate: number }> {
  const perOrder = () => {
    const counts = new Map<number, number>();
    for (const message of smtp.accepted) {
      const match = /^Subject: Order (\d+) confirmed/im.exec(message.raw);
      if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
    }
    return counts;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = perOrder();
    const missing = orderIds.filter((id) => !counts.has(id)).length;
    if (missing === 0 || Date.now() > deadline) {
      const duplicate = orderIds.reduce((n, id) => n + Math.max(0, (counts.get(id) ?? 0) - 1), 0);
      return { missing, duplicate };
    }
    await sleep(250);
  }
}

/** Statuses of an order that holds its units (reserved, paid or shipped). */
export const HOLDING = ['pending_payment', 'paid', 'fulfilled'];

/** Orders of the products that hold their units, their units, and which of them are paid (those get a confirmation email). */
export async function placedOrders(pool: pg.Pool, productIds: number[]): Promise<{ orderIds: number[]; paidOrderIds: number[]; units: number }> {
  const { rows } = await pool.query<{ id: string; status: string; units: string }>(
    `SELECT o.id, o.status, sum(i.quantity) AS units FROM orders o JOIN order_items i ON i.order_id = o.id
     WHERE o.status = ANY($2::order_status[]) AND i.product_id = ANY($1::bigint[]) GROUP BY o.id, o.status`,
    [productIds, HOLDING],
  );
  return {
    orderIds: rows.map((r) => Number(r.id)),
    paidOrderIds: rows.filter((r) => r.status !== 'pending_payment').map((r) => Number(r.id)),
    units: rows.reduce((n, r) => n + Number(r.units), 0),
  };
}

/**
 * Seconds from the heal to the first successful checkout after the last failing one (0: none failed after the heal;
 * Infinity: checkout never succeeded again). Not failures of the shop: a sold-out refusal, and a 401 `NOT_SIGNED_IN`
 * of a buyer whose session was lost with Redis (without persistence every session goes; the buyer signs in again,
 * counted in the statuses), or the figure would be the time until the last of hundreds of buyers came back.
 */
export function secondsToRecover(attempts: Attempt[], healedAtMs: number | undefined): number | null {
  if (healedAtMs === undefined) return null;
  const checkouts = attempts.filter((a) => a.kind === 'checkout').sort((a, b) => a.start - b.start);
  const lastBad = checkouts.filter((a) => a.outcome !== 'ok' && a.code !== 'OUT_OF_STOCK' && a.code !== 'NOT_SIGNED_IN').at(-1);
  if (!lastBad || lastBad.end <= healedAtMs) return 0;
  const next = checkouts.find((a) => a.start > lastBad.start && a.outcome === 'ok');
  return next ? Math.round((next.start - healedAtMs) / 100) / 10 : Number.POSITIVE_INFINITY;
}

export function figuresOf(
  name: string,
  tally: Tally,
  stock: { before: number; after: number },
  placed: { units: number },
  reconciled: { committed: number; notCommitted: number },
  healedAtMs: number | undefined,
): CaseFigures {
  const { attempts, retries } = tally;
  const latencies = attempts.map((a) => a.end - a.start);
  const checkouts = attempts.filter((a) => a.kind === 'checkout');
  const unitsIn201Replies = units(attempts) + units(retries);
  const unitsGoneFromStock = stock.before - stock.after;
  return {
    case: name,
    requests: attempts.length,
    ok: attempts.filter((a) => a.outcome === 'ok').length,
    failed: attempts.filter((a) => a.outcome === 'failed').length,
    unknown: attempts.filter((a) => a.outcome === 'unknown').length,
    statuses: count(attempts, (a) => (a.status === 0 ? `error:${a.error}` : String(a.status))),
    codes: count(attempts, (a) => a.code),
    // Our error body is JSON with a code: a 502/504 without one is the load balancer's.
    lb502: attempts.filter((a) => a.status === 502 && a.code === undefined).length,
    lb504: attempts.filter((a) => a.status === 504 && a.code === undefined).length,
    replies500: attempts.filter((a) => a.status === 500).length,
    maxLatencyMs: Math.round(Math.max(0, ...latencies)),
    requestsOver5s: latencies.filter((ms) => ms > 5000).length,
    unavailableWithoutRetryAfter: attempts.filter((a) => a.status === 503 && a.code !== undefined && !a.retryAfter).length,
    checkouts: checkouts.length,
    committedButUnreported: reconciled.committed,
    unknownNotCommitted: reconciled.notCommitted,
    oversoldUnits: Math.max(0, placed.units - stock.before) + Math.max(0, -stock.after) + Math.max(0, unitsIn201Replies - stock.before),
    unitsIn201Replies,
    unitsGoneFromStock,
    unitsInPlacedOrders: placed.units,
    secondsToRecover: secondsToRecover(attempts, healedAtMs),
    notes: {},
  };
}

/** One line per figure, for the suite's output and the README. */
export function printFigures(figures: CaseFigures): void {
  const { case: name, notes, ...rest } = figures;
  const lines = [`── chaos: ${name}`];
  for (const [key, value] of Object.entries({ ...rest, ...notes })) lines.push(`   ${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  process.stdout.write(lines.join('\n') + '\n');
}
