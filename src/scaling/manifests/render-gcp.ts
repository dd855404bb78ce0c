// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is Terraform's own interpolation in the start-up script template, not a JavaScript template.
/**
 * Google Cloud (Terraform, hashicorp/google 6.x): web and worker instance templates on
 * Container-Optimized OS running the one image, regional managed instance groups with autohealing
 * (liveness health check), regional autoscalers (CPU target, initialization period, scale-in
 * controls, predictive OPTIMIZE_AVAILABILITY, one-off scaling schedules from the sale's plan), a
 * global external Application Load Balancer (readiness health check, connection draining, managed
 * certificate), Cloud SQL for PostgreSQL (regional HA) with a read replica, Memorystore for Redis for
 * queues (noeviction) and cache (allkeys-lru), and alert policies from the alert table (PromQL
 * conditions, Managed Service for Prometheus, fed by an OpenTelemetry Collector beside the app on each VM).
 */
import { ALERT_RULES, type AlertRule } from '../alerts/alert-rules.ts';
import { getRunbookUrl } from '../alerts/runbook-links.ts';
import { toGceScalingSchedules } from '../schedule/cloud-schedules.ts';
import { GCP_MAX_SURGE_FIXED } from './connection-budget.ts';
import { stringify } from 'yaml';
import { dirname } from 'node:path';
import { getTerminationGraceSeconds, type DeploymentSpec } from './deployment-spec.ts';
import { block, expr, type HclBlock, type HclEntry, renderHcl, template } from './hcl.ts';
import type { PrescaleSchedule } from './prescale-plan.ts';
import type { RenderedFile } from './rendered-file.ts';
import { GENERATED_HEADER } from './rendered-file.ts';
import { getAllRoleSecretNames, getRoleArgv, getRoleEnv, getRoleSecretNames, type RoleSecretName } from './role-env.ts';

export const GCP_TERRAFORM_PATH = 'deploy/gcp/main.tf';

/** Google's health-check and proxy source ranges (they must reach the instances). */
export const GCP_HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22'];

const v = (name: string) => expr(`var.${name}`);
const variable = (name: string, type: string, description: string, def?: string | number, sensitive = false): HclBlock =>
  block('variable', [name], [['type', expr(type)], ['description', description], ['default', def], ...(sensitive ? ([['sensitive', true]] as HclEntry[]) : [])]);

/** The Secret Manager secret (Terraform name) of a role secret: STRIPE_SECRET_KEY → stripe_secret_key. */
const roleSecret = (name: RoleSecretName) => name.toLowerCase();

/**
 * The OpenTelemetry Collector beside the app on each VM (Container-Optimized OS has no Ops Agent), as Google's guide to
 * the collector with Managed Service for Prometheus sets it up: the `prometheus` receiver scrapes the role's `/metrics` on
 * localhost (web: METRICS_PORT, published on 127.0.0.1 only; worker: WORKER_PORT), the `resourcedetection` processor's
 * `gcp` detector gives the project and the zone (the `location` of the prometheus_target resource), and the
 * `googlemanagedprometheus` exporter writes the series under their Prometheus names (counters keep `_total`), which the
 * alert policies' PromQL reads as in Prometheus. `job` is the scrape job; `instance` would be `localhost:<port>` on every
 * VM, so it is set to the VM's name (a unique prometheus_target). The app's `role` and `instance_id` labels, which the
 * alert table uses, come with every series. Needs roles/monitoring.metricWriter (the VMs' service account has it).
 */
export const GCP_METRICS_COLLECTOR_IMAGE = 'otel/opentelemetry-collector-contrib:0.120.0';
export const GCP_METRICS_SCRAPE_INTERVAL_S = 15;
/**
 * Where the start-up script writes the collector's configuration: under /var, stateful on Container-Optimized OS
 * (/etc and /tmp are tmpfs there, emptied by a reboot).
 */
export const GCP_METRICS_COLLECTOR_CONFIG = '/var/lib/otelcol/config.yaml';

