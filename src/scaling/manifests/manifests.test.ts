import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { QUEUE_NAMES, queuePrefix } from '../../platform/queue/queue-definitions.ts';
import { ALERT_RULES } from '../alerts/alert-rules.ts';
import { RECORDING_RULES } from '../alerts/recording-rules.ts';
import { getRunbookUrl } from '../alerts/runbook-links.ts';
import { SEED_DEPLOYMENT_SPEC, getTerminationGraceSeconds, withOverrides } from './deployment-spec.ts';
import { HEROKU_REDIS_PLANS, getHerokuRedisNeeds } from './heroku-redis.ts';
import { MANIFEST_TARGETS, renderTargets } from './manifests.ts';
import { renderHeroku } from './render-paas.ts';
import { getRoleArgv } from './role-env.ts';
import { validateCloudFormation } from './validate/cfn-validate.ts';
import { interpolateCompose, validateComposeFile } from './validate/compose-validate.ts';
import { checkDockerfile } from './validate/dockerfile-check.ts';
import { runPromtoolCheckConfig, runPromtoolCheckRules, runYamllint } from './validate/external-tools.ts';
import { validateK8sObjects, type K8sObject } from './validate/k8s-validate.ts';
import { buildKustomization, getFile, getK8sObjects, getObject } from './validate/rendered-objects.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const spec = SEED_DEPLOYMENT_SPEC;
const files = renderTargets(MANIFEST_TARGETS, spec);

// biome-ignore lint/suspicious/noExplicitAny: assertions navigate parsed YAML freely; the validators above check its shape.
type Obj = Record<string, any>;
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name) as Obj;

describe('committed deployment files', () => {
  it('match a fresh rendering of the spec (re-run `salescale manifests --target all` after changing it)', () => {
    const stale = files.filter((f) => {
      try {
        return readFileSync(join(ROOT, f.path), 'utf8') !== f.content;
      } catch {
        return true;
      }
    });
    assert.deepEqual(
      stale.map((f) => f.path),
      [],
      'rendered files are stale: run `npx salescale manifests --target all` and commit them (the alert table, queue names and the capacity plan feed them too)',
    );
  });
});

