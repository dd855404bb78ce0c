import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DeploymentSpecError, SEED_DEPLOYMENT_SPEC, checkDeploymentSpec, withOverrides, type DeploymentSpec } from './deployment-spec.ts';
import { MANIFEST_TARGETS, renderTargets } from './manifests.ts';
import type { RenderedFile } from './rendered-file.ts';
import { getSpecWorkerKedaOptions } from './prescale-plan.ts';
import { getRoleArgv } from './role-env.ts';
import { normalizeBehavior } from '../simulate/hpa-behavior.ts';
import { validateCloudFormation } from './validate/cfn-validate.ts';
import { validateArmTemplate } from './validate/arm-validate.ts';
import { parseTerraform, validateTerraform } from './validate/terraform-validate.ts';
import { validateComposeFile } from './validate/compose-validate.ts';
import { checkDockerfile } from './validate/dockerfile-check.ts';
import { runYamllint } from './validate/external-tools.ts';
import { validateK8sObjects, type K8sObject } from './validate/k8s-validate.ts';
import { getFile, getK8sObjects, getObject, parseYamlDocuments } from './validate/rendered-objects.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
// biome-ignore lint/suspicious/noExplicitAny: assertions navigate parsed YAML freely; manifests.test.ts validates its shape.
type Obj = Record<string, any>;

const seedFiles = renderTargets(MANIFEST_TARGETS, SEED_DEPLOYMENT_SPEC);

function changedPaths(a: readonly RenderedFile[], b: readonly RenderedFile[]): string[] {
  return a.filter((f) => b.find((g) => g.path === f.path)?.content !== f.content).map((f) => f.path);
}

