// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is the target platform's own interpolation (CloudFormation Fn::Sub, compose variables, App Platform bindings), not a JavaScript template.
/**
 * Heroku (Procfile + app.json, at the repository root where Heroku reads them) and DigitalOcean App
 * Platform (.do/app.yaml). Both build the repository's one Dockerfile or Node buildpack from the same
 * sources and run the same three roles.
 */
import { checkConnectionBudget, DO_POSTGRES_SIZES, formatConnectionBudget } from './connection-budget.ts';
import { DeploymentSpecError, getTerminationGraceSeconds, type DeploymentSpec } from './deployment-spec.ts';
import { getHerokuRedisNeeds, type HerokuRedisPlan, pickHerokuRedisPlan } from './heroku-redis.ts';
import type { RenderedFile } from './rendered-file.ts';
import { GENERATED_HEADER, toJson, toYaml } from './rendered-file.ts';
import { getAllRoleSecretNames, getRoleArgv, getRoleEnv, getRoleSecretNames, type RoleSecretName } from './role-env.ts';

/** What an operator is asked for at deploy time (Heroku's app.json, the DigitalOcean control panel): never a value in the files. */
const ROLE_SECRET_DESCRIPTIONS: Record<RoleSecretName, string> = {
  STRIPE_SECRET_KEY: 'Stripe API secret key (sk_live_…)',
  STRIPE_WEBHOOK_SECRET: 'Signing secret of the Stripe webhook endpoint https://<your shop>/api/v1/payments/webhooks/stripe (whsec_…)',
  SMTP_URL: 'Mail server the worker sends email through (smtp://user:password@host:587)',
};

/** Heroku stops a dyno 30 s after SIGTERM; its router stops routing to it at SIGTERM already. */
export const HEROKU_KILL_SECONDS = 30;

/** Proxies in front of a dyno that append to X-Forwarded-For: Heroku's router alone. */
export const HEROKU_ROUTER_HOPS = 1;

function herokuEnv(spec: DeploymentSpec): Record<string, string> {
  // Config vars are per app, shared by web and worker dynos: the larger pool of the two, PORT from Heroku.
  // One routed port per dyno and no Prometheus: no METRICS_PORT, so `/metrics` stays closed (set METRICS_TOKEN to scrape it).
  const { PORT: _port, METRICS_PORT: _metricsPort, ...web } = getRoleEnv(spec, 'web');
  const worker = getRoleEnv(spec, 'worker');
  return {
    ...web,
    ...worker,
    DB_POOL_MAX: String(Math.max(spec.web.dbPoolMax, spec.worker.dbPoolMax)),
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: String(Math.min(spec.drain.shutdownTimeoutSeconds, HEROKU_KILL_SECONDS - 5) * 1000),
    // Heroku Redis (6 and later) speaks only TLS, with a self-signed certificate: encrypted, not verifiable.
    REDIS_TLS_VERIFY: 'false',
    // Heroku Postgres refuses connections without TLS, its DATABASE_URL asks for none, and its certificate is not verifiable.
    PGSSLMODE: 'no-verify',
    // The router (no fixed address range) appends the address it saw to X-Forwarded-For, and a dyno is reachable only
    // through it: the client is the last entry. Unset, every shopper had the router's address (one rate-limit budget,
    // one guest waiting-room ticket for the whole shop).
    TRUST_PROXY: String(HEROKU_ROUTER_HOPS),
  };
}

/** The header in which App Platform's edge names the client it saw (the instance is reachable only through the edge). */
export const DO_CLIENT_ADDRESS_HEADER = 'do-connecting-ip';

/** App Platform routes one HTTP port and runs no Prometheus: `/metrics` stays closed (METRICS_TOKEN to scrape it). */
function withoutMetricsPort(env: Record<string, string>): Record<string, string> {
  const { METRICS_PORT: _metricsPort, ...rest } = env;
  return rest;
}

/** The heroku-redis plans of the queue and the cache add-ons: the smallest that hold the spec's peak (heroku-redis.ts). */
export function getHerokuRedisPlans(spec: DeploymentSpec): Record<'queue' | 'cache', HerokuRedisPlan> {
  const problems: string[] = [];
  const plans = Object.fromEntries(
    getHerokuRedisNeeds(spec).map((need) => {
      const plan = pickHerokuRedisPlan(need);
      if (!plan) problems.push(`no Heroku Key-Value Store plan holds the ${need.role} Redis at the spec's maxima (${need.connections} connections, ${need.memoryMb.toFixed(0)} MB at peak): lower web/worker replicas.max`);
      return [need.role, plan];
    }),
  ) as Record<'queue' | 'cache', HerokuRedisPlan>;
  if (problems.length > 0) throw new DeploymentSpecError(problems);
  return plans;
}