describe('Kubernetes manifests', () => {
  const objects = getK8sObjects(files);

  it('pass the kubernetes-models validators and the unknown-field, enum and KEDA trigger checks', async () => {
    assert.ok(objects.length >= 10);
    assert.deepEqual(await validateK8sObjects(objects), []);
  });

  it('leave exactly one autoscaler per Deployment in the base and in the production overlay', () => {
    for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/production']) {
      const built = buildKustomization(files, dir);
      for (const d of built.filter((o) => o.kind === 'Deployment')) {
        const name = d.metadata?.name;
        const scalers = built.filter(
          (o) => (o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') && (o as Obj).spec.scaleTargetRef.name === name,
        );
        assert.equal(scalers.length, 1, `${dir}: ${name} has ${scalers.map((s) => s.kind).join(', ') || 'no autoscaler'}`);
      }
    }
  });

  it("has the seed's HPA: CPU 70 %, no memory metric, 2–20, with an explicit behavior", () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'salescale-web').spec;
    assert.equal(hpa.minReplicas, 2);
    assert.equal(hpa.maxReplicas, 20);
    assert.deepEqual(
      hpa.metrics.map((m: Obj) => [m.resource.name, m.resource.target.averageUtilization]),
      [['cpu', 70]],
    );
    assert.ok(hpa.behavior.scaleUp.policies.length > 0 && hpa.behavior.scaleDown.stabilizationWindowSeconds === 300);
  });

  it('scales production web on CPU and the cron windows, with no memory trigger', () => {
    const so = find(getK8sObjects(files), 'ScaledObject', 'salescale-web').spec;
    assert.deepEqual([...new Set(so.triggers.map((t: Obj) => t.type))].sort(), ['cpu', 'cron']);
  });

  it('renders a memory metric and trigger when the spec sets web.autoscaling.memoryPercent', () => {
    const withMemory = structuredClone(spec);
    withMemory.web.autoscaling.memoryPercent = 90;
    withMemory.web.replicas.min = withMemory.web.replicas.desired = 3;
    const rendered = getK8sObjects(renderTargets(['k8s'], withMemory));
    const hpa = find(rendered, 'HorizontalPodAutoscaler', 'salescale-web').spec;
    assert.deepEqual(hpa.metrics.map((m: Obj) => [m.resource.name, m.resource.target.averageUtilization]), [['cpu', 70], ['memory', 90]]);
    const so = find(rendered, 'ScaledObject', 'salescale-web').spec;
    assert.equal(so.triggers.find((t: Obj) => t.type === 'memory')?.metadata.value, '90');
  });

  it('scales workers on the wait list and the prioritized zset of every queue, under the hash-tagged prefix the app uses', () => {
    const so = find(objects, 'ScaledObject', 'salescale-worker').spec;
    const redis = so.triggers.filter((t: Obj) => t.type === 'redis').map((t: Obj) => t.metadata.listName);
    const prefix = queuePrefix(spec.worker.redisPrefix);
    assert.deepEqual(redis.sort(), QUEUE_NAMES.flatMap((q) => [`${prefix}:${q}:wait`, `${prefix}:${q}:prioritized`]).sort());
    assert.ok(so.minReplicaCount >= 1, 'workers never scale to zero');
  });

  it('spells out metricType AverageValue on the redis triggers, which the fallback needs (KEDA 2.14 and 2.17.0 refused it unset)', () => {
    const so = find(objects, 'ScaledObject', 'salescale-worker').spec;
    assert.ok(so.fallback);
    const redis = so.triggers.filter((t: Obj) => t.type === 'redis');
    assert.ok(redis.length > 0);
    for (const t of redis) assert.equal(t.metricType, 'AverageValue', t.name);
  });

  it("pre-scales web in production with cron windows that agree with the AWS template's scheduled actions", () => {
    const so = find(getK8sObjects(files), 'ScaledObject', 'salescale-web').spec;
    const cron = so.triggers.filter((t: Obj) => t.type === 'cron').map((t: Obj) => Number(t.metadata.desiredReplicas));
    const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
    const actions = Object.values(template.Resources as Obj)
      .filter((r: Obj) => r.Type === 'AWS::AutoScaling::ScheduledAction' && r.Properties.AutoScalingGroupName.Ref === 'WebAutoScalingGroup')
      .map((r: Obj) => r.Properties.MinSize);
    assert.ok(cron.length > 0);
    // AWS adds a last action back to the minimum; the cron windows simply end.
    assert.deepEqual(actions.slice(0, -1), cron);
    // …to the group's WebMinSize parameter (an operator's raised floor is kept after the sale).
    assert.deepEqual(actions.at(-1), { Ref: 'WebMinSize' });
  });

  it('pauses before SIGTERM on clusters older than 1.30 too: preStop runs the image\u2019s own sleep, not the sleep action (beta from 1.30, GA in 1.34)', () => {
    // A cluster before 1.30 refuses or drops the sleep action (PodLifecycleSleepAction, KEP-3960: alpha 1.29, beta 1.30):
    // no pause, so ingress-nginx kept sending to a pod already closing. The image is Debian slim, which has /bin/sleep.
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
    assert.match(base, /^node:24-(bookworm|trixie)(-slim)?$/, 'a base image that has a sleep binary (not distroless)');
    for (const name of ['salescale-web', 'salescale-worker']) {
      const preStop = find(objects, 'Deployment', name).spec.template.spec.containers[0].lifecycle.preStop;
      assert.equal(preStop.sleep, undefined, `${name}: the sleep action needs Kubernetes 1.30+`);
      assert.deepEqual(preStop.exec?.command, ['sleep', String(spec.drain.drainDelaySeconds)], name);
    }
  });

  it('runs the one image as non-root, with a preStop pause and a grace period covering drain and shutdown', () => {
    for (const name of ['salescale-web', 'salescale-worker']) {
      const pod = find(objects, 'Deployment', name).spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.deepEqual(c.lifecycle.preStop, { exec: { command: ['sleep', String(spec.drain.drainDelaySeconds)] } });
      assert.equal(pod.terminationGracePeriodSeconds, getTerminationGraceSeconds(spec));
      assert.ok(pod.terminationGracePeriodSeconds > spec.drain.drainDelaySeconds + spec.drain.shutdownTimeoutSeconds);
      assert.equal(c.readinessProbe.httpGet.path, '/ready');
      assert.equal(c.livenessProbe.httpGet.path, '/health');
      assert.equal(c.image, `${spec.image.repository}:${spec.image.tag}`);
    }
    assert.deepEqual(find(objects, 'Job', 'salescale-migrate').spec.template.spec.containers[0].command, getRoleArgv('migrate'));
  });

  it('carries every alert and recording rule in the PrometheusRule, and promtool accepts its groups', (t) => {
    const rule = find(objects, 'PrometheusRule', 'salescale-alerts');
    const rules = rule.spec.groups.flatMap((g: Obj) => g.rules);
    assert.deepEqual(rules.filter((r: Obj) => r.alert).map((r: Obj) => r.alert).sort(), ALERT_RULES.map((r) => r.name).sort());
    assert.deepEqual(rules.filter((r: Obj) => r.record).map((r: Obj) => r.record).sort(), RECORDING_RULES.map((r) => r.record).sort());
    for (const alert of rules.filter((r: Obj) => r.alert)) assert.equal(alert.annotations.runbook_url, getRunbookUrl(alert.alert, spec.alerts.runbookUrl));
    const result = runPromtoolCheckRules(stringify({ groups: rule.spec.groups }));
    if (result.skipped) return t.skip(result.skipped);
    assert.deepEqual(result.problems, []);
  });
});

