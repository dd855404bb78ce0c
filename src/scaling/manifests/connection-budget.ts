/**
 * PostgreSQL connections each target can open at its worst moment: a sale has taken web and worker to their
 * maxima and a rolling update runs (old and new instances overlap: Kubernetes maxSurge, Heroku Preboot, the
 * ASG's rolling update batch, the MIG's surge, Swarm's start-first, App Platform's new-before-old deploy), with
 * the migrate job, one CLI command and the admin/superuser reserve on top. Every process opens up to its role's
 * DB_POOL_MAX on the primary and, where the web role gets DATABASE_REPLICA_URL, as many again on the replica.
 * The total must stay below the connection limit of the database the target provisions (or assumes), with
 * CONNECTION_HEADROOM_PERCENT of it to spare, or the new instances of the rollout are refused (`FATAL: sorry, too
 * many clients already`) at the sale.
 */
import { DeploymentSpecError, type DeploymentSpec } from './deployment-spec.ts';

export type ConnectionTarget = 'k8s' | 'compose' | 'swarm' | 'aws' | 'gcp' | 'azure' | 'heroku' | 'do';

/** Kubernetes Deployment rollingUpdate.maxSurge of each role (render-k8s.ts). Workers roll one at a time. */
export const K8S_MAX_SURGE = { web: '25%', worker: 1 } as const;
/** AutoScalingRollingUpdate MaxBatchSize (render-aws.ts): one instance above the group's size while it is replaced. */
export const AWS_ROLLING_BATCH = 1;
/** MIG update_policy max_surge_fixed (render-gcp.ts). */
export const GCP_MAX_SURGE_FIXED = 3;
/**
 * Share of a database's connection limit the worst case must leave free, for what the sum does not count: Kubernetes
 * does not count a terminating pod toward maxSurge (old pods hold their pools for up to the grace period beside their
 * replacements), an autoscaler may scale up mid-rollout, an operator may run a second CLI command or a debug pod.
 * At 196 of 200 (k8s and gcp at the seed) any one of these was refused connections at a sale.
 */
export const CONNECTION_HEADROOM_PERCENT = 10;

/** Connections the worst case must leave free below `limit` (CONNECTION_HEADROOM_PERCENT of it, rounded up). */
export function getMinHeadroom(limit: number): number {
  return Math.ceil((limit * CONNECTION_HEADROOM_PERCENT) / 100);
}

/**
 * The most connections a worst case may add up to against `limit`: the limit less its headroom. The one rule of
 * "fits": `manifests` (checkConnectionBudget, pickDatabaseSize) and `plan` (capacity/checks.ts) both apply it, so
 * plan never calls "fits" what the generator refuses to render.
 */
export function getConnectionCeiling(limit: number): number {
  return limit - getMinHeadroom(limit);
}

/** Connections one `salescale` CLI command holds (src/platform/db/cli-connection.ts) during a sale. */
export const CLI_CONNECTIONS = 1;

/** Pods the Kubernetes Deployments add during a rolling update at these maxima (what `plan` counts). */
export function getK8sRolloutSurge(webMax: number, workerMax: number): { web: number; worker: number } {
  return { web: ceilPercent(webMax, K8S_MAX_SURGE.web), worker: ceilPercent(workerMax, K8S_MAX_SURGE.worker) };
}

/** A connection limit that can be looked up: Heroku Postgres plans and DigitalOcean node sizes. */
export interface DatabaseSize {
  name: string;
  /** Connections the app's user may open. */
  connectionLimit: number;
}

/**
 * Heroku Dev Center, "Choosing the Right Heroku Postgres Plan": connection limit per plan (standard and premium
 * share them). essential-* (20–40) is not for production.
 */
export const HEROKU_POSTGRES_PLANS: readonly DatabaseSize[] = [
  { name: 'standard-0', connectionLimit: 120 },
  { name: 'standard-2', connectionLimit: 400 },
  { name: 'standard-3', connectionLimit: 500 },
];

/**
 * DigitalOcean, "How to Manage Connection Pools": a PostgreSQL cluster provides 25 connections per GB of RAM, 3 of
 * them reserved for maintenance (a 4 GB node: 97). The node size is chosen when the cluster is created, not in app.yaml.
 */
