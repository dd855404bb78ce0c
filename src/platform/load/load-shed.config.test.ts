import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../config/config.ts';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

describe('load shedding configuration', () => {
  it('refuses thresholds an idle process already crosses, naming the variable and the way to turn shedding off', () => {
    // Each of these shed every request of an idle instance and held /ready at 503: the load balancer took every instance out.
    for (const [name, value] of [
      ['LOAD_SHED_BROWSE_DELAY_MS', '0'],
      ['LOAD_SHED_WRITE_DELAY_MS', '5'],
      ['LOAD_SHED_BROWSE_UTILIZATION_PERCENT', '0'],
      ['LOAD_SHED_BROWSE_HEAP_PERCENT', '0'],
      ['LOAD_SHED_WRITE_HEAP_PERCENT', '10'],
    ] as const) {
      assert.throws(
        () => load({ [name]: value, ...(name === 'LOAD_SHED_WRITE_HEAP_PERCENT' ? { LOAD_SHED_BROWSE_HEAP_PERCENT: '50' } : {}) }),
        (error: unknown) => error instanceof ConfigError && error.variable === name && /LOAD_SHED_ENABLED=false/.test(error.message),
        `${name}=${value}`,
      );
    }
  });

  it('refuses browse thresholds above the write thresholds (checkout would be shed before browsing)', () => {
    assert.throws(() => load({ LOAD_SHED_BROWSE_DELAY_MS: '2000' }), (error: unknown) => error instanceof ConfigError && error.variable === 'LOAD_SHED_BROWSE_DELAY_MS' && /LOAD_SHED_WRITE_DELAY_MS/.test(error.message));
    assert.throws(() => load({ LOAD_SHED_WRITE_HEAP_PERCENT: '80' }), (error: unknown) => error instanceof ConfigError && error.variable === 'LOAD_SHED_BROWSE_HEAP_PERCENT');
  });

  it('accepts the defaults, sensible values, and anything while shedding is off', () => {
    assert.equal(load({}).loadShed.thresholds.browse.delayMs, 200);
    assert.equal(load({ LOAD_SHED_BROWSE_DELAY_MS: '50', LOAD_SHED_WRITE_DELAY_MS: '50', LOAD_SHED_BROWSE_UTILIZATION_PERCENT: '100' }).loadShed.thresholds.write.delayMs, 50);
    assert.equal(load({ LOAD_SHED_ENABLED: 'false', LOAD_SHED_BROWSE_DELAY_MS: '0' }).loadShed.enabled, false);
  });
});
