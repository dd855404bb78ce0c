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

describe('the same sale on AWS, Google Cloud and Azure', () => {
  it('loads dated GCP and Azure catalogues with sources and prices each provider’s own policy with its own prices', async () => {
    const { CLOUD_PROVIDERS, PROVIDER_SETUPS, compareProviders, loadProviderPricing } = await import('./providers.ts');
    const clouds = await loadProviderPricing();
    for (const p of CLOUD_PROVIDERS) {
      assert.match(clouds[p].asOf, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(Object.values(clouds[p].sources).every((s) => s.startsWith('https://')), p);
      assert.ok(clouds[p].instanceTypes[PROVIDER_SETUPS[p].assumptions.instanceType], `${p} prices its instance type`);
    }
    const totals = { minutesOverSlo: 0, failedRequests: 0, totalRequests: 1e6, servedRequests: 1e6, instanceHours: 100, cost: 0, peakReplicas: 5, maxP95Ms: 100 };
    const results = CLOUD_PROVIDERS.map((p) => ({ policy: PROVIDER_SETUPS[p].policy, description: '', timeline: [], totals }));
    const usage = { webInstanceHours: 1000, workerInstanceHours: 0, requests: 0, jobs: 0 };
    const rows = compareProviders(results, clouds, { hours: 10, ordersPerRequest: 0.002, saleMonth: usage });
    for (const row of rows) {
      const price = clouds[row.provider].instanceTypes[row.instanceType].perHour;
      assert.ok(Math.abs(row.sale.instanceCost - 100 * price) < 1e-9, row.provider);
      assert.ok(Math.abs(row.saleMonth['EC2 Instances'] - 1000 * price) < 1e-9, row.provider);
    }
    assert.notEqual(rows[1].sale.totalCost, rows[2].sale.totalCost);
  });
});
