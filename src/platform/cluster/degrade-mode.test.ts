import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { decideAutoMode, estimateHourlyCost, holdTimeMs, NO_TRIGGER, settingsFor, type ClusterFigures, type TriggerState } from './degrade-mode.ts';

const { cluster } = loadConfig({ NODE_ENV: 'test' });
const quiet: ClusterFigures = {
  requestsPerMinute: 0,
  sampleRequests: 0,
  p95Ms: 0,
  errorRatePercent: 0,
  instances: [],
  clients: 0,
  faultClients: 0,
  outageInstances: 0,
  liveInstances: { web: 2, worker: 1 },
  costPerHourUsd: 0.6,
  costTodayUsd: 5,
};
type Mode = 'normal' | 'elevated' | 'critical';
const inputFor = (figures: Partial<ClusterFigures>, current: Mode, now: number, trigger: TriggerState, sustainMs = 0) => ({
  figures: { ...quiet, ...figures },
  thresholds: cluster.thresholds,
  current,
  now,
  trigger,
  sustainMs,
  minHoldMs: cluster.minHoldMs,
  maxHoldMs: cluster.maxHoldMs,
  holdFactor: cluster.holdFactor,
  recoveryRatio: cluster.recoveryRatio,
  gates: { minSampleRequests: cluster.minSampleRequests, minClients: cluster.minClients },
});
/** One evaluation from a quiet start (no sustain needed): the level the figures call for. */
const decide = (figures: Partial<ClusterFigures>) => {
  const { mode, reason } = decideAutoMode(inputFor(figures, 'normal', 1_000_000, NO_TRIGGER));
  return { mode, reason: reason.replace(/ for \d+ s$/, '') };
};

/** Evaluations every `stepMs` over a timeline of [figures, duration ms]; returns the mode after each phase. */
function run(phases: [Partial<ClusterFigures>, number][], options: { sustainMs?: number; stepMs?: number } = {}): Mode[] {
  const stepMs = options.stepMs ?? 2000;
  let now = 1_000_000;
  let mode: Mode = 'normal';
  let trigger: TriggerState = NO_TRIGGER;
  const after: Mode[] = [];
  for (const [figures, durationMs] of phases) {
    for (let t = 0; t < durationMs; t += stepMs) {
      now += stepMs;
      const decision = decideAutoMode(inputFor(figures, mode, now, trigger, options.sustainMs ?? cluster.sustainMs));
      mode = decision.mode;
      trigger = decision.trigger;
    }
    after.push(mode);
  }
  return after;
}

/** Both instances slow / failing, with many clients behind it: a real cluster signal. */
const both = (p95Ms: number, errorRatePercent: number) => ({ p95Ms, errorRatePercent, instances: [{ p95Ms, errorRatePercent }, { p95Ms, errorRatePercent }], clients: 50, faultClients: errorRatePercent > 0 ? 50 : 0 });

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
    assert.equal(decide({ ...both(5000, 50), sampleRequests: 99 }).mode, 'normal');
    assert.equal(decide({ ...both(1500, 0), sampleRequests: 100 }).mode, 'elevated');
    assert.equal(decide({ ...both(0, 6), sampleRequests: 100 }).mode, 'critical');
  });

  it('ignores a fault or latency signal that comes from too few clients (one client cannot drive it)', () => {
    assert.equal(decide({ ...both(0, 99), sampleRequests: 150, faultClients: 1 }).mode, 'normal');
    assert.equal(decide({ ...both(0, 99), sampleRequests: 150, faultClients: cluster.minClients - 1 }).mode, 'normal');
    assert.equal(decide({ ...both(0, 99), sampleRequests: 150, faultClients: cluster.minClients }).mode, 'critical');
    assert.equal(decide({ ...both(5000, 0), sampleRequests: 150, clients: 1 }).mode, 'normal');
  });

  it('ignores a signal from one instance while several report (a sick instance is for the load balancer)', () => {
    const oneSlow = { sampleRequests: 500, clients: 50, faultClients: 50, p95Ms: 5000, errorRatePercent: 10, instances: [{ p95Ms: 5000, errorRatePercent: 20 }, { p95Ms: 20, errorRatePercent: 0 }] };
    assert.equal(decide(oneSlow).mode, 'normal');
    assert.equal(decide({ ...oneSlow, instances: [{ p95Ms: 5000, errorRatePercent: 20 }] }).mode, 'critical', 'a lone instance is the cluster');
  });

  it('enters a level only once its thresholds were crossed for the sustain window', () => {
    const hot = { requestsPerMinute: 12_000 };
    assert.deepEqual(run([[hot, 20_000]], { sustainMs: 30_000 }), ['normal']);
    assert.deepEqual(run([[hot, 20_000], [quiet, 2000], [hot, 20_000]], { sustainMs: 30_000 }), ['normal', 'normal', 'normal'], 'a break restarts the clock');
    assert.deepEqual(run([[hot, 32_000]], { sustainMs: 30_000 }), ['elevated']);
    // A 5 s database blip cannot raise it, even if every figure went wild for those 5 s.
    assert.deepEqual(run([[{ ...both(5000, 100), sampleRequests: 1000 }, 5000], [quiet, 60_000]], { sustainMs: 30_000 }), ['normal', 'normal']);
  });

  it('holds a level for a time that grows with how long its trigger lasted', () => {
    const hot = { requestsPerMinute: 12_000 };
    const minHold = cluster.minHoldMs;
    // Crossed from the first evaluation (2 s) to the last of 40 s: a 38 s trigger.
    const short = holdTimeMs(38_000, cluster);
    assert.equal(short, Math.max(minHold, 38_000 * cluster.holdFactor));
    assert.deepEqual(run([[hot, 40_000], [quiet, short - 4000], [quiet, 6000]], { sustainMs: 30_000 }), ['elevated', 'elevated', 'normal']);
    // A short trigger is held no less than the minimum.
    assert.equal(holdTimeMs(1000, cluster), minHold);
    // Triggered for 10 minutes: held holdFactor × 10 min after the last crossing, not the minimum.
    const long = 600_000;
    const hold = holdTimeMs(long, cluster);
    assert.equal(hold, Math.min(cluster.maxHoldMs, long * cluster.holdFactor));
    assert.ok(hold > minHold);
    assert.deepEqual(run([[hot, long], [quiet, hold - 10_000], [quiet, 12_000]], { sustainMs: 0 }), ['elevated', 'elevated', 'normal']);
  });

  it('steps down only below the recovery share of the thresholds', () => {
    assert.deepEqual(run([[{ requestsPerMinute: 12_000 }, 10_000], [{ requestsPerMinute: 9000 }, 3_600_000]], { sustainMs: 0 }), ['elevated', 'elevated'], '9000 is above 80 % of 10,000');
    // From critical, one level at a time when the figures still call for elevated.
    assert.deepEqual(run([[{ requestsPerMinute: 40_000 }, 10_000], [{ requestsPerMinute: 15_000 }, 3_600_000]], { sustainMs: 0 }), ['critical', 'elevated']);
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
