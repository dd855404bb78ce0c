import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../config/config.ts';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });
const refuses = (env: Record<string, string>, variable: string) =>
  assert.throws(() => load(env), (error: unknown) => error instanceof ConfigError && error.variable === variable, JSON.stringify(env));

describe('degrade mode configuration', () => {
  it('refuses an elevated threshold above its critical one (the cluster would skip elevated and go straight to critical)', () => {
    refuses({ DEGRADE_ELEVATED_RPM: '50000' }, 'DEGRADE_ELEVATED_RPM');
    refuses({ DEGRADE_ELEVATED_COST_HOUR_USD: '500' }, 'DEGRADE_ELEVATED_COST_HOUR_USD');
    refuses({ DEGRADE_CRITICAL_COST_DAY_USD: '1000' }, 'DEGRADE_ELEVATED_COST_DAY_USD');
    refuses({ DEGRADE_ELEVATED_P95_MS: '3000' }, 'DEGRADE_ELEVATED_P95_MS');
    refuses({ DEGRADE_CRITICAL_ERROR_PERCENT: '1' }, 'DEGRADE_ELEVATED_ERROR_PERCENT');
  });

  it('refuses a critical level that limits less than elevated', () => {
    refuses({ DEGRADE_ELEVATED_RATE_LIMIT_PERCENT: '40' }, 'DEGRADE_ELEVATED_RATE_LIMIT_PERCENT');
  });

  it('refuses a cost or fault threshold of 0, which every live cluster crosses (it does not turn the signal off)', () => {
    refuses({ DEGRADE_ELEVATED_COST_HOUR_USD: '0' }, 'DEGRADE_ELEVATED_COST_HOUR_USD');
    refuses({ DEGRADE_ELEVATED_COST_DAY_USD: '0' }, 'DEGRADE_ELEVATED_COST_DAY_USD');
    refuses({ DEGRADE_ELEVATED_ERROR_PERCENT: '0' }, 'DEGRADE_ELEVATED_ERROR_PERCENT');
  });

  // A share of requests above 100 % is never crossed: the signal would be off without a word.
  it('refuses a fault share above 100 %, which no cluster can cross', () => {
    refuses({ DEGRADE_CRITICAL_ERROR_PERCENT: '101' }, 'DEGRADE_CRITICAL_ERROR_PERCENT');
    assert.throws(() => load({ DEGRADE_ELEVATED_ERROR_PERCENT: '150', DEGRADE_CRITICAL_ERROR_PERCENT: '150' }), /DEGRADE_ELEVATED_ERROR_PERCENT: must be ≤ 100/);
    assert.equal(load({ DEGRADE_ELEVATED_ERROR_PERCENT: '100', DEGRADE_CRITICAL_ERROR_PERCENT: '100' }).cluster.thresholds.critical.errorRatePercent, 100);
  });

  // A minimum hold above the maximum contradicts itself: read as it was, the maximum silently became the minimum.
  it('refuses a minimum hold above the maximum, naming DEGRADE_MIN_HOLD_MS', () => {
    refuses({ DEGRADE_MIN_HOLD_MS: '3600000', DEGRADE_MAX_HOLD_MS: '600000' }, 'DEGRADE_MIN_HOLD_MS');
    refuses({ DEGRADE_MAX_HOLD_MS: '30000' }, 'DEGRADE_MIN_HOLD_MS');
    assert.throws(() => load({ DEGRADE_MIN_HOLD_MS: '3600000' }), /^ConfigError: DEGRADE_MIN_HOLD_MS: must not exceed DEGRADE_MAX_HOLD_MS \(1800000\)/);
    assert.equal(load({ DEGRADE_MIN_HOLD_MS: '600000', DEGRADE_MAX_HOLD_MS: '600000' }).cluster.maxHoldMs, 600_000);
  });

  // A degraded level defers an order's follow-ups (email, analytics, stock sync) past a load peak, not for years; past
  // OUTBOX_RETENTION_HOURS (at least 1 h) the relay could no longer re-send one a lost queue Redis took with it.
  it('refuses a follow-up delay above one hour, naming the variable', () => {
    refuses({ DEGRADE_ELEVATED_QUEUE_DELAY_MS: 'email=99999999999' }, 'DEGRADE_ELEVATED_QUEUE_DELAY_MS');
    refuses({ DEGRADE_CRITICAL_QUEUE_DELAY_MS: 'analytics=3600001' }, 'DEGRADE_CRITICAL_QUEUE_DELAY_MS');
    assert.throws(() => load({ DEGRADE_CRITICAL_QUEUE_DELAY_MS: 'inventory=3600001' }), /DEGRADE_CRITICAL_QUEUE_DELAY_MS: inventory=3600001 is above 3600000 ms/);
    assert.equal(load({ DEGRADE_CRITICAL_QUEUE_DELAY_MS: 'email=3600000' }).cluster.levels.critical.queueDelays.emailMs, 3_600_000);
  });

  it('accepts the defaults and equal levels', () => {
    assert.equal(load({}).cluster.thresholds.elevated.requestsPerMinute, 10_000);
    assert.equal(load({ DEGRADE_ELEVATED_RPM: '30000' }).cluster.thresholds.critical.requestsPerMinute, 30_000);
  });
});
