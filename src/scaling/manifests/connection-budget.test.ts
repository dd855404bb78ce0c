/**
 * The PostgreSQL connection budget of every target, read from the rendered files: at a sale the autoscalers hold
 * web and worker at their maxima, a rolling update adds its surge of new instances beside the old ones, the migrate
 * job and a CLI command run, and the admin reserve must stay free. That sum must stay below the connection limit of
 * the database the target provisions (Heroku's plan, DigitalOcean's node size, the max_connections the clouds set).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { CONNECTION_HEADROOM_PERCENT, checkConnectionBudget, DO_POSTGRES_SIZES, getConnectionBudget, HEROKU_POSTGRES_PLANS } from './connection-budget.ts';
import { DeploymentSpecError, SEED_DEPLOYMENT_SPEC, withOverrides } from './deployment-spec.ts';
import { MANIFEST_TARGETS, renderTarget } from './manifests.ts';
import type { RenderedFile } from './rendered-file.ts';

const spec = SEED_DEPLOYMENT_SPEC;
const { web, worker, database } = spec;
const fixed = database.migrationConnections + 1 /* CLI */ + database.reservedConnections;

function file(files: RenderedFile[], path: string): string {
  const f = files.find((x) => x.path === path);
  assert.ok(f, `${path} rendered`);
  return f.content;
}

/** The surge of a Kubernetes rollingUpdate.maxSurge at n replicas (a percentage rounds up). */
function surgeOf(maxSurge: string | number, n: number): number {
  return typeof maxSurge === 'number' ? maxSurge : Math.ceil((n * Number.parseInt(maxSurge, 10)) / 100);
}

/** Worst case from the files: (max + surge) × pool of each role + migrate + CLI + reserved. */
function worstCase(roles: { max: number; surge: number; pool: number }[]): number {
  return roles.reduce((sum, r) => sum + (r.max + r.surge) * r.pool, 0) + fixed;
}

function envOf(list: { name?: string; key?: string; value?: string }[], key: string): number {
  const entry = list.find((e) => (e.name ?? e.key) === key);
  assert.ok(entry?.value, `${key} set`);
  return Number(entry.value);
}

