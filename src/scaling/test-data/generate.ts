/**
 * Deterministic synthetic hourly traffic for backtests: daily + weekly seasonality, trend, and
 * autocorrelated multiplicative noise from a seeded PRNG (mulberry32). Same seed, same series.
 */
import { createRng } from '../../lib/rng.ts';
import type { HourlyPoint } from '../forecast/csv.ts';

/** Shape of a synthetic dataset. */
export interface SyntheticSeriesOptions {
  seed: number;
  weeks: number;
  /** First hour (a Monday 00:00 UTC keeps weeks aligned). */
  start: Date;
  /** Mean requests per hour at the start. */
  level: number;
  /** Growth per week, as a fraction (0.01 = +1 %/week). */
  weeklyGrowth: number;
  /** Standard deviation of the multiplicative noise. */
  noise: number;
  /** AR(1) coefficient of the noise. */
  autocorrelation: number;
  /** Daily amplitude (evening peak vs night). */
  dailyAmplitude: number;
  /** Weekend factor (1 = none). */
  weekendFactor: number;
}


function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function generateSyntheticSeries(o: SyntheticSeriesOptions): HourlyPoint[] {
  const rand = createRng(o.seed);
  const points: HourlyPoint[] = [];
  let ar = 0;
  for (let i = 0; i < o.weeks * 168; i++) {
    const hour = new Date(o.start.getTime() + i * 3_600_000);
    const h = hour.getUTCHours();
    const dow = hour.getUTCDay();
    // Night trough at 04:00, evening peak at 20:00, plus a lunch bump.
    const daily = 1 + o.dailyAmplitude * (0.7 * Math.sin(((h - 10) / 24) * 2 * Math.PI) + 0.3 * Math.exp(-((h - 12.5) ** 2) / 2));
    const weekly = dow === 0 || dow === 6 ? o.weekendFactor : dow === 5 ? 1.1 : 1;
    const trend = (1 + o.weeklyGrowth) ** (i / 168);
    ar = o.autocorrelation * ar + gaussian(rand) * o.noise * Math.sqrt(1 - o.autocorrelation ** 2);
    points.push({ hour, requests: Math.round(Math.max(0, o.level * daily * weekly * trend * (1 + ar))) });
  }
  return points;
}

/** The two datasets the backtest acceptance runs on. */
export const TEST_DATASETS: Record<string, SyntheticSeriesOptions> = {
  'shop-steady': { seed: 20261127, weeks: 10, start: new Date('2026-06-01T00:00:00Z'), level: 18_000, weeklyGrowth: 0.01, noise: 0.08, autocorrelation: 0.5, dailyAmplitude: 0.6, weekendFactor: 1.25 },
  'shop-growing': { seed: 424242, weeks: 9, start: new Date('2026-08-03T00:00:00Z'), level: 6_000, weeklyGrowth: 0.03, noise: 0.12, autocorrelation: 0.6, dailyAmplitude: 0.8, weekendFactor: 0.8 },
};

export function getTestDataset(name: string): HourlyPoint[] {
  const o = Object.hasOwn(TEST_DATASETS, name) ? TEST_DATASETS[name] : undefined;
  if (!o) throw new Error(`unknown test dataset ${name}`);
  return generateSyntheticSeries(o);
}
