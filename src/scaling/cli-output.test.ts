/** What the toolkit prints: figures a script can take at their word. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCapacityCheckConfig } from '../platform/config/config.ts';
import { runScalingCli } from './cli.harness.ts';
import { SEED_DEPLOYMENT_SPEC } from './manifests/deployment-spec.ts';
import { renderTargets } from './manifests/manifests.ts';
import { getK8sObjects } from './manifests/validate/rendered-objects.ts';
import { formatRate } from './report/table.ts';

const ATL = join(import.meta.dirname, 'test-data/real/us-flights-2001-atl.csv');

describe('forecast output', () => {
  const window = ['--history', ATL, '--from', '2001-07-02T00:00:00Z', '--to', '2001-07-03T00:00:00Z', '--no-db', '--no-progress'];

  it('keeps req/s whole in JSON: baseRequestsPerSecond × 3600 is the hour\'s forecast of requests', async () => {
    const r = await runScalingCli(['forecast', ...window, '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const hours = (JSON.parse(r.out) as { hours: { baseRequestsPerSecond: number; eventMultiplier: number; requestsInHour: number; quantileRequestsPerSecond: number }[] }).hours;
    assert.equal(hours.length, 24);
    for (const h of hours) {
      assert.equal(h.eventMultiplier, 1);
      assert.ok(Math.abs(h.baseRequestsPerSecond * 3600 - h.requestsInHour) <= 1e-9 * Math.max(1, h.requestsInHour), `${h.baseRequestsPerSecond} × 3600 vs ${h.requestsInHour}`);
    }
    assert.ok(hours.some((h) => h.requestsInHour > 30 && h.baseRequestsPerSecond < 0.02), 'a quiet hour of tens of requests');
    // With a history every hour carries the quantile, 0.9 unless --quantile names another (docs/forecasting.md, "Quantiles").
    assert.equal((JSON.parse(r.out) as { quantile: number }).quantile, 0.9);
    assert.ok(hours.every((h) => h.quantileRequestsPerSecond >= h.baseRequestsPerSecond));
  });

  it('prints every rate in the table to 3 significant digits, so × 3600 gives the hour back within 0.5 % (2 decimals printed 0.00–0.02)', async () => {
    const json = JSON.parse((await runScalingCli(['forecast', ...window, '--json'])).out) as { hours: { requestsInHour: number }[] };
    const table = await runScalingCli(['forecast', ...window]);
    assert.equal(table.exitCode, 0, table.err);
    const rows = table.out.split('\n').filter((line) => /^2001-07-02T\d\d:00 /.test(line));
    assert.equal(rows.length, 24);
    for (const [i, row] of rows.entries()) {
      const [, base, , mean] = row.trim().split(/\s+/).map(Number);
      const expected = json.hours[i].requestsInHour;
      for (const rate of [base, mean]) assert.ok(Math.abs(rate * 3600 - expected) <= 0.005 * expected, `${row}: ${rate} × 3600 vs ${expected}`);
    }
  });

  it('prints the quantile of the peak that plan sizes on, also in an hour a sale starts or ends within (it printed only the quantile of the mean)', async () => {
    // Black Friday 2001 starts at 00:00 with a ramp: the hour's peak is above its mean, and plan sizes on the peak.
    const sale = ['--history', ATL, '--year', '2001', '--from', '2001-11-22T23:00:00Z', '--to', '2001-11-23T02:00:00Z', '--no-db', '--no-progress'];
    const forecast = JSON.parse((await runScalingCli(['forecast', ...sale, '--json'])).out) as { hours: { hour: string; meanRequestsPerSecond: number; peakRequestsPerSecond: number; quantilePeakRequestsPerSecond?: number }[] };
    const plan = JSON.parse((await runScalingCli(['plan', ...sale, '--json'])).out) as { quantile: number; plan: { hours: { hour: string; peakRps: number }[] } };
    assert.equal(plan.quantile, 0.9);
    assert.ok(forecast.hours.some((h) => h.peakRequestsPerSecond > h.meanRequestsPerSecond * 1.05), 'an hour with a ramp');
    assert.deepEqual(
      forecast.hours.map((h) => [h.hour, h.quantilePeakRequestsPerSecond]),
      plan.plan.hours.map((h) => [h.hour, h.peakRps]),
    );
    const table = await runScalingCli(['forecast', ...sale]);
    assert.match(table.out, /mean rps\s+peak rps\s+q0\.9 rps\s+q0\.9 peak rps/);
  });

  it('formats a rate readably without rounding it away', () => {
    assert.deepEqual([0.0111, 0.000322, 0.5, 4.5, 99.994, 1234.5, 0, Number.NaN].map(formatRate), ['0.0111', '0.000322', '0.500', '4.50', '99.99', '1235', '0', '-']);
  });
});

describe('simulate --json', () => {
  it('names the quantile it sized on as a number, as plan and cost do (only a sentence in sizing said it)', async () => {
    const window = ['--year', '2001', '--from', '2001-11-23T10:00:00Z', '--to', '2001-11-23T11:00:00Z', '--policies', 'hpa-prescaled', '--no-db', '--no-progress', '--json'];
    const learned = await runScalingCli(['simulate', '--history', ATL, '--quantile', '0.75', ...window]);
    assert.equal(learned.exitCode, 0, learned.err);
    assert.equal((JSON.parse(learned.out) as { quantile: number | null }).quantile, 0.75);
    const seed = await runScalingCli(['simulate', ...window]);
    assert.equal(seed.exitCode, 0, seed.err);
    assert.equal((JSON.parse(seed.out) as { quantile: number | null }).quantile, null);
  });
});

describe('simulate --workers', () => {
  it('names the Redis keys the app\'s queues use, as the rendered ScaledObject reads them (it printed bull:jobs:wait)', async () => {
    const args = ['simulate', '--year', '2026', '--workers', '--policies', 'keda-workers', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db'];
    const table = await runScalingCli(args);
    assert.equal(table.exitCode, 0, table.err);
    assert.match(table.out, /redis triggers on \{salescale\}:<queue>:wait \+ :prioritized for each queue \(email, order, inventory, notifications\)/);
    assert.doesNotMatch(table.out, /bull:/);
    const json = JSON.parse((await runScalingCli([...args, '--json'])).out) as { workers: { redisKeys: string[] } };
    const scaledObject = getK8sObjects(renderTargets(['k8s'], SEED_DEPLOYMENT_SPEC)).find((o) => o.kind === 'ScaledObject' && o.metadata?.name === 'salescale-worker') as unknown as { spec: { triggers: { type: string; metadata: { listName?: string } }[] } };
    assert.deepEqual(json.workers.redisKeys, scaledObject.spec.triggers.filter((t) => t.type === 'redis').map((t) => t.metadata.listName));
    const prefixed = await runScalingCli(args, { capacityChecks: () => loadCapacityCheckConfig({ REDIS_PREFIX: 'shop' }) });
    assert.match(prefixed.out, /redis triggers on \{shop\}:<queue>:wait/);
  });

  it("aims the simulated KEDA triggers at the backlog the rendered ScaledObject aims at (worker.backlogSecondsPerReplica), not a fixed 100", async () => {
    // The worker as the manifests run it (DB_POOL_MAX 5: 3 email sends at once): one replica drains 1.5 orders/s
    // of 5 jobs, 7.5 jobs/s, so 5 s of its work is 38 jobs; the rendered email triggers' 8 is that queue's 5 s.
    const deps = { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: String(SEED_DEPLOYMENT_SPEC.worker.dbPoolMax) }) };
    const args = ['simulate', '--year', '2026', '--workers', '--policies', 'keda-workers', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db'];
    const json = JSON.parse((await runScalingCli([...args, '--json'], deps)).out) as { workers: { listLength: number; listLengthSource: string } };
    assert.equal(SEED_DEPLOYMENT_SPEC.worker.backlogSecondsPerReplica, 5);
    assert.equal(json.workers.listLength, 38);
    assert.match(json.workers.listLengthSource, /^the manifests' target: 5 s of one replica's work, worker\.backlogSecondsPerReplica/);
    const listLengths = Object.fromEntries(
      (getK8sObjects(renderTargets(['k8s'], SEED_DEPLOYMENT_SPEC)).find((o) => o.kind === 'ScaledObject' && o.metadata?.name === 'salescale-worker') as unknown as { spec: { triggers: { type: string; name: string; metadata: { listLength?: string } }[] } }).spec.triggers
        .filter((t) => t.type === 'redis' && t.name.endsWith('-wait'))
        .map((t) => [t.name.replace(/-wait$/, ''), t.metadata.listLength]),
    );
    const table = await runScalingCli(args, deps);
    assert.equal(table.exitCode, 0, table.err);
    assert.match(table.out, new RegExp(`listLength 38 \\(the manifests' target: 5 s of one replica's work, worker\\.backlogSecondsPerReplica; rendered per queue: email ${listLengths.email}, order ${listLengths.order}, inventory ${listLengths.inventory}, notifications ${listLengths.notifications}\\)`));
    const given = await runScalingCli([...args, '--list-length', '100', '--json'], deps);
    assert.deepEqual(JSON.parse(given.out).workers.listLength, 100);
  });
});


describe('cost output', () => {
  it('prints no price per 1000 orders when the window has no orders, instead of "$NaN" (--orders-per-request 0)', async () => {
    const r = await runScalingCli(['cost', '--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--policies', 'hpa', '--orders-per-request', '0']);
    assert.equal(r.exitCode, 0, r.err);
    assert.doesNotMatch(r.out, /NaN/);
    const row = r.out.split('\n').find((line) => line.startsWith('hpa '));
    assert.match(row ?? '', /\$[\d,.]+ +0 +no orders +/);
  });

  describe('the sale window of hpa-prescaled (policies[] and the aws provider\'s sale row)', () => {
    interface PolicyCost { policy: string; webInstanceHours: number; sharedCost: number; totalCost: number }
    interface CostJson { usage: { sale: { workerInstanceHours: number } }; policies: PolicyCost[]; providers: { provider: string; sale: PolicyCost }[] }
    const C6I_LARGE = 0.085;
    let result: ReturnType<typeof runScalingCli> | undefined;
    const cost = async () => {
      result ??= runScalingCli(['cost', '--year', '2026', '--no-db', '--json', '--policies', 'hpa-prescaled'], { now: () => new Date('2026-11-01T00:00:00Z') });
      const r = await result;
      assert.equal(r.exitCode, 0, r.err);
      return JSON.parse(r.out) as CostJson;
    };

    it('the monthly table counts worker instance-hours', async () => {
      assert.ok((await cost()).usage.sale.workerInstanceHours > 0);
    });

    it('the window total prices at least worker.replicas.min workers for the 27-hour window, not the web replicas only', async () => {
      const j = await cost();
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
});

describe('cost currency', () => {
  it('prints each catalogue\'s amounts in its own currency ("$" was printed for a EUR catalogue under a header saying EUR)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-currency-'));
    try {
      const eur = join(dir, 'pricing-eur.json');
      writeFileSync(eur, JSON.stringify({ ...JSON.parse(readFileSync('src/scaling/data/pricing-2026-11-27.json', 'utf8')), currency: 'EUR', region: 'eu-central-1' }));
      const r = await runScalingCli(['cost', '--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--policies', 'hpa', '--pricing', eur]);
      assert.equal(r.exitCode, 0, r.err);
      assert.match(r.out, /^Monthly cost \(eu-central-1, prices as of 2026-11-27; EUR\)/);
      const total = r.out.split('\n').find((line) => line.startsWith('Total '));
      assert.match(total ?? '', /^Total +EUR [\d,.]+ +EUR [\d,.]+ +EUR [\d,.]+$/);
      assert.match(r.out.split('\n').find((line) => line.startsWith('hpa ')) ?? '', /EUR [\d,.]+ +EUR [\d,.]+ +EUR [\d,.]+/);
      // The providers' table: AWS from the EUR catalogue, Google Cloud and Azure from their USD ones.
      assert.match(r.out.split('\n').find((line) => line.startsWith('aws ')) ?? '', /EUR [\d,.]+/);
      assert.doesNotMatch(r.out.split('\n').find((line) => line.startsWith('aws ')) ?? '', /\$/);
      assert.match(r.out.split('\n').find((line) => line.startsWith('gcp ')) ?? '', /\$[\d,.]+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
