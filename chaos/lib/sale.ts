/**
 * One chaos case as a sale: two fresh products (a deep stock that shows recovery, a scarce one that
 * sells out around the fault and shows oversell), shoppers at a steady arrival rate through `url`, a
 * fault injected at FAULT_AT_SECONDS, then reconciliation and the figures.
 */
import { emailFigures, figuresOf, HOLDING, placedOrders, reconcile, type CaseFigures } from './accounting.ts';
import type { Instance } from '../../test/helpers/instances.ts';
import { loadavg } from 'node:os';
import { sampleLockWaits } from './lock-waits.ts';
import { runShopperLoad, signIn, type Attempt, type Buyer, type ClientConnections } from './load.ts';
import { startLoadBalancer, type LoadBalancer } from './nginx.ts';
import { sleep } from './processes.ts';
import { FAULT_AT_SECONDS, LOAD_SECONDS, SHORT } from './settings.ts';
import { startShop, type Shop, type ShopOptions } from './shop.ts';

export interface SaleCase {
  name: string;
  shop: Shop;
  url: string;
  buyers: Buyer[];
  /** Arrivals per second (80 % checkouts, each paid when placed; 20 % product reads). @defaultValue 40 (25 with CHAOS_SHORT) */
  ratePerSecond?: number;
  /** Breaks something and heals it; resolves when healed, optionally with notes (an object) for the figures. */
  fault(): Promise<unknown>;
  /** How long to wait for confirmation emails after the load. @defaultValue 45000 */
  emailWaitMs?: number;
  /** Client connections to the LB. @defaultValue 'keep-alive' */
  connections?: ClientConnections;
}

export interface SaleResult {
  figures: CaseFigures;
  productIds: number[];
}

export async function runSale(c: SaleCase): Promise<SaleResult> {
  // 40 arrivals/s in the full run; the short run (CI) keeps to 25/s so that a busy machine measures the faults, not its own overload.
  const rate = c.ratePerSecond ?? (SHORT ? 25 : 40);
  // Scarce: about 60 % of what its half of the checkouts asks for (1.5 units each) over the run.
  const scarceStock = Math.round((rate * 0.8 * 0.5 * 1.5 * LOAD_SECONDS) * 0.6);
  const deep = await c.shop.createProduct(`${c.name}-deep`, 1_000_000);
  const scarce = await c.shop.createProduct(`${c.name}-scarce`, scarceStock);
  const productIds = [deep, scarce];
  const before = (await c.shop.stockOf(deep)) + (await c.shop.stockOf(scarce));

  const loadAverageBefore = loadavg()[0]!;
  const lockWaits = sampleLockWaits(c.shop.pool);
  const origin = performance.now();
  let healedAt: number | undefined;
  let faultError: unknown;
  let faultNotes: Record<string, unknown> = {};
  const faulting = (async () => {
    await sleep(FAULT_AT_SECONDS * 1000);
    try {
      const notes = await c.fault();
      if (typeof notes === 'object' && notes !== null) faultNotes = notes as Record<string, unknown>;
    } catch (error) {
      faultError = error;
    }
    healedAt = performance.now() - origin;
  })();
  const run = await runShopperLoad({ url: c.url, buyers: c.buyers, productIds, browseIds: productIds, ratePerSecond: rate, durationMs: LOAD_SECONDS * 1000, checkoutShare: 0.8, connections: c.connections });
  await faulting;
  const lockWaitFigures = await lockWaits.stop();
  const loadAverageAfter = loadavg()[0]!;
  if (faultError) throw faultError;
  // The load's clock started a hair after `origin`: shift the heal time onto it.
  const healedAtMs = healedAt === undefined ? undefined : healedAt - (run.startedAt - origin);

  const reconciled = await reconcile(c.shop.pool, c.url, run.attempts, c.buyers);
  const after = (await c.shop.stockOf(deep)) + (await c.shop.stockOf(scarce));
  const placed = await placedOrders(c.shop.pool, productIds);
  const figures = figuresOf(c.name, { attempts: run.attempts, retries: reconciled.retries }, { before, after }, placed, reconciled, healedAtMs);
  // Confirmation emails follow payment: every paid order must get one.
  const emails = await emailFigures(c.shop.smtp, placed.paidOrderIds, c.emailWaitMs ?? 45_000);
  figures.notes.paidOrders = placed.paidOrderIds.length;
  figures.notes.unpaidOrders = placed.orderIds.length - placed.paidOrderIds.length;
  figures.missingEmails = emails.missing;
  figures.duplicateEmails = emails.duplicate;
  Object.assign(figures.notes, faultNotes);
  // Which requests were slow or refused busy, and when: a fault's effect is in `duringFault`, a busy machine's everywhere.
  const faultAtMs = FAULT_AT_SECONDS * 1000 - (run.startedAt - origin);
  Object.assign(figures.notes, slowness(run.attempts, faultAtMs, healedAtMs));
  figures.notes.lockWaits = lockWaitFigures;
  figures.notes.loadAverage = `${loadAverageBefore.toFixed(1)} → ${loadAverageAfter.toFixed(1)}`;
  figures.notes.healedAtSecond = healedAtMs === undefined ? null : Math.round(healedAtMs / 100) / 10;
  figures.notes.scarceStock = scarceStock;
  figures.notes.scarceLeft = await c.shop.stockOf(scarce);
  const perProduct = await c.shop.pool.query<{ product_id: string; units: string }>(
    `SELECT i.product_id, sum(i.quantity) AS units FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.status = ANY($2::order_status[]) AND i.product_id = ANY($1::bigint[]) GROUP BY 1`,
    [productIds, HOLDING],
  );
  figures.notes.placedUnitsByProduct = Object.fromEntries(perProduct.rows.map((r) => [Number(r.product_id) === deep ? 'deep' : 'scarce', Number(r.units)]));
  if (figures.unitsGoneFromStock !== figures.unitsInPlacedOrders) {
    const byStatus = await c.shop.pool.query(
      `SELECT o.status, i.product_id, count(*)::int AS orders, sum(i.quantity)::int AS units FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ANY($1::bigint[]) GROUP BY 1, 2`,
      [productIds],
    );
    const shards = await c.shop.pool.query('SELECT product_id, shard, available FROM product_stock WHERE product_id = ANY($1::bigint[]) ORDER BY 1, 2', [productIds]);
    const purchases = await c.shop.pool.query('SELECT product_id, sum(quantity)::int AS units FROM buyer_purchases WHERE product_id = ANY($1::bigint[]) GROUP BY 1', [productIds]);
    const itemless = await c.shop.pool.query('SELECT count(*)::int AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)');
    figures.notes.diagnosis = { purchases: purchases.rows, ordersWithoutItems: itemless.rows[0].n, byStatus: byStatus.rows, shards: shards.rows.map((r) => `${r.product_id}/${r.shard}:${r.available}`).join(' ') };
  }
  figures.notes.goneFromStockByProduct = { deep: 1_000_000 - (await c.shop.stockOf(deep)), scarce: scarceStock - (figures.notes.scarceLeft as number) };
  figures.notes.retriedUnknowns = reconciled.retries.length;
  figures.notes.retryStatuses = reconciled.retries.map((r) => r.status).join(',') || 'none';
  return { figures, productIds };
}