function metricsCollectorConfig(spec: DeploymentSpec, role: 'web' | 'worker'): string {
  const port = role === 'web' ? spec.web.metricsPort : spec.worker.port;
  const config = {
    receivers: {
      prometheus: {
        config: {
          scrape_configs: [
            {
              // Not the spec's name: the job SalescaleTargetDown selects (SALESCALE_SCRAPE_JOBS) whatever the shop is called.
              job_name: `salescale-${role}`,
              scrape_interval: `${GCP_METRICS_SCRAPE_INTERVAL_S}s`,
              metrics_path: '/metrics',
              static_configs: [{ targets: [`localhost:${port}`] }],
              // Expanded by the start-up script's heredoc: the VM's name.
              relabel_configs: [{ target_label: 'instance', replacement: '$(hostname)' }],
            },
          ],
        },
      },
    },
    processors: {
      resourcedetection: { detectors: ['gcp'], timeout: '10s' },
      memory_limiter: { check_interval: '1s', limit_percentage: 65, spike_limit_percentage: 20 },
      batch: { send_batch_size: 200, send_batch_max_size: 200, timeout: '5s' },
    },
    exporters: { googlemanagedprometheus: {} },
    service: { pipelines: { metrics: { receivers: ['prometheus'], processors: ['memory_limiter', 'resourcedetection', 'batch'], exporters: ['googlemanagedprometheus'] } } },
  };
  return stringify(config, { lineWidth: 0 }).trimEnd();
}

/** The app's keep-alive on GCE: the load balancer's fixed 600 s backend keep-alive plus 20 s (Google's advice: above 600 s). */
export const GCP_BACKEND_KEEP_ALIVE_MS = 620_000;

/**
 * The start-up script: read the app secrets and the database password from Secret Manager with the
 * VM's service account (metadata-server token, REST; COS has curl), write the env file, run migrations
 * (web only; concurrent runs are safe: advisory lock) and one container of the role.
 */