export const DO_POSTGRES_SIZES: readonly DatabaseSize[] = [1, 2, 4, 8, 16, 32, 64].map((gb) => ({ name: `${gb} GB RAM`, connectionLimit: gb * 25 - 3 }));

/** Azure flexible server keeps 15 of max_connections for replication and monitoring (Azure docs, "Limits"). */
export const AZURE_RESERVED_CONNECTIONS = 15;

export interface RoleConnections {
  role: 'web' | 'worker';
  /** The autoscaler's maximum (or the fixed count where the platform scales by hand: its maximum too). */
  instances: number;
  /** Instances a rolling update adds on top while old and new overlap. */
  surge: number;
  poolMax: number;
  connections: number;
}

export interface ConnectionBudget {
  target: ConnectionTarget;
  /** The database the target provisions or assumes, and where its limit comes from. */
  database: string;
  /** Connections the app may open (max_connections less what the provider keeps for itself). */
  limit: number;
  roles: RoleConnections[];
  migrate: number;
  cli: number;
  reserved: number;
  /** Primary: every role + migrate + CLI + reserved. */
  total: number;
  /** The read replica, where the web role reads from one: web connections + reserved. */
  replica?: { limit: number; total: number };
}

function ceilPercent(n: number, surge: string | number): number {
  return typeof surge === 'number' ? surge : Math.ceil((n * Number.parseInt(surge, 10)) / 100);
}

function role(spec: DeploymentSpec, name: 'web' | 'worker', instances: number, surge: number, poolMax = spec[name].dbPoolMax): RoleConnections {
  return { role: name, instances, surge, poolMax, connections: (instances + surge) * poolMax };
}

/** The plan or node size to provision: the smallest whose limit holds the budget and its headroom; undefined if none does. */
export function pickDatabaseSize(sizes: readonly DatabaseSize[], need: number): DatabaseSize | undefined {
  return sizes.find((s) => need <= getConnectionCeiling(s.connectionLimit));
}

function rolesFor(spec: DeploymentSpec, target: ConnectionTarget): RoleConnections[] {
  const web = spec.web.replicas.max;
  const worker = spec.worker.replicas.max;
  switch (target) {
    case 'k8s':
      return [role(spec, 'web', web, ceilPercent(web, K8S_MAX_SURGE.web)), role(spec, 'worker', worker, ceilPercent(worker, K8S_MAX_SURGE.worker))];
    case 'compose':
      // `docker compose up` stops a container before it starts its successor.
      return [role(spec, 'web', spec.web.composeInstances, 0), role(spec, 'worker', spec.worker.replicas.desired, 0)];
    case 'swarm':
      // Scaled by hand up to the maxima; web updates stop-first, workers start-first one at a time.
      return [role(spec, 'web', web, 0), role(spec, 'worker', worker, 1)];
    case 'aws':
      return [role(spec, 'web', web, AWS_ROLLING_BATCH), role(spec, 'worker', worker, AWS_ROLLING_BATCH)];
    case 'gcp':
      return [role(spec, 'web', web, GCP_MAX_SURGE_FIXED), role(spec, 'worker', worker, GCP_MAX_SURGE_FIXED)];
    case 'azure':
      // Rolling upgrade without maxSurge: a batch is upgraded in place, nothing is added.
      return [role(spec, 'web', web, 0), role(spec, 'worker', worker, 0)];
    case 'heroku': {
      // One DB_POOL_MAX per app. Preboot starts every new web dyno before the old ones stop; other dynos restart with
      // the old ones holding their connections for up to 30 s after SIGTERM. Workers are scaled by hand, up to the max.
      const pool = Math.max(spec.web.dbPoolMax, spec.worker.dbPoolMax);
      return [role(spec, 'web', web, web, pool), role(spec, 'worker', worker, worker, pool)];
    }
    case 'do':
      // App Platform starts the new deployment's instances and stops the old ones once they are healthy.
      return [role(spec, 'web', web, web), role(spec, 'worker', worker, worker)];
  }
}

