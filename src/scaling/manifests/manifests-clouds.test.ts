import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERT_RULES } from '../alerts/alert-rules.ts';
import { SEED_DEPLOYMENT_SPEC } from './deployment-spec.ts';
import { MANIFEST_TARGETS, renderTargets } from './manifests.ts';
import { getPrescaleSchedule } from './prescale-plan.ts';
import { getFile } from './validate/rendered-objects.ts';
import { parseTerraform, validateTerraform } from './validate/terraform-validate.ts';

const spec = SEED_DEPLOYMENT_SPEC;
const files = renderTargets(MANIFEST_TARGETS, spec);
const schedule = getPrescaleSchedule(spec);
const gcpText = getFile(files, 'deploy/gcp/main.tf').content;

describe('Google Cloud (deploy/gcp/main.tf)', () => {
  it('parses as HCL and matches the hashicorp/google 6.50.0 schema (names, required, types, blocks, enums, references, autoscaler limits)', async () => {
    assert.deepEqual(await validateTerraform('main.tf', gcpText), []);
  });

  it('has a regional MIG with autohealing on the liveness check and a regional autoscaler with predictive CPU, scale-in controls and the sale’s schedules', async () => {
    const tf = await parseTerraform(files);
    const mig = tf.resource.google_compute_region_instance_group_manager.web[0];
    assert.match(mig.auto_healing_policies[0].health_check, /google_compute_health_check\.web_live\.id/);
    assert.equal(mig.target_size, undefined, 'the autoscaler owns the size');
    const policy = tf.resource.google_compute_region_autoscaler.web[0].autoscaling_policy[0];
    assert.deepEqual([policy.min_replicas, policy.max_replicas, policy.cooldown_period], [spec.web.replicas.min, spec.web.replicas.max, spec.gcp.initializationPeriodSeconds]);
    assert.equal(policy.cpu_utilization[0].predictive_method, 'OPTIMIZE_AVAILABILITY');
    assert.equal(policy.scale_in_control[0].max_scaled_in_replicas[0].fixed, spec.gcp.maxScaledInReplicas);
    assert.equal(policy.scaling_schedules.length, schedule.web.windows.length);
    const first = schedule.web.windows[0];
    assert.equal(policy.scaling_schedules[0].duration_sec, (first.endMs - first.startMs) / 1000);
    assert.match(policy.scaling_schedules[0].schedule, /^\d+ \d+ \d+ \d+ \* 2027$/, 'one-off (with the year)');
  });

  it('balances on /ready with connection draining, keeps Redis for queues on noeviction, replicates Cloud SQL and sizes max_connections from the spec', async () => {
    const tf = await parseTerraform(files);
    assert.equal(tf.resource.google_compute_health_check.web_ready[0].http_health_check[0].request_path, '/ready');
    assert.equal(tf.resource.google_compute_backend_service.web[0].connection_draining_timeout_sec, spec.drain.deregistrationDelaySeconds);
    assert.equal(tf.resource.google_redis_instance.queue[0].redis_configs['maxmemory-policy'], 'noeviction');
    assert.equal(tf.resource.google_redis_instance.cache[0].redis_configs['maxmemory-policy'], 'allkeys-lru');
    const replica = tf.resource.google_sql_database_instance.replica[0];
    assert.match(replica.master_instance_name, /google_sql_database_instance\.primary\.name/);
    const flag = tf.resource.google_sql_database_instance.primary[0].settings[0].database_flags[0];
    assert.deepEqual([flag.name, flag.value], ['max_connections', String(spec.database.maxConnections)]);
    const alerts = Object.keys(tf.resource.google_monitoring_alert_policy);
    assert.equal(alerts.length, ALERT_RULES.filter((r) => r.severity !== 'info').length);
    const startup: string = tf.resource.google_compute_instance_template.web[0].metadata['startup-script'];
    assert.match(startup, /node src\/main\.ts migrate/);
    assert.match(startup, /\$\{google_sql_database_instance\.replica\.private_ip_address\}/);
  });

  const broken = async (from: string | RegExp, to: string) => {
    assert.ok(typeof from === 'string' ? gcpText.includes(from) : from.test(gcpText), `main.tf contains ${from}`);
    return validateTerraform('main.tf', gcpText.replace(from, to));
  };

  it('catches an unknown attribute, a wrong type, a missing required attribute, a bad enum, a bad schedule and an undeclared reference', async () => {
    assert.ok((await broken('cooldown_period =', 'cool_down_period =')).some((p) => /cool_down_period: unknown attribute/.test(p)));
    assert.ok((await broken(/max_replicas = \d+/, 'max_replicas = "twenty"')).some((p) => /max_replicas: expected number/.test(p)));
    assert.ok((await broken(/\n {2}base_instance_name = "salescale-web"/, '')).some((p) => /required attribute base_instance_name missing/.test(p)));
    assert.ok((await broken('predictive_method = "OPTIMIZE_AVAILABILITY"', 'predictive_method = "OPTIMISE"')).some((p) => /"OPTIMISE" is not one of/.test(p)));
    assert.ok((await broken(/duration_sec = \d+/, 'duration_sec = 120')).some((p) => /below 300/.test(p)));
    assert.ok((await broken(/schedule = "(\d+ \d+ \d+ \d+ \* 2027)"/, 'schedule = "61 25 * *"')).some((p) => /cron/.test(p)));
    assert.ok((await broken('var.db_tier', 'var.db_tire')).some((p) => /undeclared variable var\.db_tire/.test(p)));
    assert.ok((await broken('redis_configs = {', 'redis_configs = {\n')).length === 0, 'whitespace is not a problem');
    assert.ok((await broken('resource "google_compute_url_map" "web" {', 'resource "google_compute_url_map" "web" {{')).some((p) => /HCL syntax/.test(p)));
  });
});