function startupScript(spec: DeploymentSpec, role: 'web' | 'worker'): string {
  // The load balancer's front ends connect from the health checks' ranges (Google's docs: the same for instance groups) and append the client, then the forwarding rule's
  // address, to X-Forwarded-For: trusting both gives the app the shopper's address (else one rate-limit budget and
  // one guest waiting-room ticket for everyone behind the same front end).
  // SHOP_URL from var.domain, the certificate's host (default: the spec's web.host): an operator who sets the domain
  // gets email links and payment return URLs on it, not on the spec's host.
  // KEEP_ALIVE_TIMEOUT_MS: the global external Application Load Balancer keeps a backend connection open for a fixed
  // 600 s (not configurable; http_keep_alive_timeout_sec is the client's side): the app must keep it longer, or the
  // proxy sends a request on a connection the app has just closed and answers it 502.
  const env = {
    ...getRoleEnv(spec, role),
    SHOP_URL: 'https://${domain}',
    ...(role === 'web' ? { KEEP_ALIVE_TIMEOUT_MS: String(GCP_BACKEND_KEEP_ALIVE_MS) } : {}),
    ...(role === 'web' ? { TRUST_PROXY: [...GCP_HEALTH_CHECK_RANGES, '${lb_address}'].join(',') } : {}),
  };
  const port = spec[role].port;
  const lines = [
    '#!/bin/bash',
    'set -euo pipefail',
    // Google's APIs answer indented JSON (`"data": "…"` over several lines): spaces and newlines go before the sed.
    "TOKEN=$(curl -fsS -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token | tr -d ' \\n' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
    'secret() { curl -fsS -H "Authorization: Bearer $TOKEN" "https://secretmanager.googleapis.com/v1/projects/${project}/secrets/$1/versions/latest:access" | tr -d \' \\n\' | sed -E \'s/.*"data":"([^"]+)".*/\\1/\' | base64 -d; }',
    // Read before the heredoc: a failed read inside it would not stop the script (set -e ignores it there).
    'DB_PASSWORD=$(secret ${db_password_secret})',
    'ADMIN_API_TOKEN=$(secret ${admin_token_secret})',
    'SESSION_SECRET=$(secret ${session_secret_secret})',
    ...getRoleSecretNames(spec, role).map((name) => `${name}=$(secret \${${roleSecret(name)}_secret})`),
    // The Memorystore AUTH strings too: put in the metadata, any Compute viewer could read them.
    'QUEUE_REDIS_AUTH=$(secret ${queue_redis_auth_secret})',
    'CACHE_REDIS_AUTH=$(secret ${cache_redis_auth_secret})',
    // Into the URLs percent-encoded (RFC 3986: all but the unreserved characters, byte by byte), which pg and ioredis
    // decode: a password with @, /, : or % broke DATABASE_URL. Bash alone (COS has no jq or python); $${…} is Terraform's
    // escape of the shell's ${…}.
    "urlencode() { local LC_ALL=C s=$1 out= c i; for ((i = 0; i < $${#s}; i++)); do c=$${s:i:1}; case $c in [A-Za-z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' \"'$c\"; out+=$c ;; esac; done; printf '%s' \"$out\"; }",
    'DB_PASSWORD_URI=$(urlencode "$DB_PASSWORD")',
    'QUEUE_REDIS_AUTH_URI=$(urlencode "$QUEUE_REDIS_AUTH")',
    'CACHE_REDIS_AUTH_URI=$(urlencode "$CACHE_REDIS_AUTH")',
    'umask 077',
    'cat > /etc/salescale.env <<ENV',
    ...Object.entries(env).map(([k, value]) => `${k}=${value}`),
    'INSTANCE_ID=$(hostname)',
    `DATABASE_URL=postgres://${spec.name}:$DB_PASSWORD_URI@\${db_host}:5432/${spec.name}`,
    ...(role === 'web' ? [`DATABASE_REPLICA_URL=postgres://${spec.name}:$DB_PASSWORD_URI@\${replica_host}:5432/${spec.name}`] : []),
    'REDIS_URL=redis://:$QUEUE_REDIS_AUTH_URI@${queue_redis_host}:${queue_redis_port}',
    'CACHE_REDIS_URL=redis://:$CACHE_REDIS_AUTH_URI@${cache_redis_host}:${cache_redis_port}',
    'ADMIN_API_TOKEN=$ADMIN_API_TOKEN',
    'SESSION_SECRET=$SESSION_SECRET',
    ...getRoleSecretNames(spec, role).map((name) => `${name}=$${name}`),
    'ENV',
    ...(role === 'web' ? [`docker run --rm --env-file /etc/salescale.env \${image} ${getRoleArgv('migrate').join(' ')}`] : []),
    `docker run -d --name salescale-${role} --restart unless-stopped --stop-timeout ${getTerminationGraceSeconds(spec)} --log-driver gcplogs --env-file /etc/salescale.env -p ${port}:${port}${role === 'web' ? ` -p 127.0.0.1:${spec.web.metricsPort}:${spec.web.metricsPort}` : ''} \${image} ${getRoleArgv(role).join(' ')}`,
    // Metrics to Managed Service for Prometheus (metricsCollectorConfig): the collector scrapes the app on localhost.
    // Readable by the collector's user (10001 in the image; umask 077 above): it holds no secret. On a stateful path:
    // COS mounts /etc as tmpfs, and after a reboot Docker restarts the collector from this file while the re-run
    // script stops at the app's `docker run --name` above (the name is taken) before writing it again.
    `install -d -m 755 ${dirname(GCP_METRICS_COLLECTOR_CONFIG)}`,
    `cat > ${GCP_METRICS_COLLECTOR_CONFIG} <<OTEL`,
    metricsCollectorConfig(spec, role),
    'OTEL',
    `chmod 644 ${GCP_METRICS_COLLECTOR_CONFIG}`,
    `docker run -d --name otel-collector --restart unless-stopped --network host --log-driver gcplogs -v ${GCP_METRICS_COLLECTOR_CONFIG}:/etc/otelcol-contrib/config.yaml:ro ${GCP_METRICS_COLLECTOR_IMAGE}`,
  ];
  return `${lines.join('\n')}\n`;
}