export function renderHeroku(spec: DeploymentSpec): RenderedFile[] {
  const redisPlans = getHerokuRedisPlans(spec);
  // The smallest Heroku Postgres plan whose connection limit holds the dynos at the maxima with Preboot's overlap
  // (connection-budget.ts); standard-0's 120 held 20 web × 5 but not the old and new dynos side by side.
  const postgres = checkConnectionBudget(spec, 'heroku').database;
  const procfile = [
    `# ${GENERATED_HEADER}`,
    `web: ${getRoleArgv('web').join(' ')}`,
    `worker: ${getRoleArgv('worker').join(' ')}`,
    `release: ${getRoleArgv('migrate').join(' ')}`,
    '',
  ].join('\n');
  const env = Object.fromEntries(Object.entries(herokuEnv(spec)).map(([key, value]) => [key, { value, required: true }]));
  const app = {
    name: spec.name,
    description: 'Salescale: a sale-ready e-commerce backend (web, worker, release: migrate). Generated by `salescale manifests --target heroku`.',
    stack: 'heroku-24',
    buildpacks: [{ url: 'heroku/nodejs' }],
    env: {
      ...env,
      // The spec's host by default: change it here to the app's own address unless that custom domain is added.
      SHOP_URL: { ...env.SHOP_URL, description: 'The shop\'s address as browsers see it, linked from emails: your custom domain, else https://<app name>.herokuapp.com' },
      ADMIN_API_TOKEN: { description: 'Bearer token of the admin API', generator: 'secret' },
      SESSION_SECRET: { description: 'Signs session cookies', generator: 'secret' },
      // Config vars are shared by web and worker dynos (both call the payment provider, the worker sends email).
      // Heroku asks for them at app creation.
      ...Object.fromEntries(getAllRoleSecretNames(spec).map((name) => [name, { description: ROLE_SECRET_DESCRIPTIONS[name], required: true }])),
    },
    formation: {
      // Heroku autoscaling (Performance dynos, web only) is set in the dashboard: see docs/deploy-heroku.md.
      web: { quantity: spec.web.replicas.desired, size: 'performance-m' },
      worker: { quantity: spec.worker.replicas.desired, size: 'standard-2x' },
    },
    // Two Redis, as on every other platform: REDIS_URL for queues, sessions, rate limits and the stock gate
    // (heroku-redis's default noeviction, which BullMQ needs: the worker refuses any other), CACHE_REDIS_URL for the
    // cache, which app.json cannot set to allkeys-lru: `heroku redis:maxmemory CACHE_REDIS --policy allkeys-lru`
    // after the first deploy (docs/deploy-heroku.md). Plans sized from the spec's maxima (heroku-redis.ts).
    addons: [
      { plan: postgres, as: 'DATABASE' },
      { plan: `heroku-redis:${redisPlans.queue.name}`, as: 'REDIS' },
      { plan: `heroku-redis:${redisPlans.cache.name}`, as: 'CACHE_REDIS' },
    ],
  };
  return [
    { path: 'Procfile', format: 'text', content: procfile },
    { path: 'app.json', format: 'json', content: toJson(app) },
  ];
}