function k8s(files: readonly RenderedFile[], kind: string, name: string): Obj {
  const o = getK8sObjects(files).find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name}`);
  return o as Obj;
}

function cfn(files: readonly RenderedFile[]): Obj {
  return getObject(files, 'deploy/aws/salescale.yaml') as Obj;
}

describe('one number in the spec, every target (acceptance 2)', () => {
  it('max web replicas 20 → 18 changes the HPA, the production ScaledObject, the ASG and App Platform, and nothing else', async () => {
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { web: { replicas: { min: 2, max: 18, desired: 3 } } });
    // Down, not up: the seed's 20 web pods with the rollout's surge take 196 of max_connections 250 on k8s and GCP, and
    // 25 (231) would leave less than the 10 % headroom (connection-budget.ts): refused until database.maxConnections or a pooler makes room.
    const files = renderTargets(MANIFEST_TARGETS, spec);
    assert.equal(k8s(files, 'HorizontalPodAutoscaler', 'salescale-web').spec.maxReplicas, 18);
    assert.equal(k8s(files, 'ScaledObject', 'salescale-web').spec.maxReplicaCount, 18);
    assert.equal(cfn(files).Parameters.WebMaxSize.Default, 18);
    assert.equal((getObject(files, '.do/app.yaml') as Obj).services[0].autoscaling.max_instance_count, 18);
    // Swarm, compose and Heroku have no autoscaler bound: they must not change.
    const gcp = await parseTerraform(files);
    assert.equal(gcp.resource.google_compute_region_autoscaler.web[0].autoscaling_policy[0].max_replicas, 18);
    const azure = getObject(files, 'deploy/azure/salescale.json') as Obj;
    const webAutoscale = azure.resources.find((r: Obj) => r.type === 'Microsoft.Insights/autoscalesettings' && r.name === 'salescale-web-autoscale');
    assert.equal(webAutoscale.properties.profiles[0].capacity.maximum, '18');
    assert.deepEqual(changedPaths(files, seedFiles).sort(), [
      '.do/app.yaml',
      'deploy/aws/salescale.yaml',
      'deploy/azure/salescale.json',
      'deploy/gcp/main.tf',
      'deploy/k8s/base/web-hpa.yaml',
      'deploy/k8s/overlays/production/web-scaledobject.yaml',
    ]);
    assert.deepEqual(validateArmTemplate(azure), []);
    assert.deepEqual(await validateTerraform('main.tf', getFile(files, 'deploy/gcp/main.tf').content), []);
    assert.deepEqual(await validateK8sObjects(getK8sObjects(files)), []);
    assert.deepEqual(validateCloudFormation(cfn(files) as never), []);
  });

  it('desired web replicas 3 → 4 changes swarm, Heroku and the ASG together', () => {
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { web: { replicas: { min: 2, max: 20, desired: 4 } } });
    const files = renderTargets(MANIFEST_TARGETS, spec);
    assert.equal((getObject(files, 'deploy/swarm/stack.yml') as Obj).services.web.deploy.replicas, 4);
    assert.equal((getObject(files, 'app.json') as Obj).formation.web.quantity, 4);
    assert.equal(cfn(files).Parameters.WebDesiredCapacity.Default, 4);
    assert.deepEqual(changedPaths(files, seedFiles).sort(), ['app.json', 'deploy/aws/salescale.yaml', 'deploy/azure/salescale.json', 'deploy/swarm/stack.yml']);
  });

  it('a CPU target of 65 % reaches the HPA, the KEDA cpu trigger, target tracking, predictive scaling, the GCE autoscaler and App Platform, and re-plans the pre-scaling windows everywhere', async () => {
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { web: { autoscaling: { ...SEED_DEPLOYMENT_SPEC.web.autoscaling, cpuPercent: 65 } } } as Partial<DeploymentSpec>);
    const files = renderTargets(MANIFEST_TARGETS, spec);
    const hpa = k8s(files, 'HorizontalPodAutoscaler', 'salescale-web').spec;
    assert.equal(hpa.metrics.find((m: Obj) => m.resource.name === 'cpu').resource.target.averageUtilization, 65);
    const webSo = k8s(files, 'ScaledObject', 'salescale-web').spec;
    assert.equal(webSo.triggers.find((t: Obj) => t.type === 'cpu').metadata.value, '65');
    const r = cfn(files).Resources;
    assert.equal(r.WebCpuTargetTracking.Properties.TargetTrackingConfiguration.TargetValue, 65);
    assert.equal(r.WebPredictiveScaling.Properties.PredictiveScalingConfiguration.MetricSpecifications[0].TargetValue, 65);
    assert.equal((getObject(files, '.do/app.yaml') as Obj).services[0].autoscaling.metrics.cpu.percent, 65);
    // A lower target needs more replicas at the peak: the KEDA cron windows and the ASG scheduled actions move together.
    const cron = webSo.triggers.filter((t: Obj) => t.type === 'cron').map((t: Obj) => Number(t.metadata.desiredReplicas));
    const actions = Object.values(r as Obj).filter((x: Obj) => x.Type === 'AWS::AutoScaling::ScheduledAction' && x.Properties.AutoScalingGroupName.Ref === 'WebAutoScalingGroup');
    assert.deepEqual(
      actions.slice(0, -1).map((x: Obj) => x.Properties.MinSize),
      cron,
    );
    const gcePolicy = (await parseTerraform(files)).resource.google_compute_region_autoscaler.web[0].autoscaling_policy[0];
    assert.equal(gcePolicy.cpu_utilization[0].target, 0.65);
    assert.deepEqual(
      gcePolicy.scaling_schedules.map((x: Obj) => x.min_required_replicas),
      cron,
    );
    const azureWeb = (getObject(files, 'deploy/azure/salescale.json') as Obj).resources.find((r: Obj) => r.name === 'salescale-web-autoscale').properties.profiles;
    assert.equal(azureWeb[0].rules[0].metricTrigger.threshold, 65);
    assert.deepEqual(
      azureWeb.filter((p: Obj) => p.fixedDate).map((p: Obj) => Number(p.capacity.minimum)),
      cron,
    );
    const seedCron = k8s(seedFiles, 'ScaledObject', 'salescale-web').spec.triggers.filter((t: Obj) => t.type === 'cron');
    assert.ok(Math.max(...cron) > Math.max(...seedCron.map((t: Obj) => Number(t.metadata.desiredReplicas))));
  });

  it('a drain delay of 15 s moves the preStop pause, the grace periods, the App Platform drain and the swarm stop period', () => {
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { drain: { ...SEED_DEPLOYMENT_SPEC.drain, drainDelaySeconds: 15 } });
    const files = renderTargets(MANIFEST_TARGETS, spec);
    const pod = k8s(files, 'Deployment', 'salescale-web').spec.template.spec;
    assert.deepEqual(pod.containers[0].lifecycle.preStop.exec.command, ['sleep', '15']);
    assert.equal(pod.terminationGracePeriodSeconds, 45);
    assert.equal((getObject(files, 'deploy/swarm/stack.yml') as Obj).services.web.stop_grace_period, '45s');
    assert.equal((getObject(files, 'deploy/swarm/stack.yml') as Obj).services.web.environment.SHUTDOWN_DRAIN_DELAY_MS, '15000');
    assert.deepEqual((getObject(files, '.do/app.yaml') as Obj).services[0].termination, { drain_seconds: 15, grace_period_seconds: 45 });
  });
});

describe('the worker ScaledObject\'s queue triggers follow the worker', () => {
  const listLengths = (spec: DeploymentSpec) => {
    const triggers = (k8s(renderTargets(['k8s'], spec), 'ScaledObject', `${spec.name}-worker`).spec.triggers as Obj[]).filter((t) => t.type === 'redis');
    return Object.fromEntries(triggers.map((t) => [t.name, Number(t.metadata.listLength)]));
  };
  it('aims each queue at the same seconds of one worker\'s work: its concurrency over its job time', () => {
    // Jobs/s one worker completes: email 3 at once (DB_POOL_MAX 5 − 2) × 2 s, order 5 × 0.5 s, inventory 10 × 0.5 s,
    // notifications 100 × 0.5 s. A target of 100 waiting jobs per worker for all of them was 67 s of email work and
    // 0.5 s of notifications work: the email backlog waited a minute before a second worker, analytics scaled on noise.
    const perWorker: Record<string, number> = { email: 3 / 2, order: 5 / 0.5, inventory: 10 / 0.5, notifications: 100 / 0.5 };
    const lengths = listLengths(SEED_DEPLOYMENT_SPEC);
    for (const [queue, rate] of Object.entries(perWorker)) {
      for (const state of ['wait', 'prioritized']) {
        const seconds = lengths[`${queue}-${state}`] / rate;
        assert.ok(seconds >= 4 && seconds <= 6, `${queue}-${state}: ${lengths[`${queue}-${state}`]} waiting jobs per worker are ${seconds.toFixed(1)} s of its work, not 5`);
      }
    }
  });
  it('reads the queues over TLS when the queue Redis takes TLS only (rediss://: ElastiCache in-transit encryption, Azure Cache, Memorystore), or KEDA cannot read them and holds the fallback replicas', () => {
    const redisTriggers = (spec: DeploymentSpec) => (k8s(renderTargets(['k8s'], spec), 'ScaledObject', `${spec.name}-worker`).spec.triggers as Obj[]).filter((t) => t.type === 'redis');
    const tls = withOverrides(SEED_DEPLOYMENT_SPEC, { redis: { queueTls: true } });
    const triggers = redisTriggers(tls);
    assert.equal(triggers.length, 8);
    for (const t of triggers) assert.deepEqual([t.name, t.metadata.enableTLS, t.metadata.unsafeSsl], [t.name, 'true', 'false']);
    // The seed's queue Redis (queue-redis:6379 in the cluster) speaks plain TCP, said as such.
    for (const t of redisTriggers(SEED_DEPLOYMENT_SPEC)) assert.deepEqual([t.name, t.metadata.enableTLS, t.metadata.unsafeSsl], [t.name, 'false', undefined]);
    const unverified = redisTriggers(withOverrides(SEED_DEPLOYMENT_SPEC, { redis: { queueTls: true, queueTlsVerify: false } }));
    assert.ok(unverified.every((t) => t.metadata.unsafeSsl === 'true'));
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { redis: { queueTlsVerify: false } })), /redis.queueTlsVerify false needs redis.queueTls/);
  });
  it('simulate runs the worker ScaledObject as rendered: polling, cooldown, activation and the behavior KEDA gives its HPA', () => {
    const slower = withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { pollingIntervalSeconds: 15, cooldownPeriodSeconds: 600 } });
    for (const spec of [SEED_DEPLOYMENT_SPEC, slower]) {
      const so = k8s(renderTargets(['k8s'], spec), 'ScaledObject', `${spec.name}-worker`).spec;
      const options = getSpecWorkerKedaOptions(spec);
      assert.deepEqual([options.pollingIntervalSeconds, options.cooldownPeriodSeconds], [so.pollingInterval, so.cooldownPeriod]);
      assert.deepEqual(options.behavior, normalizeBehavior(so.advanced.horizontalPodAutoscalerConfig.behavior));
      for (const t of (so.triggers as Obj[]).filter((x) => x.type === 'redis')) assert.equal(Number(t.metadata.activationListLength), options.activationListLength, t.name);
    }
    // The seed's scale-down: one worker a minute (Pods 1 and Percent 10 per 60 s, the smaller), not the API default's all at once.
    assert.deepEqual(getSpecWorkerKedaOptions(SEED_DEPLOYMENT_SPEC).behavior.scaleDown.policies.map((p) => [p.type, p.value, p.periodSeconds]), [['Pods', 1, 60], ['Percent', 10, 60]]);
  });
  it('a worker pool of 4 (2 email sends at once) halves the email target and leaves the others', () => {
    const seed = listLengths(SEED_DEPLOYMENT_SPEC);
    const small = listLengths(withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { dbPoolMax: 4 } }));
    assert.deepEqual([seed['email-wait'], small['email-wait']], [8, 5]);
    assert.equal(small['notifications-wait'], seed['notifications-wait']);
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { backlogSecondsPerReplica: 0 } })), /worker.backlogSecondsPerReplica must be > 0/);
  });
});

describe('spec consistency', () => {
  it("refuses pool sizes whose peak exceeds max_connections (the seed strategy's 20 × 50)", () => {
    const seedPools = withOverrides(SEED_DEPLOYMENT_SPEC, { web: { dbPoolMax: 50 } });
    assert.throws(() => renderTargets(['k8s'], seedPools), (e: unknown) => e instanceof DeploymentSpecError && e.message.includes(`max_connections ${SEED_DEPLOYMENT_SPEC.database.maxConnections}`));
  });

  it("judges connections by the target's own database with its headroom, not by a second rule on database.maxConnections", () => {
    // Heroku and DigitalOcean size their database by plan (standard-2: 400, a 16 GB node: 397): a max_connections
    // their files never use does not refuse them.
    const small = withOverrides(SEED_DEPLOYMENT_SPEC, { database: { maxConnections: 100 } });
    assert.doesNotThrow(() => checkDeploymentSpec(small));
    assert.doesNotThrow(() => renderTargets(['heroku', 'do'], small));
    // Where max_connections is the limit, the shared rule (10 % free, rollout surge, CLI) refuses what the sum below it allowed.
    assert.throws(() => renderTargets(['k8s'], small), (e: unknown) => e instanceof DeploymentSpecError && e.message.includes('k8s: connections at the maxima during a rolling update'));
  });

  it('refuses min > desired and requests above limits', () => {
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { web: { replicas: { min: 4, max: 20, desired: 3 } } })), /min ≤ desired/);
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { requests: { cpuMillicores: 900, memoryMiB: 256 } } })), /requests must not exceed/);
  });
});

/** Replaces one occurrence in a rendered file's text, failing if the text is not there (so a renderer change cannot make the test vacuous). */
function breakText(path: string, from: string | RegExp, to: string): string {
  const text = getFile(seedFiles, path).content;
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `${path} contains ${from}`);
  return text.replace(from, to);
}

async function k8sProblems(text: string): Promise<string[]> {
  return validateK8sObjects(parseYamlDocuments(text) as K8sObject[]);
}

describe('deliberately broken manifests are caught (acceptance 3)', () => {
  it('Kubernetes: an unknown field', async () => {
    const problems = await k8sProblems(breakText('deploy/k8s/base/web-deployment.yaml', 'imagePullPolicy:', 'imagePullPolicey:'));
    assert.ok(problems.some((p) => /containers\[0\]\.imagePullPolicey: unknown field/.test(p)), problems.join('\n'));
  });

  it('Kubernetes: a bad enum value', async () => {
    const problems = await k8sProblems(breakText('deploy/k8s/base/web-hpa.yaml', 'type: Percent', 'type: Percentage'));
    assert.ok(problems.some((p) => /"Percentage" is not one of Pods, Percent/.test(p)), problems.join('\n'));
  });

  it('Kubernetes: a wrong type and a missing required field', async () => {
    const problems = await k8sProblems(breakText('deploy/k8s/base/web-hpa.yaml', /maxReplicas: \d+/, 'maxReplicas: "twenty"'));
    assert.ok(problems.some((p) => /maxReplicas: must be integer/.test(p)), problems.join('\n'));
    const missing = await k8sProblems(breakText('deploy/k8s/base/web-hpa.yaml', /\n {2}maxReplicas: \d+/, ''));
    assert.ok(missing.some((p) => /maxReplicas/.test(p)), missing.join('\n'));
  });

  it('KEDA: a non-string trigger metadata value, an unknown scaler and a malformed cron window', async () => {
    const numeric = await k8sProblems(breakText('deploy/k8s/base/worker-scaledobject.yaml', /listLength: "(\d+)"/, 'listLength: $1'));
    assert.ok(numeric.some((p) => /listLength: must be string/.test(p)), numeric.join('\n'));
    const scaler = await k8sProblems(breakText('deploy/k8s/base/worker-scaledobject.yaml', 'type: redis', 'type: redis-list'));
    assert.ok(scaler.some((p) => /"redis-list" is not one of/.test(p)), scaler.join('\n'));
    const cron = await k8sProblems(breakText('deploy/k8s/overlays/production/web-scaledobject.yaml', /start: (\d+ \d+ \d+ \d+) \*/, 'start: $1'));
    assert.ok(cron.some((p) => /is not a 5-field cron expression/.test(p)), cron.join('\n'));
  });

  it('CloudFormation: an unknown property, a wrong type and a bad enum value', () => {
    const path = 'deploy/aws/salescale.yaml';
    const unknown = validateCloudFormation(parse(breakText(path, 'HealthCheckGracePeriod:', 'HealthCheckGracePeriods:')));
    assert.ok(unknown.some((p) => /HealthCheckGracePeriods is not a valid property/.test(p)), unknown.join('\n'));
    const type = validateCloudFormation(parse(breakText(path, /\n( +)Port: 3030/, '\n$1Port: three-thousand')));
    assert.ok(type.some((p) => /Expecting an integer/.test(p)), type.join('\n'));
    const enumValue = validateCloudFormation(parse(breakText(path, 'PredefinedMetricType: ASGAverageCPUUtilization', 'PredefinedMetricType: ASGAverageCPU')));
    assert.ok(enumValue.some((p) => /"ASGAverageCPU" is not one of/.test(p)), enumValue.join('\n'));
    const missing = validateCloudFormation(parse(breakText(path, /\n {6}AutoScalingGroupName:\n {8}Ref: WebAutoScalingGroup\n {6}MinSize: 3/, '\n      MinSize: 3')));
    assert.ok(missing.some((p) => /Required property AutoScalingGroupName missing/.test(p)), missing.join('\n'));
  });

  it('Compose / swarm: an unknown key, a bad enum value and a wrong type', () => {
    const path = 'deploy/swarm/stack.yml';
    const unknown = validateComposeFile(parse(breakText(path, 'stop_grace_period:', 'stop_grace_periods:')));
    assert.ok(unknown.some((p) => /additional properties.*stop_grace_periods/.test(p)), unknown.join('\n'));
    const enumValue = validateComposeFile(parse(breakText(path, 'order: start-first', 'order: start-frist')));
    assert.ok(enumValue.some((p) => /update_config\/order: must be equal to one of the allowed values/.test(p)), enumValue.join('\n'));
    const type = validateComposeFile(parse(breakText(path, 'max_attempts: 3', 'max_attempts: three')));
    assert.ok(type.some((p) => /max_attempts: must be integer/.test(p)), type.join('\n'));
  });

  it('YAML: broken indentation', (t) => {
    const text = breakText('deploy/swarm/stack.yml', '\n    image:', '\n     image:');
    const result = runYamllint([{ path: 'stack.yml', content: text }]);
    if (result.skipped) return t.skip(result.skipped);
    assert.ok(result.problems.length > 0);
  });

  it('Dockerfile: root user, no health check, dev dependencies', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
    const check = (text: string) => checkDockerfile(text, ignore, { defaultCommand: getRoleArgv('web'), webPort: SEED_DEPLOYMENT_SPEC.web.port });
    assert.ok(check(dockerfile.replace(/^USER node$/m, 'USER root')).some((p) => /runs as root/.test(p)));
    assert.ok(check(dockerfile.replace(/^USER node$/m, '')).some((p) => /no USER/.test(p)));
    assert.ok(check(dockerfile.replace(/^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, '')).some((p) => /no HEALTHCHECK/.test(p)));
    assert.ok(check(dockerfile.replace('--omit=dev ', '')).some((p) => /installs dev dependencies/.test(p)));
    assert.ok(check(dockerfile.replace('COPY src ./src', 'COPY . .')).some((p) => /whole build context/.test(p)));
    assert.deepEqual(check(dockerfile), []);
    assert.ok(checkDockerfile(dockerfile, ignore.replace(/^node_modules$/m, ''), { defaultCommand: getRoleArgv('web'), webPort: 3030 }).some((p) => /node_modules/.test(p)));
  });
});