function instanceTemplate(spec: DeploymentSpec, role: 'web' | 'worker'): HclBlock {
  const vars = {
    lb_address: expr('google_compute_global_address.web.address'),
    project: v('project'),
    domain: v('domain'),
    image: v('image'),
    db_password_secret: expr('google_secret_manager_secret.db_password.secret_id'),
    admin_token_secret: expr('google_secret_manager_secret.admin_api_token.secret_id'),
    session_secret_secret: expr('google_secret_manager_secret.session_secret.secret_id'),
    ...Object.fromEntries(getRoleSecretNames(spec, role).map((name) => [`${roleSecret(name)}_secret`, expr(`google_secret_manager_secret.${roleSecret(name)}.secret_id`)])),
    db_host: expr('google_sql_database_instance.primary.private_ip_address'),
    replica_host: expr('google_sql_database_instance.replica.private_ip_address'),
    queue_redis_host: expr('google_redis_instance.queue.host'),
    queue_redis_port: expr('google_redis_instance.queue.port'),
    queue_redis_auth_secret: expr('google_secret_manager_secret.queue_redis_auth.secret_id'),
    cache_redis_host: expr('google_redis_instance.cache.host'),
    cache_redis_port: expr('google_redis_instance.cache.port'),
    cache_redis_auth_secret: expr('google_secret_manager_secret.cache_redis_auth.secret_id'),
  };
  // The script is a Terraform template: its ${name} placeholders become interpolations; a shell ${…} is written $${…}.
  const script = Object.entries(vars).reduce((text, [name, e]) => text.replaceAll(`\${${name}}`, `\${${e.hcl}}`), startupScript(spec, role));
  return block('resource', ['google_compute_instance_template', role], [
    ['name_prefix', `${spec.name}-${role}-`],
    ['machine_type', v(role === 'web' ? 'web_machine_type' : 'worker_machine_type')],
    ['tags', [`${spec.name}-${role}`]],
    ['labels', { app: spec.name, role }],
    block('disk', [], [
      ['source_image', 'cos-cloud/cos-stable'],
      ['auto_delete', true],
      ['boot', true],
      ['disk_size_gb', 20],
    ]),
    block('network_interface', [], [
      ['network', v('network')],
      ['subnetwork', v('subnetwork')],
    ]),
    ['metadata', { 'startup-script': template(script), 'google-logging-enabled': 'true' }],
    block('service_account', [], [
      ['email', expr('google_service_account.app.email')],
      ['scopes', ['cloud-platform']],
    ]),
    block('shielded_instance_config', [], [
      ['enable_secure_boot', true],
      ['enable_integrity_monitoring', true],
    ]),
    block('lifecycle', [], [['create_before_destroy', true]]),
    // The start-up script reads these secrets' latest versions: they exist before a VM boots.
    ['depends_on', SECRET_VERSIONS.map((name) => expr(`google_secret_manager_secret_version.${name}`))],
  ]);
}

/** Secrets whose value Terraform knows (the others, the app's, are added with gcloud after the first apply). */
const SECRET_VERSIONS = ['db_password', 'queue_redis_auth', 'cache_redis_auth'] as const;

function healthCheck(spec: DeploymentSpec, name: string, probe: DeploymentSpec['probes']['readiness'], port: number): HclBlock {
  return block('resource', ['google_compute_health_check', name], [
    ['name', `${spec.name}-${name.replace(/_/g, '-')}`],
    ['check_interval_sec', probe.periodSeconds],
    ['timeout_sec', probe.timeoutSeconds],
    ['healthy_threshold', probe.successThreshold],
    ['unhealthy_threshold', probe.failureThreshold],
    block('http_health_check', [], [
      ['port', port],
      ['request_path', probe.path],
    ]),
  ]);
}

