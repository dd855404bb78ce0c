import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHealthStatus, type HealthInputs } from './health-status.ts';

const thresholds = { degradedP95Ms: 500, degradedP99Ms: 1000, unhealthyP95Ms: 2000, degradedErrorPercent: 1, unhealthyErrorPercent: 5 };
const calm: HealthInputs = {
  recent: { windowSeconds: 60, requests: 100, errorRatePercent: 0, averageMs: 20, p95Ms: 50, p99Ms: 100, requestsPerSecond: 1.7 },
  pool: { total: 2, idle: 2, waiting: 0, max: 10 },
  queueDepth: 3,
};
const withRecent = (recent: Partial<HealthInputs['recent']>): HealthInputs => ({ ...calm, recent: { ...calm.recent, ...recent } });

describe('getHealthStatus (seed thresholds)', () => {
  it('is healthy under every threshold', () => {
    assert.deepEqual(getHealthStatus(calm, thresholds), { status: 'healthy', reasons: [] });
  });
  it('is degraded above p95 500 ms, p99 1 s or 1 % errors, unhealthy above p95 2 s or 5 % errors', () => {
    assert.equal(getHealthStatus(withRecent({ p95Ms: 750 }), thresholds).status, 'degraded');
    assert.equal(getHealthStatus(withRecent({ p99Ms: 2000 }), thresholds).status, 'degraded');
    assert.equal(getHealthStatus(withRecent({ errorRatePercent: 2 }), thresholds).status, 'degraded');
    assert.equal(getHealthStatus(withRecent({ p95Ms: 5000 }), thresholds).status, 'unhealthy');
    assert.equal(getHealthStatus(withRecent({ errorRatePercent: 6 }), thresholds).status, 'unhealthy');
  });
  it('is degraded when more than 80 % of the pool is in use, and by queue depth past 1000 (unhealthy past 5000)', () => {
    assert.deepEqual(getHealthStatus({ ...calm, pool: { total: 10, idle: 1, waiting: 4, max: 10 } }, thresholds).reasons, ['database pool 9/10 in use (> 80 %)']);
    assert.equal(getHealthStatus({ ...calm, pool: { total: 8, idle: 0, waiting: 0, max: 10 } }, thresholds).status, 'healthy');
    assert.equal(getHealthStatus({ ...calm, queueDepth: 1001 }, thresholds).status, 'degraded');
    assert.equal(getHealthStatus({ ...calm, queueDepth: 5001 }, thresholds).status, 'unhealthy');
    assert.equal(getHealthStatus({ ...calm, queueDepth: undefined }, thresholds).status, 'healthy');
  });
  it('lists every crossed threshold and keeps the worst level', () => {
    const result = getHealthStatus({ ...withRecent({ p95Ms: 750, errorRatePercent: 10 }), queueDepth: 2000 }, thresholds);
    assert.equal(result.status, 'unhealthy');
    assert.equal(result.reasons.length, 3);
  });
});
