/**
 * QA: `cost`'s per-policy sale-window figures (`policies[]`, `providers[].sale`: "instances", "window total",
 * "per 1000 orders") price the web replicas only. The worker tier, which the same command's monthly table
 * prices ('EC2 Instances' = web + worker instance-hours) and which runs at least worker.replicas.min (1)
 * for every hour of the window (4 at the peak), is left out of the window total and the cost per order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';
import { SEED_DEPLOYMENT_SPEC } from './manifests/deployment-spec.ts';

interface PolicyCost { policy: string; webInstanceHours: number; instanceCost: number; sharedCost: number; totalCost: number }
interface CostJson {
  assumptions: { month: { from: string; to: string } };
  usage: { sale: { workerInstanceHours: number } };
  policies: PolicyCost[];
  providers: { provider: string; sale: PolicyCost }[];
}

const now = () => new Date('2026-11-01T00:00:00Z');
const C6I_LARGE = 0.085;

describe('QA: cost of the sale window leaves the workers out', () => {
  it('the monthly table counts worker instance-hours (baseline)', async () => {
    const r = await runScalingCli(['cost', '--year', '2026', '--no-db', '--json', '--policies', 'hpa-prescaled'], { now });
    assert.equal(r.exitCode, 0, r.err);
    const j = JSON.parse(r.out) as CostJson;
    assert.ok(j.usage.sale.workerInstanceHours > 0);
  });

  it('the window total of hpa-prescaled includes at least worker.replicas.min workers for the 27-hour window', async () => {
    const r = await runScalingCli(['cost', '--year', '2026', '--no-db', '--json', '--policies', 'hpa-prescaled'], { now });
    assert.equal(r.exitCode, 0, r.err);
    const j = JSON.parse(r.out) as CostJson;
    const windowHours = 27; // Black Friday 2026 and the 3 hours before it
    const minWorkerHours = windowHours * SEED_DEPLOYMENT_SPEC.worker.replicas.min;
    for (const row of [j.policies[0], ...j.providers.filter((p) => p.provider === 'aws').map((p) => p.sale)]) {
      const instancesPriced = row.totalCost - row.sharedCost;
      const atLeast = (row.webInstanceHours + minWorkerHours) * C6I_LARGE;
      assert.ok(
        instancesPriced >= atLeast - 1e-6,
        `${row.policy}: window total prices $${instancesPriced.toFixed(2)} of instances (${row.webInstanceHours.toFixed(1)} web instance-hours only); with ≥ ${minWorkerHours} worker instance-hours it is ≥ $${atLeast.toFixed(2)}`,
      );
    }
  });
});