/** Requests over 5 s and 503 DATABASE_BUSY replies by kind, and requests over 5 s by when they started: before, during or after the fault. */
export function slowness(attempts: Attempt[], faultAtMs: number, healedAtMs: number | undefined) {
  const slow = attempts.filter((a) => a.end - a.start > 5000);
  const byKind = (list: Attempt[]) => {
    const out: Record<string, number> = {};
    for (const a of list) out[a.kind] = (out[a.kind] ?? 0) + 1;
    return out;
  };
  const healed = healedAtMs ?? Number.POSITIVE_INFINITY;
  return {
    over5sByKind: byKind(slow),
    databaseBusyByKind: byKind(attempts.filter((a) => a.code === 'DATABASE_BUSY')),
    over5sByPhase: {
      beforeFault: slow.filter((a) => a.start < faultAtMs).length,
      duringFault: slow.filter((a) => a.start >= faultAtMs && a.start < healed).length,
      afterFault: slow.filter((a) => a.start >= healed).length,
    },
  };
}

export interface SaleStack {
  shop: Shop;
  lb: LoadBalancer;
  webs: Instance[];
  workers: Instance[];
  buyers: Buyer[];
  close(): Promise<void>;
}

/** Two `salescale serve` behind nginx, one worker, `buyers` signed-in shoppers. */
export async function startSaleStack(options: ShopOptions & { buyers?: number; tag: string }): Promise<SaleStack> {
  const shop = await startShop(options);
  try {
    const webs = [await shop.startWeb(), await shop.startWeb()];
    const workers = [await shop.startWorker()];
    // nginx's idle timeout (30 s) below the instances' keep-alive (65 s default), as the README asks.
    const lb = await startLoadBalancer({ backends: webs.map((w) => w.port), upstreamIdleTimeoutMs: 30_000 });
    const buyers = await shop.createBuyers(options.buyers ?? (SHORT ? 80 : 200), options.tag);
    for (const buyer of buyers) await signIn(lb.url, buyer);
    if (buyers.some((b) => !b.cookie)) throw new Error('not every buyer could sign in');
    return {
      shop,
      lb,
      webs,
      workers,
      buyers,
      async close() {
        await lb.stop();
        await shop.close();
      },
    };
  } catch (error) {
    await shop.close();
    throw error;
  }
}
