import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { getRealDataset } from '../test-data/real-datasets.ts';
import { decomposeStl } from './stl.ts';

/** R's stl() on the committed series, printed by r-stl.fixture.R. */
const R = JSON.parse(readFileSync(new URL('./r-stl.fixture.json', import.meta.url), 'utf8')) as Record<'electricity' | 'atlanta', { seasonal: number[]; trend: number[] }>;

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  // R printed 10 significant digits; 1e-6 relative leaves room for the last one.
  for (const [i, v] of actual.entries()) assert.ok(Math.abs(v - expected[i]) <= 1e-6 * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${v} vs R ${expected[i]}`);
}

describe('STL against R', () => {
  it('decomposes two weeks of the electricity series (period 24, s.window = 7: loess with jumps) as R does', () => {
    const y = getRealDataset('taylor-electricity').slice(0, 336).map((p) => p.requests);
    const s = decomposeStl(y, { period: 24, seasonalWindow: 7 });
    assertClose(s.seasonal, R.electricity.seasonal, 'seasonal');
    assertClose(s.trend, R.electricity.trend, 'trend');
  });
  it('decomposes three weeks of Atlanta departures (period 168, periodic, zero-traffic nights) as R does', () => {
    const y = getRealDataset('us-flights-2001-atl').slice(0, 504).map((p) => p.requests);
    const s = decomposeStl(y, { period: 168, seasonalWindow: 'periodic' });
    assertClose(s.seasonal, R.atlanta.seasonal, 'seasonal');
    assertClose(s.trend, R.atlanta.trend, 'trend');
    for (const [i, v] of y.entries()) assert.ok(Math.abs(s.seasonal[i] + s.trend[i] + s.remainder[i] - v) < 1e-9);
    assert.ok(s.weights.every((w) => w === 1));
  });
  it('robust: an outlier gets no weight and moves the trend less than without robustness', () => {
    const y = getRealDataset('taylor-electricity').slice(0, 336).map((p) => p.requests);
    y[200] *= 3;
    const plain = decomposeStl(y, { period: 24, seasonalWindow: 7 });
    const robust = decomposeStl(y, { period: 24, seasonalWindow: 7, robust: true });
    assert.equal(robust.weights[200], 0);
    const clean = decomposeStl(getRealDataset('taylor-electricity').slice(0, 336).map((p) => p.requests), { period: 24, seasonalWindow: 7 });
    assert.ok(Math.abs(robust.trend[200] - clean.trend[200]) < Math.abs(plain.trend[200] - clean.trend[200]) / 3);
  });
  it('refuses a series of two periods or less', () => {
    assert.throws(() => decomposeStl(Array(48).fill(1), { period: 24, seasonalWindow: 7 }), RangeError);
  });
});
