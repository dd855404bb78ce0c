/**
 * Where plan, simulate and cost take the capacity of one instance from: the deployment spec's pod by
 * default (the figure the manifests carry), a measured file only when named (`--bench`), `--capacity`
 * over both; and every output names its source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCapacityCheckConfig } from '../platform/config/config.ts';
import { runScalingCli } from './cli.harness.ts';
import { DEPLOYED_PLAN } from './cli-inputs.ts';
import { getSeedCalendarEvents } from './forecast/calendar.ts';
import { SEED_DEPLOYMENT_SPEC, withOverrides } from './manifests/deployment-spec.ts';
import { renderTargets } from './manifests/manifests.ts';
import { getObject } from './manifests/validate/rendered-objects.ts';
import { parseTerraform } from './manifests/validate/terraform-validate.ts';
import { type AzureProfile, selectAzureProfile } from './simulate/azure-autoscale.ts';
import { comparePolicies } from './simulate/compare.ts';
import { expandGceSchedules, getScheduleFloor, listCronInstants, parseGceCron } from './simulate/gce-schedules.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions navigate parsed YAML freely.
type Obj = Record<string, any>;

const SPEC_RPS = SEED_DEPLOYMENT_SPEC.web.capacityPerInstanceRps;
const MEASURED = join(import.meta.dirname, '../../bench/results/capacity.json');

describe('the capacity of one instance', () => {
  it('plan for the spec\'s sale gives the pre-scaling windows the rendered manifests carry (KEDA cron triggers and AWS scheduled actions)', async () => {
    const r = await runScalingCli(['plan', '--year', String(SEED_DEPLOYMENT_SPEC.prescale.year), '--json', '--no-db']);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { capacityPerInstanceRps: number; capacitySource: string; schedule: { kedaCronTriggers: Obj[]; awsScheduledActions: Obj[] } };
    assert.equal(json.capacityPerInstanceRps, SPEC_RPS);
    assert.match(json.capacitySource, /^deployment spec: one web pod as deployed \(250m CPU requested, 500m limit\)/);
    const files = renderTargets(['k8s', 'aws'], SEED_DEPLOYMENT_SPEC);
    const scaledObject = getObject(files, 'deploy/k8s/overlays/production/web-scaledobject.yaml') as Obj;
    const rendered = (scaledObject.spec.triggers as Obj[]).filter((t) => t.type === 'cron').map((t) => t.metadata);
    assert.ok(rendered.length >= 4, `${rendered.length} windows`);
    assert.deepEqual(json.schedule.kedaCronTriggers.map((t) => t.metadata), rendered);
    const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
    const resources = template.Resources as Obj;
    // The action back to the floor sets the WebMinSize parameter, whose default is the plan's minimum.
    const minSize = (v: number | { Ref: string }) => (typeof v === 'number' ? v : Number(template.Parameters[v.Ref].Default));
    const actions = Object.entries(resources).filter(([id]) => id.startsWith('WebPrescale')).map(([, a]) => [a.Properties.StartTime, minSize(a.Properties.MinSize)]);
    assert.deepEqual(json.schedule.awsScheduledActions.map((a) => [a.properties.StartTime, a.properties.MinSize]), actions);
  });

  for (const timeZone of ['UTC', 'America/New_York']) {
    it(`every platform holds the plan's replicas of an hour from the lead before it to its end, minute by minute: KEDA cron, AWS scheduled actions, GCE schedules, Azure fixed-date profiles (Azure dropped to the next, lower window at its lead, 10 min early); sale in ${timeZone}`, async () => {
      const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { prescale: { timeZone } });
      const r = await runScalingCli(['plan', '--year', String(spec.prescale.year), '--tz', timeZone, '--json', '--no-db']);
      assert.equal(r.exitCode, 0, r.err);
      const { plan } = JSON.parse(r.out) as { plan: { hours: { hour: string; webReplicas: number }[]; web: { minReplicas: number } } };
      const lead = spec.prescale.leadMinutes * 60_000;
      const min = plan.web.minReplicas;
      // What the plan asks for at t: each hour's replicas from `lead` before the hour to its end; the minimum elsewhere.
      const planned = (t: number) => Math.max(min, ...plan.hours.filter((h) => Date.parse(h.hour) - lead <= t && t < Date.parse(h.hour) + 3_600_000).map((h) => h.webReplicas));
      const files = renderTargets(['k8s', 'aws', 'gcp', 'azure'], spec);
      const fromMs = Date.parse(plan.hours[0].hour) - 3_600_000;
      const toMs = Date.parse(plan.hours.at(-1)?.hour ?? '') + 2 * 3_600_000;
      // KEDA cron: from each start to the next end; several triggers: the largest.
      const scaledObject = getObject(files, 'deploy/k8s/overlays/production/web-scaledobject.yaml') as Obj;
      const cron = (scaledObject.spec.triggers as Obj[])
        .filter((t) => t.type === 'cron')
        .flatMap((t) =>
          listCronInstants(parseGceCron(t.metadata.start), t.metadata.timezone, fromMs - 86_400_000, toMs).map((startMs) => {
            const endMs = listCronInstants(parseGceCron(t.metadata.end), t.metadata.timezone, startMs + 60_000, startMs + 7 * 86_400_000)[0];
            return { startMs, endMs, replicas: Number(t.metadata.desiredReplicas) };
          }),
        );
      const keda = (t: number) => Math.max(scaledObject.spec.minReplicaCount, ...cron.filter((w) => w.startMs <= t && t < w.endMs).map((w) => w.replicas));
      // AWS: the MinSize of the last scheduled action that has run.
      // An action back to the floor sets the WebMinSize parameter (its default here).
      const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
      const resources = template.Resources as Obj;
      const actions = Object.entries(resources)
        .filter(([id]) => id.startsWith('WebPrescale'))
        .map(([, a]) => ({ at: Date.parse(a.Properties.StartTime), minSize: typeof a.Properties.MinSize === 'number' ? a.Properties.MinSize : Number(template.Parameters[a.Properties.MinSize.Ref].Default) }))
        .sort((a, b) => a.at - b.at);
      const aws = (t: number) => actions.filter((a) => a.at <= t).at(-1)?.minSize ?? min;
      // Compute Engine: the greatest minRequiredReplicas of the schedules in force.
      const gcpPolicy = (await parseTerraform(files)).resource.google_compute_region_autoscaler.web[0].autoscaling_policy[0];
      const intervals = expandGceSchedules(
        Object.fromEntries((gcpPolicy.scaling_schedules as Obj[]).map((s) => [s.name, { minRequiredReplicas: s.min_required_replicas, schedule: s.schedule, timeZone: s.time_zone, durationSec: s.duration_sec }])),
        fromMs,
        toMs,
      );
      const gce = (t: number) => Math.max(gcpPolicy.min_replicas, getScheduleFloor(intervals, t));
      // Azure: the minimum of the profile in force.
      const arm = getObject(files, 'deploy/azure/salescale.json') as Obj;
      const profiles = (arm.resources as Obj[]).find((x) => x.type === 'Microsoft.Insights/autoscalesettings' && x.name.endsWith('-web-autoscale'))?.properties.profiles as AzureProfile[];
      const azure = (t: number) => Number(selectAzureProfile(profiles, t)?.capacity.minimum);
      const differ: string[] = [];
      for (let t = fromMs; t < toMs; t += 60_000) {
        const want = planned(t);
        const got = { keda: keda(t), aws: aws(t), gce: gce(t), azure: azure(t) };
        const wrong = Object.entries(got).filter(([, v]) => v !== want);
        if (wrong.length > 0) differ.push(`${new Date(t).toISOString().slice(0, 16)} plan ${want}: ${wrong.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      }
      assert.deepEqual(differ, []);
    });
  }

  it('simulate runs the cloud autoscalers with the settings the rendered files give them (EC2 warm-up, GCE initialization and scale-in controls, Azure rules)', async () => {
    const policies = ['aws-target-tracking', 'aws-scheduled-predictive', 'gce-autoscaler', 'gce-predictive-scheduled', 'azure-rules', 'azure-fixeddate'] as const;
    const r = await runScalingCli(['simulate', '--year', '2026', '--json', '--no-db', '--policies', policies.join(',')]);
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { from: string; to: string; totals: { policy: string; minutesOverSlo: number; instanceHours: number; peakReplicas: number }[] };
    // The same sale, with each engine's settings read back from its rendered file.
    const files = renderTargets(['aws', 'gcp', 'azure'], SEED_DEPLOYMENT_SPEC);
    const cfn = (getObject(files, 'deploy/aws/salescale.yaml') as Obj).Resources as Obj;
    const gcpPolicy = (await parseTerraform(files)).resource.google_compute_region_autoscaler.web[0].autoscaling_policy[0];
    const arm = getObject(files, 'deploy/azure/salescale.json') as Obj;
    const [scaleOut, scaleIn] = ((arm.resources as Obj[]).find((x) => x.type === 'Microsoft.Insights/autoscalesettings' && x.name.endsWith('-web-autoscale'))?.properties.profiles[0].rules ?? []) as Obj[];
    const control = gcpPolicy.scale_in_control[0];
    const expected = comparePolicies({
      forecast: { baseRequestsPerSecond: SEED_DEPLOYMENT_SPEC.prescale.baseRps, timeZone: 'UTC', events: getSeedCalendarEvents(2026, 'UTC') },
      from: new Date(json.from),
      to: new Date(json.to),
      policies,
      capacityPerInstanceRps: SPEC_RPS,
      pricePerInstanceHour: 0.085,
      web: DEPLOYED_PLAN.web,
      aws: { defaultInstanceWarmupSeconds: cfn.WebAutoScalingGroup.Properties.DefaultInstanceWarmup },
      gce: { coolDownPeriodSec: gcpPolicy.cooldown_period, scaleInControl: { maxScaledInReplicas: { fixed: control.max_scaled_in_replicas[0].fixed }, timeWindowSec: control.time_window_sec } },
      azure: { rules: { scaleInCpuPercent: scaleIn.metricTrigger.threshold, scaleOutPercent: Number(scaleOut.scaleAction.value), scaleOutCooldown: scaleOut.scaleAction.cooldown, scaleInCooldown: scaleIn.scaleAction.cooldown } },
    });
    const pick = (t: { policy: string; minutesOverSlo: number; instanceHours: number; peakReplicas: number }) => [t.policy, t.minutesOverSlo, t.instanceHours, t.peakReplicas];
    assert.deepEqual(json.totals.map(pick), expected.results.map((x) => pick({ policy: x.policy, ...x.totals })));
  });

  it('by default simulate tells the policies apart and cost prices the peak month above the normal one (the 8,000/s file made every row 2 replicas)', async () => {
    const sim = await runScalingCli(['simulate', '--year', '2026', '--json', '--no-db']);
    assert.equal(sim.exitCode, 0, sim.err);
    const totals = (JSON.parse(sim.out) as { totals: { policy: string; minutesOverSlo: number; peakReplicas: number }[] }).totals;
    const hpa = totals.find((t) => t.policy === 'hpa');
    const prescaled = totals.find((t) => t.policy === 'hpa-prescaled');
    assert.ok(hpa && prescaled);
    assert.ok(hpa.minutesOverSlo > 0, 'reactive HPA falls behind the ramp');
    assert.equal(prescaled.minutesOverSlo, 0);
    assert.ok(prescaled.peakReplicas > 10, `${prescaled.peakReplicas} replicas at the peak`);
    const cost = await runScalingCli(['cost', '--year', '2026', '--json', '--no-db', '--policies', 'hpa']);
    assert.equal(cost.exitCode, 0, cost.err);
    const monthly = (JSON.parse(cost.out) as { monthly: Record<'normal' | 'peak', Record<string, number>> }).monthly;
    assert.ok(monthly.peak['EC2 Instances'] > monthly.normal['EC2 Instances'], `${monthly.normal['EC2 Instances']} → ${monthly.peak['EC2 Instances']}`);
  });

  it('cost prices the month\'s jobs and workers with its --orders-per-request, as it counts the window\'s orders (the month kept 0.002)', async () => {
    const window = ['--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--json', '--no-db', '--policies', 'hpa'];
    type Cost = { usage: Record<'sale', { requests: number; jobs: number }>; policies: { orders: number }[] };
    const [low, high] = await Promise.all(['0.002', '0.02'].map(async (x) => JSON.parse((await runScalingCli(['cost', ...window, '--orders-per-request', x])).out) as Cost));
    assert.ok(Math.abs(high.policies[0].orders / low.policies[0].orders - 10) < 1e-9, 'the window\'s orders follow the flag');
    assert.ok(Math.abs(high.usage.sale.jobs / low.usage.sale.jobs - 10) < 1e-9, `month jobs ${low.usage.sale.jobs} → ${high.usage.sale.jobs}`);
  });

  it('takes a measured figure only when named with --bench, and --capacity over both; the source says which', async () => {
    const window = ['--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--json', '--no-db'];
    const measured = JSON.parse(readFileSync(MEASURED, 'utf8')) as { requestsPerSecondPerInstance: number; measuredAt: string };
    const bench = await runScalingCli(['plan', ...window, '--bench', MEASURED]);
    assert.equal(bench.exitCode, 0, bench.err);
    const benchJson = JSON.parse(bench.out) as { capacityPerInstanceRps: number; capacitySource: string };
    assert.equal(benchJson.capacityPerInstanceRps, measured.requestsPerSecondPerInstance);
    assert.ok(benchJson.capacitySource.startsWith(`--bench ${MEASURED}: measured ${measured.measuredAt} on one \`salescale serve\` process`), benchJson.capacitySource);
    for (const command of ['plan', 'simulate']) {
      const both = await runScalingCli([command, ...window, '--bench', MEASURED, '--capacity', '300']);
      assert.equal(both.exitCode, 0, both.err);
      const json = JSON.parse(both.out) as { capacityPerInstanceRps: number; capacitySource: string };
      assert.equal(json.capacityPerInstanceRps, 300, command);
      assert.match(json.capacitySource, /^--capacity \(given with --bench .*, which it overrides\)$/, command);
    }
    const cost = await runScalingCli(['cost', ...window, '--policies', 'hpa']);
    assert.match((JSON.parse(cost.out) as { assumptions: { capacity: { source: string } } }).assumptions.capacity.source, /^deployment spec: /);
    // A file asked for and missing is refused, not replaced by another figure.
    const missing = await runScalingCli(['plan', ...window, '--bench', join(tmpdir(), 'salescale-no-such-capacity.json')]);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.err, /^error \[MALFORMED_FILE\]: --bench .*salescale-no-such-capacity\.json cannot be read \(ENOENT\)\n$/);
  });

  it('refuses a --bench file whose figure is not a number (true was 1 req/s, [180] was 180, "" was "got 0"), whose labels are not text or whose measuredAt is missing or not text (a missing one was called "" and not a date)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-bench-shape-'));
    try {
      const window = ['--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--json', '--no-db'];
      const measuredAt = '2026-11-20T10:00:00Z';
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ requestsPerSecondPerInstance: true, measuredAt }, /requestsPerSecondPerInstance is missing or not a number \(got "true"\)/],
        [{ requestsPerSecondPerInstance: [180], measuredAt }, /requestsPerSecondPerInstance is missing or not a number \(got "\[180\]"\)/],
        [{ requestsPerSecondPerInstance: '', measuredAt }, /requestsPerSecondPerInstance is missing or not a number \(got ""\)/],
        [{ requestsPerSecondPerInstance: 180, measuredAt, instance: { cpu: '500m' } }, /instance must be text \(got "\{\\"cpu\\":\\"500m\\"\}"\)/],
        [{ requestsPerSecondPerInstance: 180 }, /measuredAt is missing \(when the benchmark ran, an ISO-8601 date, e\.g\. 2026-12-01T10:00:00Z\)/],
        [{ requestsPerSecondPerInstance: 180, measuredAt: { at: '2026-12-01' } }, /measuredAt must be text \(got "\{\\"at\\":\\"2026-12-01\\"\}"\)/],
      ];
      for (const [i, [content, pattern]] of cases.entries()) {
        const file = join(dir, `bench-${i}.json`);
        writeFileSync(file, JSON.stringify(content));
        const r = await runScalingCli(['plan', ...window, '--bench', file]);
        assert.equal(r.exitCode, 2, `case ${i}: ${r.err}`);
        assert.equal(r.out, '');
        assert.match(r.err, new RegExp(`^error \\[MALFORMED_FILE\\]: .*bench-${i}\\.json: ${pattern.source}\n$`), `case ${i}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a relative --bench from the current folder, and no capacity file there unless named (the real program, run elsewhere)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-cwd-'));
    try {
      mkdirSync(join(dir, 'bench/results'), { recursive: true });
      writeFileSync(join(dir, 'bench/results/capacity.json'), JSON.stringify({ requestsPerSecondPerInstance: 9000, measuredAt: '2026-12-01T00:00:00Z' }));
      writeFileSync(join(dir, 'pod.json'), JSON.stringify({ requestsPerSecondPerInstance: 120, measuredAt: '2026-12-02T00:00:00Z', instance: 'one pod, 500m CPU limit' }));
      const plan = (...args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const argv = [join(import.meta.dirname, '../main.ts'), 'plan', '--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--json', '--no-db', ...args];
          execFile(process.execPath, argv, { cwd: dir, env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
        });
      const byDefault = await plan();
      assert.equal(byDefault.code, 0, byDefault.stderr);
      assert.equal((JSON.parse(byDefault.stdout) as { capacityPerInstanceRps: number }).capacityPerInstanceRps, SPEC_RPS);
      const named = await plan('--bench', 'pod.json');
      assert.equal(named.code, 0, named.stderr);
      const json = JSON.parse(named.stdout) as { capacityPerInstanceRps: number; capacitySource: string };
      assert.equal(json.capacityPerInstanceRps, 120);
      assert.equal(json.capacitySource, '--bench pod.json: measured 2026-12-02T00:00:00Z on one pod, 500m CPU limit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("plan's checks read the app's settings", () => {
  type Finding = { id: string; level: string; message: string };
  const findingsOf = (out: string) => Object.fromEntries((JSON.parse(out) as { findings: Finding[] }).findings.map((f) => [f.id, f]));
  const window = ['--year', '2026', '--from', '2026-11-27T18:00:00Z', '--to', '2026-11-27T20:00:00Z', '--json', '--no-db'];

  it('DB_POOL_MAX=5 (the real program) fits; --db-pool-max still overrides it (it was checked at 50 whatever DB_POOL_MAX said)', async () => {
    const real = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(import.meta.dirname, '../main.ts'), 'plan', ...window], { env: { PATH: process.env.PATH ?? '', DB_POOL_MAX: '5' } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    assert.equal(real.code, 0, real.stderr);
    const db = findingsOf(real.stdout)['db-connections'];
    assert.equal(db.level, 'ok');
    // A release at the peak adds the Deployments' maxSurge (25 % of 20 web pods, one worker) beside the old pods.
    assert.match(db.message, /20 web \+ 10 worker processes, \+ 5 web and 1 worker during a rolling update \(Kubernetes maxSurge\), × pool max 5 \(DB_POOL_MAX\) = 180 connections vs max_connections 250 .*: fits/);
    const overridden = await runScalingCli(['plan', ...window, '--db-pool-max', '20'], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) });
    // 720 connections do not fit: printed, and exit 1.
    assert.equal(overridden.exitCode, 1, overridden.err);
    assert.match(findingsOf(overridden.out)['db-connections'].message, /pool max 20 \(--db-pool-max\) = 720 connections/);
  });

  it('exits 1 when a check prints [ERROR] (DB_POOL_MAX=10: 360 of 209 connections), with the whole plan still printed and the failing checks named on stderr; warnings alone exit 0', async () => {
    const real = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [join(import.meta.dirname, '../main.ts'), 'plan', ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
      });
    const json = await real(window, { DB_POOL_MAX: '10' });
    assert.equal(json.code, 1, json.stderr);
    const db = findingsOf(json.stdout)['db-connections'];
    assert.equal(db.level, 'error');
    assert.match(db.message, /= 360 connections .*: does NOT fit/);
    assert.equal(json.stderr, 'plan: 1 check found an error (db-connections): the deployment cannot carry this plan; see the fix under its finding\n');
    const text = await real(window.filter((a) => a !== '--json'), { DB_POOL_MAX: '10' });
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^ {2}\[ERROR\] .*360 connections/m);
    assert.match(text.stdout, /KEDA cron triggers/);
    // The spec's pools fit; the New York clock's warning is no error.
    const warned = await real([...window, '--tz', 'America/New_York'], { DB_POOL_MAX: '5' });
    assert.equal(warned.code, 0, warned.stderr);
    const findings = Object.values(findingsOf(warned.stdout));
    assert.ok(findings.some((f) => f.level === 'warning'));
    assert.deepEqual(findings.filter((f) => f.level === 'error'), []);
  });

  it('without DB_POOL_MAX or --db-pool-max, plans for the pools the manifests run (the deployment spec\u2019s web.dbPoolMax and worker.dbPoolMax), not the app\u2019s default of 10, and says so', async () => {
    const unset = { capacityChecks: () => loadCapacityCheckConfig({}) };
    const deployed = { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: String(SEED_DEPLOYMENT_SPEC.worker.dbPoolMax) }) };
    const r = await runScalingCli(['plan', ...window], unset);
    assert.equal(r.exitCode, 0, r.err);
    const db = findingsOf(r.out)['db-connections'];
    assert.match(db.message, new RegExp(`× pool max ${SEED_DEPLOYMENT_SPEC.web.dbPoolMax} \\(DB_POOL_MAX unset: the deployment spec's web\\.dbPoolMax ${SEED_DEPLOYMENT_SPEC.web.dbPoolMax} and worker\\.dbPoolMax ${SEED_DEPLOYMENT_SPEC.worker.dbPoolMax}, what the manifests run\\) = 180 connections`));
    assert.equal(db.level, 'ok');
    // The worker's email sends at the spec's pool (5 − 2 = 3 at once), so the same workers as with DB_POOL_MAX=5.
    const plans = await Promise.all([unset, deployed].map(async (deps) => (JSON.parse((await runScalingCli(['plan', ...window], deps)).out) as { plan: { peakWorkerReplicas: number } }).plan.peakWorkerReplicas));
    assert.deepEqual(plans, [plans[1], plans[1]]);
    const text = await runScalingCli(['plan', ...window.filter((a) => a !== '--json')], unset);
    assert.match(text.out, /email: 1 job\(s\)\/order × 2 s, 3 at once per worker \(at most DB_POOL_MAX 5 − 2/);
    const simulate = async (deps: typeof unset) => {
      const s = await runScalingCli(['simulate', '--year', '2026', '--json', '--no-db', '--policies', 'keda-workers', '--from', '2026-11-27T18:00:00Z', '--to', '2026-11-27T20:00:00Z'], deps);
      assert.equal(s.exitCode, 0, s.err);
      return JSON.parse(s.out) as unknown;
    };
    assert.deepEqual(await simulate(unset), await simulate(deployed), 'simulate sized the workers\u2019 email sends with the app\u2019s default pool');
  });

  it('sizes workers on the concurrency WORKER_CONCURRENCY gives each queue, and prints what the sizing assumes', async () => {
    const plan = async (env: Record<string, string>) => {
      const r = await runScalingCli(['plan', ...window], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5', ...env }) });
      assert.equal(r.exitCode, 0, r.err);
      return (JSON.parse(r.out) as { plan: { peakWorkerReplicas: number; hours: { bottleneckQueue: string }[] } }).plan;
    };
    const deployed = await plan({});
    const slowOrders = await plan({ WORKER_CONCURRENCY: 'order=1' });
    assert.ok(slowOrders.peakWorkerReplicas > deployed.peakWorkerReplicas, `order=1: ${slowOrders.peakWorkerReplicas} workers vs ${deployed.peakWorkerReplicas}`);
    assert.equal(slowOrders.hours.at(-1)?.bottleneckQueue, 'order');
    const text = await runScalingCli(['plan', ...window.filter((a) => a !== '--json')], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5', WORKER_CONCURRENCY: 'email=4' }) });
    assert.match(text.out, /concurrency from WORKER_CONCURRENCY, job times assumed/);
    assert.match(text.out, /email: 1 job\(s\)\/order × 2 s, 3 at once per worker \(at most DB_POOL_MAX 5 − 2\)/);
    assert.match(text.out, /notifications: 1 job\(s\)\/order × 0\.5 s, 100 at once per worker/);
  });

  it('--max-connections 215 with DB_POOL_MAX=5 does not fit: the manifests refuse it, 196 of 215 leaves under 10 % free', async () => {
    const r = await runScalingCli(['plan', ...window, '--max-connections', '215'], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) });
    assert.equal(r.exitCode, 1, r.err);
    const db = findingsOf(r.out)['db-connections'];
    assert.equal(db.level, 'error', db.message);
    assert.match(db.message, /= 180 connections vs max_connections 215 \(177 usable after the 10 % headroom \(22\), .*\): does NOT fit — 3 connections over what leaves 10 % free/);
    assert.throws(() => renderTargets(['k8s'], withOverrides(SEED_DEPLOYMENT_SPEC, { database: { maxConnections: 215 } })), /under the 10 % headroom/);
  });

  it('warns when the sale is planned on another clock than the rendered manifests pre-scale on (SHOP_TIME_ZONE or --tz vs the spec\'s prescale.timeZone)', async () => {
    const year = ['--year', String(SEED_DEPLOYMENT_SPEC.prescale.year), '--json', '--no-db'];
    const ny = await runScalingCli(['plan', ...year, '--tz', 'America/New_York']);
    assert.equal(ny.exitCode, 0, ny.err);
    const warning = findingsOf(ny.out)['prescale-time-zone'];
    assert.equal(warning?.level, 'warning');
    assert.match(warning.message, /Black Friday 2027 in America\/New_York \(from 2027-11-26T05:00Z\); the rendered manifests .* in UTC, .* \(from 2027-11-26T00:00Z\): their windows come 5 h early/);
    const utc = await runScalingCli(['plan', ...year, '--tz', SEED_DEPLOYMENT_SPEC.prescale.timeZone]);
    assert.equal(findingsOf(utc.out)['prescale-time-zone']?.level, 'ok');
  });

  it("judges the queue Redis's memory against the maxmemory the rendered files give it (compose and swarm: redis-queue), not an assumed 256 MB", async () => {
    const deployed = await Promise.all(
      (['deploy/compose/docker-compose.yml', 'deploy/swarm/stack.yml'] as const).map((path) => {
        const command = (getObject(renderTargets(['compose', 'swarm'], SEED_DEPLOYMENT_SPEC), path) as Obj).services['redis-queue'].command as string[];
        return Number.parseInt(command[command.indexOf('--maxmemory') + 1], 10);
      }),
    );
    assert.deepEqual(deployed, [512, 512]);
    const r = await runScalingCli(['plan', ...window], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) });
    assert.equal(r.exitCode, 0, r.err);
    const memory = findingsOf(r.out)['redis-memory'];
    assert.match(memory.message, /= 222 MB of maxmemory 512 MB \(the deployment spec's redis\.queueMaxMemoryMb, what compose and swarm give redis-queue\) \(43 %\)/);
    assert.equal(memory.level, 'ok');
    const given = await runScalingCli(['plan', ...window, '--redis-maxmemory', '256'], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) });
    assert.match(findingsOf(given.out)['redis-memory'].message, /of maxmemory 256 MB \(--redis-maxmemory\) \(87 %\)/);
    const bad = await runScalingCli(['plan', ...window, '--redis-maxmemory', '0']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.err, /--redis-maxmemory/);
  });

  it("counts the Redis connections every process opens at the maxima during a rolling update against maxclients (Redis's 10000, or --redis-maxclients)", async () => {
    const deps = { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) };
    const r = await runScalingCli(['plan', ...window], deps);
    assert.equal(r.exitCode, 0, r.err);
    const seed = findingsOf(r.out)['redis-connections'];
    assert.equal(seed?.level, 'ok', JSON.stringify(seed));
    // Web: platform, subscriber, state, queue producers; worker: platform, subscriber, queue, + one blocking per queue (4).
    assert.match(seed.message, /queue Redis \(REDIS_URL, which also serves the cache\): \(20 \+ 5\) web × 4 \+ \(10 \+ 1\) worker × 7 \+ CLI 1 = 178 connections vs maxclients 10000 \(Redis's default\): fits/);
    const small = await runScalingCli(['plan', ...window, '--redis-maxclients', '170'], deps);
    const tight = findingsOf(small.out)['redis-connections'];
    assert.equal(tight.level, 'error');
    assert.match(tight.message, /= 178 connections vs maxclients 170 \(--redis-maxclients\): does NOT fit/);
    const own = findingsOf((await runScalingCli(['plan', ...window], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5', CACHE_REDIS_URL: 'redis://cache:6379' }) })).out)['redis-connections'];
    assert.match(own.message, /cache Redis \(CACHE_REDIS_URL\): \(20 \+ 5\) web × 2 \+ \(10 \+ 1\) worker × 2 \+ CLI 1 = 73 connections/);
    const bad = await runScalingCli(['plan', ...window, '--redis-maxclients', '1.5']);
    assert.equal(bad.exitCode, 2);
  });

  it('prints no error for what the app does not do: an evicting queue Redis, an IP limit for signed-in buyers; a real misfit still is one', async () => {
    const seed = await runScalingCli(['plan', ...window], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5' }) });
    assert.equal(seed.exitCode, 0, seed.err);
    const f = findingsOf(seed.out);
    assert.deepEqual(Object.values(f).filter((x) => x.level === 'error'), []);
    assert.equal(f['redis-eviction'].level, 'ok');
    assert.equal(f['rate-limit-signed-in'].level, 'ok');
    const tight = await runScalingCli(['plan', ...window], { capacityChecks: () => loadCapacityCheckConfig({ DB_POOL_MAX: '5', RATE_LIMIT_SALE_MAX: '30' }) });
    const sale = findingsOf(tight.out)['rate-limit-signed-in'];
    assert.equal(sale.level, 'error');
    assert.match(sale.message, /sale 30 \/ 1 min vs 40/);
  });
});

