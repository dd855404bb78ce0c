// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is the target platform's own interpolation (CloudFormation Fn::Sub, compose variables, App Platform bindings), not a JavaScript template.
/**
 * The local full stack (docker compose): PostgreSQL, a queue Redis (noeviction, AOF) and a cache
 * Redis (allkeys-lru), `composeInstances` web instances behind nginx, workers, the migration as a
 * one-shot service every app service waits for, Prometheus (the alert table's rules), the Alertmanager they are
 * sent to (deploy/prometheus/alertmanager.yml, from `salescale alerts --alertmanager`), Grafana and a mail catcher. Also the Docker Swarm stack of the seed strategy.
 */
import { getTerminationGraceSeconds, type DeploymentSpec } from './deployment-spec.ts';
import { OTEL_COLLECTOR_PATH, renderOtelCollectorConfig } from './otel-collector.ts';
import type { RenderedFile } from './rendered-file.ts';
import { GENERATED_HEADER, toYaml } from './rendered-file.ts';
import { getRoleArgv, composeCpu, composeMemory, getPaymentSecretNames, getRoleEnv, type PaymentSecretName, type Role } from './role-env.ts';

type Obj = Record<string, unknown>;

export const COMPOSE_DIR = 'deploy/compose';
export const SWARM_DIR = 'deploy/swarm';
/** Fixed so that the web instances can trust exactly the load balancer's X-Forwarded-For. */
const COMPOSE_SUBNET = '172.28.0.0/24';
/** The host port the local stack's load balancer is published on. */
const COMPOSE_LB_PORT = 8080;
/**
 * SHOP_URL of the local stack: the address browsers use. nginx passes `Host` without the port (`$host`), so without it a
 * browser's cart change from http://localhost:8080 was refused as cross-site.
 */
export const COMPOSE_SHOP_URL = `http://localhost:${COMPOSE_LB_PORT}`;

const IMAGES = {
  postgres: 'postgres:17-alpine',
  redis: 'redis:7.4-alpine',
  nginx: 'nginx:1.27-alpine',
  prometheus: 'prom/prometheus:v3.1.0',
  alertmanager: 'prom/alertmanager:v0.28.1',
  grafana: 'grafana/grafana:11.4.0',
  mailpit: 'axllent/mailpit:v1.21',
} as const;

function resources(spec: DeploymentSpec, role: 'web' | 'worker'): Obj {
  const r = spec[role];
  return {
    limits: { cpus: composeCpu(r.limits.cpuMillicores), memory: composeMemory(r.limits.memoryMiB) },
    reservations: { cpus: composeCpu(r.requests.cpuMillicores), memory: composeMemory(r.requests.memoryMiB) },
  };
}

function redisCommand(spec: DeploymentSpec, kind: 'queue' | 'cache'): string[] {
  // BullMQ needs noeviction (an evicted job key is a lost job) and survives restarts with AOF; the
  // cache may evict anything and needs no persistence.
  return kind === 'queue'
    ? ['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory', `${spec.redis.queueMaxMemoryMb}mb`, '--maxmemory-policy', 'noeviction']
    : ['redis-server', '--save', '', '--appendonly', 'no', '--maxmemory', `${spec.redis.cacheMaxMemoryMb}mb`, '--maxmemory-policy', 'allkeys-lru'];
}

/**
 * What the local stack's `docker compose up` says when a Stripe key is missing: it runs NODE_ENV=production, which
 * refuses the test provider, so a first try needs Stripe's test-mode keys. No `}` (it would end the expression).
 */
const COMPOSE_PAYMENT_HINTS: Record<PaymentSecretName, string> = {
  STRIPE_SECRET_KEY: 'set STRIPE_SECRET_KEY, a Stripe test-mode key (sk_test_...) works; the stack runs NODE_ENV=production, which refuses the test payment provider (docs/deploy-compose.md)',
  STRIPE_WEBHOOK_SECRET: 'set STRIPE_WEBHOOK_SECRET, a Stripe test-mode signing secret (whsec_..., printed by stripe listen) works; the stack runs NODE_ENV=production, which refuses the test payment provider (docs/deploy-compose.md)',
};

/**
 * The payment provider's keys, required from the shell as SESSION_SECRET is (`docker compose` stops without them,
 * naming the variable): `local`, the compose stack's hint that test-mode keys work.
 */
function paymentSecrets(spec: DeploymentSpec, role: Role, local = false): Record<string, string> {
  return Object.fromEntries(getPaymentSecretNames(spec, role).map((name) => [name, `\${${name}:?${local ? COMPOSE_PAYMENT_HINTS[name] : `set ${name}`}}`]));
}

