/**
 * The contract every benchmark scenario implements; `bench/run.ts` runs them (`npm run bench`,
 * `salescale bench <scenario>`), writes one JSON per run and a markdown summary.
 *
 * How to add a scenario
 * ---------------------
 * 1. In a file of your own (e.g. `bench/checkout.ts`) export a `Scenario`:
 *
 *    export const checkoutHot: Scenario = {
 *      name: 'checkout-hot',
 *      describe: 'one hot product, many buyers; reference: pgbench single-row update',
 *      async run(ctx) {
 *        const db = await ctx.database({ products: 1 });        // fresh database, dropped after the run
 *        const app = await ctx.startApp(db);                    // `salescale serve`, stopped after the run
 *        const pg = await measurePgbenchSingleRow(ctx);         // bench/pgbench.ts (may be skipped)
 *        ...load...
 *        return {
 *          figures: { ordersPerSecond: 812, pgbenchTps: 4100, oversold: 0 },
 *          ratios: { ordersVsPgbench: 812 / 4100 },
 *          checks: [check('orders/s ÷ pgbench tps', 812 / 4100, '>=', 1), check('oversold units', 0, '==', 0)],
 *        };
 *      },
 *    };
 *
 * 2. Add it to the list in `bench/scenarios.ts` (the order there is the run order).
 * 3. A scenario that cannot run (tool missing, route not there yet) returns `skip(reason)` instead of
 *    throwing; the reason must say how to install or enable what is missing.
 *
 * Rules: loopback only; everything a scenario starts goes through `ctx.startApp` / `ctx.database` /
 * `ctx.onCleanup` so the runner stops it even when the scenario throws; stay within
 * `ctx.budgetSeconds` (the whole `npm run bench` must finish in 15 minutes on 2 cores); warm up before
 * measuring; ratios against a reference measured in the same run are the figures that carry.
 */
import type { BenchDatabase, RunningApp, StartAppOptions } from './stack.ts';

export interface BenchContext {
  /** Suggested measured seconds per load step (BENCH_DURATION_S, default 8). */
  durationSeconds: number;
  /** Connections for closed-model (autocannon) steps (BENCH_CONNECTIONS, default 64). */
  connections: number;
  /** Rough wall-clock allowance for this scenario, seconds. */
  budgetSeconds: number;
  /** A fresh database (migrated; catalog seeded when `products` > 0), dropped when the scenario ends. */
  database(options?: { products?: number; categories?: number }): Promise<BenchDatabase>;
  /** Starts one `salescale serve` instance on a free loopback port; stopped when the scenario ends. */
  startApp(database: BenchDatabase, options?: StartAppOptions): Promise<RunningApp>;
  /** Runs `fn` when the scenario ends (in reverse order of registration). */
  onCleanup(fn: () => Promise<void> | void): void;
  /** Progress line on stderr. */
  log(message: string): void;
  /** Results of scenarios that ran earlier in this run (e.g. sale-mix sizes its spike from capacity). */
  earlier: ReadonlyMap<string, ScenarioResult>;
}

export type Comparison = '>=' | '<=' | '<' | '>' | '==';

/** One target of the table, evaluated. */
export interface Check {
  name: string;
  measured: number;
  comparison: Comparison;
  target: number;
  pass: boolean;
  /** Optional context, e.g. which phase or what limits it. */
  note?: string;
}

export interface ScenarioResult {
  /** Absolute figures (req/s, ms, counts); names carry their unit. */
  figures: Record<string, number>;
  /** Figure ÷ reference measured in the same run. */
  ratios: Record<string, number>;
  checks: Check[];
  /** Anything else worth keeping (per-phase tables, settings, references' raw output). */
  details?: Record<string, unknown>;
  /** Set when the scenario could not run: why, and how to make it runnable. */
  skipped?: string;
}

export interface Scenario {
  /** kebab-case, used on the command line: `salescale bench <name>`. */
  name: string;
  /** One line for `--help` and the summary. */
  describe: string;
  /** A diagnostic that `npm run bench` skips; it runs only when named (`salescale bench <name>`). */
  optional?: boolean;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export function check(name: string, measured: number, comparison: Comparison, target: number, note?: string): Check {
  const pass =
    comparison === '>=' ? measured >= target
    : comparison === '<=' ? measured <= target
    : comparison === '<' ? measured < target
    : comparison === '>' ? measured > target
    : measured === target;
  return { name, measured: round(measured), comparison, target, pass, ...(note ? { note } : {}) };
}

export function skip(reason: string): ScenarioResult {
  return { figures: {}, ratios: {}, checks: [], skipped: reason };
}

/** Rounds to 3 significant decimals for ratios and ms; integers stay integers. */
export function round(n: number): number {
  if (!Number.isFinite(n)) return n;
  if (Math.abs(n) >= 100) return Math.round(n);
  return Math.round(n * 1000) / 1000;
}
