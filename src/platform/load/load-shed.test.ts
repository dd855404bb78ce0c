import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideLoadLevel, shouldShed, trafficClassOf, type ShedThresholds } from './load-shed.ts';

const thresholds: ShedThresholds = {
  browse: { delayMs: 200, utilization: 0.98, heapRatio: 0.85 },
  write: { delayMs: 1000, utilization: Number.POSITIVE_INFINITY, heapRatio: 0.95 },
};
const calm = { delayMs: 12, utilization: 0.4, heapRatio: 0.3 };

describe('load shedding decisions', () => {
  it('serves everything while every signal is under its browse threshold', () => {
    assert.equal(decideLoadLevel(calm, thresholds), 'normal');
    assert.equal(decideLoadLevel({ delayMs: 200, utilization: 0.98, heapRatio: 0.85 }, thresholds), 'normal');
  });

  it('sheds browsing first when loop delay passes the browse threshold, writes only past the write threshold', () => {
    assert.equal(decideLoadLevel({ ...calm, delayMs: 350 }, thresholds), 'shed-browse');
    assert.equal(decideLoadLevel({ ...calm, delayMs: 1500 }, thresholds), 'shed-all');
  });

  it('sheds browsing on a saturated loop even before delay grows, but never writes on utilization alone', () => {
    assert.equal(decideLoadLevel({ ...calm, utilization: 0.995 }, thresholds), 'shed-browse');
    assert.equal(decideLoadLevel({ ...calm, utilization: 1 }, thresholds), 'shed-browse');
  });

  it('sheds by heap use: browsing above 85 %, everything above 95 %', () => {
    assert.equal(decideLoadLevel({ ...calm, heapRatio: 0.9 }, thresholds), 'shed-browse');
    assert.equal(decideLoadLevel({ ...calm, heapRatio: 0.97 }, thresholds), 'shed-all');
  });

  it('classifies GET/HEAD/OPTIONS as browsing and other methods as writes', () => {
    assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].map(trafficClassOf), ['browse', 'browse', 'browse', 'write', 'write', 'write', 'write']);
  });

  it('refuses only the classes the level sheds', () => {
    assert.deepEqual([shouldShed('normal', 'browse'), shouldShed('normal', 'write')], [false, false]);
    assert.deepEqual([shouldShed('shed-browse', 'browse'), shouldShed('shed-browse', 'write')], [true, false]);
    assert.deepEqual([shouldShed('shed-all', 'browse'), shouldShed('shed-all', 'write')], [true, true]);
  });
});