export function renderDigitalOcean(spec: DeploymentSpec): RenderedFile[] {
  const github = { repo: 'your-org/salescale', branch: 'main', deploy_on_push: true };
  const envs = (vars: Record<string, string>) => Object.entries(vars).map(([key, value]) => ({ key, value, scope: 'RUN_TIME' }));
  // The cluster's DATABASE_URL says sslmode=require, which pg verifies in full, and its certificate is signed by
  // DigitalOcean's own CA, which Node does not trust: without the CA (bound as a value) no process reached it.
  const database = [
    { key: 'DATABASE_URL', value: '${db.DATABASE_URL}', scope: 'RUN_TIME' },
    { key: 'DATABASE_CA_CERT', value: '${db.CA_CERT}', scope: 'RUN_TIME' },
  ];
  const secrets = [
    ...database,
    { key: 'REDIS_URL', value: '${queue.DATABASE_URL}', scope: 'RUN_TIME' },
    { key: 'CACHE_REDIS_URL', value: '${cache.DATABASE_URL}', scope: 'RUN_TIME' },
    { key: 'ADMIN_API_TOKEN', type: 'SECRET', scope: 'RUN_TIME' },
    { key: 'SESSION_SECRET', type: 'SECRET', scope: 'RUN_TIME' },
  ];
  // The payment provider's keys (web and worker), the mail server (worker).
  const roleSecrets = (role: 'web' | 'worker') => getRoleSecretNames(spec, role).map((key) => ({ key, type: 'SECRET', scope: 'RUN_TIME' }));
  // App Platform names the client in its own DO-Connecting-IP header; where its X-Forwarded-For puts the client is not
  // documented, so no TRUST_PROXY. Without CLIENT_ADDRESS_HEADER every shopper had the edge's address (one rate-limit
  // budget, one guest waiting-room ticket for the whole shop).
  const clientAddress = { CLIENT_ADDRESS_HEADER: DO_CLIENT_ADDRESS_HEADER };
  // App Platform's drain_seconds keeps the instance out of the load balancer before SIGTERM, so the
  // process needs no drain delay of its own.
  const noDrain = { SHUTDOWN_DRAIN_DELAY_MS: '0' };
  const r = spec.probes.readiness;
  const l = spec.probes.liveness;
  const app = {
    name: spec.name,
    region: 'nyc',
    // SHOP_URL's host (web.host): the address emails link to and browsers use. Its DNS must point at the app.
    domains: [{ domain: spec.web.host, type: 'PRIMARY' }],
    services: [
      {
        name: 'web',
        github,
        dockerfile_path: 'Dockerfile',
        run_command: getRoleArgv('web').join(' '),
        http_port: spec.web.port,
        // Autoscaling needs dedicated instance sizes.
        instance_size_slug: 'apps-d-1vcpu-1gb',
        autoscaling: { min_instance_count: spec.web.replicas.min, max_instance_count: spec.web.replicas.max, metrics: { cpu: { percent: spec.web.autoscaling.cpuPercent } } },
        // App Platform's health_check is a readiness probe: failing, the instance only leaves the load balancer. So it
        // is /ready, which fails on every instance at once while PostgreSQL or Redis is away. Restarts come from
        // liveness_health_check alone, on /health (the process answers), as the other platforms' liveness checks.
        health_check: {
          http_path: r.path,
          port: spec.web.port,
          initial_delay_seconds: 10,
          period_seconds: r.periodSeconds,
          timeout_seconds: r.timeoutSeconds,
          success_threshold: r.successThreshold,
          failure_threshold: r.failureThreshold,
        },
        liveness_health_check: {
          http_path: l.path,
          port: spec.web.port,
          initial_delay_seconds: spec.probes.startupSeconds,
          period_seconds: l.periodSeconds,
          timeout_seconds: l.timeoutSeconds,
          success_threshold: l.successThreshold,
          failure_threshold: l.failureThreshold,
        },
        termination: { drain_seconds: spec.drain.drainDelaySeconds, grace_period_seconds: getTerminationGraceSeconds(spec) },
        envs: [...envs({ ...withoutMetricsPort(getRoleEnv(spec, 'web')), ...noDrain, ...clientAddress }), ...secrets, ...roleSecrets('web')],
      },
    ],
    workers: [
      {
        name: 'worker',
        github,
        dockerfile_path: 'Dockerfile',
        run_command: getRoleArgv('worker').join(' '),
        instance_size_slug: 'apps-d-1vcpu-1gb',
        instance_count: spec.worker.replicas.desired,
        termination: { grace_period_seconds: getTerminationGraceSeconds(spec) },
        envs: [...envs({ ...getRoleEnv(spec, 'worker'), ...noDrain }), ...secrets, ...roleSecrets('worker')],
      },
    ],
    jobs: [
      {
        name: 'migrate',
        kind: 'PRE_DEPLOY',
        github,
        dockerfile_path: 'Dockerfile',
        run_command: getRoleArgv('migrate').join(' '),
        instance_size_slug: 'apps-s-1vcpu-0.5gb',
        instance_count: 1,
        envs: [...envs(getRoleEnv(spec, 'migrate')), ...database],
      },
    ],
    // Managed clusters created beforehand (production: true); the queue cluster must use noeviction.
    databases: [
      { name: 'db', engine: 'PG', version: spec.aws.postgresVersion, production: true, cluster_name: `${spec.name}-db` },
      { name: 'queue', engine: 'VALKEY', production: true, cluster_name: `${spec.name}-queue` },
      { name: 'cache', engine: 'VALKEY', production: true, cluster_name: `${spec.name}-cache` },
    ],
  };
  // app.yaml names an existing cluster and cannot size it: say which node size the deployment needs.
  const budget = checkConnectionBudget(spec, 'do');
  const size = DO_POSTGRES_SIZES.find((s) => s.connectionLimit === budget.limit);
  const note = `# The db cluster needs a node with at least ${size?.name} (${budget.limit} connections): ${formatConnectionBudget(budget)} (docs/deploy-do.md).\n`;
  return [{ path: '.do/app.yaml', format: 'yaml', content: toYaml(app).replace('\n', `\n${note}`) }];
}
