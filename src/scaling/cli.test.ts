import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCapacityCheckConfig } from '../platform/config/config.ts';
import { DEFAULT_SIMULATE_POLICIES } from './cli.ts';
import { runScalingCli } from './cli.harness.ts';
import { resolveTimeZone } from './cli-inputs.ts';
import { getMae, getSeasonalNaiveScale } from './forecast/metrics.ts';
import { cleanOutliers } from './forecast/outliers.ts';
import { WEEK, forecastSeasonalNaive } from './forecast/seasonal-models.ts';
import { getRealDataset } from './test-data/real-datasets.ts';

const run = runScalingCli;

describe('salescale CLI', () => {
  it('simulate on Black Friday: reactive HPA over the SLO, HPA + pre-scaling not, with instance-hours and cost (--json)', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--json', '--no-db']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { totals: { policy: string; minutesOverSlo: number; instanceHours: number; cost: number; readiness: { event: string; tightestAt: string; neededInstances: number; readyMarginMinutes: number | null }[] }[] };
    const hpa = json.totals.find((t) => t.policy === 'hpa');
    const pre = json.totals.find((t) => t.policy === 'hpa-prescaled');
    assert.ok(hpa && pre);
    assert.ok(hpa.minutesOverSlo > 0);
    assert.equal(pre.minutesOverSlo, 0);
    assert.ok(pre.instanceHours > 0 && pre.cost > 0 && hpa.cost > 0);
    // Black Friday's tightest step is the 10:00 jump to 1300 req/s, needing 9 pods of 150 req/s (the 19:00 peak's 12
    // come hours after either policy has them). The reactive HPA has 3 serving then and 9 or more from 10:03:45: 3.75
    // min late. The KEDA cron step starts 17 at 09:50, Ready 45 s later: 10:00 − 09:50:45 = 9.25 min before.
    assert.deepEqual(hpa.readiness.map((e) => [e.event, e.tightestAt, e.neededInstances, e.readyMarginMinutes]), [['Black Friday', '2026-11-27T10:00:00.000Z', 9, -3.75]]);
    assert.deepEqual(pre.readiness.map((e) => [e.event, e.tightestAt, e.neededInstances, e.readyMarginMinutes]), [['Black Friday', '2026-11-27T10:00:00.000Z', 9, 9.25]]);
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
    assert.match(r.out, /policy\s+sizing\s+min over SLO\s+capacity lead \(tightest\)/);
    assert.match(r.out, /hpa-prescaled/);
  });

  it('simulate --workers adds the KEDA worker tier: reactive queue depth over 1000, pre-scaled below (--json)', async () => {
    // --base-rps 500 is five times the deployment spec's prescale.baseRps (100): Black Friday's ×10 makes the 10:00 step
    // 1500 → 6500 req/s, 13 orders/s, 13 email sends/s of 2 s each. At the deployed worker pool (DB_POOL_MAX 5: 3 sends at
    // once per worker) the plan wants 13 workers from 09:50, above the spec's worker.replicas.max 10 (and 77 web pods at
    // the 14:00 peak, above web.replicas.max 20), so the worker maximum is raised to 20 here. The reactive workers see
    // the step only through the queue: it passes 1000 jobs. (Later steps, 14:00's, no longer do: the rendered
    // scale-down of one worker a minute keeps most of the workers between bursts.) At the spec's own base (1600 req/s at
    // the peak) the plan needs 4 workers: see 'plan and simulate name the roles ...'.
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--base-rps', '500', '--workers', '--worker-max', '20', '--json', '--no-db', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T11:00:00Z']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { totals: unknown[]; workers: { totals: { policy: string; maxQueueDepth: number; minutesOverWarning: number; instanceHours: number }[] } };
    assert.equal(json.totals.length, DEFAULT_SIMULATE_POLICIES.split(',').length, 'the web policies still run');
    const [reactive, prescaled] = json.workers.totals;
    assert.deepEqual([reactive.policy, prescaled.policy], ['keda-workers', 'keda-workers-prescaled']);
    assert.ok(reactive.maxQueueDepth > 1000 && reactive.minutesOverWarning > 0);
    assert.ok(prescaled.maxQueueDepth < 1000 && prescaled.instanceHours > 0);
  });

  it('simulate --workers scales workers in as the rendered worker ScaledObject does: at most one a minute', async () => {
    // deploy/k8s/base/worker-scaledobject.yaml sets advanced.horizontalPodAutoscalerConfig.behavior.scaleDown to
    // Pods 1 / 60 s and Percent 10 / 60 s, selectPolicy Min. "KEDA would feed values from this section directly to the
    // HPA's `behavior` field" (https://keda.sh/docs/latest/reference/scaledobject-spec/, horizontalPodAutoscalerConfig.behavior),
    // and the HPA keeps the smaller removal over each 60 s (kubernetes/kubernetes
    // pkg/controller/podautoscaler/horizontal.go, calculateScaleDownLimitWithBehaviors): from 10 workers or fewer
    // one a minute. The API server's default (Percent 100 / 15 s) would drop them all at once after the window.
    // Black Friday at the spec's base: 9 workers at 22:00 when the sale ends, 10 pre-scaled until 00:00.
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--workers', '--json', '--no-db', '--policies', 'keda-workers', '--from', '2026-11-27T21:30:00Z', '--to', '2026-11-28T01:00:00Z']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { workers: { timelines: Record<string, { t: string; replicas: number }[]> } };
    for (const [policy, timeline] of Object.entries(json.workers.timelines)) {
      const drops = timeline.slice(1).map((p, i) => ({ t: p.t, removed: timeline[i].replicas - p.replicas })).filter((d) => d.removed > 1);
      assert.deepEqual(drops, [], `${policy}: more than one worker removed in a minute`);
      assert.ok(timeline[0].replicas > 1 && timeline.at(-1)?.replicas === 1, `${policy}: ${timeline[0].replicas} → ${timeline.at(-1)?.replicas} workers`);
    }
  });

  it('plan and simulate name the roles whose planned replicas exceed replicas.max of the deployment spec (warning and aboveSpecMax)', async () => {
    // At the spec's own base (100 req/s at pattern 1.0) Black Friday peaks at 1600 req/s: 17 web pods, 4 workers, both within the spec.
    const fits = await run(['plan', '--year', '2026', '--json', '--no-db']);
    assert.equal(fits.exitCode, 0, fits.err);
    assert.deepEqual((JSON.parse(fits.out) as { aboveSpecMax: unknown[] }).aboveSpecMax, []);
    // Five times that base: 8000 req/s at 14:00 needs 77 web pods (at 70 % of 150 req/s) and 16 workers (16 email sends/s
    // × 2 s ÷ (3 × 0.7)); the day's busiest hour more.
    const plan = await run(['plan', '--year', '2026', '--base-rps', '500', '--json', '--no-db']);
    assert.equal(plan.exitCode, 0, plan.err);
    const above = (JSON.parse(plan.out) as { aboveSpecMax: { role: string; specMax: number; peakNeeded: number; hours: number; firstHour: string }[] }).aboveSpecMax;
    assert.deepEqual(above.map((a) => [a.role, a.specMax]), [['web', 20], ['worker', 10]]);
    const worker = above[1];
    assert.ok(worker.peakNeeded >= 16, JSON.stringify(worker));
    assert.ok(worker.hours > 0 && worker.firstHour.startsWith('2026-11-27T'), JSON.stringify(worker));
    assert.ok(above[0].peakNeeded > 20);
    const text = await run(['plan', '--year', '2026', '--base-rps', '500', '--no-db']);
    assert.ok(text.out.includes(`WARNING: up to ${worker.peakNeeded} worker replicas needed, above the deployment spec's worker.replicas.max 10, in ${worker.hours} hour(s) from ${worker.firstHour.slice(0, 16)}Z`), text.out);
    assert.match(text.out, /WARNING: up to \d+ web replicas needed, above the deployment spec's web\.replicas\.max 20/);
    // simulate says the same even when --max/--worker-max let the simulation run past the spec.
    const window = ['--from', '2026-11-27T13:00:00Z', '--to', '2026-11-27T15:00:00Z'];
    const sim = await run(['simulate', '--year', '2026', '--base-rps', '500', '--workers', '--worker-max', '20', '--max', '80', '--policies', 'hpa-prescaled', '--json', '--no-db', ...window]);
    assert.equal(sim.exitCode, 0, sim.err);
    const simAbove = (JSON.parse(sim.out) as { aboveSpecMax: { role: string; specMax: number; peakNeeded: number }[] }).aboveSpecMax;
    assert.deepEqual(simAbove.map((a) => [a.role, a.specMax, a.peakNeeded > a.specMax]), [['web', 20, true], ['worker', 10, true]]);
    const simText = await run(['simulate', '--year', '2026', '--base-rps', '500', '--workers', '--worker-max', '20', '--max', '80', '--policies', 'hpa-prescaled', '--no-db', '--no-progress', ...window]);
    assert.match(simText.out, /WARNING: up to 16 worker replicas needed, above the deployment spec's worker\.replicas\.max 10/);
    const simFits = await run(['simulate', '--year', '2026', '--workers', '--policies', 'hpa-prescaled', '--json', '--no-db', ...window]);
    assert.deepEqual((JSON.parse(simFits.out) as { aboveSpecMax: unknown[] }).aboveSpecMax, []);
  });

  it('cost names the roles the window needs past replicas.max of the deployment spec, whose capped replicas it prices (warning and aboveSpecMax)', async () => {
    // The same ×5 base: the window's price was that of 20 web pods and 10 workers, with no word that the sale needs more.
    const window = ['--from', '2026-11-27T13:00:00Z', '--to', '2026-11-27T15:00:00Z'];
    const cost = await run(['cost', '--year', '2026', '--base-rps', '500', '--policies', 'hpa-prescaled', '--json', '--no-db', ...window]);
    assert.equal(cost.exitCode, 0, cost.err);
    const above = (JSON.parse(cost.out) as { aboveSpecMax: { role: string; specMax: number; peakNeeded: number; firstHour: string }[] }).aboveSpecMax;
    assert.deepEqual(above.map((a) => [a.role, a.specMax, a.peakNeeded > a.specMax, a.firstHour]), [['web', 20, true, '2026-11-27T13:00:00.000Z'], ['worker', 10, true, '2026-11-27T13:00:00.000Z']]);
    const text = await run(['cost', '--year', '2026', '--base-rps', '500', '--policies', 'hpa-prescaled', '--no-db', ...window]);
    assert.ok(text.out.includes(`WARNING: up to ${above[1].peakNeeded} worker replicas needed, above the deployment spec's worker.replicas.max 10`), text.out);
    const fits = await run(['cost', '--year', '2026', '--policies', 'hpa-prescaled', '--json', '--no-db', ...window]);
    assert.deepEqual((JSON.parse(fits.out) as { aboveSpecMax: unknown[] }).aboveSpecMax, []);
  });

  it('accepts worker policies in --policies alone and prints only the worker table', async () => {
    const r = await run(['simulate', '--year', '2026', '--capacity', '150', '--no-db', '--policies', 'keda-workers', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z']);
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.out, /policy\s+min > 1000\s+min > 5000\s+max queue depth/);
    assert.doesNotMatch(r.out, /min over SLO/);
    assert.doesNotMatch(r.out, /keda-workers-prescaled/);
  });

  it('plan flags a DB_POOL_MAX of 10 (the app\'s default) against max_connections with a fix', async () => {
    const r = await run(['plan', '--year', '2026', '--capacity', '150'], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '10' }) });
    assert.match(r.out, /pool max 10 \(DB_POOL_MAX\).*max_connections 250.*does NOT fit/);
    assert.match(r.out, /fix: set DB_POOL_MAX to \d+ /);
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
    assert.match(cap.err, /^error \[INVALID_OPTION\]: --capacity must be a number ≥ 0\.01/);
  });

  it('forecast and plan warn when --events-csv, which replaces the built-in calendar, holds no event in the window (Black Friday was sized at ×1 without a word)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-pastevents-'));
    try {
      const events = join(dir, 'past.csv');
      writeFileSync(events, 'name,start,end,kind\nHalloween,2026-10-31T04:00Z,2026-11-01T04:00Z,flash-sale\n');
      const warning = `warning: --events-csv ${events} replaced the built-in calendar and has no event in the window 2027-11-25T21:00Z → 2027-11-27T00:00Z, where the built-in calendar has Black Friday 2027 (2027-11-26T00:00Z, ×10): it is forecast without a sale uplift (×1); add the upcoming sale to the file`;
      for (const command of ['forecast', 'plan']) {
        const r = await run([command, '--events-csv', events, '--year', '2027', '--no-db']);
        assert.equal(r.exitCode, 0, r.err);
        assert.ok(r.err.includes(warning), `${command}: ${r.err}`);
        const json = await run([command, '--events-csv', events, '--year', '2027', '--no-db', '--json']);
        assert.ok((JSON.parse(json.out) as { warnings: string[] }).warnings.includes(warning.replace(/^warning: /, '')), command);
      }
      const seed = await run(['forecast', '--year', '2027', '--no-db']);
      assert.doesNotMatch(seed.err, /warning/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast and plan warn of each built-in sale in the window that no event of the file overlaps, even when the file has other events there (Black Friday was forecast at ×1 beside a small early sale without a word)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-partialevents-'));
    try {
      const early = join(dir, 'early.json');
      writeFileSync(early, JSON.stringify([{ name: 'Early bird', startsAt: '2027-11-25T21:00:00Z', endsAt: '2027-11-25T23:00:00Z', trafficMultiplier: 2 }]));
      const warning = `warning: --events-file ${early} replaced the built-in calendar and has no event overlapping Black Friday 2027 (2027-11-26T00:00Z, ×10), which the built-in calendar has in the window 2027-11-25T21:00Z → 2027-11-27T00:00Z: it is forecast without its sale uplift (×1); add the sale to the file`;
      for (const command of ['forecast', 'plan']) {
        const r = await run([command, '--events-file', early, '--year', '2027', '--no-db']);
        assert.equal(r.exitCode, 0, r.err);
        assert.ok(r.err.includes(warning), `${command}: ${r.err}`);
        const json = await run([command, '--events-file', early, '--year', '2027', '--no-db', '--json']);
        assert.ok((JSON.parse(json.out) as { warnings: string[] }).warnings.includes(warning.replace(/^warning: /, '')), command);
      }
      // Black Friday and Cyber Monday in the window, the file covering Black Friday (another name) only: Cyber Monday alone is named.
      const bf = join(dir, 'bf.json');
      writeFileSync(bf, JSON.stringify([{ name: 'Our big day', startsAt: '2027-11-26T06:00:00Z', endsAt: '2027-11-26T18:00:00Z', trafficMultiplier: 8 }]));
      const both = await run(['forecast', '--events-file', bf, '--from', '2027-11-25T00:00:00Z', '--to', '2027-12-01T00:00:00Z', '--no-db']);
      assert.equal(both.exitCode, 0, both.err);
      assert.deepEqual(both.err.match(/^warning: .*$/gm), [`warning: --events-file ${bf} replaced the built-in calendar and has no event overlapping Cyber Monday 2027 (2027-11-29T00:00Z, ×8), which the built-in calendar has in the window 2027-11-25T00:00Z → 2027-12-01T00:00Z: it is forecast without its sale uplift (×1); add the sale to the file`]);
      // Covered: no warning.
      const covered = await run(['forecast', '--events-file', bf, '--year', '2027', '--no-db']);
      assert.equal(covered.exitCode, 0, covered.err);
      assert.doesNotMatch(covered.err, /warning/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('simulate and cost print the events-file warnings as forecast and plan do: on stderr, and as `warnings` in --json (they forecast Black Friday at ×1 without a word)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-simwarn-'));
    try {
      const events = join(dir, 'past.csv');
      writeFileSync(events, 'name,start,end,kind\nHalloween,2026-10-31T04:00Z,2026-11-01T04:00Z,flash-sale\n');
      const window = ['--from', '2027-11-26T09:00:00Z', '--to', '2027-11-26T11:00:00Z', '--no-db', '--capacity', '150', '--policies', 'hpa,hpa-prescaled'];
      const warning = `--events-csv ${events} replaced the built-in calendar and has no event in the window 2027-11-26T09:00Z → 2027-11-26T11:00Z, where the built-in calendar has Black Friday 2027 (2027-11-26T00:00Z, ×10): it is forecast without a sale uplift (×1); add the upcoming sale to the file`;
      for (const command of ['simulate', 'cost']) {
        const r = await run([command, '--events-csv', events, ...window]);
        assert.equal(r.exitCode, 0, r.err);
        assert.ok(r.err.includes(`warning: ${warning}\n`), `${command}: ${r.err}`);
        const json = await run([command, '--events-csv', events, ...window, '--json']);
        assert.equal(json.exitCode, 0, json.err);
        assert.ok(json.err.includes(`warning: ${warning}\n`), `${command} --json: ${json.err}`);
        // cost also prices its month (10 Nov + 4 weeks) from the file: Cyber Monday, in it and not in the file, is warned of too.
        const month = `--events-csv ${events} replaced the built-in calendar and has no event overlapping Cyber Monday 2027 (2027-11-29T00:00Z, ×8), which the built-in calendar has in the month cost prices 2027-11-10T00:00Z → 2027-12-08T00:00Z: it is forecast without its sale uplift (×1); add the sale to the file`;
        assert.deepEqual((JSON.parse(json.out) as { warnings?: string[] }).warnings, command === 'cost' ? [warning, month] : [warning], command);
        // Without a file: the built-in calendar, nothing to warn of, an empty list.
        const seed = await run([command, ...window, '--json']);
        assert.deepEqual((JSON.parse(seed.out) as { warnings?: string[] }).warnings, [], command);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast and plan warn of an upcoming --events-csv event whose kind has neither a learned curve nor a seed multiplier (a flash sale got ×1 without a word), and eventSources says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-unknownkind-'));
    try {
      const events = join(dir, 'flash.csv');
      writeFileSync(events, 'name,start,end,kind\nFlash,2027-11-26T00:00Z,2027-11-27T00:00Z,flash-sale\nBF,2027-11-26T00:00Z,2027-11-27T00:00Z,black-friday\n');
      const warning = 'warning: Flash (2027-11-26T00:00Z): kind "flash-sale" has no seed multiplier and no past event in a history to learn one from: forecast at ×1 (no uplift); give past events of that kind with --history, or a trafficMultiplier with --events-file';
      for (const command of ['forecast', 'plan']) {
        const r = await run([command, '--events-csv', events, '--year', '2027', '--no-db']);
        assert.equal(r.exitCode, 0, r.err);
        assert.ok(r.err.includes(warning), `${command}: ${r.err}`);
        assert.equal(r.err.match(/^warning: /gm)?.length, 1, r.err);
      }
      const json = JSON.parse((await run(['forecast', '--events-csv', events, '--year', '2027', '--no-db', '--json'])).out) as { eventSources: { name: string; source: string }[] };
      assert.match(json.eventSources.find((e) => e.name === 'Flash')?.source ?? '', /: ×1, no uplift: kind "flash-sale" has no seed multiplier and no past event in a history to learn one from$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast with --events-csv on an ordinary week, where the built-in calendar has no sale either, does not warn to add an upcoming sale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-quietweek-'));
    try {
      const events = join(dir, 'sales.csv');
      writeFileSync(events, 'name,start,end,kind\nBlack Friday 2027,2027-11-26T05:00Z,2027-11-27T05:00Z,black-friday\n');
      const window = ['--from', '2027-03-02T00:00:00Z', '--to', '2027-03-03T00:00:00Z', '--no-db'];
      // The built-in calendar puts no sale there: the file loses nothing, ×1 is right.
      const seed = await run(['forecast', ...window]);
      assert.equal(seed.exitCode, 0, seed.err);
      assert.match(seed.out, /2027-03-02T00:00 +[\d.]+ +1 /);
      const r = await run(['forecast', '--events-csv', events, ...window]);
      assert.equal(r.exitCode, 0, r.err);
      assert.doesNotMatch(r.err, /add the upcoming sale to the file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast --history --events-csv: learned Black Friday uplift, the source of each event, and the q0.9 band above the mean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-uplift-'));
    try {
      const HOUR = 3_600_000;
      const bfs = [Date.parse('2024-11-29T00:00:00Z'), Date.parse('2025-11-28T00:00:00Z')];
      const base = (t: number) => 1000 * (0.3 + Math.max(0, Math.sin(((new Date(t).getUTCHours() - 6) / 24) * 2 * Math.PI)));
      const mult = (t: number) => {
        const s = bfs.find((b) => t >= b && t < b + 24 * HOUR);
        if (s === undefined) return 1;
        const h = (t - s) / HOUR;
        return h < 4 ? 1 + (5 * (h + 1)) / 4 : 6;
      };
      const rows = ['hour,requests'];
      for (let t = Date.parse('2024-09-02T00:00:00Z'); t < Date.parse('2026-11-20T00:00:00Z'); t += HOUR) rows.push(`${new Date(t).toISOString()},${Math.round(base(t) * mult(t) * (1 + 0.05 * Math.sin(t / 7e6)))}`);
      writeFileSync(join(dir, 'history.csv'), `${rows.join('\n')}\n`);
      writeFileSync(join(dir, 'events.csv'), 'name,start,end,kind\nBlack Friday,2024-11-29T00:00:00Z,2024-11-30T00:00:00Z,black-friday\nBlack Friday,2025-11-28T00:00:00Z,2025-11-29T00:00:00Z,black-friday\nBlack Friday,2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,black-friday\n');
      const r = await run(['forecast', '--history', join(dir, 'history.csv'), '--events-csv', join(dir, 'events.csv'), '--from', '2026-11-27T00:00:00Z', '--to', '2026-11-28T00:00:00Z', '--json', '--no-db', '--no-progress']);
      assert.equal(r.exitCode, 0, r.err);
      const json = JSON.parse(r.out) as { quantile: number; baseSource: string; eventSources: { source: string }[]; hours: { baseRequestsPerSecond: number; meanRequestsPerSecond: number; quantileRequestsPerSecond: number; eventMultiplier: number }[] };
      assert.equal(json.quantile, 0.9);
      assert.match(json.eventSources[0].source, /^learned from 2 past event/);
      assert.match(json.baseSource, /the window ends 8 days after the history: the models are validated one week ahead/);
      for (let i = 8; i < 20; i++) {
        const h = json.hours[i];
        const truth = (base(Date.parse('2026-11-27T00:00:00Z') + i * HOUR) * 6) / 3600;
        assert.ok(Math.abs(h.meanRequestsPerSecond / truth - 1) < 0.15, `hour ${i}: ${h.meanRequestsPerSecond} vs ${truth}`);
        assert.ok(h.quantileRequestsPerSecond >= h.meanRequestsPerSecond);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast and backtest --events-csv: a past sale in the history does not raise the base of the weeks after it (real series, Atlanta departures)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-past-sale-'));
    try {
      const clean = join(import.meta.dirname, 'test-data/real/us-flights-2001-atl.csv');
      const lines = readFileSync(clean, 'utf8').trim().split('\n');
      // A three-day sale ending 28 hours before the history ends: a 4-hour ramp to ×3, then ×3. (A burst of
      // a day or less is cleaned even when nobody named it: outliers.ts.)
      const start = lines.length - 1 - 100;
      const rows = lines.map((line, i) => {
        const j = i - 1 - start;
        if (i === 0 || j < 0 || j >= 72) return line;
        const [hour, requests] = line.split(',');
        return `${hour},${Math.round(Number(requests) * (j < 4 ? 1 + (2 * (j + 1)) / 4 : 3))}`;
      });
      writeFileSync(join(dir, 'history.csv'), `${rows.join('\n')}\n`);
      const at = (i: number) => rows[i + 1].split(',')[0];
      writeFileSync(join(dir, 'events.csv'), `name,start,end,kind\nSpring sale,${at(start)},${at(start + 72)},spring\n`);
      const window = ['--from', '2001-07-01T01:00:00Z', '--to', '2001-07-08T01:00:00Z', '--json', '--no-db', '--no-progress'];
      const weekSum = async (args: string[]) => {
        const r = await run(['forecast', ...args, ...window]);
        assert.equal(r.exitCode, 0, r.err);
        const json = JSON.parse(r.out) as { baseSource: string; hours: { baseRequestsPerSecond: number }[] };
        return { sum: json.hours.reduce((s, h) => s + h.baseRequestsPerSecond * 3600, 0), baseSource: json.baseSource };
      };
      const reference = await weekSum(['--history', clean]);
      const unnamed = await weekSum(['--history', join(dir, 'history.csv')]);
      const named = await weekSum(['--history', join(dir, 'history.csv'), '--events-csv', join(dir, 'events.csv')]);
      // Not named, the sale is carried into next week's base; named, the base is the one without the sale.
      assert.ok(unnamed.sum > reference.sum * 1.1, `${unnamed.sum} vs ${reference.sum}`);
      assert.ok(Math.abs(named.sum / reference.sum - 1) < 0.03, `${named.sum} vs ${reference.sum}`);
      assert.match(named.baseSource, /72 hour\(s\) of 1 past sale event\(s\) replaced by their baseline/);
      // backtest --events-csv: the same cleaning in each fold's inputs, and the sale's held-out hours left out of the scores.
      const backtest = async (args: string[]) => {
        const r = await run(['backtest', ...args, '--held-out-weeks', '2', '--json']);
        assert.equal(r.exitCode, 0, r.err);
        return (JSON.parse(r.out) as { meanMase: number; eventHoursLeftOut: number }[])[0];
      };
      const cleanBacktest = await backtest(['--history', clean]);
      const unnamedBacktest = await backtest(['--history', join(dir, 'history.csv')]);
      const namedBacktest = await backtest(['--history', join(dir, 'history.csv'), '--events-csv', join(dir, 'events.csv')]);
      assert.equal(namedBacktest.eventHoursLeftOut, 72);
      assert.equal(unnamedBacktest.eventHoursLeftOut, 0);
      assert.ok(unnamedBacktest.meanMase > cleanBacktest.meanMase * 1.5, `${unnamedBacktest.meanMase} vs ${cleanBacktest.meanMase}`);
      assert.ok(Math.abs(namedBacktest.meanMase / cleanBacktest.meanMase - 1) < 0.05, `${namedBacktest.meanMase} vs ${cleanBacktest.meanMase}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast --tz --wall-clock: a history kept in UTC hours is modelled on the shop\'s wall clock across a clock change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-wall-clock-'));
    try {
      const HOUR = 3_600_000;
      // Traffic by New York local hour of the week, kept in UTC hours: 4 weeks up to 8 March 2026 05:00Z.
      const byLocalHour = (t: number) => {
        const l = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', hour: 'numeric', weekday: 'short' }).formatToParts(new Date(t));
        const hour = Number(l.find((p) => p.type === 'hour')?.value);
        const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(l.find((p) => p.type === 'weekday')?.value ?? '');
        return 1000 + 200 * day + 100 * Math.max(0, hour - 6);
      };
      const start = Date.parse('2026-02-08T05:00:00Z');
      const rows = ['hour,requests'];
      for (let t = start; t < start + 4 * 168 * HOUR; t += HOUR) rows.push(`${new Date(t).toISOString()},${byLocalHour(t)}`);
      writeFileSync(join(dir, 'history.csv'), `${rows.join('\n')}\n`);
      const window = ['--from', '2026-03-08T05:00:00Z', '--to', '2026-03-15T05:00:00Z', '--json', '--no-db', '--no-progress', '--history', join(dir, 'history.csv')];
      const errors = async (...args: string[]) => {
        const r = await run(['forecast', ...window, '--tz', 'America/New_York', ...args]);
        assert.equal(r.exitCode, 0, r.err);
        const json = JSON.parse(r.out) as { baseSource: string; hours: { hour: string; baseRequestsPerSecond: number }[] };
        const worst = Math.max(...json.hours.map((h) => Math.abs((h.baseRequestsPerSecond * 3600) / byLocalHour(Date.parse(h.hour)) - 1)));
        return { worst, baseSource: json.baseSource };
      };
      // --tz alone reads the file's hours as its own clock (a file of local times labelled as UTC stays right).
      const wallClock = await errors('--wall-clock');
      const utc = await errors();
      assert.ok(wallClock.worst < 0.01, `worst hour ${wallClock.worst}`);
      assert.ok(utc.worst > 0.05, `worst hour in UTC ${utc.worst}`);
      assert.match(wallClock.baseSource, /on the America\/New_York wall clock/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast and simulate --out into a folder that does not exist: one error line, exit 2, nothing on stdout', async () => {
    const missing = join(tmpdir(), `salescale-missing-${process.pid}`, 'chart.svg');
    for (const command of ['forecast', 'simulate']) {
      const r = await run([command, '--year', '2026', ...(command === 'forecast' ? [] : ['--capacity', '150']), '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z', '--out', missing]);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.equal(r.out, '', command);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /^error \[UNWRITABLE_OUTPUT\]: cannot write .*chart\.svg: its folder does not exist/);
    }
  });

  it('quotes a bad value from the input short and on one line: a megabyte header, a cell with a line break, an option with one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-long-'));
    try {
      writeFileSync(join(dir, 'header.csv'), `${'h'.repeat(1_000_000)},x\n2026-01-05T00:00:00Z,1\n`);
      writeFileSync(join(dir, 'cell.csv'), 'hour,requests\n2026-01-05T00:00:00Z,"12\n13"\n');
      writeFileSync(join(dir, 'count.csv'), `hour,requests\n2026-01-05T00:00:00Z,${'9'.repeat(100_000)}\n`);
      const cases: [string[], RegExp][] = [
        [['--history', join(dir, 'header.csv')], /^error \[MALFORMED_CSV\]: .*header must name the columns "hour" and "requests" \(got "h{60}…"\)$/],
        [['--history', join(dir, 'cell.csv')], /^error \[MALFORMED_CSV\]: .*line 3: requests "12\\n13" is not a count/],
        [['--history', join(dir, 'count.csv')], /^error \[MALFORMED_CSV\]: .*line 2: requests "9{60}…" is too large for a count/],
        [['--base-rps', '12\n13'], /^error \[INVALID_OPTION\]: --base-rps: "12\\n13" is not a number$/],
        [['--from', `2026-11-27\n${'x'.repeat(10_000)}`], /^error \[INVALID_DATE\]: --from: "2026-11-27\\nx{49}…" is not an ISO-8601 date/],
      ];
      for (const [args, pattern] of cases) {
        const r = await run(['forecast', '--year', '2026', '--no-db', '--no-progress', ...args]);
        assert.equal(r.exitCode, 2, r.err.slice(0, 300));
        assert.equal(r.err.trim().split('\n').length, 1, r.err.slice(0, 300));
        assert.ok(r.err.length < 400, `${r.err.length} characters: ${r.err.slice(0, 300)}`);
        assert.match(r.err.trim(), pattern);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads every JSON file it is given with a UTF-8 byte-order mark, as the CSV readers do: events, bench results, pricing catalogues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-bom-'));
    const withBom = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, `\uFEFF${text}`);
      return file;
    };
    try {
      const events = withBom('events.json', JSON.stringify([{ name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T12:00:00Z', trafficMultiplier: 3 }]));
      const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--no-progress', '--json'];
      const forecast = await run(['forecast', ...window, '--events-file', events]);
      assert.equal(forecast.exitCode, 0, forecast.err);
      assert.equal((JSON.parse(forecast.out) as { hours: { eventMultiplier: number }[] }).hours[0].eventMultiplier, 3);
      const capacity = withBom('capacity.json', readFileSync('bench/results/capacity.json', 'utf8'));
      const plan = await run(['plan', ...window, '--bench', capacity]);
      assert.equal(plan.exitCode, 0, plan.err);
      assert.ok((JSON.parse(plan.out) as { capacitySource: string }).capacitySource.startsWith(`--bench ${capacity}: measured `), plan.out.slice(0, 300));
      const pricing = ['', 'gcp-', 'azure-'].map((p) => withBom(`pricing-${p}.json`, readFileSync(`src/scaling/data/pricing-${p}${p ? '2026-12-03' : '2026-11-27'}.json`, 'utf8')));
      const cost = await run(['cost', ...window, '--capacity', '150', '--pricing', pricing[0], '--pricing-gcp', pricing[1], '--pricing-azure', pricing[2]]);
      assert.equal(cost.exitCode, 0, cost.err);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --events-csv with --events-file in every command that takes both (the CSV won silently): one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-events-both-'));
    try {
      const csv = join(dir, 'events.csv');
      writeFileSync(csv, 'name,start,end,kind\nFlash,2026-11-27T10:00:00Z,2026-11-27T12:00:00Z,flash\n');
      const json = join(dir, 'events.json');
      writeFileSync(json, JSON.stringify([{ name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T12:00:00Z', trafficMultiplier: 3 }]));
      const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--no-progress'];
      for (const args of [['forecast', ...window], ['plan', ...window], ['simulate', ...window], ['cost', ...window], ['backtest', '--dataset', 'us-flights-2001-elp', '--held-out-weeks', '1']]) {
        const r = await run([...args, '--events-csv', csv, '--events-file', json]);
        assert.equal(r.exitCode, 2, `${args[0]}: ${r.err}`);
        assert.equal(r.out, '', args[0]);
        assert.equal(r.err, 'error [INVALID_OPTION]: --events-csv and --events-file both give the sale events: give one of them\n', args[0]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an events file of more than 1000 events (200,000 ran for minutes): one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-events-many-'));
    try {
      const at = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 3_600_000).toISOString();
      const csv = join(dir, 'events.csv');
      writeFileSync(csv, `name,start,end,kind\n${Array.from({ length: 1001 }, (_, i) => `Flash ${i},${at(i)},${at(i + 1)},flash`).join('\n')}\n`);
      const json = join(dir, 'events.json');
      writeFileSync(json, JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ name: `Flash ${i}`, startsAt: at(i), endsAt: at(i + 1), trafficMultiplier: 3 }))));
      const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--no-progress'];
      const cases: [string[], string][] = [
        [['--events-csv', csv], `error [MALFORMED_CSV]: ${csv} holds 1001 events; at most 1000 are taken\n`],
        [['--events-file', json], `error [MALFORMED_FILE]: ${json} holds 1001 events; at most 1000 are taken\n`],
      ];
      for (const [file, expected] of cases) {
        for (const args of [['forecast', ...window], ['plan', ...window], ['backtest', '--dataset', 'us-flights-2001-elp', '--held-out-weeks', '1']]) {
          const r = await run([...args, ...file]);
          assert.equal(r.exitCode, 2, `${args[0]} ${file[0]}: ${r.err.slice(0, 300)}`);
          assert.equal(r.out, '', args[0]);
          assert.equal(r.err, expected, args[0]);
        }
      }
      // At the limit the events are taken.
      writeFileSync(json, JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ name: `Flash ${i}`, startsAt: at(i), endsAt: at(i + 1), trafficMultiplier: 3 }))));
      assert.equal((await run(['forecast', ...window, '--events-file', json])).exitCode, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two sources of history (--history, --learn, --dataset) are refused: one was silently dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-two-histories-'));
    try {
      writeFileSync(join(dir, 'h.csv'), 'hour,requests\n');
      const h = join(dir, 'h.csv');
      for (const [args, named] of [
        [['forecast', '--history', h, '--learn', '--no-db'], '--history and --learn'],
        [['plan', '--history', h, '--learn', '--no-db'], '--history and --learn'],
        [['backtest', '--history', h, '--dataset', 'us-flights-2001-atl'], '--history and --dataset'],
        [['backtest', '--learn', '--dataset', 'us-flights-2001-atl'], '--learn and --dataset'],
      ] as const) {
        const r = await run([...args]);
        assert.equal(r.exitCode, 2, args.join(' '));
        assert.equal(r.err, `error [INVALID_OPTION]: ${named} both give the history: give one of them\n`, args.join(' '));
        assert.equal(r.out, '');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --wall-clock without a history in forecast, plan, simulate and cost (it was ignored: the seed pattern ran on the --tz clock anyway)', async () => {
    const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--no-progress', '--tz', 'Europe/Berlin'];
    for (const command of ['forecast', 'plan', 'simulate', 'cost']) {
      const r = await run([command, ...window, '--wall-clock']);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.equal(r.out, '', command);
      assert.equal(r.err, "error [INVALID_OPTION]: --wall-clock needs a history (--history <csv>): it says how the history's hours are read, and without one the seed's weekly pattern stands in, on the --tz clock already\n", command);
    }
    // With a history it is taken.
    const history = join(import.meta.dirname, 'test-data/real/us-flights-2001-atl.csv');
    const learned = await run(['forecast', '--no-db', '--no-progress', '--history', history, '--from', '2001-07-02T00:00Z', '--to', '2001-07-02T02:00Z', '--tz', 'America/New_York', '--wall-clock']);
    assert.equal(learned.exitCode, 0, learned.err);
  });

  it('refuses --quantile without a history in forecast, plan, simulate and cost (it was ignored); without --quantile they use the mean and say so', async () => {
    const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--no-progress'];
    for (const command of ['forecast', 'plan', 'simulate', 'cost']) {
      const r = await run([command, ...window, '--quantile', '0.9']);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.equal(r.out, '', command);
      assert.equal(r.err, 'error [INVALID_OPTION]: --quantile needs a history (--history <csv> or --learn): the quantile comes from the forecast\'s validation errors, and the seed pattern has none\n', command);
    }
    const forecast = await run(['forecast', ...window, '--json']);
    assert.equal(forecast.exitCode, 0, forecast.err);
    assert.equal((JSON.parse(forecast.out) as { quantile: number | null }).quantile, null);
    const plan = await run(['plan', ...window, '--json']);
    assert.equal(plan.exitCode, 0, plan.err);
    assert.match((JSON.parse(plan.out) as { sizing: string }).sizing, /^sized on the mean forecast: the seed pattern has no quantile/);
  });

  it('--events-file of the wrong shape (an item that is not an object, a ramp that is not a number) is one error line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-events-'));
    try {
      const event = { name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T12:00:00Z', trafficMultiplier: 3 };
      const cases: [unknown, RegExp][] = [
        [[null], /^error \[MALFORMED_FILE\]: .*event 1 is not an object/],
        [[event, 'Black Friday'], /^error \[MALFORMED_FILE\]: .*event 2 is not an object/],
        [[{ ...event, rampUpMinutes: 'abc' }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): rampUpMinutes and decayMinutes must be numbers ≥ 0/],
        [[{ ...event, decayMinutes: { minutes: 5 } }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): rampUpMinutes and decayMinutes must be numbers ≥ 0/],
      ];
      for (const [i, [content, pattern]] of cases.entries()) {
        const file = join(dir, `events-${i}.json`);
        writeFileSync(file, JSON.stringify(content));
        const r = await run(['forecast', '--year', '2026', '--no-db', '--no-progress', '--events-file', file]);
        assert.equal(r.exitCode, 2, r.err);
        assert.equal(r.out, '');
        assert.equal(r.err.trim().split('\n').length, 1, r.err);
        assert.match(r.err, pattern);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--events-file: a multiplier that is not a number (true, [5]) or outside the API\'s 0.01 to 1000 (1001, 1e308, 0.005), or an event without a name, is one error line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-events-'));
    try {
      const event = { name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T12:00:00Z', trafficMultiplier: 3 };
      const { name: _name, ...unnamed } = event;
      const cases: [unknown, RegExp][] = [
        [[{ ...event, trafficMultiplier: true }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): trafficMultiplier "true" is not a number/],
        [[{ ...event, trafficMultiplier: [5] }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): trafficMultiplier "\[5\]" is not a number/],
        // The bound of PATCH/POST /admin/sale-events and of the table's CHECK: a file took up to 10000.
        [[{ ...event, trafficMultiplier: 1001 }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): trafficMultiplier must be from 0\.01 to 1000, as the sale_events API takes it \(got 1001\)\n$/],
        [[{ ...event, trafficMultiplier: 1e308 }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): trafficMultiplier must be from 0\.01 to 1000, as the sale_events API takes it \(got 1e\+308\)\n$/],
        [[{ ...event, trafficMultiplier: 0.005 }], /^error \[INVALID_OPTION\]: event 1 \(Flash\): trafficMultiplier must be from 0\.01 to 1000, as the sale_events API takes it \(got 0\.005\)\n$/],
        [[unnamed], /^error \[MALFORMED_FILE\]: .*event 1 has no name/],
      ];
      for (const [i, [content, pattern]] of cases.entries()) {
        const file = join(dir, `events-${i}.json`);
        writeFileSync(file, JSON.stringify(content));
        const r = await run(['forecast', '--year', '2026', '--no-db', '--no-progress', '--events-file', file]);
        assert.equal(r.exitCode, 2, `case ${i}: ${r.err}`);
        assert.equal(r.out, '');
        assert.equal(r.err.trim().split('\n').length, 1, r.err);
        assert.match(r.err, pattern);
      }
      // A double precision column may hold Infinity (it passes the table's "> 0" check): named as such.
      const infinite = await run(['forecast', '--year', '2026', '--no-progress'], { loadSaleEvents: async () => [{ ...event, trafficMultiplier: Number.POSITIVE_INFINITY }] });
      assert.equal(infinite.exitCode, 2, infinite.err);
      assert.equal(infinite.err, 'error [INVALID_OPTION]: event 1 (Flash): trafficMultiplier "Infinity" is not a number\n');
      // The database gives numeric as a string: still a number.
      const file = join(dir, 'events-string.json');
      writeFileSync(file, JSON.stringify([{ ...event, trafficMultiplier: '3' }]));
      const ok = await run(['forecast', '--year', '2026', '--no-db', '--no-progress', '--events-file', file]);
      assert.equal(ok.exitCode, 0, ok.err);
      // Both ends of the API's range are taken.
      for (const trafficMultiplier of [0.01, 1000]) {
        const edge = join(dir, `events-${trafficMultiplier}.json`);
        writeFileSync(edge, JSON.stringify([{ ...event, trafficMultiplier }]));
        const r = await run(['forecast', '--year', '2026', '--no-db', '--no-progress', '--events-file', edge, '--json']);
        assert.equal(r.exitCode, 0, r.err);
        assert.deepEqual((JSON.parse(r.out) as { eventSources: { source: string }[] }).eventSources.map((e) => e.source), [`${edge}: ×${trafficMultiplier}`]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a window before the history starts or more than two years after it ends (years ahead took minutes and gigabytes)', async () => {
    const history = join(import.meta.dirname, 'test-data/real/us-flights-2001-atl.csv'); // 2001-01-01 … 2001-07-01
    const before = await run(['forecast', '--no-db', '--no-progress', '--history', history, '--from', '2000-12-31T20:00:00Z', '--to', '2001-01-01T05:00:00Z']);
    assert.equal(before.exitCode, 2, before.err);
    assert.equal(before.out, '');
    assert.match(before.err, /^error \[INVALID_DATE\]: --from \(2000-12-31T20:00:00.000Z\) is before the history starts \(2001-01-01T00:00:00.000Z\)/);
    const far = await run(['plan', '--no-db', '--no-progress', '--capacity', '150', '--history', history, '--from', '2500-07-01T00:00:00Z', '--to', '2500-07-01T05:00:00Z']);
    assert.equal(far.exitCode, 2, far.err);
    assert.equal(far.out, '');
    assert.match(far.err, /^error \[INVALID_OPTION\]: the window ends 26037 weeks after the history \(its last hour 2001-07-01T00:00:00.000Z\); the forecast reaches 104 weeks past it at most/);
    // Up to two years ahead is a plan made early, and runs.
    const ahead = await run(['forecast', '--no-db', '--no-progress', '--json', '--history', history, '--from', '2003-06-20T00:00:00Z', '--to', '2003-06-20T02:00:00Z']);
    assert.equal(ahead.exitCode, 0, ahead.err);
  });

  it('refuses numeric options out of their range with one error line: negative prices and pool sizes, fractional replicas, thousands of replicas', async () => {
    const window = ['--year', '2026', '--capacity', '150', '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];
    const cases: [string[], RegExp][] = [
      [['plan', '--min', '1.5'], /--min must be a whole number from 0 to 1000 \(got "1\.5"\)/],
      [['plan', '--max', '1000000000'], /--max must be a whole number from 1 to 1000 \(got "1000000000"\)/],
      [['plan', '--db-pool-max', '-3'], /--db-pool-max must be a whole number ≥ 1 \(got "-3"\)/],
      [['plan', '--max-connections', '0'], /--max-connections must be a whole number ≥ 1 \(got "0"\)/],
      [['simulate', '--price', '-1'], /--price must be a number ≥ 0 \(got "-1"\)/],
      [['simulate', '--demand-factor', '-1'], /--demand-factor must be a number > 0 \(got "-1"\)/],
      [['simulate', '--spike', '-3'], /--spike must be a number > 0 \(got "-3"\)/],
      [['simulate', '--lead', '-10'], /--lead must be a number from 0 to 10080 \(got "-10"\)/],
      [['simulate', '--workers', '--worker-ready', '-30'], /--worker-ready must be a number ≥ 0 \(got "-30"\)/],
      [['simulate', '--workers', '--worker-min', '1000000', '--worker-max', '1000000'], /--worker-min must be a whole number from 0 to 1000/],
      [['simulate', '--workers', '--concurrency', '2.5'], /--concurrency must be a whole number ≥ 1 \(got "2\.5"\)/],
      [['cost', '--orders-per-request', '-1'], /--orders-per-request must be a number ≥ 0 \(got "-1"\)/],
      [['cost', '--peak-factor', '-2'], /--peak-factor must be a number > 0 \(got "-2"\)/],
    ];
    for (const [[command, ...args], pattern] of cases) {
      const r = await run([command, ...window, ...args]);
      assert.equal(r.exitCode, 2, `${command} ${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, new RegExp(`^error \\[INVALID_OPTION\\]: ${pattern.source}`));
    }
  });

  it('refuses a numeric option so large that the forecast or its sums overflow (printed "-", "$∞" and null), with one error line', async () => {
    const window = ['--year', '2026', '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];
    const cases: string[][] = [
      ['forecast', '--base-rps', '1e308'],
      ['plan', '--base-rps', '1e308'],
      ['simulate', '--spike', '1e308'],
      ['simulate', '--demand-factor', '1e308'],
      ['simulate', '--price', '1e308'],
      ['simulate', '--workers', '--orders-per-request', '1e308'],
      ['simulate', '--workers', '--jobs-per-order', '1e308'],
      ['simulate', '--workers', '--job-seconds', '1e308'],
      ['cost', '--peak-factor', '1e308'],
      ['cost', '--orders-per-request', '1e308'],
    ];
    for (const [command, ...args] of cases) {
      const r = await run([command, ...window, ...args]);
      assert.equal(r.exitCode, 2, `${command} ${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, new RegExp(`^error \\[INVALID_OPTION\\]: ${args.at(-2)}: "1e308" is too large \\(at most 1e\\+12\\)`), `${command} ${args.join(' ')}`);
    }
  });

  it('refuses a pre-scaling --lead longer than a week: the yearly cron triggers wrapped round the year (600000 min began on 6 October)', async () => {
    const window = ['--year', '2026', '--no-db', '--no-progress', '--from', '2026-11-27T00:00:00Z', '--to', '2026-11-28T00:00:00Z'];
    for (const command of ['plan', 'simulate']) {
      const r = await run([command, ...window, '--lead', '600000']);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[INVALID_OPTION\]: --lead must be a number from 0 to 10080 \(got "600000"\)\n$/, command);
    }
    const week = await run(['plan', ...window, '--lead', '10080', '--json']);
    assert.equal(week.exitCode, 0, week.err);
  });

  it('backtest --dataset with a name every object has (constructor, toString, __proto__) is an unknown dataset, not an empty history', async () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      const r = await run(['backtest', '--no-progress', '--dataset', name]);
      assert.equal(r.exitCode, 2, r.err);
      assert.equal(r.out, '');
      assert.match(r.err, new RegExp(`^error \\[INVALID_OPTION\\]: --dataset: unknown dataset "${name}" \\(known: `), name);
    }
  });

  it('--events-csv: a kind named like an object member (constructor, __proto__) gets ×1, not "×function Object()" and "-" rates; an event without a name is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-events-csv-'));
    try {
      const window = ['--year', '2026', '--no-db', '--no-progress', '--from', '2026-11-27T00:00:00Z', '--to', '2026-11-27T06:00:00Z', '--json'];
      for (const kind of ['constructor', '__proto__', 'toString']) {
        const file = join(dir, `${kind}.csv`);
        writeFileSync(file, `name,start,end,kind\nPop-up,2026-11-27T01:00:00Z,2026-11-27T04:00:00Z,${kind}\n`);
        const r = await run(['forecast', ...window, '--events-csv', file]);
        assert.equal(r.exitCode, 0, r.err);
        const out = JSON.parse(r.out) as { hours: { eventMultiplier: number | null; meanRequestsPerSecond: number | null }[]; eventSources: { source: string }[] };
        assert.deepEqual(out.hours.map((h) => h.eventMultiplier), [1, 1, 1, 1, 1, 1], kind);
        assert.ok(out.hours.every((h) => typeof h.meanRequestsPerSecond === 'number'), kind);
        assert.equal(out.eventSources[0].source, `${file}: ×1, no uplift: kind "${kind}" has no seed multiplier and no past event in a history to learn one from`, kind);
      }
      const unnamed = join(dir, 'unnamed.csv');
      writeFileSync(unnamed, 'name,start,end\n,2026-11-27T01:00:00Z,2026-11-27T04:00:00Z\n');
      const r = await run(['forecast', ...window, '--events-csv', unnamed]);
      assert.equal(r.exitCode, 2, r.err);
      assert.match(r.err, /^error \[MALFORMED_CSV\]: .*unnamed\.csv line 2: the event has no name\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a numeric option written in hex, octal or binary (0x7e9 was the year 2025, 0x14 twenty replicas)', async () => {
    const window = ['--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];
    for (const [command, flag, value] of [['forecast', '--year', '0x7e9'], ['plan', '--max', '0x14'], ['simulate', '--capacity', '0b1010'], ['cost', '--peak-factor', '0o2']]) {
      const r = await run([command, ...window, flag, value]);
      assert.equal(r.exitCode, 2, `${command} ${flag} ${value}: ${r.err}`);
      assert.equal(r.err, `error [INVALID_OPTION]: ${flag}: "${value}" is not a number\n`);
    }
    // Decimal forms stay: a fraction without its 0, an exponent, a sign.
    const decimal = await run(['plan', ...window, '--capacity', '1.5e2', '--target-util', '+70', '--json']);
    assert.equal(decimal.exitCode, 0, decimal.err);
  });

  it('an empty --history, --events-csv or --events-file (an unset variable) is refused, not taken as none (the seed pattern and the built-in calendar stood in)', async () => {
    const window = ['--year', '2026', '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];
    for (const [command, flag] of [['forecast', '--history'], ['plan', '--history'], ['forecast', '--events-csv'], ['simulate', '--events-file'], ['backtest', '--history']]) {
      const r = await run([command, ...(command === 'backtest' ? ['--no-progress'] : window), flag, '']);
      assert.equal(r.exitCode, 2, `${command} ${flag} "": ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err, `error [INVALID_OPTION]: ${flag} was given an empty path (an unset shell variable?): name a file\n`);
    }
  });

  it('--country that does not exist is refused without a history too (plan, simulate and cost ignored it)', async () => {
    for (const command of ['forecast', 'plan', 'simulate', 'cost']) {
      const r = await run([command, '--year', '2026', ...(command === 'forecast' ? [] : ['--capacity', '150']), '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z', '--country', 'XX']);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.trim(), 'error [INVALID_OPTION]: --country: unknown country "XX" (ISO 3166 code, e.g. US, GB, DE or DE-BY)');
    }
  });

  it('refuses a history shorter than three weeks and a non-numeric count with one error line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-bad-'));
    try {
      const rows = ['hour,requests'];
      for (let i = 0; i < 168 * 2; i++) rows.push(`${new Date(Date.UTC(2026, 0, 5) + i * 3_600_000).toISOString()},${100 + (i % 24)}`);
      writeFileSync(join(dir, 'short.csv'), `${rows.join('\n')}\n`);
      const short = await run(['forecast', '--history', join(dir, 'short.csv'), '--from', '2026-01-19T00:00:00Z', '--to', '2026-01-20T00:00:00Z', '--json', '--no-db', '--no-progress']);
      assert.equal(short.exitCode, 2);
      assert.match(short.err, /^error \[INSUFFICIENT_HISTORY\]: .*3 weeks/);
      assert.equal(short.err.trim().split('\n').length, 1);
      writeFileSync(join(dir, 'nan.csv'), 'hour,requests\n2026-01-05T00:00:00Z,12\n2026-01-05T01:00:00Z,lots\n');
      const nan = await run(['backtest', '--history', join(dir, 'nan.csv')]);
      assert.equal(nan.exitCode, 2);
      assert.match(nan.err, /^error \[MALFORMED_CSV\]: .*line 3/);
      // The same through the real `salescale` program (its root shows usage after command-line errors, not input errors).
      for (const command of ['forecast', 'plan', 'simulate', 'backtest']) {
        const real = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          execFile(process.execPath, [join(import.meta.dirname, '../main.ts'), command, '--history', join(dir, 'nan.csv'), ...(command === 'backtest' ? [] : ['--no-db'])], (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
        });
        assert.equal(real.code, 2, `${command}: ${real.stderr}`);
        assert.deepEqual(real.stderr.trim().split('\n'), [real.stderr.trim().split('\n')[0]], `${command} prints one line`);
        assert.match(real.stderr, /^error \[MALFORMED_CSV\]: .*line 3/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecasts from a history kept in India time (+05:30), moved onto UTC hours with a warning that says how', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-ist-'));
    try {
      // Four weeks of a daily cycle that peaks at 20:00 India time (14:30Z).
      const rows = ['hour,requests'];
      const start = Date.UTC(2026, 0, 5, 0, 30);
      for (let i = 0; i < 168 * 4; i++) {
        const local = new Date(start + i * 3_600_000 + 5.5 * 3_600_000);
        rows.push(`${local.toISOString().slice(0, 19)}+05:30,${1000 + 800 * Math.cos(((local.getUTCHours() - 20) / 24) * 2 * Math.PI)}`);
      }
      writeFileSync(join(dir, 'ist.csv'), `${rows.join('\n')}\n`);
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [join(import.meta.dirname, '../main.ts'), 'forecast', '--history', join(dir, 'ist.csv'), '--from', '2026-02-02T00:00:00Z', '--to', '2026-02-03T00:00:00Z', '--json', '--no-db', '--no-progress'], (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: .*ist\.csv: its hours start 30 minutes past the UTC hour .* moved onto 671 whole UTC hours/);
      const hours = (JSON.parse(r.stdout) as { hours: { hour: string; baseRequestsPerSecond: number }[] }).hours;
      assert.equal(hours[0].hour, '2026-02-02T00:00:00.000Z');
      // The peak hours are 14:00Z and 15:00Z (each half of 20:00 India time), not shifted by an hour.
      const peak = hours.reduce((a, b) => (b.baseRequestsPerSecond > a.baseRequestsPerSecond ? b : a));
      assert.match(peak.hour, /T1[45]:00/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shop time zone: --tz, else SHOP_TIME_ZONE (the real program, which needs no app secrets for it), else UTC', async () => {
    const fromOf = (r: { out: string; err: string; exitCode: number }) => {
      assert.equal(r.exitCode, 0, r.err);
      return (JSON.parse(r.out) as { from: string }).from;
    };
    const args = ['forecast', '--year', '2026', '--json', '--no-db', '--no-progress'];
    // Black Friday 2026 starts at midnight in the shop's time zone; the window starts 3 hours before.
    assert.equal(fromOf(await run(args)), '2026-11-26T21:00:00.000Z');
    assert.equal(fromOf(await run(args, { timeZone: () => 'America/New_York' })), '2026-11-27T02:00:00.000Z');
    assert.equal(fromOf(await run([...args, '--tz', 'Europe/Berlin'], { timeZone: () => 'America/New_York' })), '2026-11-26T20:00:00.000Z');
    // The canonical spelling, whatever was typed: it goes into KEDA's cron timezone, which Go reads case-sensitively.
    assert.equal(resolveTimeZone('utc', {}), 'UTC');
    assert.equal(resolveTimeZone(undefined, { timeZone: () => 'europe/berlin' }), 'Europe/Berlin');
    // --learn with no complete hour yet (and holidays asked for): the history is too short, said in one line.
    const empty = await run(['forecast', '--learn', '--country', 'US', '--year', '2026', '--json', '--no-db', '--no-progress'], { loadHourlyHistory: async () => [] });
    assert.equal(empty.exitCode, 2);
    assert.match(empty.err, /^error \[INSUFFICIENT_HISTORY\]: .*got 0 hours/);
    // An offset is no zone name Go knows: KEDA's cron trigger would not load the plan's "timezone: +05:00".
    for (const offset of ['+05:00', '-0330']) {
      const r = await run(['plan', ...args.slice(1), '--tz', offset]);
      assert.equal(r.exitCode, 2, `${offset}: ${r.err}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[INVALID_OPTION\]: time zone "[-+0-9:]+" is a UTC offset, not a zone name: give an IANA name \(a region like Asia\/Karachi, or Etc\/GMT-5 for a fixed UTC\+5\)\n$/, offset);
    }
    const unknown = await run([...args, '--tz', 'Mars/Olympus_Mons']);
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.err, /^error \[INVALID_OPTION\]: unknown time zone "Mars\/Olympus_Mons"/);
    const real = (env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [join(import.meta.dirname, '../main.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
      });
    const production = await real({ NODE_ENV: 'production', SHOP_TIME_ZONE: 'America/New_York' });
    assert.equal(fromOf({ out: production.stdout, err: production.stderr, exitCode: production.code }), '2026-11-27T02:00:00.000Z');
    const bad = await real({ SHOP_TIME_ZONE: 'Mars/Olympus_Mons' });
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.stderr.trim().split('\n'), ['salescale: configuration error: SHOP_TIME_ZONE: unknown time zone "Mars/Olympus_Mons" (an IANA name like Europe/Berlin)']);
  });

  it('plan, simulate and cost size on the q0.9 forecast; simulate shows mean- and quantile-sized pre-scaling side by side', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-quantile-'));
    try {
      const rows = ['hour,requests'];
      const start = Date.parse('2026-10-05T00:00:00Z');
      for (let i = 0; i < 168 * 7; i++) {
        const hour = i % 24;
        rows.push(`${new Date(start + i * 3_600_000).toISOString()},${Math.round(200_000 * (0.3 + Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI))) * (1 + 0.15 * Math.sin(i * 1.7)))}`);
      }
      writeFileSync(join(dir, 'history.csv'), `${rows.join('\n')}\n`);
      const common = ['--history', join(dir, 'history.csv'), '--year', '2026', '--capacity', '150', '--json', '--no-db', '--no-progress', '--from', '2026-11-27T08:00:00Z', '--to', '2026-11-27T12:00:00Z'];
      const plan = await run(['plan', ...common]);
      assert.equal(plan.exitCode, 0, plan.err);
      const planJson = JSON.parse(plan.out) as { sizing: string; quantile: number };
      assert.equal(planJson.quantile, 0.9);
      assert.match(planJson.sizing, /0\.9 quantile/);
      const sim = await run(['simulate', ...common, '--policies', 'hpa,hpa-prescaled']);
      assert.equal(sim.exitCode, 0, sim.err);
      const totals = (JSON.parse(sim.out) as { totals: { policy: string; sizing: string; minutesOverSlo: number; cost: number; instanceHours: number }[] }).totals;
      assert.deepEqual(totals.map((t) => [t.policy, t.sizing]), [['hpa', 'reactive'], ['hpa-prescaled', 'q0.9'], ['hpa-prescaled', 'mean']]);
      const [, q, mean] = totals;
      assert.ok(q.instanceHours >= mean.instanceHours && q.cost >= mean.cost);
      // Predictive scaling alone learns from the group's history, not from the plan: one row, not a "q0.9" and a
      // "mean" row with the same figures.
      const predictive = await run(['simulate', ...common, '--policies', 'aws-predictive,aws-scheduled-predictive']);
      assert.equal(predictive.exitCode, 0, predictive.err);
      const sizings = (JSON.parse(predictive.out) as { totals: { policy: string; sizing: string }[] }).totals.map((t) => [t.policy, t.sizing]);
      assert.deepEqual(sizings, [['aws-predictive', 'history'], ['aws-scheduled-predictive', 'q0.9'], ['aws-scheduled-predictive', 'mean']]);
      assert.ok(Number.isFinite(q.minutesOverSlo) && Number.isFinite(mean.minutesOverSlo));
      // cost prices the pre-scaling that plan and simulate size: the quantile's (it priced the mean's, with
      // --quantile silently ignored).
      for (const [quantile, sized] of [[[], q], [['--quantile', '0.5'], undefined]] as const) {
        const cost = await run(['cost', ...common, ...quantile, '--policies', 'hpa,hpa-prescaled']);
        assert.equal(cost.exitCode, 0, cost.err);
        const costJson = JSON.parse(cost.out) as { sizing: string; quantile: number; policies: { policy: string; webInstanceHours: number }[] };
        assert.equal(costJson.quantile, quantile.length > 0 ? 0.5 : 0.9);
        assert.match(costJson.sizing, quantile.length > 0 ? /0\.5 quantile/ : /0\.9 quantile/);
        const prescaled = costJson.policies.find((p) => p.policy === 'hpa-prescaled');
        assert.ok(prescaled);
        if (sized) assert.equal(prescaled.webInstanceHours, sized.instanceHours);
        else assert.ok(prescaled.webInstanceHours < q.instanceHours, `q0.5 ${prescaled.webInstanceHours} < q0.9 ${q.instanceHours}`);
      }
      // The priced month (10 November + 4 weeks, past the window and the history's end, 23 November) is
      // the learned forecast throughout (--base-rps, the seed pattern's scale, is refused beside a history), and the
      // peak month is the learned one × --peak-factor. Before, the hours after the window fell back to the
      // seed pattern × --base-rps, and the learned hours were not scaled for the peak month.
      const cost = await run(['cost', ...common, '--peak-factor', '2']);
      assert.equal(cost.exitCode, 0, cost.err);
      const json = JSON.parse(cost.out) as { assumptions: { month: { from: string; to: string }; baseRps: number | null }; usage: Record<'normal' | 'peak', { requests: number }> };
      assert.deepEqual(json.assumptions.month, { from: '2026-11-10T00:00:00.000Z', to: '2026-12-08T00:00:00.000Z' });
      assert.equal(json.assumptions.baseRps, null);
      const low = json.usage;
      assert.ok(Math.abs(low.peak.requests / low.normal.requests - 2) < 1e-9, `peak ÷ normal requests ${low.peak.requests / low.normal.requests}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backtest --json reports each fold: candidates, chosen model, seasonal naive and the quantile coverage', async () => {
    const r = await run(['backtest', '--dataset', 'us-flights-2001-atl', '--held-out-weeks', '2', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const [d] = JSON.parse(r.out) as { dataset: string; folds: { chosen: string; model: { mase: number }; seasonalNaive: { mase: number }; coverage: number; candidates: Record<string, { mase: number; smape: number }> }[] }[];
    assert.equal(d.dataset, 'us-flights-2001-atl');
    assert.equal(d.folds.length, 2);
    const y = getRealDataset('us-flights-2001-atl').map((p) => p.requests);
    for (const [k, f] of d.folds.entries()) {
      assert.ok(f.chosen.length > 0 && f.coverage > 0);
      assert.ok(f.candidates['snaive/none'].mase > 0);
      // The benchmark is seasonal naive on the raw history; the candidate is fitted, as every
      // candidate is, on the history with its short bursts cleaned (`cleanOutliers`).
      const train = y.slice(0, y.length - (2 - k) * WEEK);
      const test = y.slice(train.length, train.length + WEEK);
      const mase = (history: readonly number[]) => getMae(test, forecastSeasonalNaive(history, WEEK, WEEK)) / getSeasonalNaiveScale(train, WEEK);
      assert.ok(Math.abs(f.seasonalNaive.mase - mase(train)) < 1e-12);
      assert.ok(Math.abs(f.candidates['snaive/none'].mase - mase(cleanOutliers(train).y)) < 1e-12);
    }
  });

  it('backtest: a week seasonal naive forecasts exactly and the model does not shows no ratio ("-", null in --json) and says why, with no Infinity', async () => {
    // 5 weeks of a daily shape with noise, then the last week again.
    let seed = 7;
    const noise = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    const y = Array.from({ length: 5 * WEEK }, (_, i) => Math.round(100 + 60 * Math.sin((((i % 24) - 8) / 24) * 2 * Math.PI) + 30 * noise()));
    y.push(...y.slice(4 * WEEK));
    const dir = mkdtempSync(join(tmpdir(), 'salescale-backtest-'));
    try {
      const history = join(dir, 'repeat.csv');
      writeFileSync(history, ['hour,requests', ...y.map((v, i) => `${new Date(Date.parse('2026-01-05T00:00:00Z') + i * 3_600_000).toISOString()},${v}`)].join('\n'));
      const text = await run(['backtest', '--history', history, '--held-out-weeks', '2']);
      assert.equal(text.exitCode, 0, text.err);
      assert.doesNotMatch(text.out, /Infinity/);
      assert.match(text.out, /\n2026-02-09T00:00 +[\d.]+ +0 +- /);
      assert.match(text.out, /at or below seasonal naive on 1\/2 weeks, worst week 0\.\d\d × \(1 week\(s\) without a ratio: seasonal naive was exact there/);
      const alone = await run(['backtest', '--history', history, '--held-out-weeks', '1']);
      assert.match(alone.out, /\(no ratio: seasonal naive's mean MASE is 0\); at or below seasonal naive on 0\/1 weeks, no week with a ratio/);
      const json = await run(['backtest', '--history', history, '--held-out-weeks', '2', '--json']);
      const [r] = JSON.parse(json.out) as { ratio: number | null; folds: { ratio: number | null; model: { mase: number }; seasonalNaive: { mase: number } }[] }[];
      assert.deepEqual(r.folds.map((f) => [f.ratio === null, f.seasonalNaive.mase === 0, f.model.mase > 0]), [[false, false, true], [true, true, true]]);
      assert.ok(typeof r.ratio === 'number' && r.ratio > 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast on a history longer than the 104 weeks the models keep, whose kept weeks repeat exactly, prints its MASE as undefined, not a quotient of a zero scale', async () => {
    // 106 weeks: two noisy weeks the models drop (MAX_MODEL_WEEKS), 103 identical weeks, the same week 10 % up.
    const weeks = 106;
    const start = Date.parse('2026-02-09T00:00:00Z') - weeks * WEEK * 3_600_000;
    const y = Array.from({ length: weeks * WEEK }, (_, i) => Math.round((i >= (weeks - 1) * WEEK ? 1.1 : 1) * (1000 + 600 * Math.sin(((i % 24) / 24) * 2 * Math.PI))) + (i < 2 * WEEK ? (i * 37) % 23 : 0));
    const dir = mkdtempSync(join(tmpdir(), 'salescale-noisefree-long-'));
    try {
      const history = join(dir, 'long.csv');
      writeFileSync(history, ['hour,requests', ...y.map((v, i) => `${new Date(start + i * 3_600_000).toISOString()},${v}`)].join('\n'));
      const r = await run(['forecast', '--history', history, '--from', '2026-02-09T00:00:00Z', '--to', '2026-02-10T00:00:00Z', '--no-db']);
      assert.equal(r.exitCode, 0, r.err);
      assert.doesNotMatch(r.out, /MASE \d{4,}/);
      assert.match(r.out, /MASE - vs seasonal naive - \(undefined: the history repeats itself week on week/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast on a noise-free history (every week the same) prints its MASE as undefined, not a quotient of a zero scale', async () => {
    // Four identical weeks, then the same week 10 % up: every fold's training weeks repeat exactly.
    const y = Array.from({ length: 5 * WEEK }, (_, i) => Math.round((i >= 4 * WEEK ? 1.1 : 1) * (1000 + 600 * Math.sin(((i % 24) / 24) * 2 * Math.PI))));
    const dir = mkdtempSync(join(tmpdir(), 'salescale-noisefree-'));
    try {
      const history = join(dir, 'flat.csv');
      writeFileSync(history, ['hour,requests', ...y.map((v, i) => `${new Date(Date.parse('2026-01-05T00:00:00Z') + i * 3_600_000).toISOString()},${v}`)].join('\n'));
      const r = await run(['forecast', '--history', history, '--from', '2026-02-09T00:00:00Z', '--to', '2026-02-10T00:00:00Z']);
      assert.equal(r.exitCode, 0, r.err);
      assert.match(r.out, /MASE - vs seasonal naive - \(undefined: the history repeats itself week on week, so seasonal naive's in-sample error, the MASE scale, is 0\)/);
      assert.doesNotMatch(r.out, /MASE \d{4,}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backtest --held-out-weeks all holds out every week with three weeks of history before it and names the worst', async () => {
    const r = await run(['backtest', '--dataset', 'taylor-electricity', '--held-out-weeks', 'all']);
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.out, /^Backtest: every week with 3 weeks of history before it/);
    // 12 weeks of data: weeks 4 to 12 are held out, each after the weeks before it.
    assert.match(r.out, /at or below seasonal naive on \d\/9 weeks, worst week \d\.\d\d ×/);
    const bad = await run(['backtest', '--dataset', 'taylor-electricity', '--held-out-weeks', 'some']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.err, /^error \[INVALID_OPTION\]/);
  });
});
