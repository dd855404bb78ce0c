/**
 * One chaos case as a sale: two fresh products (a deep stock that shows recovery, a scarce one that
 * sells out around the fault and shows oversell), shoppers at a steady arrival rate through `url`, a
 * fault injected at FAULT_AT_SECONDS, then reconciliation and the figures.
 */
import { emailFigures, figuresOf, placedOrders, reconcile, type CaseFigures } from './accounting.ts';
import { runShopperLoad, type Buyer } from './load.ts';
import { sleep } from './processes.ts';
import { FAULT_AT_SECONDS, LOAD_SECONDS } from './settings.ts';
import type { Shop } from './shop.ts';

export interface SaleCase {
  name: string;
  shop: Shop;
  url: string;
  buyers: Buyer[];
  /** Arrivals per second (80 % checkouts, 20 % product reads). @defaultValue 40 */
  ratePerSecond?: number;
  /** Breaks something and heals it; resolves when healed, optionally with notes (an object) for the figures. */
  fault(): Promise<unknown>;
  /** How long to wait for confirmation emails after the load. @defaultValue 45000 */
  emailWaitMs?: number;
}

export interface SaleResult {
  figures: CaseFigures;
  productIds: number[];
}

export async function runSale(c: SaleCase): Promise<SaleResult> {
  const rate = c.ratePerSecond ?? 40;
  // Scarce: about 60 % of what its half of the checkouts asks for (1.5 units each) over the run.
  const scarceStock = Math.round((rate * 0.8 * 0.5 * 1.5 * LOAD_SECONDS) * 0.6);
  const deep = await c.shop.createProduct(`${c.name}-deep`, 1_000_000);
  const scarce = await c.shop.createProduct(`${c.name}-scarce`, scarceStock);
  const productIds = [deep, scarce];
  const before = (await c.shop.stockOf(deep)) + (await c.shop.stockOf(scarce));

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
  const run = await runShopperLoad({ url: c.url, buyers: c.buyers, productIds, browseIds: productIds, ratePerSecond: rate, durationMs: LOAD_SECONDS * 1000, checkoutShare: 0.8 });
  await faulting;
  if (faultError) throw faultError;
  // The load's clock started a hair after `origin`: shift the heal time onto it.
  const healedAtMs = healedAt === undefined ? undefined : healedAt - (run.startedAt - origin);

  const reconciled = await reconcile(c.shop.pool, c.url, run.attempts, c.buyers);
  const after = (await c.shop.stockOf(deep)) + (await c.shop.stockOf(scarce));
  const placed = await placedOrders(c.shop.pool, productIds);
  const figures = figuresOf(c.name, { attempts: run.attempts, retries: reconciled.retries }, { before, after }, placed, reconciled, healedAtMs);
  const emails = await emailFigures(c.shop.smtp, placed.orderIds, c.emailWaitMs ?? 45_000);
  figures.missingEmails = emails.missing;
  figures.duplicateEmails = emails.duplicate;
  Object.assign(figures.notes, faultNotes);
  figures.notes.healedAtSecond = healedAtMs === undefined ? null : Math.round(healedAtMs / 100) / 10;
  figures.notes.scarceStock = scarceStock;
  figures.notes.scarceLeft = await c.shop.stockOf(scarce);
  const perProduct = await c.shop.pool.query<{ product_id: string; units: string }>(
    `SELECT i.product_id, sum(i.quantity) AS units FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.status = 'placed' AND i.product_id = ANY($1::bigint[]) GROUP BY 1`,
    [productIds],
  );
  figures.notes.placedUnitsByProduct = Object.fromEntries(perProduct.rows.map((r) => [Number(r.product_id) === deep ? 'deep' : 'scarce', Number(r.units)]));
  figures.notes.goneFromStockByProduct = { deep: 1_000_000 - (await c.shop.stockOf(deep)), scarce: scarceStock - (figures.notes.scarceLeft as number) };
  figures.notes.retriedUnknowns = reconciled.retries.length;
  figures.notes.retryStatuses = reconciled.retries.map((r) => r.status).join(',') || 'none';
  return { figures, productIds };
}