function composeEnv(spec: DeploymentSpec, role: Role, instanceId?: string): Record<string, string> {
  const services = {
    DATABASE_URL: `postgres://${spec.name}:${spec.name}@postgres:5432/${spec.name}`,
    ...(role === 'migrate'
      ? {}
      : {
          REDIS_URL: 'redis://redis-queue:6379',
          CACHE_REDIS_URL: 'redis://redis-cache:6379',
          SMTP_URL: 'smtp://mailpit:1025',
          ADMIN_API_TOKEN: '${ADMIN_API_TOKEN:?set ADMIN_API_TOKEN (16+ characters)}',
          SESSION_SECRET: '${SESSION_SECRET:?set SESSION_SECRET (32+ characters)}',
          ...paymentSecrets(spec, role, true),
        }),
  };
  const local: Record<string, string> = role === 'migrate' ? {} : { SHOP_URL: COMPOSE_SHOP_URL };
  return { ...getRoleEnv(spec, role), ...local, ...(role === 'web' ? { TRUST_PROXY: COMPOSE_SUBNET } : {}), ...(instanceId ? { INSTANCE_ID: instanceId } : {}), ...services };
}

function nginxConf(spec: DeploymentSpec): string {
  const servers = Array.from({ length: spec.web.composeInstances }, (_, i) => `    server web-${i + 1}:${spec.web.port} max_fails=3 fail_timeout=10s;`);
  return `# ${GENERATED_HEADER}
# Round robin over the web instances; an instance that refuses connections (stopped, restarting) is
# skipped for 10 s. Upstream keep-alive stays below the app's KEEP_ALIVE_TIMEOUT_MS.
worker_processes auto;
events { worker_connections 4096; }
http {
  upstream salescale {
    least_conn;
${servers.join('\n')}
    keepalive 64;
    keepalive_timeout 60s;
  }
  server {
    listen 80;
    client_max_body_size 1m;
    location / {
      proxy_pass http://salescale;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout;
      proxy_read_timeout 30s;
    }
  }
}
`;
}