describe('CloudFormation template', () => {
  const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;

  it('passes cfn-lint with the current resource specification, and the enum checks', () => {
    assert.deepEqual(validateCloudFormation(template as never), []);
  });

  // docs/deploy-aws.md has the operator raise WorkerMinSize when HighQueueDepth fires: the action that ends the
  // sale set the spec's literal (web 2, worker 1), putting a stack deployed with WorkerMinSize=3 back to 1.
  for (const [group, param] of [
    ['WebAutoScalingGroup', 'WebMinSize'],
    ['WorkerAutoScalingGroup', 'WorkerMinSize'],
  ] as const) {
    it(`the last scheduled action of ${group} restores MinSize to the ${param} parameter, not a literal`, () => {
      assert.ok(template.Parameters[param], `${param} is a template parameter`);
      const mine = Object.entries(template.Resources as Obj)
        .filter(([, r]) => r.Type === 'AWS::AutoScaling::ScheduledAction' && JSON.stringify(r.Properties.AutoScalingGroupName) === JSON.stringify({ Ref: group }))
        .sort(([, a], [, b]) => String(a.Properties.StartTime).localeCompare(String(b.Properties.StartTime)));
      assert.ok(mine.length > 0, `no scheduled actions for ${group}`);
      const [id, last] = mine[mine.length - 1];
      assert.deepEqual(last.Properties.MinSize, { Ref: param }, `${id} (${String(last.Properties.StartTime)}) sets MinSize ${JSON.stringify(last.Properties.MinSize)}`);
    });
  }

  it("has the seed's group, ALB liveness check, scaling policies, database and Redis", () => {
    const r = template.Resources;
    const p = template.Parameters;
    assert.deepEqual([p.WebMinSize.Default, p.WebMaxSize.Default, p.WebDesiredCapacity.Default], [2, 20, 3]);
    assert.equal(r.WebAutoScalingGroup.Properties.HealthCheckType, 'ELB');
    assert.equal(r.WebAutoScalingGroup.Properties.HealthCheckGracePeriod, 300);
    // One check both routes and repairs (HealthCheckType ELB): on /ready a database outage would have the group
    // replace every instance, each new one failing its boot migration until the database came back.
    assert.equal(r.WebTargetGroup.Properties.HealthCheckPath, '/health');
    assert.ok(r.WebTargetGroup.Properties.HealthyThresholdCount >= 2 && r.WebTargetGroup.Properties.HealthCheckTimeoutSeconds < r.WebTargetGroup.Properties.HealthCheckIntervalSeconds);
    assert.ok(r.WebTargetGroup.Properties.TargetGroupAttributes.some((a: Obj) => a.Key === 'deregistration_delay.timeout_seconds'));
    assert.equal(r.WebCpuTargetTracking.Properties.TargetTrackingConfiguration.TargetValue, 70);
    assert.equal(r.WebRequestCountTargetTracking.Condition, 'UseRequestCountScaling');
    assert.equal(p.PredictiveScalingMode.Default, 'ForecastOnly');
    assert.equal(r.Database.Properties.MultiAZ, true);
    assert.equal(r.DatabaseReplica.Properties.SourceDBInstanceIdentifier.Ref, 'Database');
    assert.equal(r.DatabaseParameterGroup.Properties.Parameters.max_connections, String(spec.database.maxConnections));
    assert.equal(r.QueueRedisParameterGroup.Properties.Properties['maxmemory-policy'], 'noeviction');
  });

  it('turns every alert with a CloudWatch equivalent into an alarm, including the seed\u2019s checkout rate and DB connections', () => {
    const alarms = Object.entries(template.Resources as Obj).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const expected = ALERT_RULES.filter((a) => a.cloudwatch).map((a) => `${a.name}Alarm`);
    assert.deepEqual(alarms.map(([id]) => id).sort(), expected.sort());
    const metrics = alarms.map(([, r]) => r.Properties.MetricName);
    assert.ok(metrics.includes('CheckoutRate') && metrics.includes('DatabaseConnections'));
    // 80 % of the spec's max_connections: the database's own count of every instance's connections.
    const db = (template.Resources as Obj).HighDbConnectionsAlarm.Properties;
    assert.equal(db.Namespace, 'AWS/RDS');
    assert.deepEqual(db.Dimensions, [{ Name: 'DBInstanceIdentifier', Value: { Ref: 'Database' } }]);
    assert.ok(db.Threshold < spec.database.maxConnections);
    for (const [id, alarm] of alarms) {
      assert.ok(alarm.Properties.AlarmDescription.endsWith(`Runbook: ${getRunbookUrl(id.replace(/Alarm$/, ''), spec.alerts.runbookUrl)}`), `${id} links its runbook section`);
      // The description says what this alarm measures and does, not what the Prometheus rule of the same name does.
      const p = alarm.Properties;
      assert.ok(p.AlarmDescription.includes(`${p.Namespace} ${p.MetricName} `) && p.AlarmDescription.includes(` ${p.Threshold} for ${p.EvaluationPeriods} × ${p.Period} s`), `${id}: ${p.AlarmDescription}`);
      const scales = p.AlarmActions.length > 1;
      assert.equal(p.AlarmDescription.includes('scales the web group out'), scales, `${id} says whether it scales: ${p.AlarmDescription}`);
    }
    assert.match(db.AlarmDescription, /^critical: AWS\/RDS DatabaseConnections Average > 200 for 2 × 300 s; notifies only\./);
  });

  it("fires HighDbConnections at 80 % of the spec's max_connections on AWS, as Azure's PostgreSQL connections alert does, whatever max_connections is", () => {
    for (const maxConnections of [200, 250, 400]) {
      const files = renderTargets(['aws', 'azure'], withOverrides(spec, { database: { maxConnections } }));
      const aws = (getObject(files, 'deploy/aws/salescale.yaml') as Obj).Resources.HighDbConnectionsAlarm.Properties;
      const azure = ((getObject(files, 'deploy/azure/salescale.json') as Obj).resources as Obj[]).find((r) => r.type === 'Microsoft.Insights/metricAlerts' && String(r.name).endsWith('-pg-connections')) as Obj;
      const share = Math.floor(maxConnections * 0.8);
      assert.equal(aws.Threshold, share, `AWS at max_connections ${maxConnections}: ${aws.Threshold} is ${Math.round((aws.Threshold / maxConnections) * 100)} %`);
      assert.equal(azure.properties.criteria.allOf[0].threshold, share, `Azure at max_connections ${maxConnections}`);
      assert.match(aws.AlarmDescription, new RegExp(`^critical: AWS/RDS DatabaseConnections Average > ${share} for 2 × 300 s; notifies only\\.`));
    }
  });
});