describe('PostgreSQL connections at the maxima during a rolling update, every target', () => {
  it('k8s: both Deployments at their HPA/KEDA maxima plus maxSurge stay below max_connections', () => {
    const files = renderTarget('k8s', spec);
    const roles = (['web', 'worker'] as const).map((role) => {
      const d = parse(file(files, `deploy/k8s/base/${role}-deployment.yaml`));
      const container = d.spec.template.spec.containers[0];
      const max = role === 'web' ? web.replicas.max : worker.replicas.max;
      return { max, surge: surgeOf(d.spec.strategy.rollingUpdate.maxSurge, max), pool: envOf(container.env, 'DB_POOL_MAX') };
    });
    const total = worstCase(roles);
    assert.ok(total < database.maxConnections, `k8s: ${total} connections at the maxima during a rollout, max_connections ${database.maxConnections}`);
    assert.equal(getConnectionBudget(spec, 'k8s').total, total);
  });

  it('heroku: web dynos twice (Preboot), workers twice (restart overlap), below the provisioned plan\u2019s limit', () => {
    const app = JSON.parse(file(renderTarget('heroku', spec), 'app.json'));
    const addon = app.addons.find((a: { as: string }) => a.as === 'DATABASE');
    const plan = HEROKU_POSTGRES_PLANS.find((p) => `heroku-postgresql:${p.name}` === addon.plan);
    assert.ok(plan, `known plan ${addon.plan}`);
    const pool = Number(app.env.DB_POOL_MAX.value);
    const total = worstCase([
      { max: web.replicas.max, surge: web.replicas.max, pool },
      { max: worker.replicas.max, surge: worker.replicas.max, pool },
    ]);
    assert.ok(total < plan.connectionLimit, `heroku: ${total} connections at the maxima with Preboot, ${addon.plan} allows ${plan.connectionLimit}`);
  });

  it('do: both components twice during a deploy, below the node size app.yaml names', () => {
    const content = file(renderTarget('do', spec), '.do/app.yaml');
    const app = parse(content);
    const size = DO_POSTGRES_SIZES.find((s) => content.includes(`at least ${s.name} (${s.connectionLimit} connections)`));
    assert.ok(size, `app.yaml names the managed PostgreSQL node size it needs:\n${content.slice(0, 400)}`);
    const w = app.services[0];
    const total = worstCase([
      { max: w.autoscaling.max_instance_count, surge: w.autoscaling.max_instance_count, pool: envOf(w.envs, 'DB_POOL_MAX') },
      { max: worker.replicas.max, surge: worker.replicas.max, pool: envOf(app.workers[0].envs, 'DB_POOL_MAX') },
    ]);
    assert.ok(total < size.connectionLimit, `do: ${total} connections, ${size.name} allows ${size.connectionLimit}`);
  });

  it('aws, gcp: the maxima plus the rolling batch / MIG surge stay below max_connections on the primary and the replica', () => {
    const aws = file(renderTarget('aws', spec), 'deploy/aws/salescale.yaml');
    const batch = [...aws.matchAll(/MaxBatchSize: (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(batch.length, 2);
    const gcp = file(renderTarget('gcp', spec), 'deploy/gcp/main.tf');
    const surge = [...gcp.matchAll(/max_surge_fixed\s*=\s*(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(surge.length, 2);
    for (const [target, [w, k]] of [
      ['aws', batch],
      ['gcp', surge],
    ] as const) {
      const total = worstCase([
        { max: web.replicas.max, surge: w as number, pool: web.dbPoolMax },
        { max: worker.replicas.max, surge: k as number, pool: worker.dbPoolMax },
      ]);
      assert.ok(total < database.maxConnections, `${target}: ${total} of ${database.maxConnections}`);
      const b = checkConnectionBudget(spec, target);
      assert.equal(b.total, total);
      assert.ok(b.replica && b.replica.total === (web.replicas.max + (w as number)) * web.dbPoolMax + database.reservedConnections);
    }
    assert.match(aws, new RegExp(`max_connections: "${database.maxConnections}"`));
  });

  it('azure: no surge (in-place rolling upgrade), within max_connections less the 15 Azure keeps', () => {
    const arm = file(renderTarget('azure', spec), 'deploy/azure/salescale.json');
    assert.doesNotMatch(arm, /"maxSurge": true/);
    const total = worstCase([
      { max: web.replicas.max, surge: 0, pool: web.dbPoolMax },
      { max: worker.replicas.max, surge: 0, pool: worker.dbPoolMax },
    ]);
    assert.ok(total < database.maxConnections - 15);
    assert.equal(checkConnectionBudget(spec, 'azure').total, total);
  });

  it('compose and swarm: within max_connections (swarm at the maxima, workers start-first)', () => {
    const stack = file(renderTarget('swarm', spec), 'deploy/swarm/stack.yml');
    assert.match(stack, /order: start-first/);
    assert.ok(checkConnectionBudget(spec, 'swarm').total < database.maxConnections);
    const compose = parseAllDocuments(file(renderTarget('compose', spec), 'deploy/compose/docker-compose.yml'))[0]?.toJSON();
    assert.deepEqual(compose.services.postgres.command, ['postgres', '-c', `max_connections=${database.maxConnections}`]);
    assert.ok(checkConnectionBudget(spec, 'compose').total < database.maxConnections);
  });

  it('every target passes the render-time check with the seed spec', () => {
    for (const target of MANIFEST_TARGETS) assert.doesNotThrow(() => checkConnectionBudget(spec, target), target);
  });

  it('every target leaves 10 % of its limit free at the seed maxima during a rollout (terminating pods, a scale-up mid-rollout, a second CLI command are not in the sum)', () => {
    for (const target of MANIFEST_TARGETS) {
      const b = getConnectionBudget(spec, target);
      const least = Math.ceil((b.limit * CONNECTION_HEADROOM_PERCENT) / 100);
      assert.ok(b.limit - b.total >= least, `${target}: ${b.total} of ${b.limit} leaves ${b.limit - b.total} free, under ${CONNECTION_HEADROOM_PERCENT} % (${least})`);
      if (b.replica) assert.ok(b.replica.limit - b.replica.total >= Math.ceil((b.replica.limit * CONNECTION_HEADROOM_PERCENT) / 100), `${target} replica: ${b.replica.total} of ${b.replica.limit}`);
    }
  });

  it('refuses a spec that fits but leaves less than 10 % of the limit free, naming the headroom', () => {
    const tight = withOverrides(spec, { database: { maxConnections: 210 } });
    assert.throws(
      () => checkConnectionBudget(tight, 'k8s'),
      (err: unknown) => err instanceof DeploymentSpecError && /k8s: .* = 196 leaves 14 of .*\(210\) free, under the 10 % headroom \(21\)/.test(err.message),
    );
  });

  it('a spec that cannot fit is refused at render time with the sum and a fix', () => {
    const big = withOverrides(spec, { web: { replicas: { min: 2, max: 60, desired: 3 } }, database: { maxConnections: 1000 } });
    assert.throws(
      () => renderTarget('heroku', big),
      (err: unknown) => err instanceof DeploymentSpecError && /heroku: connections at the maxima during a rolling update, web \(60 \+ 60 during a rollout\) × 5/.test(err.message) && /no plan is large enough/.test(err.message),
    );
    const k8s = withOverrides(spec, { database: { maxConnections: 190 } });
    assert.throws(() => renderTarget('k8s', k8s), (err: unknown) => err instanceof DeploymentSpecError && /k8s: .* = 196, must stay below .*\(190\)/.test(err.message));
  });
});
