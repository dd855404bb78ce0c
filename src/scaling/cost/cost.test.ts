import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COST_COMPONENTS, getMonthlyCost } from './cost.ts';
import { loadPricing } from './pricing.ts';

describe('cost', () => {
  it('prices a month from usage and the catalogue, summing the components', async () => {
    const p = await loadPricing();
    assert.ok(p.sources.ec2.startsWith('https://'));
    const col = getMonthlyCost({ webInstanceHours: 1000, workerInstanceHours: 0, requests: 0, jobs: 0 }, 'normal', p);
    assert.equal(col['EC2 Instances'], 1000 * p.instanceTypes['c6i.large'].perHour);
    const sum = COST_COMPONENTS.reduce((s, c) => s + col[c], 0);
    assert.ok(Math.abs(col.Total - sum) < 1e-9);
  });
});
