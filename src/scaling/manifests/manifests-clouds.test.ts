import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ALERT_RULES } from '../alerts/alert-rules.ts';
import { getRunbookUrl } from '../alerts/runbook-links.ts';
import { buildAzureAutoscaleSetting } from '../schedule/cloud-schedules.ts';
import { SEED_DEPLOYMENT_SPEC } from './deployment-spec.ts';
import { MANIFEST_TARGETS, renderTargets } from './manifests.ts';
import { getPrescaleSchedule } from './prescale-plan.ts';
import { getFile } from './validate/rendered-objects.ts';
import { validateArmTemplate } from './validate/arm-validate.ts';
import { parseTerraform, validateTerraform } from './validate/terraform-validate.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions navigate the parsed template freely; validateArmTemplate checks its shape.
type Any = any;

const spec = SEED_DEPLOYMENT_SPEC;
const files = renderTargets(MANIFEST_TARGETS, spec);
const schedule = getPrescaleSchedule(spec);
const gcpText = getFile(files, 'deploy/gcp/main.tf').content;

describe('Google Cloud (deploy/gcp/main.tf)', () => {
  it('parses as HCL and matches the hashicorp/google 6.50.0 schema (names, required, types, blocks, enums, references, autoscaler limits)', async () => {
    assert.deepEqual(await validateTerraform('main.tf', gcpText), []);
  });

  it('has the guide enable the API of every kind of resource main.tf creates (a new project has Compute Engine, Cloud SQL, Memorystore… off: apply fails)', async () => {
    // Shell lines continued with a backslash read as one.
    const guide = readFileSync(new URL('../../../docs/deploy-gcp.md', import.meta.url), 'utf8').replace(/\\\n\s*/g, ' ');
    const enabled = new Set(/gcloud services enable ([^\n]+)/.exec(guide)?.[1].split(/\s+/).filter((w) => w.endsWith('.googleapis.com')) ?? []);
    const apiOf: [RegExp, string][] = [
      [/^google_compute_/, 'compute'],
      [/^google_sql_/, 'sqladmin'],
      [/^google_redis_/, 'redis'],
      [/^google_secret_manager_/, 'secretmanager'],
      [/^google_service_networking_/, 'servicenetworking'],
      [/^google_monitoring_/, 'monitoring'],
      [/^google_service_account$/, 'iam'],
      [/^google_project_iam_/, 'cloudresourcemanager'],
    ];
    const tf = await parseTerraform(files);
    for (const type of Object.keys(tf.resource)) {
      const api = apiOf.find(([re]) => re.test(type))?.[1];
      assert.ok(api, `${type}: which API does it need?`);
      assert.ok(enabled.has(`${api}.googleapis.com`), `${type} needs ${api}.googleapis.com, which the guide does not enable`);
    }
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
    for (const rule of ALERT_RULES.filter((r) => r.severity !== 'info')) {
      const policy = Object.values(tf.resource.google_monitoring_alert_policy as Record<string, Any[]>).find((p) => p[0].display_name.startsWith(`${rule.name} (`))?.[0];
      assert.ok(policy?.documentation[0].content.endsWith(`Runbook: ${getRunbookUrl(rule.name, spec.alerts.runbookUrl)}`), `${rule.name}'s policy links its runbook section`);
    }
    const startup: string = tf.resource.google_compute_instance_template.web[0].metadata['startup-script'];
    assert.match(startup, /node src\/main\.ts migrate/);
    assert.match(startup, /\$\{google_sql_database_instance\.replica\.private_ip_address\}/);
  });

  it('reads Secret Manager\u2019s pretty-printed access response in the start-up script (else the database password and app secrets came out empty)', async () => {
    const tf = await parseTerraform(files);
    for (const role of ['web', 'worker'] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      const token = lines.find((l) => l.startsWith('TOKEN='));
      const secret = lines.find((l) => l.startsWith('secret()'));
      assert.ok(token && secret, role);
      // curl stands in for the metadata server (compact JSON) and the Secret Manager API (indented JSON, as it answers).
      const fakeCurl = [
        'curl() {',
        '  case "$*" in',
        '    *metadata.google.internal*) printf \'{"access_token":"ya29.tok","expires_in":3599,"token_type":"Bearer"}\' ;;',
        '    *"Bearer ya29.tok"*secrets/db-password/versions/latest:access*) printf \'{\\n  "name": "projects/1/secrets/db-password/versions/3",\\n  "payload": {\\n    "data": "czNjcjN0K3Bhc3M=",\\n    "dataCrc32c": "123"\\n  }\\n}\\n\' ;;',
        '    *) printf \'{"error": {"code": 403}}\' ;;',
        '  esac',
        '}',
      ];
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${var.project} is Terraform's interpolation in the rendered script.
      const script = ['set -euo pipefail', ...fakeCurl, token, secret.replaceAll('${var.project}', 'p1'), 'secret db-password'].join('\n');
      const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
      assert.equal(out, 's3cr3t+pass', role);
    }
  });

  it('keeps the Memorystore AUTH strings out of the instance metadata (readable by any Compute viewer): the VMs read them from Secret Manager', async () => {
    const tf = await parseTerraform(files);
    for (const role of ['web', 'worker'] as const) {
      const startup: string = tf.resource.google_compute_instance_template[role][0].metadata['startup-script'];
      assert.doesNotMatch(startup, /auth_string/, role);
      assert.match(startup, /REDIS_URL=redis:\/\/:\$QUEUE_REDIS_AUTH_URI@/, role);
    }
    for (const name of ['queue_redis_auth', 'cache_redis_auth']) {
      const kind = name.split('_')[0];
      assert.match(tf.resource.google_secret_manager_secret_version[name][0].secret_data, new RegExp(`google_redis_instance\\.${kind}\\.auth_string`), name);
      assert.ok(tf.resource.google_secret_manager_secret_iam_member[name], name);
    }
  });

  it('believes X-Forwarded-For from the load balancer on the web VMs: Google\u2019s front ends connect from 35.191.0.0/16 and 130.211.0.0/22 and append the client and then the forwarding rule\u2019s address', async () => {
    const tf = await parseTerraform(files);
    const startup: string = tf.resource.google_compute_instance_template.web[0].metadata['startup-script'];
    const trust = startup.split('\n').find((l) => l.startsWith('TRUST_PROXY='));
    assert.ok(trust, 'the web VMs get no TRUST_PROXY: every shopper has a Google front end\u2019s address');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation of the load balancer's address.
    assert.deepEqual(trust.slice('TRUST_PROXY='.length).split(','), ['35.191.0.0/16', '130.211.0.0/22', '${google_compute_global_address.web.address}']);
    assert.doesNotMatch(tf.resource.google_compute_instance_template.worker[0].metadata['startup-script'], /TRUST_PROXY/);
  });

  it('keeps the web VMs\u2019 idle connections open longer than the load balancer reuses them (its backend keep-alive is fixed at 600 s; http_keep_alive_timeout_sec is the client side)', async () => {
    const tf = await parseTerraform(files);
    const startup: string = tf.resource.google_compute_instance_template.web[0].metadata['startup-script'];
    const keepAliveMs = Number(/^KEEP_ALIVE_TIMEOUT_MS=(\d+)$/m.exec(startup)?.[1]);
    assert.ok(keepAliveMs > 600_000, `KEEP_ALIVE_TIMEOUT_MS ${keepAliveMs} must exceed the 600 s the proxy keeps a backend connection (else it sends on one the app closed: 502)`);
  });

  it('derives SHOP_URL of the web and worker VMs from var.domain, the host of the certificate, whose default is the spec\u2019s web.host', async () => {
    const tf = await parseTerraform(files);
    assert.equal(tf.variable.domain[0].default, spec.web.host);
    for (const role of ['web', 'worker'] as const) {
      const startup: string = tf.resource.google_compute_instance_template[role][0].metadata['startup-script'];
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation of the domain variable.
      assert.deepEqual(startup.split('\n').filter((l) => l.startsWith('SHOP_URL=')), ['SHOP_URL=https://${var.domain}'], role);
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the certificate names the same variable.
    assert.deepEqual(tf.resource.google_compute_managed_ssl_certificate.web[0].managed[0].domains, ['${var.domain}']);
  });

  it('percent-encodes the database password and the Memorystore AUTH strings it writes into DATABASE_URL, DATABASE_REPLICA_URL, REDIS_URL and CACHE_REDIS_URL (a password with @, /, : or % broke the URL)', async () => {
    const tf = await parseTerraform(files);
    const values: Record<string, string> = { db_password: 'p@ss/w:rd%41?#+ é~', queue_redis_auth: 'q/u@e:u%e', cache_redis_auth: 'c+a/c#h?e' };
    for (const role of ['web', 'worker'] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      // The script up to the end of the env file, as Terraform renders it: its interpolations given values, its escapes undone.
      const text = lines
        .slice(lines.findIndex((l) => l.startsWith('TOKEN=')), lines.indexOf('ENV') + 1)
        .join('\n')
        .replace('cat > /etc/salescale.env <<ENV', 'cat <<ENV')
        .replace(/(?<!\$)\$\{google_secret_manager_secret\.(\w+)\.secret_id\}/g, '$1')
        .replace(/(?<!\$)\$\{google_redis_instance\.\w+\.port\}/g, '6379')
        .replace(/(?<!\$)\$\{google_(?:sql_database_instance|redis_instance)\.(\w+)\.\w+\}/g, '$1-host')
        .replace(/(?<!\$)\$\{[^}]+\}/g, 'x')
        .replaceAll('$${', '${')
        .replaceAll('%%{', '%{');
      // curl stands in for the metadata server and Secret Manager (indented JSON), answering each secret from S_<secret id>.
      const fakeCurl = [
        'curl() {',
        '  case "$*" in',
        '    *metadata.google.internal*) printf \'{"access_token":"tok"}\' ;;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the fake's own shell expansions.
        '    *secrets/*) local n=$*; n=${n#*secrets/}; n=${n%%/*}; local v=S_$n; printf \'{\\n  "payload": {\\n    "data": "%s"\\n  }\\n}\\n\' "$(printf %s "${!v:-x}" | base64 -w0)" ;;',
        '  esac',
        '}',
      ];
      const env = Object.fromEntries(Object.entries(values).map(([k, v]) => [`S_${k}`, v]));
      const out = execFileSync('bash', ['-c', ['set -euo pipefail', ...fakeCurl, text].join('\n')], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
      const vars = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const expected: [string, string, string][] = [
        ['DATABASE_URL', 'primary-host', values.db_password],
        ...(role === 'web' ? ([['DATABASE_REPLICA_URL', 'replica-host', values.db_password]] as [string, string, string][]) : []),
        ['REDIS_URL', 'queue-host', values.queue_redis_auth],
        ['CACHE_REDIS_URL', 'cache-host', values.cache_redis_auth],
      ];
      for (const [name, host, password] of expected) {
        const url = new URL(vars[name]);
        assert.equal(url.hostname, host, `${role} ${name}: ${vars[name]}`);
        assert.equal(decodeURIComponent(url.password), password, `${role} ${name}: ${vars[name]}`);
      }
    }
  });

  it('sends each VM\u2019s Prometheus metrics to Managed Service for Prometheus, where the PromQL alert policies read them: an OpenTelemetry Collector beside the app scrapes it on localhost (prometheus receiver, gcp resource detection, googlemanagedprometheus exporter)', async () => {
    const tf = await parseTerraform(files);
    assert.ok(tf.resource.google_project_iam_member.monitoring_metricWriter, 'the VMs\u2019 service account may write metrics');
    assert.match(tf.resource.google_project_iam_member.monitoring_metricWriter[0].member, /google_service_account\.app\.member/);
    for (const [role, port] of [['web', spec.web.metricsPort], ['worker', spec.worker.port]] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      // The collector's configuration, as the script writes it (Terraform's escapes undone; the VM's name from hostname).
      const start = lines.findIndex((l) => /^cat > \S+\/config\.yaml <<OTEL$/.test(l));
      assert.ok(start >= 0, `${role}: the start-up script writes the collector's config.yaml`);
      const heredoc = lines.slice(start, lines.indexOf('OTEL', start) + 1).join('\n').replace(/^cat > \S+ <<OTEL/, 'cat <<OTEL').replaceAll('$${', '${').replaceAll('%%{', '%{');
      const config = parseYaml(execFileSync('bash', ['-c', ['set -euo pipefail', 'hostname() { echo salescale-vm-1; }', heredoc].join('\n')], { encoding: 'utf8' }));
      const [scrape, ...others] = config.receivers.prometheus.config.scrape_configs;
      assert.equal(others.length, 0, role);
      assert.deepEqual(scrape.static_configs, [{ targets: [`localhost:${port}`] }], `${role} scrapes its own metrics port`);
      assert.equal(scrape.metrics_path ?? '/metrics', '/metrics', role);
      assert.equal(scrape.job_name, `salescale-${role}`, role);
      // Every VM scrapes localhost:<port>: the instance label (prometheus_target's) is the VM's name instead, unique.
      assert.ok(scrape.relabel_configs.some((r: Any) => r.target_label === 'instance' && r.replacement === 'salescale-vm-1'), `${role}: instance = the VM's name`);
      assert.ok(config.processors.resourcedetection.detectors.includes('gcp'), role);
      // The collector's README: the memory limiter first in the pipeline, so it refuses data before others hold it.
      assert.equal(config.service.pipelines.metrics.processors[0], 'memory_limiter', `${role}: ${config.service.pipelines.metrics.processors}`);
      assert.ok('googlemanagedprometheus' in config.exporters, role);
      const pipeline = config.service.pipelines.metrics;
      assert.deepEqual([pipeline.receivers, pipeline.exporters], [['prometheus'], ['googlemanagedprometheus']], role);
      assert.ok(pipeline.processors.includes('resourcedetection'), role);
      // The collector runs beside the app, on the host's network (it reaches the app's port published on localhost).
      const collector = lines.find((l) => l.startsWith('docker run') && l.includes('otel/opentelemetry-collector-contrib:'));
      assert.ok(collector, `${role}: a collector container`);
      assert.match(collector, /--network host/, role);
      assert.match(collector, /--restart unless-stopped/, role);
      assert.match(collector, /-v \S+\/config\.yaml:\/etc\/otelcol-contrib\/config\.yaml:ro/, role);
      const app = lines.find((l) => l.startsWith(`docker run -d --name salescale-${role} `));
      assert.ok(app?.includes(role === 'web' ? `-p 127.0.0.1:${port}:${port}` : `-p ${port}:${port}`), `${role}: the app publishes ${port}: ${app}`);
      // No scrape token is set: /metrics answers the collector without one.
      assert.doesNotMatch(lines.join('\n'), /METRICS_TOKEN/, role);
    }
  });

  it('keeps the collector\u2019s configuration across a reboot of the VM: Container-Optimized OS mounts /etc (and /tmp) as tmpfs, so a file there is gone when Docker restarts the collector, and the re-run start-up script stops at the app\u2019s `docker run --name` (the name is taken) before writing it again', async () => {
    const tf = await parseTerraform(files);
    for (const role of ['web', 'worker'] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      const collector = lines.find((l) => l.startsWith('docker run') && l.includes('otel/opentelemetry-collector-contrib:'));
      const source = collector?.match(/-v (\S+):\/etc\/otelcol-contrib\/config\.yaml:ro/)?.[1];
      assert.ok(source, `${role}: the collector mounts its configuration: ${collector}`);
      // COS: / read-only; /etc, /tmp, /mnt/disks, /var/lib/cloud stateless (tmpfs); /var and /home stateful.
      assert.match(source, /^\/(var|home|mnt\/stateful_partition)\//, `${role}: ${source} is on a stateful path`);
      assert.doesNotMatch(source, /^\/var\/lib\/cloud\//, role);
      assert.ok(lines.includes(`cat > ${source} <<OTEL`), `${role}: the start-up script writes ${source}`);
      // The app starts before the collector's configuration is written; on a reboot that line fails (name taken).
      const app = lines.findIndex((l) => l.startsWith(`docker run -d --name salescale-${role} `));
      assert.ok(app >= 0 && app < lines.indexOf(`cat > ${source} <<OTEL`), `${role}: the order this test relies on`);
    }
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

describe('Azure (deploy/azure/salescale.json)', () => {
  const arm = JSON.parse(getFile(files, 'deploy/azure/salescale.json').content) as { resources: Record<string, Any>[] };
  const byType = (type: string) => arm.resources.filter((r) => r.type === type);

  it('matches the resource schemas extracted from the Azure SDK mappers, the API versions they were made for, its own names and the autoscale limits', () => {
    assert.deepEqual(validateArmTemplate(arm), []);
  });

  it('autoscales the web scale set with CPU rules, one fixedDate profile per sale window and predictive autoscale; the simulator runs the same setting', () => {
    const [web] = byType('Microsoft.Insights/autoscalesettings');
    const profiles = web.properties.profiles as Record<string, Any>[];
    const fixed = profiles.filter((p) => p.fixedDate);
    assert.equal(fixed.length, schedule.web.windows.length);
    assert.deepEqual(
      fixed.map((p) => Number(p.capacity.minimum)),
      schedule.web.windows.map((w) => w.replicas),
    );
    const [out, scaleIn] = profiles[0].rules;
    assert.deepEqual([out.metricTrigger.operator, out.metricTrigger.threshold, out.scaleAction.direction], ['GreaterThan', spec.web.autoscaling.cpuPercent, 'Increase']);
    assert.deepEqual([scaleIn.metricTrigger.threshold, scaleIn.scaleAction.direction], [spec.azure.scaleInCpuPercent, 'Decrease']);
    assert.equal(web.properties.predictiveAutoscalePolicy.scaleMode, spec.azure.predictiveMode);
    const setting = buildAzureAutoscaleSetting({
      min: spec.web.replicas.min,
      max: spec.web.replicas.max,
      rules: { scaleOutCpuPercent: spec.web.autoscaling.cpuPercent, scaleInCpuPercent: spec.azure.scaleInCpuPercent, scaleOutPercent: spec.azure.scaleOutPercent, scaleOutCooldown: spec.azure.scaleOutCooldown, scaleInCooldown: spec.azure.scaleInCooldown },
      windows: schedule.web.windows,
      timeZone: spec.prescale.timeZone,
    });
    assert.deepEqual(
      setting.profiles.map((p) => [p.name, p.capacity, p.fixedDate]),
      profiles.map((p) => [p.name, p.capacity, p.fixedDate]),
    );
  });

  it('has the Application Gateway probe on /ready, automatic repairs, a PostgreSQL replica, max_connections from the spec and Redis for queues on noeviction', () => {
    const [gw] = byType('Microsoft.Network/applicationGateways');
    assert.equal(gw.properties.probes[0].properties.path, '/ready');
    const [vmss] = byType('Microsoft.Compute/virtualMachineScaleSets');
    assert.equal(vmss.properties.automaticRepairsPolicy.enabled, true);
    const servers = byType('Microsoft.DBforPostgreSQL/flexibleServers');
    assert.equal(servers[1].properties.createMode, 'Replica');
    assert.equal(byType('Microsoft.DBforPostgreSQL/flexibleServers/configurations')[0].properties.value, String(spec.database.maxConnections));
    const redis = byType('Microsoft.Cache/redis').map((r) => r.properties.redisConfiguration['maxmemory-policy']);
    assert.deepEqual(redis, ['noeviction', 'allkeys-lru']);
    assert.ok(byType('Microsoft.Insights/metricAlerts').length >= 4);
  });

  it('serves the web role over HTTPS: an Application Gateway v2 listener on 443 with a Key Vault certificate, 80 redirected to it, the web scale set as backend on /ready, TRUST_PROXY = the gateway subnet (session, cart and waiting-room cookies are Secure)', () => {
    const [gw] = byType('Microsoft.Network/applicationGateways');
    assert.ok(gw, 'an Application Gateway fronts the web role');
    const props = gw.properties;
    assert.match(props.sku.tier, /^(Standard_v2|WAF_v2)$/);
    const port = (name: string) => props.frontendPorts.find((p: Any) => p.name === name)?.properties.port;
    const https = props.httpListeners.find((l: Any) => l.properties.protocol === 'Https');
    const http = props.httpListeners.find((l: Any) => l.properties.protocol === 'Http');
    assert.ok(https && http, 'an HTTPS and an HTTP listener');
    assert.equal(port(https.properties.frontendPort.id.match(/'([^']+)'\)\]$/)[1]), 443);
    assert.equal(port(http.properties.frontendPort.id.match(/'([^']+)'\)\]$/)[1]), 80);
    assert.match(props.sslCertificates[0].properties.keyVaultSecretId, /parameters\('certificateSecretId'\)/);
    assert.ok(gw.identity.type.includes('UserAssigned'), 'a user-assigned identity reads the certificate from Key Vault');
    const [redirect] = props.redirectConfigurations;
    assert.equal(redirect.properties.redirectType, 'Permanent');
    assert.match(redirect.properties.targetListener.id, new RegExp(`'${https.name}'\\)\\]$`));
    const redirectRule = props.requestRoutingRules.find((r: Any) => r.properties.httpListener.id.includes(`'${http.name}'`));
    assert.ok(redirectRule.properties.redirectConfiguration, 'port 80 redirects');
    const serveRule = props.requestRoutingRules.find((r: Any) => r.properties.httpListener.id.includes(`'${https.name}'`));
    assert.ok(serveRule.properties.backendAddressPool && serveRule.properties.backendHttpSettings, '443 serves from the pool');
    assert.equal(props.backendHttpSettingsCollection[0].properties.port, spec.web.port);
    assert.equal(props.probes[0].properties.path, spec.probes.readiness.path);
    const [web] = byType('Microsoft.Compute/virtualMachineScaleSets');
    const ipConfig = web.properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations[0].properties.ipConfigurations[0];
    assert.match(JSON.stringify(ipConfig.properties.applicationGatewayBackendAddressPools), /applicationGateways\/backendAddressPools/);
    assert.ok(!JSON.stringify(arm).includes('"frontendPort": 80,'), 'no plain-HTTP load-balancing rule to the web VMs');
    // The gateway has a dedicated subnet; the web role trusts X-Forwarded-For from it (and nothing else reaches the web port).
    const vnet = byType('Microsoft.Network/virtualNetworks')[0];
    const gatewaySubnet = props.gatewayIPConfigurations[0].properties.subnet.id.match(/'([^']+)'\)\]$/)[1];
    const prefix = vnet.properties.subnets.find((s: Any) => s.name === gatewaySubnet).properties.addressPrefix;
    assert.ok(!vnet.properties.subnets.find((s: Any) => s.name === 'app').properties.addressPrefix.includes(prefix));
    assert.match(web.properties.virtualMachineProfile.osProfile.customData, new RegExp(`TRUST_PROXY=${prefix.replace(/[./]/g, '\\$&')}\\n`));
    const nsg = byType('Microsoft.Network/networkSecurityGroups')[0];
    const webRule = nsg.properties.securityRules.find((r: Any) => r.properties.destinationPortRange === String(spec.web.port));
    assert.equal(webRule.properties.sourceAddressPrefix, prefix, 'only the gateway reaches the web port');
    const alerts = byType('Microsoft.Insights/metricAlerts').map((a: Any) => a.properties.criteria.allOf[0].metricNamespace);
    assert.ok(alerts.includes('Microsoft.Network/applicationGateways'), 'the web health alert follows the gateway');
  });

  it('streams the waiting room\u2019s Server-Sent Events through the Application Gateway as they are written: response buffering off (Microsoft, "Using Server-sent events with Application Gateway"; on by default, the gateway holds the reply), and a backend request timeout longer than the gap between frames', () => {
    const [gw] = byType('Microsoft.Network/applicationGateways');
    assert.equal(gw.properties.globalConfiguration?.enableResponseBuffering, false, 'response buffering is disabled');
    // The stream writes a frame every WAITING_ROOM_STREAM_REFRESH_MS (default 1 s, at most 60 s).
    const [web] = byType('Microsoft.Compute/virtualMachineScaleSets');
    const refreshMs = Number(/WAITING_ROOM_STREAM_REFRESH_MS=(\d+)/.exec(web.properties.virtualMachineProfile.osProfile.customData)?.[1] ?? 1000);
    assert.ok(gw.properties.backendHttpSettingsCollection[0].properties.requestTimeout * 1000 > refreshMs);
  });

  it('repairs (replaces) a VM on the liveness check /health of its own role, never on /ready (which fails on every VM at once while PostgreSQL or Redis is unreachable)', () => {
    for (const vmss of byType('Microsoft.Compute/virtualMachineScaleSets')) {
      const role = vmss.name.endsWith('worker') ? 'worker' : 'web';
      const profile = vmss.properties.virtualMachineProfile;
      // Azure takes one health source per scale set: the Application Health extension or a load balancer probe.
      assert.equal(profile.networkProfile.healthProbe, undefined, `${vmss.name}: automatic repairs follow a /ready probe`);
      const health = profile.extensionProfile?.extensions.find((e: Any) => e.properties.type === 'ApplicationHealthLinux');
      assert.deepEqual(health?.properties.settings, { protocol: 'http', port: spec[role].port, requestPath: '/health' }, vmss.name);
    }
  });

  it('has the guide generate a PostgreSQL admin password the flexible server accepts (three of: upper case, lower case, digits, other; a hex string has two)', () => {
    const guide = readFileSync(new URL('../../../docs/deploy-azure.md', import.meta.url), 'utf8');
    const value = /postgresAdminPassword="([^"\n]*)"/.exec(guide)?.[1];
    assert.ok(value, 'the guide passes postgresAdminPassword');
    const password = execFileSync('bash', ['-c', `printf %s "${value}"`], { encoding: 'utf8' });
    assert.ok(password.length >= 8 && password.length <= 128, `length 8–128 (got ${password.length})`);
    const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => c.test(password)).length;
    assert.ok(classes >= 3, `"${value}" gives ${classes} character classes, the flexible server wants 3`);
  });

  it('percent-encodes the keys and the password it writes into DATABASE_URL and the Redis URLs (an Azure Cache for Redis key is base64: a "/" in it made the path of REDIS_URL, which the app refuses)', () => {
    for (const vmss of byType('Microsoft.Compute/virtualMachineScaleSets')) {
      const customData = vmss.properties.virtualMachineProfile.osProfile.customData as string;
      const args = customData.slice(customData.lastIndexOf("\n', ") + 1);
      for (const secret of [/parameters\('postgresAdminPassword'\)/, /listKeys\(.*?\)\.primaryKey/]) {
        const hits = [...args.matchAll(new RegExp(`(uriComponent\\()?${secret.source}`, 'g'))];
        assert.ok(hits.length > 0, `${vmss.name}: ${secret.source} passed to the script`);
        for (const hit of hits) assert.ok(hit[1], `${vmss.name}: ${hit[0]} goes into a URL without uriComponent()`);
      }
    }
  });

  // ARM puts the secure parameters into the script's text: in an unquoted here-document bash would expand a `$` or a
  // backquote in them (an SMTP password with a `$`, a token with a backquote) while writing the env file.
  it('writes the secrets into /etc/salescale.env exactly as given, whatever characters they hold', () => {
    const nasty = 'a$HOME`echo b`$(echo c)\\d"e\'f';
    for (const vmss of byType('Microsoft.Compute/virtualMachineScaleSets')) {
      const customData = vmss.properties.virtualMachineProfile.osProfile.customData as string;
      const script = customData.slice(customData.indexOf("format('") + "format('".length, customData.lastIndexOf("\n', ") + 1).replaceAll("''", "'");
      const lines = script.split('\n');
      const dir = mkdtempSync(path.join(tmpdir(), 'azure-env-'));
      const envFile = path.join(dir, 'salescale.env');
      // From `umask` to the first `docker run`: the env file written, with {n} as the secret and hostname stubbed.
      const part = lines
        .slice(lines.indexOf('umask 077'), lines.findIndex((l) => l.startsWith('docker run')))
        .join('\n')
        .replaceAll('/etc/salescale.env', envFile)
        .replace(/\{(\d+)\}/g, (_, n) => (n === '0' ? 'image' : `S${n}${nasty}`));
      execFileSync('bash', ['-c', ['set -euo pipefail', 'hostname() { echo vm-1; }', part].join('\n')], { encoding: 'utf8' });
      const written = readFileSync(envFile, 'utf8');
      rmSync(dir, { recursive: true });
      const vars = Object.fromEntries(written.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.equal(vars.ADMIN_API_TOKEN, `S8${nasty}`, vmss.name);
      assert.equal(vars.SESSION_SECRET, `S9${nasty}`, vmss.name);
      assert.equal(vars.INSTANCE_ID, 'vm-1', `${vmss.name}: the instance is named by its host`);
    }
  });

  it('catches an unknown property, a read-only one, a wrong type, a bad enum, a missing required one, an undeclared parameter and autoscale limits', () => {
    const text = getFile(files, 'deploy/azure/salescale.json').content;
    const broken = (from: string, to: string) => {
      assert.ok(text.includes(from), `template contains ${from}`);
      return validateArmTemplate(JSON.parse(text.replace(from, to)));
    };
    assert.ok(broken('"automaticRepairsPolicy"', '"automaticRepairPolicy"').some((p) => /additional properties "automaticRepairPolicy"/.test(p)));
    assert.ok(broken('"orchestrationMode": "Uniform"', '"orchestrationMode": "Uniform", "provisioningState": "Succeeded"').some((p) => /provisioningState: must NOT be valid/.test(p)));
    assert.ok(broken('"enableNonSslPort": false', '"enableNonSslPort": "no"').some((p) => /enableNonSslPort: must be boolean/.test(p)));
    assert.ok(broken('"timeAggregation": "Average"', '"timeAggregation": "Mean"').some((p) => /allowed values/.test(p)));
    assert.ok(broken('"orchestrationMode": "Uniform"', '"orchestrationMode": "Uniformm"').some((p) => /"Uniformm" is not one of/.test(p)));
    assert.ok(broken('"metricName": "Percentage CPU",', '').some((p) => /required property 'metricName'/.test(p)));
    assert.ok(broken("parameters('vmSize')", "parameters('vmSku')").some((p) => /parameters\('vmSku'\) is not declared/.test(p)));
    assert.ok(broken('"cooldown": "PT5M"', '"cooldown": "PT30S"').some((p) => /PT30S outside/.test(p)));
    assert.ok(broken("'salescale-pg-replica')", "'salescale-pg-replika')").some((p) => /names no resource of the template/.test(p)));
    assert.ok(broken('"requestRoutingRules"', '"requestRoutingRule"').some((p) => /applicationGateways .*additional properties "requestRoutingRule"/.test(p)));
    // A key may be an expression (the gateway's user-assigned identity): its parameters are checked too.
    assert.ok(broken("parameters('gatewayIdentityId')", "parameters('gatewayIdentity')").some((p) => /parameters\('gatewayIdentity'\) is not declared/.test(p)));
    assert.ok(broken('"protocol": "Https"', '"protocol": "HTTPS"').some((p) => /applicationGateways .*("HTTPS" is not one of|allowed values)/.test(p)));
    assert.ok(broken('"apiVersion": "2022-10-01"', '"apiVersion": "2015-04-01"').some((p) => /differs from the schema/.test(p)));
    // A fixed date ARM would not parse is one more problem in the list, not an exception that hides the others.
    assert.ok(broken('"start": "2027-11-25T23:50:00"', '"start": "2027-11-25 23:50"').some((p) => /sale-window-1\]\.fixedDate\.start: .*not YYYY-MM-DDTHH:MM\[:SS\[\.fffffff\]\]\[Z\|±HH:MM\]/.test(p)));
  });

  it('reports a fixedDate that names no real moment (30 February, hour 25), which ARM refuses, rather than reading it as the next day', () => {
    const text = getFile(files, 'deploy/azure/salescale.json').content;
    for (const start of ['2027-02-30T23:50:00', '2027-13-01T23:50:00', '2027-11-25T25:50:00', '2027-11-25T23:61:00']) {
      const problems = validateArmTemplate(JSON.parse(text.replace('"start": "2027-11-25T23:50:00"', `"start": "${start}"`)));
      assert.ok(problems.some((p) => /sale-window-1\]\.fixedDate\.start/.test(p)), `${start}: ${problems.join('; ')}`);
    }
  });

  it('renders a valid template for a shop outside the old 12 zones, its profiles in the CLDR Windows ID (Asia/Kolkata → India Standard Time, windowsZones.xml); an unknown ID is still caught', () => {
    for (const [zone, windowsId] of [['Asia/Kolkata', 'India Standard Time'], ['Europe/Madrid', 'Romance Standard Time'], ['America/Sao_Paulo', 'E. South America Standard Time']]) {
      const local = { ...spec, prescale: { ...spec.prescale, timeZone: zone } };
      const text = getFile(renderTargets(['azure'], local), 'deploy/azure/salescale.json').content;
      const template = JSON.parse(text);
      assert.deepEqual(validateArmTemplate(template), [], zone);
      const zones = new Set(template.resources.filter((r: Any) => r.type === 'Microsoft.Insights/autoscalesettings').flatMap((r: Any) => r.properties.profiles.filter((p: Any) => p.fixedDate).map((p: Any) => p.fixedDate.timeZone)));
      assert.ok(zones.has(windowsId), `${zone}: ${[...zones].join(', ')}`);
      const broken = JSON.parse(text.replaceAll(`"timeZone": "${windowsId}"`, '"timeZone": "Mars Standard Time"'));
      assert.ok(validateArmTemplate(broken).some((p) => /unknown Windows time zone "Mars Standard Time"/.test(p)), zone);
    }
  });
});