describe('YAML files', () => {
  it('pass yamllint (strict)', (t) => {
    const yaml = files.filter((f) => /\.ya?ml$/.test(f.path));
    assert.ok(yaml.length > 10);
    const result = runYamllint(yaml);
    if (result.skipped) return t.skip(result.skipped);
    assert.deepEqual(result.problems, []);
  });
});

describe('compose and swarm', () => {
  const compose = getObject(files, 'deploy/compose/docker-compose.yml') as Obj;
  const swarm = getObject(files, 'deploy/swarm/stack.yml') as Obj;

  it('pass the Compose Specification schema (unknown keys, types, enum values)', () => {
    assert.deepEqual(validateComposeFile(compose), []);
    assert.deepEqual(validateComposeFile(swarm), []);
  });

  it('stop `docker compose up` without the Stripe keys, naming each and saying that test-mode keys work (the stack runs NODE_ENV=production, which refuses the test provider: it started a shop that refused every payment)', () => {
    const text = readFileSync(join(ROOT, 'deploy/compose/docker-compose.yml'), 'utf8');
    const shell = { ADMIN_API_TOKEN: 'a'.repeat(32), SESSION_SECRET: 's'.repeat(64) };
    const { errors } = interpolateCompose(text, shell);
    for (const key of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']) {
      const error = errors.find((e) => e.startsWith(`required variable ${key} is missing a value: `));
      assert.ok(error, `${key}: ${JSON.stringify(errors)}`);
      assert.match(error, /Stripe test-mode/, `${key}: the message does not say a test-mode key works: ${error}`);
      assert.match(error, /NODE_ENV=production/, error);
      assert.match(error, /docs\/deploy-compose\.md/, error);
    }
    assert.deepEqual(errors.filter((e) => !/STRIPE_/.test(e)), []);
    // With the keys the interpolated file still parses and passes the schema, every app service given them.
    const given = interpolateCompose(text, { ...shell, STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' });
    assert.deepEqual(given.errors, []);
    const parsed = parse(given.text) as Obj;
    assert.deepEqual(validateComposeFile(parsed), []);
    for (const name of ['web-1', 'worker']) assert.equal(parsed.services[name].environment.STRIPE_SECRET_KEY, 'sk_test_x', name);
    const guide = readFileSync(join(ROOT, 'docs/deploy-compose.md'), 'utf8');
    const firstSteps = guide.slice(0, guide.indexOf('docker compose -f'));
    for (const key of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'test mode', 'NODE_ENV=production', 'stripe listen']) assert.ok(firstSteps.includes(key), `docs/deploy-compose.md says nothing of ${key} before the first \`docker compose\``);
  });

  it("give compose's Prometheus a configuration promtool accepts, with deploy/prometheus's rule files", (t) => {
    const config = files.find((f) => f.path === 'deploy/compose/prometheus.yml')?.content ?? '';
    const rules = ['deploy/prometheus/recording-rules.yml', 'deploy/prometheus/alert-rules.yml'].map((path) => ({ path, content: readFileSync(join(ROOT, path), 'utf8') }));
    const result = runPromtoolCheckConfig(config, rules);
    if (result.skipped) return t.skip(result.skipped);
    assert.deepEqual(result.problems, []);
  });

  it('depend only on services they define, and run the queue Redis noeviction + AOF, the cache Redis allkeys-lru', () => {
    for (const stack of [compose, swarm]) {
      const names = Object.keys(stack.services);
      for (const [name, s] of Object.entries(stack.services as Obj)) {
        const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
        for (const d of deps) assert.ok(names.includes(d), `${name} depends on unknown ${d}`);
      }
      const queue = stack.services['redis-queue'].command.join(' ');
      assert.match(queue, /--maxmemory-policy noeviction/);
      assert.match(queue, /--appendonly yes/);
      assert.match(stack.services['redis-cache'].command.join(' '), /--maxmemory-policy allkeys-lru/);
    }
  });

  it('puts several web instances behind nginx, with workers, Prometheus, Grafana and a mail catcher', () => {
    const names = Object.keys(compose.services);
    const web = names.filter((n) => n.startsWith('web-'));
    assert.equal(web.length, spec.web.composeInstances);
    for (const n of ['lb', 'worker', 'prometheus', 'grafana', 'mailpit', 'postgres', 'migrate']) assert.ok(names.includes(n), n);
    const nginx = files.find((f) => f.path === 'deploy/compose/nginx.conf')?.content ?? '';
    for (const n of web) assert.match(nginx, new RegExp(`server ${n}:${spec.web.port}`));
  });

  it('publishes the swarm web port in host mode, so the app sees the shopper\u2019s address (the ingress routing mesh replaced it with its own: one rate-limit budget for the whole shop)', () => {
    const web = swarm.services.web;
    assert.deepEqual(web.ports, [{ target: spec.web.port, published: spec.web.port, protocol: 'tcp', mode: 'host' }]);
    // A host-mode port is bound once per node: one web task per node, and an update stops a node's task before starting its successor.
    assert.equal(web.deploy.placement.max_replicas_per_node, 1);
    assert.equal(web.deploy.update_config.order, 'stop-first');
    assert.equal(web.deploy.rollback_config.order, 'stop-first');
    assert.match(getFile(files, 'deploy/swarm/stack.yml').content, /^# .*host mode/m);
  });

  it("rolls the swarm stack out with rollback (workers start-first), the seed's restart policy and resources", () => {
    const web = swarm.services.web.deploy;
    assert.equal(web.replicas, spec.web.replicas.desired);
    assert.equal(swarm.services.worker.deploy.update_config.order, 'start-first');
    assert.equal(web.update_config.failure_action, 'rollback');
    assert.deepEqual(web.restart_policy, { condition: 'on-failure', delay: '5s', max_attempts: 3, window: '120s' });
    assert.deepEqual(web.resources.limits, { cpus: '0.5', memory: '512M' });
    assert.equal(swarm.networks['salescale-network'].driver, 'overlay');
  });
});

describe('Heroku and DigitalOcean', () => {
  it('run web, worker and the migration (release phase, pre-deploy job) with the same commands', () => {
    const procfile = files.find((f) => f.path === 'Procfile')?.content ?? '';
    assert.match(procfile, new RegExp(`^web: ${getRoleArgv('web').join(' ')}$`, 'm'));
    assert.match(procfile, new RegExp(`^worker: ${getRoleArgv('worker').join(' ')}$`, 'm'));
    assert.match(procfile, new RegExp(`^release: ${getRoleArgv('migrate').join(' ')}$`, 'm'));
    const app = getObject(files, 'app.json') as Obj;
    assert.ok(app.addons.some((a: Obj) => a.plan.startsWith('heroku-postgresql')) && app.addons.some((a: Obj) => a.plan.startsWith('heroku-redis')));
    // Heroku kills 30 s after SIGTERM: the shutdown must finish before.
    assert.ok(Number(app.env.SHUTDOWN_TIMEOUT_MS.value) < 30_000);
    const doApp = getObject(files, '.do/app.yaml') as Obj;
    assert.equal(doApp.services[0].autoscaling.max_instance_count, spec.web.replicas.max);
    assert.equal(doApp.jobs[0].kind, 'PRE_DEPLOY');
    assert.deepEqual(
      doApp.databases.map((d: Obj) => d.engine),
      ['PG', 'VALKEY', 'VALKEY'],
    );
  });
});

describe('DigitalOcean App Platform and its managed PostgreSQL', () => {
  it('gives every component that binds the cluster\u2019s DATABASE_URL (sslmode=require: verified in full) the cluster\u2019s own CA as DATABASE_CA_CERT (no process reached the database)', () => {
    const doApp = getObject(files, '.do/app.yaml') as Obj;
    const components = [...doApp.services, ...doApp.workers, ...doApp.jobs] as Obj[];
    assert.deepEqual(components.map((c) => c.name), ['web', 'worker', 'migrate']);
    for (const component of components) {
      const env = Object.fromEntries((component.envs as Obj[]).map((e) => [e.key, e.value]));
      // App Platform's own bindings, not JavaScript templates.
      assert.equal(env.DATABASE_URL, '$' + '{db.DATABASE_URL}', component.name);
      assert.equal(env.DATABASE_CA_CERT, '$' + '{db.CA_CERT}', component.name);
      assert.equal(env.DATABASE_REPLICA_URL, undefined, `${component.name}: a replica is not bound (App Platform binds the cluster, not its read-only nodes)`);
      assert.ok(!['disable', 'no-verify'].includes(env.PGSSLMODE), `${component.name}: PGSSLMODE must not turn verification off`);
    }
  });
});

describe('DigitalOcean App Platform health checks', () => {
  it('route on /ready (health_check: a readiness probe, it only takes the instance out of the load balancer) and restart only on /health (liveness_health_check), never on /ready', () => {
    const web = (getObject(files, '.do/app.yaml') as Obj).services[0];
    assert.equal(web.health_check.http_path, spec.probes.readiness.path);
    assert.ok(web.liveness_health_check, 'no liveness_health_check: a wedged instance stays out of rotation for good, never restarted');
    assert.equal(web.liveness_health_check.http_path, spec.probes.liveness.path);
    assert.equal(web.liveness_health_check.port, spec.web.port);
    assert.equal(web.liveness_health_check.failure_threshold, spec.probes.liveness.failureThreshold);
    assert.ok(web.liveness_health_check.initial_delay_seconds >= spec.probes.startupSeconds, 'boot (connect, warm up) before the first liveness check');
  });
});

describe('Heroku Key-Value Store add-ons', () => {
  const plan = (name: string) => HEROKU_REDIS_PLANS.find((p) => `heroku-redis:${p.name}` === name);
  const redisAddons = (app: Obj) => Object.fromEntries((app.addons as Obj[]).filter((a) => a.plan.startsWith('heroku-redis:')).map((a) => [a.as, a.plan]));

  it('provision a queue Redis and a cache Redis, each holding its peak (≤ 60 % full) and every dyno\u2019s connections at the spec\u2019s maxima', () => {
    const addons = redisAddons(getObject(files, 'app.json') as Obj);
    assert.deepEqual(Object.keys(addons).sort(), ['CACHE_REDIS', 'REDIS'], 'one add-on per Redis: REDIS_URL (queues, noeviction) and CACHE_REDIS_URL (cache)');
    for (const need of getHerokuRedisNeeds(spec)) {
      const chosen = plan(addons[need.role === 'queue' ? 'REDIS' : 'CACHE_REDIS']);
      assert.ok(chosen, `${need.role}: a known heroku-redis plan`);
      assert.ok(need.connections <= chosen.connectionLimit, `${need.role}: ${need.connections} connections at the maxima exceed ${chosen.name}'s limit ${chosen.connectionLimit}`);
      assert.ok(need.memoryMb <= chosen.memoryMb * 0.6, `${need.role}: ${need.memoryMb.toFixed(0)} MB at peak in ${chosen.name}'s ${chosen.memoryMb} MB`);
    }
  });

  it('grow with the spec: more web dynos get a larger plan, and a spec no plan holds is refused', () => {
    const seed = redisAddons(getObject(renderHeroku(spec), 'app.json') as Obj);
    const larger = redisAddons(getObject(renderHeroku(withOverrides(spec, { web: { replicas: { min: 2, max: 80, desired: 3 }, dbPoolMax: 2 }, worker: { dbPoolMax: 2 } })), 'app.json') as Obj);
    assert.ok(HEROKU_REDIS_PLANS.indexOf(plan(larger.REDIS)!) > HEROKU_REDIS_PLANS.indexOf(plan(seed.REDIS)!), `${larger.REDIS} vs ${seed.REDIS}`);
    assert.throws(() => renderHeroku(withOverrides(spec, { web: { replicas: { min: 2, max: 100_000, desired: 3 } } })), /no Heroku Key-Value Store plan holds the queue Redis/);
  });

  it('document the cache add-on\u2019s allkeys-lru, which app.json cannot set', () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy-heroku.md'), 'utf8');
    assert.match(doc, /heroku redis:maxmemory CACHE_REDIS --policy allkeys-lru/);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on Node 24, non-root, with a health check on /health and production dependencies only', () => {
    const problems = checkDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), readFileSync(join(ROOT, '.dockerignore'), 'utf8'), {
      defaultCommand: getRoleArgv('web'),
      webPort: spec.web.port,
    });
    assert.deepEqual(problems, []);
  });
});