function instanceGroup(spec: DeploymentSpec, role: 'web' | 'worker'): HclBlock {
  return block('resource', ['google_compute_region_instance_group_manager', role], [
    ['name', `${spec.name}-${role}`],
    ['region', v('region')],
    ['base_instance_name', `${spec.name}-${role}`],
    block('version', [], [['instance_template', expr(`google_compute_instance_template.${role}.self_link_unique`)]]),
    ...(role === 'web' ? [block('named_port', [], [['name', 'http'], ['port', spec.web.port]])] : []),
    // Autohealing recreates a VM whose liveness check fails (not readiness: a draining VM is alive).
    block('auto_healing_policies', [], [
      ['health_check', expr(`google_compute_health_check.${role}_live.id`)],
      ['initial_delay_sec', spec.gcp.autohealingInitialDelaySeconds],
    ]),
    block('update_policy', [], [
      ['type', 'PROACTIVE'],
      ['minimal_action', 'REPLACE'],
      ['max_surge_fixed', GCP_MAX_SURGE_FIXED],
      ['max_unavailable_fixed', 0],
      ['instance_redistribution_type', 'PROACTIVE'],
    ]),
  ]);
}

function autoscaler(spec: DeploymentSpec, role: 'web' | 'worker', schedules: ReturnType<typeof toGceScalingSchedules>): HclBlock {
  const r = spec[role].replicas;
  return block('resource', ['google_compute_region_autoscaler', role], [
    ['name', `${spec.name}-${role}`],
    ['region', v('region')],
    ['target', expr(`google_compute_region_instance_group_manager.${role}.id`)],
    block('autoscaling_policy', [], [
      ['min_replicas', r.min],
      ['max_replicas', r.max],
      ['cooldown_period', spec.gcp.initializationPeriodSeconds],
      ['mode', 'ON'],
      block('cpu_utilization', [], [
        ['target', spec.web.autoscaling.cpuPercent / 100],
        // Predictive needs CPU-based history of the web tier's daily/weekly cycle; the sale itself comes from the schedules.
        ['predictive_method', role === 'web' ? spec.gcp.predictiveMethod : 'NONE'],
      ]),
      block('scale_in_control', [], [block('max_scaled_in_replicas', [], [['fixed', spec.gcp.maxScaledInReplicas]]), ['time_window_sec', spec.gcp.scaleInTimeWindowSeconds]]),
      ...Object.entries(schedules).map(([name, s]) =>
        block('scaling_schedules', [], [
          ['name', name],
          ['min_required_replicas', s.minRequiredReplicas],
          ['schedule', s.schedule],
          ['time_zone', s.timeZone ?? 'UTC'],
          ['duration_sec', s.durationSec],
          ['description', s.description],
        ]),
      ),
    ]),
  ]);
}

function redis(spec: DeploymentSpec, kind: 'queue' | 'cache'): HclBlock {
  return block('resource', ['google_redis_instance', kind], [
    ['name', `${spec.name}-${kind}`],
    ['region', v('region')],
    ['tier', 'STANDARD_HA'],
    ['memory_size_gb', spec.gcp.redisMemoryGb],
    ['redis_version', 'REDIS_7_2'],
    ['authorized_network', v('network')],
    ['connect_mode', 'PRIVATE_SERVICE_ACCESS'],
    ['auth_enabled', true],
    // BullMQ: an evicted key is a lost job, so the queue Redis never evicts.
    ['redis_configs', { 'maxmemory-policy': kind === 'queue' ? 'noeviction' : 'allkeys-lru' }],
    ['depends_on', [expr('google_service_networking_connection.private_services')]],
  ]);
}