/** The worst-case connection count of a target against the database it provisions or assumes. */
export function getConnectionBudget(spec: DeploymentSpec, target: ConnectionTarget): ConnectionBudget {
  const roles = rolesFor(spec, target);
  const migrate = spec.database.migrationConnections;
  const reserved = spec.database.reservedConnections;
  const total = roles.reduce((sum, r) => sum + r.connections, 0) + migrate + CLI_CONNECTIONS + reserved;
  const webRole = roles[0] as RoleConnections;
  const max = spec.database.maxConnections;
  const base = { target, roles, migrate, cli: CLI_CONNECTIONS, reserved, total };
  switch (target) {
    case 'k8s':
    case 'swarm':
      return { ...base, database: `the PostgreSQL the cluster connects to, max_connections ${max} (assumed)`, limit: max };
    case 'compose':
      return { ...base, database: `the compose postgres service, max_connections ${max}`, limit: max };
    case 'aws':
      return { ...base, database: `RDS ${spec.aws.dbInstanceClass}, parameter group max_connections ${max}`, limit: max, replica: { limit: max, total: webRole.connections + reserved } };
    case 'gcp':
      return { ...base, database: `Cloud SQL ${spec.gcp.dbTier}, flag max_connections ${max}`, limit: max, replica: { limit: max, total: webRole.connections + reserved } };
    case 'azure': {
      const limit = max - AZURE_RESERVED_CONNECTIONS;
      return { ...base, database: `flexible server ${spec.azure.postgresSku}, max_connections ${max} less Azure's ${AZURE_RESERVED_CONNECTIONS}`, limit, replica: { limit, total: webRole.connections + reserved } };
    }
    case 'heroku': {
      const plan = pickDatabaseSize(HEROKU_POSTGRES_PLANS, total);
      const last = HEROKU_POSTGRES_PLANS.at(-1) as DatabaseSize;
      return { ...base, database: `heroku-postgresql:${(plan ?? last).name}`, limit: (plan ?? last).connectionLimit };
    }
    case 'do': {
      const size = pickDatabaseSize(DO_POSTGRES_SIZES, total);
      const last = DO_POSTGRES_SIZES.at(-1) as DatabaseSize;
      return { ...base, database: `a managed PostgreSQL node with ${(size ?? last).name}`, limit: (size ?? last).connectionLimit };
    }
  }
}

/** `web (20 + 20 overlap) × 5 + worker (10 + 10) × 5 + migrate 2 + CLI 1 + reserved 13 = 316`. */
export function formatConnectionBudget(b: ConnectionBudget): string {
  const roles = b.roles.map((r) => `${r.role} (${r.instances}${r.surge > 0 ? ` + ${r.surge} during a rollout` : ''}) × ${r.poolMax}`);
  return `${roles.join(' + ')} + migrate ${b.migrate} + CLI ${b.cli} + reserved ${b.reserved} = ${b.total}`;
}

/** Refuses a target whose worst case does not fit its database (primary or replica) with CONNECTION_HEADROOM_PERCENT to spare. */
export function checkConnectionBudget(spec: DeploymentSpec, target: ConnectionTarget): ConnectionBudget {
  const b = getConnectionBudget(spec, target);
  const problems: string[] = [];
  const fix =
    target === 'heroku' || target === 'do'
      ? 'no plan is large enough: lower replicas.max or dbPoolMax, or put a connection pooler in front'
      : 'lower replicas.max or dbPoolMax, raise database.maxConnections (within what the instance allows), or put PgBouncer in front';
  if (b.total >= b.limit) {
    problems.push(`${target}: connections at the maxima during a rolling update, ${formatConnectionBudget(b)}, must stay below ${b.database} (${b.limit}): ${fix}`);
  }
  else if (b.total > getConnectionCeiling(b.limit)) {
    problems.push(
      `${target}: connections at the maxima during a rolling update, ${formatConnectionBudget(b)} leaves ${b.limit - b.total} of ${b.database} (${b.limit}) free, under the ${CONNECTION_HEADROOM_PERCENT} % headroom (${getMinHeadroom(b.limit)}) kept for terminating pods beside their replacements, a scale-up mid-rollout or a second CLI command: ${fix}`,
    );
  }
  if (b.replica && b.replica.total > getConnectionCeiling(b.replica.limit)) {
    problems.push(`${target}: read replica connections ${b.replica.total} must leave ${CONNECTION_HEADROOM_PERCENT} % of ${b.replica.limit} free (${getMinHeadroom(b.replica.limit)})`);
  }
  if (problems.length > 0) throw new DeploymentSpecError(problems);
  return b;
}
