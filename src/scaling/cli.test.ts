import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { DEFAULT_SIMULATE_POLICIES, registerScalingCommands } from './cli.ts';

async function run(args: string[], deps = {}): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  registerScalingCommands(program, deps);
  try {
    await program.parseAsync(['node', 'salescale', ...args]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

describe('salescale CLI', () => {
  it('simulate on Black Friday: reactive HPA over the SLO, HPA + pre-scaling not, with instance-hours and cost (--json)', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--json', '--no-db']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { totals: { policy: string; minutesOverSlo: number; instanceHours: number; cost: number }[] };
    const hpa = json.totals.find((t) => t.policy === 'hpa');
    const pre = json.totals.find((t) => t.policy === 'hpa-prescaled');
    assert.ok(hpa && pre);
    assert.ok(hpa.minutesOverSlo > 0);
    assert.equal(pre.minutesOverSlo, 0);
    assert.ok(pre.instanceHours > 0 && pre.cost > 0 && hpa.cost > 0);
    // One pre-scaled policy per engine side by side: AWS, Google Cloud and Azure meet the SLO too.
    for (const name of ['aws-scheduled-predictive', 'gce-predictive-scheduled', 'azure-fixeddate']) {
      const t = json.totals.find((x) => x.policy === name);
      assert.ok(t, name);
      assert.equal(t.minutesOverSlo, 0, name);
      assert.ok(t.instanceHours > 0 && t.cost > 0, name);
    }
  });

  it('prints a readable table by default', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T11:00:00Z']);
    assert.match(r.out, /policy\s+min over SLO/);
    assert.match(r.out, /hpa-prescaled/);
  });

  it('simulate --workers adds the KEDA worker tier: reactive queue depth over 1000, pre-scaled below (--json)', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--base-rps', '500', '--workers', '--json', '--no-db', '--from', '2026-11-27T13:00:00Z', '--to', '2026-11-27T15:00:00Z']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { totals: unknown[]; workers: { totals: { policy: string; maxQueueDepth: number; minutesOverWarning: number; instanceHours: number }[] } };
    assert.equal(json.totals.length, DEFAULT_SIMULATE_POLICIES.split(',').length, 'the web policies still run');
    const [reactive, prescaled] = json.workers.totals;
    assert.deepEqual([reactive.policy, prescaled.policy], ['keda-workers', 'keda-workers-prescaled']);
    assert.ok(reactive.maxQueueDepth > 1000 && reactive.minutesOverWarning > 0);
    assert.ok(prescaled.maxQueueDepth < 1000 && prescaled.instanceHours > 0);
  });

  it('accepts worker policies in --policies alone and prints only the worker table', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--no-db', '--policies', 'keda-workers', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z']);
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.out, /policy\s+min > 1000\s+min > 5000\s+max queue depth/);
    assert.doesNotMatch(r.out, /min over SLO/);
    assert.doesNotMatch(r.out, /keda-workers-prescaled/);
  });

  it('plan flags the seed pool/connection mismatch with a fix', async () => {
    const r = await run(['plan', '--year', '2026', '--capacity', '150']);
    assert.match(r.out, /max_connections 200.*does NOT fit/);
    assert.match(r.out, /fix: set the pool max to \d+ per process/);
  });

  it('uses the injected database sale events', async () => {
    const loadSaleEvents = async () => [{ name: 'Black Friday', startsAt: new Date('2026-11-27T00:00:00Z'), endsAt: new Date('2026-11-28T00:00:00Z'), trafficMultiplier: '3' }];
    const r = await run(['forecast', '--year', '2026', '--json', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z'], { loadSaleEvents });
    const json = JSON.parse(r.out) as { eventSource: string; hours: { eventMultiplier: number }[] };
    assert.match(json.eventSource, /database/);
    assert.equal(json.hours[0].eventMultiplier, 3);
  });

  it('gives one error line and exit code 2 for an unknown policy, a bad date and a negative capacity', async () => {
    const policy = await run(['simulate', '--policies', 'hpa,magic']);
    assert.equal(policy.exitCode, 2);
    assert.equal(policy.err.trim().split('\n').length, 1);
    assert.match(policy.err, /^error \[UNKNOWN_POLICY\].*keda-workers/);
    const date = await run(['forecast', '--from', '2026-13-01']);
    assert.equal(date.exitCode, 2);
    assert.match(date.err, /INVALID_DATE/);
    const cap = await run(['plan', '--capacity', '-5', '--year', '2026']);
    assert.equal(cap.exitCode, 2);
    assert.match(cap.err, /NEGATIVE_CAPACITY/);
  });

  it('backtest --json reports each fold: candidates, chosen model, seasonal naive and the quantile coverage', async () => {
    const r = await run(['backtest', '--dataset', 'us-flights-2001-atl', '--held-out-weeks', '2', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const [d] = JSON.parse(r.out) as { dataset: string; folds: { chosen: string; model: { mase: number }; seasonalNaive: { mase: number }; coverage: number; candidates: Record<string, { mase: number; smape: number }> }[] }[];
    assert.equal(d.dataset, 'us-flights-2001-atl');
    assert.equal(d.folds.length, 2);
    for (const f of d.folds) {
      assert.ok(f.chosen.length > 0 && f.coverage > 0);
      assert.ok(f.candidates['snaive/none'].mase > 0);
      assert.equal(f.candidates['snaive/none'].mase, f.seasonalNaive.mase);
    }
  });
});