function sqlInstance(spec: DeploymentSpec, name: 'primary' | 'replica'): HclBlock {
  const settings: HclEntry[] = [
    ['tier', v('db_tier')],
    ['availability_type', name === 'primary' ? 'REGIONAL' : 'ZONAL'],
    ['disk_type', 'PD_SSD'],
    ['disk_size', 100],
    // The pool sizing of the spec is checked against this figure (see docs/deploy-gcp.md).
    block('database_flags', [], [['name', 'max_connections'], ['value', String(spec.database.maxConnections)]]),
    block('ip_configuration', [], [['ipv4_enabled', false], ['private_network', v('network')]]),
    ...(name === 'primary' ? [block('backup_configuration', [], [['enabled', true], ['point_in_time_recovery_enabled', true]])] : []),
  ];
  return block('resource', ['google_sql_database_instance', name], [
    ['name', `${spec.name}-${name}`],
    ['region', v('region')],
    ['database_version', spec.gcp.postgresVersion],
    ...(name === 'replica' ? ([['master_instance_name', expr('google_sql_database_instance.primary.name')]] as HclEntry[]) : []),
    ['deletion_protection', true],
    block('settings', [], settings),
    ['depends_on', [expr('google_service_networking_connection.private_services')]],
  ]);
}

function alertPolicies(rules: readonly AlertRule[], runbookUrl: string): HclBlock[] {
  return rules
    .filter((r) => r.severity !== 'info')
    .map((r) =>
      block('resource', ['google_monitoring_alert_policy', r.name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()], [
        ['display_name', `${r.name} (${r.severity})`],
        ['combiner', 'OR'],
        ['severity', r.severity === 'critical' ? 'CRITICAL' : 'WARNING'],
        block('conditions', [], [
          ['display_name', r.summary],
          block('condition_prometheus_query_language', [], [
            ['query', r.expr],
            ['duration', `${r.forSeconds}s`],
            ['evaluation_interval', '60s'],
            ['alert_rule', r.name],
          ]),
        ]),
        block('documentation', [], [['content', `${r.summary}. Action: ${r.action}. Runbook: ${getRunbookUrl(r.name, runbookUrl)}`], ['mime_type', 'text/markdown']]),
        ['notification_channels', expr('google_monitoring_notification_channel.email[*].id')],
      ]),
    );
}

function secret(name: string): HclBlock[] {
  return [
    block('resource', ['google_secret_manager_secret', name], [['secret_id', `salescale-${name.replace(/_/g, '-')}`], block('replication', [], [block('auto', [], [])])]),
    block('resource', ['google_secret_manager_secret_iam_member', name], [
      ['secret_id', expr(`google_secret_manager_secret.${name}.id`)],
      ['role', 'roles/secretmanager.secretAccessor'],
      ['member', expr('google_service_account.app.member')],
    ]),
  ];
}

