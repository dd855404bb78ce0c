import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { decideAutoMode, estimateHourlyCost, settingsFor, type ClusterFigures } from './degrade-mode.ts';

const { cluster } = loadConfig({ NODE_ENV: 'test' });
const quiet: ClusterFigures = { requestsPerMinute: 0, sampleRequests: 0, p95Ms: 0, errorRatePercent: 0, liveInstances: { web: 2, worker: 1 }, costPerHourUsd: 0.6, costTodayUsd: 5 };
const decide = (figures: Partial<ClusterFigures>, current: 'normal' | 'elevated' | 'critical' = 'normal', heldMs = Number.POSITIVE_INFINITY) =>
  decideAutoMode({
    figures: { ...quiet, ...figures },
    thresholds: cluster.thresholds,
    current,
    heldMs,
    minHoldMs: cluster.minHoldMs,
    recoveryRatio: cluster.recoveryRatio,
    minSampleRequests: cluster.minSampleRequests,
  });

describe('degrade mode decisions', () => {
  it("enters elevated past the seed strategy's thresholds: 10,000 requests/min, $100/h, $2000/day", () => {
    assert.equal(decide({ requestsPerMinute: 10_000 }).mode, 'normal');
    assert.deepEqual(decide({ requestsPerMinute: 10_001 }), { mode: 'elevated', reason: 'requests/min 10001 > 10000' });
    assert.equal(decide({ costPerHourUsd: 100.5 }).mode, 'elevated');
    assert.equal(decide({ costTodayUsd: 2001 }).mode, 'elevated');
  });

  it('enters critical directly when a critical threshold is crossed, naming every crossed figure', () => {
    assert.deepEqual(decide({ requestsPerMinute: 40_000, costPerHourUsd: 250 }), { mode: 'critical', reason: 'requests/min 40000 > 30000, cost $/h 250 > 200' });
  });

  it('judges latency and error rate only on enough requests', () => {
    assert.equal(decide({ p95Ms: 5000, errorRatePercent: 50, sampleRequests: 99 }).mode, 'normal');
    assert.equal(decide({ p95Ms: 1500, sampleRequests: 100 }).mode, 'elevated');
    assert.equal(decide({ errorRatePercent: 6, sampleRequests: 100 }).mode, 'critical');
  });

  it('steps down only after the hold time and below the recovery share of the thresholds', () => {
    assert.equal(decide({ requestsPerMinute: 9000 }, 'elevated').mode, 'elevated', '9000 is above 80 % of 10,000');
    assert.match(decide({ requestsPerMinute: 9000 }, 'elevated').reason, /not yet below 80% of the elevated thresholds/);
    assert.equal(decide({ requestsPerMinute: 7000 }, 'elevated', 60_000).mode, 'elevated', 'held 60 s of 300 s');
    assert.deepEqual(decide({ requestsPerMinute: 7000 }, 'elevated'), { mode: 'normal', reason: 'every figure below 80% of the elevated thresholds' });
    // From critical, one level at a time when the figures still call for elevated.
    assert.equal(decide({ requestsPerMinute: 15_000 }, 'critical').mode, 'elevated');
    assert.equal(decide({ requestsPerMinute: 25_000 }, 'critical').mode, 'critical');
  });

  it('never steps down while the figures call for the current level, however long it was held', () => {
    assert.equal(decide({ requestsPerMinute: 12_000 }, 'elevated').mode, 'elevated');
  });

  it('estimates cost as live instances × price per instance-hour', () => {
    assert.equal(estimateHourlyCost(3, 0.2), 0.6000000000000001);
    assert.equal(estimateHourlyCost(0, 0.2), 0);
  });

  it("applies the seed strategy's aggressive TTLs and delays when elevated, and the base TTLs when normal", () => {
    const normalTtl = { productS: 300, categoriesS: 600, popularS: 600 };
    assert.deepEqual(settingsFor('normal', normalTtl, cluster.levels), { cacheTtl: normalTtl, queueDelays: { emailMs: 0, analyticsMs: 0, inventoryMs: 0 }, rateLimitPercent: 100 });
    assert.deepEqual(settingsFor('elevated', normalTtl, cluster.levels), {
      cacheTtl: { productS: 3600, categoriesS: 7200, popularS: 1800 },
      queueDelays: { emailMs: 5000, analyticsMs: 10_000, inventoryMs: 1000 },
      rateLimitPercent: 75,
    });
    assert.equal(settingsFor('critical', normalTtl, cluster.levels).rateLimitPercent, 50);
  });
});

describe('degrade mode configuration', () => {
  it('merges partial TTL and delay lists over the level defaults', () => {
    const c = loadConfig({ NODE_ENV: 'test', DEGRADE_CRITICAL_CACHE_TTL_S: 'product=900', DEGRADE_ELEVATED_QUEUE_DELAY_MS: 'email=0' }).cluster;
    assert.deepEqual(c.levels.critical.cacheTtl, { productS: 900, categoriesS: 7200, popularS: 1800 });
    assert.deepEqual(c.levels.elevated.queueDelays, { emailMs: 0, analyticsMs: 10_000, inventoryMs: 1000 });
  });

  it('refuses unknown keys and malformed values, naming the variable', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'test', DEGRADE_ELEVATED_CACHE_TTL_S: 'home=60' }), /DEGRADE_ELEVATED_CACHE_TTL_S: unknown key "home"/);
    assert.throws(() => loadConfig({ NODE_ENV: 'test', DEGRADE_CRITICAL_QUEUE_DELAY_MS: 'email=soon' }), /DEGRADE_CRITICAL_QUEUE_DELAY_MS: expected email=<non-negative integer>/);
    assert.throws(() => loadConfig({ NODE_ENV: 'test', DEGRADE_CRITICAL_RATE_LIMIT_PERCENT: '0' }), /DEGRADE_CRITICAL_RATE_LIMIT_PERCENT/);
  });
});