function prometheusConf(spec: DeploymentSpec): string {
  // Web instances serve /metrics on METRICS_PORT, which nginx does not route.
  const web = Array.from({ length: spec.web.composeInstances }, (_, i) => `web-${i + 1}:${spec.web.metricsPort}`);
  return toYaml({
    global: { scrape_interval: '15s', evaluation_interval: '15s' },
    rule_files: ['/etc/prometheus/recording-rules.yml', '/etc/prometheus/alert-rules.yml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] },
    scrape_configs: [
      { job_name: 'salescale-web', static_configs: [{ targets: web }] },
      // Every worker replica answers on the same service name: one A record each.
      { job_name: 'salescale-worker', dns_sd_configs: [{ names: ['worker'], type: 'A', port: spec.worker.port, refresh_interval: '15s' }] },
    ],
  });
}

export function renderCompose(spec: DeploymentSpec): RenderedFile[] {
  // One image: the migrate service builds it, every other app service runs the same local tag.
  const built = { build: { context: '../..', dockerfile: 'Dockerfile' }, image: `${spec.name}:local` };
  const app = { image: built.image, pull_policy: 'never' };
  const grace = `${getTerminationGraceSeconds(spec)}s`;
  const healthy = { condition: 'service_healthy' };
  const appDeps = { migrate: { condition: 'service_completed_successfully' }, 'redis-queue': healthy, 'redis-cache': healthy, mailpit: { condition: 'service_started' } };
  const services: Obj = {
    postgres: {
      image: IMAGES.postgres,
      command: ['postgres', '-c', `max_connections=${spec.database.maxConnections}`],
      environment: { POSTGRES_USER: spec.name, POSTGRES_PASSWORD: spec.name, POSTGRES_DB: spec.name },
      volumes: ['postgres-data:/var/lib/postgresql/data'],
      healthcheck: { test: ['CMD', 'pg_isready', '-U', spec.name], interval: '5s', timeout: '3s', retries: 20 },
    },
    'redis-queue': {
      image: IMAGES.redis,
      command: redisCommand(spec, 'queue'),
      volumes: ['redis-queue-data:/data'],
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '5s', timeout: '3s', retries: 20 },
    },
    'redis-cache': {
      image: IMAGES.redis,
      command: redisCommand(spec, 'cache'),
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '5s', timeout: '3s', retries: 20 },
    },
    mailpit: { image: IMAGES.mailpit, ports: ['8025:8025'] },
    migrate: {
      ...built,
      command: getRoleArgv('migrate'),
      environment: composeEnv(spec, 'migrate'),
      healthcheck: { disable: true },
      restart: 'no',
      depends_on: { postgres: healthy },
    },
  };
  for (let i = 1; i <= spec.web.composeInstances; i++) {
    services[`web-${i}`] = {
      ...app,
      command: getRoleArgv('web'),
      environment: composeEnv(spec, 'web', `web-${i}`),
      depends_on: appDeps,
      stop_grace_period: grace,
      deploy: { resources: resources(spec, 'web') },
      restart: 'unless-stopped',
    };
  }
  services.worker = {
    ...app,
    command: getRoleArgv('worker'),
    environment: composeEnv(spec, 'worker'),
    depends_on: appDeps,
    stop_grace_period: grace,
    deploy: { replicas: spec.worker.replicas.desired, resources: resources(spec, 'worker') },
    restart: 'unless-stopped',
  };
  services.lb = {
    image: IMAGES.nginx,
    ports: [`${COMPOSE_LB_PORT}:80`],
    volumes: ['./nginx.conf:/etc/nginx/nginx.conf:ro'],
    depends_on: Object.fromEntries(Array.from({ length: spec.web.composeInstances }, (_, i) => [`web-${i + 1}`, { condition: 'service_healthy' }])),
  };
  services.prometheus = {
    image: IMAGES.prometheus,
    command: ['--config.file=/etc/prometheus/prometheus.yml'],
    ports: ['9090:9090'],
    volumes: [
      './prometheus.yml:/etc/prometheus/prometheus.yml:ro',
      '../prometheus/recording-rules.yml:/etc/prometheus/recording-rules.yml:ro',
      '../prometheus/alert-rules.yml:/etc/prometheus/alert-rules.yml:ro',
    ],
    depends_on: ['alertmanager'],
  };
  // Its receivers are placeholders until `salescale alerts --alertmanager … --paging-url … --chat-url …` sets them.
  services.alertmanager = {
    image: IMAGES.alertmanager,
    command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager'],
    ports: ['9093:9093'],
    volumes: ['../prometheus/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro'],
  };
  services.grafana = {
    image: IMAGES.grafana,
    ports: ['3000:3000'],
    environment: { GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' },
    volumes: [
      './grafana-datasources.yml:/etc/grafana/provisioning/datasources/salescale.yml:ro',
      './grafana-dashboards.yml:/etc/grafana/provisioning/dashboards/salescale.yml:ro',
      '../grafana/salescale-dashboard.json:/var/lib/grafana/dashboards/salescale-dashboard.json:ro',
    ],
    depends_on: ['prometheus'],
  };
  const stripUndefined = (o: Obj) => JSON.parse(JSON.stringify(o)) as Obj;
  const compose = {
    name: spec.name,
    services: stripUndefined(services),
    volumes: { 'postgres-data': {}, 'redis-queue-data': {} },
    networks: { default: { ipam: { config: [{ subnet: COMPOSE_SUBNET }] } } },
  };
  return [
    { path: `${COMPOSE_DIR}/docker-compose.yml`, format: 'compose', content: toYaml(compose) },
    { path: `${COMPOSE_DIR}/nginx.conf`, format: 'text', content: nginxConf(spec) },
    { path: `${COMPOSE_DIR}/prometheus.yml`, format: 'yaml', content: prometheusConf(spec) },
    {
      path: `${COMPOSE_DIR}/grafana-datasources.yml`,
      format: 'yaml',
      content: toYaml({ apiVersion: 1, datasources: [{ name: 'Prometheus', type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090', isDefault: true }] }),
    },
    {
      path: `${COMPOSE_DIR}/grafana-dashboards.yml`,
      format: 'yaml',
      // The dashboard itself is deploy/grafana/salescale-dashboard.json (dashboard as code, kept by the observability work).
      content: toYaml({ apiVersion: 1, providers: [{ name: 'salescale', type: 'file', options: { path: '/var/lib/grafana/dashboards' } }] }),
    },
    // Platform-neutral (no service here: tracing stays off unless asked for), rendered with the compose files.
    { path: OTEL_COLLECTOR_PATH, format: 'yaml', content: renderOtelCollectorConfig() },
  ];
}

function swarmDeploy(spec: DeploymentSpec, role: 'web' | 'worker'): Obj {
  // The seed's production stack: one task at a time, new before old, roll back on failure. The web port is
  // published in host mode (renderSwarm): bound once per node, so one web task per node, and a node's successor
  // can start only once its predecessor has let go of the port (stop-first; the proxy in front drains it on /ready).
  const order = role === 'web' ? 'stop-first' : 'start-first';
  return {
    replicas: spec[role].replicas.desired,
    ...(role === 'web' ? { placement: { max_replicas_per_node: 1 } } : {}),
    update_config: { parallelism: 1, delay: '10s', failure_action: 'rollback', monitor: '60s', order },
    rollback_config: { parallelism: 1, delay: '0s', order },
    restart_policy: { condition: 'on-failure', delay: '5s', max_attempts: 3, window: '120s' },
    resources: resources(spec, role),
  };
}

/** Said at the top of the stack file, where an operator reads it. */
const SWARM_WEB_NOTE =
  '# web publishes its port in host mode, not through the ingress routing mesh, which replaces the client address with its own ' +
  '(every shopper would share one rate-limit budget): one web task per node, each node a target of your proxy or load balancer. See docs/deploy-swarm.md.';

export function renderSwarm(spec: DeploymentSpec): RenderedFile[] {
  const image = `${spec.image.repository}:\${VERSION:-${spec.image.tag}}`;
  const grace = `${getTerminationGraceSeconds(spec)}s`;
  const secrets = {
    DATABASE_URL: '${DATABASE_URL:?set DATABASE_URL}',
    REDIS_URL: 'redis://redis-queue:6379',
    CACHE_REDIS_URL: 'redis://redis-cache:6379',
    ADMIN_API_TOKEN: '${ADMIN_API_TOKEN:?set ADMIN_API_TOKEN}',
    SESSION_SECRET: '${SESSION_SECRET:?set SESSION_SECRET}',
    ...paymentSecrets(spec, 'web'),
    // Empty, every email became a file inside the worker's container.
    SMTP_URL: '${SMTP_URL:?set SMTP_URL (smtp://user:password@host:587)}',
  };
  const networks = [`${spec.name}-network`];
  const stack = {
    version: '3.8',
    services: {
      migrate: {
        image,
        command: getRoleArgv('migrate'),
        environment: { ...getRoleEnv(spec, 'migrate'), DATABASE_URL: secrets.DATABASE_URL },
        healthcheck: { disable: true },
        // Runs once per deploy; a failed migration is retried, a finished one stays Complete.
        deploy: { replicas: 1, restart_policy: { condition: 'on-failure', delay: '5s', max_attempts: 3 } },
        networks,
      },
      web: {
        image,
        command: getRoleArgv('web'),
        // {{.Task.Slot}} names each replica in logs and metrics.
        environment: { ...getRoleEnv(spec, 'web'), INSTANCE_ID: 'web-{{.Task.Slot}}', ...secrets },
        // Host mode: the connection reaches the task from the client (or the proxy in front), so the app sees its
        // address. Through the ingress routing mesh every connection came from the mesh's own address and carried
        // no X-Forwarded-For: one rate-limit budget and one guest waiting-room ticket for the whole shop.
        ports: [{ target: spec.web.port, published: spec.web.port, protocol: 'tcp', mode: 'host' }],
        stop_grace_period: grace,
        deploy: swarmDeploy(spec, 'web'),
        networks,
      },
      worker: {
        image,
        command: getRoleArgv('worker'),
        environment: { ...getRoleEnv(spec, 'worker'), INSTANCE_ID: 'worker-{{.Task.Slot}}', ...secrets },
        stop_grace_period: grace,
        deploy: swarmDeploy(spec, 'worker'),
        networks,
      },
      'redis-queue': {
        image: IMAGES.redis,
        command: redisCommand(spec, 'queue'),
        volumes: ['redis-queue-data:/data'],
        deploy: { replicas: 1, resources: { limits: { memory: '768M' }, reservations: { memory: '512M' } }, placement: { constraints: ['node.role == manager'] } },
        networks,
      },
      'redis-cache': {
        image: IMAGES.redis,
        command: redisCommand(spec, 'cache'),
        deploy: { replicas: 1, resources: { limits: { memory: '384M' }, reservations: { memory: '256M' } } },
        networks,
      },
    },
    volumes: { 'redis-queue-data': {} },
    networks: { [`${spec.name}-network`]: { driver: 'overlay', attachable: true } },
  };
  const content = toYaml(stack).replace(/\n/, `\n${SWARM_WEB_NOTE}\n`);
  return [{ path: `${SWARM_DIR}/stack.yml`, format: 'compose', content }];
}