export function buildGcpTerraform(spec: DeploymentSpec, schedule: PrescaleSchedule, rules: readonly AlertRule[] = ALERT_RULES): HclBlock[] {
  const tz = spec.prescale.timeZone;
  const webSchedules = toGceScalingSchedules(schedule.web.windows, tz, 'web-prescale');
  const workerSchedules = toGceScalingSchedules(schedule.worker.windows, tz, 'worker-prescale');
  const drain = spec.drain.deregistrationDelaySeconds;
  return [
    block('terraform', [], [
      ['required_version', '>= 1.5'],
      block('required_providers', [], [['google', { source: 'hashicorp/google', version: '~> 6.50' }]]),
    ]),
    block('provider', ['google'], [
      ['project', v('project')],
      ['region', v('region')],
    ]),
    variable('project', 'string', 'Google Cloud project ID'),
    variable('region', 'string', 'Region of the MIGs, Cloud SQL and Memorystore', spec.gcp.region),
    variable('network', 'string', 'VPC network (self link or name) with Private Service Access and Cloud NAT for image pulls', 'default'),
    variable('subnetwork', 'string', 'Subnetwork of the instances', 'default'),
    variable('image', 'string', 'The Salescale image (one image for web, worker and migrate)', `${spec.image.repository}:${spec.image.tag}`),
    variable('web_machine_type', 'string', 'Machine type of web VMs', spec.gcp.machineType),
    variable('worker_machine_type', 'string', 'Machine type of worker VMs', spec.gcp.machineType),
    variable('db_tier', 'string', 'Cloud SQL tier', spec.gcp.dbTier),
    variable('domain', 'string', 'Host name of the managed certificate and of SHOP_URL (links in emails, payment return URLs)', spec.web.host),
    variable('alert_email', 'string', 'Where alerts are sent (empty: no channel)', ''),
    variable('db_password', 'string', 'Password of the database user (kept in Secret Manager for the VMs)', undefined, true),
    block('resource', ['google_service_account', 'app'], [
      ['account_id', `${spec.name}-app`],
      ['display_name', 'Salescale web and worker VMs'],
    ]),
    ...['logging.logWriter', 'monitoring.metricWriter'].map((role) =>
      block('resource', ['google_project_iam_member', role.replace('.', '_')], [
        ['project', v('project')],
        ['role', `roles/${role}`],
        ['member', expr('google_service_account.app.member')],
      ]),
    ),
    ...secret('db_password'),
    ...secret('admin_api_token'),
    ...secret('session_secret'),
    ...getAllRoleSecretNames(spec).flatMap((name) => secret(roleSecret(name))),
    ...secret('queue_redis_auth'),
    ...secret('cache_redis_auth'),
    block('resource', ['google_compute_global_address', 'private_services'], [
      ['name', `${spec.name}-private-services`],
      ['purpose', 'VPC_PEERING'],
      ['address_type', 'INTERNAL'],
      ['prefix_length', 16],
      ['network', v('network')],
    ]),
    block('resource', ['google_service_networking_connection', 'private_services'], [
      ['network', v('network')],
      ['service', 'servicenetworking.googleapis.com'],
      ['reserved_peering_ranges', [expr('google_compute_global_address.private_services.name')]],
    ]),
    block('resource', ['google_compute_firewall', 'health_checks'], [
      ['name', `${spec.name}-allow-health-checks`],
      ['network', v('network')],
      ['source_ranges', GCP_HEALTH_CHECK_RANGES],
      ['target_tags', [`${spec.name}-web`, `${spec.name}-worker`]],
      block('allow', [], [['protocol', 'tcp'], ['ports', [String(spec.web.port), String(spec.worker.port)]]]),
    ]),
    instanceTemplate(spec, 'web'),
    instanceTemplate(spec, 'worker'),
    healthCheck(spec, 'web_ready', spec.probes.readiness, spec.web.port),
    healthCheck(spec, 'web_live', spec.probes.liveness, spec.web.port),
    healthCheck(spec, 'worker_live', spec.probes.liveness, spec.worker.port),
    instanceGroup(spec, 'web'),
    instanceGroup(spec, 'worker'),
    autoscaler(spec, 'web', webSchedules),
    autoscaler(spec, 'worker', workerSchedules),
    block('resource', ['google_compute_global_address', 'web'], [['name', `${spec.name}-web`]]),
    block('resource', ['google_compute_backend_service', 'web'], [
      ['name', `${spec.name}-web`],
      ['protocol', 'HTTP'],
      ['port_name', 'http'],
      ['load_balancing_scheme', 'EXTERNAL_MANAGED'],
      ['timeout_sec', 30],
      // The load balancer stops new requests while /ready answers 503 during the drain delay.
      ['connection_draining_timeout_sec', drain],
      ['health_checks', [expr('google_compute_health_check.web_ready.id')]],
      block('backend', [], [
        ['group', expr('google_compute_region_instance_group_manager.web.instance_group')],
        ['balancing_mode', 'UTILIZATION'],
        ['capacity_scaler', 1],
      ]),
    ]),
    block('resource', ['google_compute_url_map', 'web'], [
      ['name', `${spec.name}-web`],
      ['default_service', expr('google_compute_backend_service.web.id')],
    ]),
    block('resource', ['google_compute_managed_ssl_certificate', 'web'], [['name', `${spec.name}-web`], block('managed', [], [['domains', [v('domain')]]])]),
    block('resource', ['google_compute_target_http_proxy', 'web'], [
      ['name', `${spec.name}-web-http`],
      ['url_map', expr('google_compute_url_map.web.id')],
    ]),
    block('resource', ['google_compute_target_https_proxy', 'web'], [
      ['name', `${spec.name}-web-https`],
      ['url_map', expr('google_compute_url_map.web.id')],
      ['ssl_certificates', [expr('google_compute_managed_ssl_certificate.web.id')]],
      // The client's side of the proxy (browser ↔ front end); its connections to the VMs stay open a fixed 600 s,
      // which the web VMs' KEEP_ALIVE_TIMEOUT_MS (GCP_BACKEND_KEEP_ALIVE_MS) exceeds.
      ['http_keep_alive_timeout_sec', 60],
    ]),
    ...(['http', 'https'] as const).map((scheme) =>
      block('resource', ['google_compute_global_forwarding_rule', `web_${scheme}`], [
        ['name', `${spec.name}-web-${scheme}`],
        ['load_balancing_scheme', 'EXTERNAL_MANAGED'],
        ['ip_address', expr('google_compute_global_address.web.id')],
        ['port_range', scheme === 'http' ? '80' : '443'],
        ['target', expr(`google_compute_target_${scheme}_proxy.web.id`)],
      ]),
    ),
    sqlInstance(spec, 'primary'),
    sqlInstance(spec, 'replica'),
    block('resource', ['google_sql_database', 'app'], [
      ['name', spec.name],
      ['instance', expr('google_sql_database_instance.primary.name')],
    ]),
    block('resource', ['google_sql_user', 'app'], [
      ['name', spec.name],
      ['instance', expr('google_sql_database_instance.primary.name')],
      ['password', v('db_password')],
    ]),
    block('resource', ['google_secret_manager_secret_version', 'db_password'], [
      ['secret', expr('google_secret_manager_secret.db_password.id')],
      ['secret_data', v('db_password')],
    ]),
    redis(spec, 'queue'),
    redis(spec, 'cache'),
    ...(['queue', 'cache'] as const).map((kind) =>
      block('resource', ['google_secret_manager_secret_version', `${kind}_redis_auth`], [
        ['secret', expr(`google_secret_manager_secret.${kind}_redis_auth.id`)],
        ['secret_data', expr(`google_redis_instance.${kind}.auth_string`)],
      ]),
    ),
    block('resource', ['google_monitoring_notification_channel', 'email'], [
      ['count', expr('var.alert_email == "" ? 0 : 1')],
      ['display_name', 'Salescale alerts'],
      ['type', 'email'],
      ['labels', { email_address: v('alert_email') }],
    ]),
    ...alertPolicies(rules, spec.alerts.runbookUrl),
    block('output', ['load_balancer_ip'], [['value', expr('google_compute_global_address.web.address')]]),
    block('output', ['database_private_ip'], [['value', expr('google_sql_database_instance.primary.private_ip_address')]]),
    block('output', ['replica_private_ip'], [['value', expr('google_sql_database_instance.replica.private_ip_address')]]),
    block('output', ['queue_redis_host'], [['value', expr('google_redis_instance.queue.host')]]),
    block('output', ['cache_redis_host'], [['value', expr('google_redis_instance.cache.host')]]),
  ];
}

export function renderGcp(spec: DeploymentSpec, schedule: PrescaleSchedule): RenderedFile[] {
  const header = `${GENERATED_HEADER}\nSalescale on Compute Engine managed instance groups behind a global Application Load Balancer.\nScaling schedules: ${schedule.label}. Guide: docs/deploy-gcp.md.`;
  return [{ path: GCP_TERRAFORM_PATH, format: 'text', content: renderHcl(buildGcpTerraform(spec, schedule), header) }];
}
