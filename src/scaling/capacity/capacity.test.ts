import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { forecastHourly } from '../forecast/forecast.ts';
import { getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers } from '../schedule/schedule.ts';
import { parseBenchCapacity } from './bench-capacity.ts';
import { loadCapacityCheckConfig } from '../../platform/config/config.ts';
import { type CheckOptions, DEFAULT_CHECK_ASSUMPTIONS, checkDbConnections, checkRateLimits, checkRedisMemory } from './checks.ts';
import { DEFAULT_WORKER_PLAN, getQueueReplicas, getQueueWorkloads, planCapacity } from './plan.ts';
import { DEFAULT_CONCURRENCY, QUEUE_NAMES, type QueueName } from '../../platform/queue/queue-definitions.ts';
import { checkConnectionBudget, getK8sRolloutSurge } from '../manifests/connection-budget.ts';
import { SEED_DEPLOYMENT_SPEC, withOverrides } from '../manifests/deployment-spec.ts';

const web = { capacityPerInstanceRps: 150, sloP95Ms: 500, targetUtilization: 0.7, minReplicas: 2, maxReplicas: 20 };

describe('capacity plan', () => {
  it('sizes web replicas at the target utilization of the service rate', () => {
    const plan = planCapacity([{ hour: '2026-11-27T19:00:00.000Z', baseRequestsPerSecond: 180, eventMultiplier: 10, meanRequestsPerSecond: 1800, peakRequestsPerSecond: 1800, requestsInHour: 0 }], web);
    // μ = 150 + ln 20 / 0.5 = 155.99; 1800 / (0.7 × 155.99) = 16.48 → 17.
    assert.equal(plan.hours[0].webReplicas, 17);
  });
  it('sizes each queue by Little\'s law: rate × time ÷ (concurrency × utilization)', () => {
    // 30 jobs/s × 0.5 s = 15 busy slots; / (10 × 0.7) = 2.14 → 3.
    assert.equal(getQueueReplicas(30, { jobsPerOrder: 1, jobSeconds: 0.5, concurrency: 10 }, 0.7), 3);
  });
  it('gives the sale\'s peak enough workers to drain every queue at the concurrency and job time the worker runs it with', () => {
    // The seed's Black Friday peak (180 req/s × 10) at 0.002 orders per request: 3.6 orders/s.
    const plan = planCapacity([{ hour: '2026-11-27T19:00:00.000Z', baseRequestsPerSecond: 180, eventMultiplier: 10, meanRequestsPerSecond: 1800, peakRequestsPerSecond: 1800, requestsInHour: 0 }], web);
    const orders = 1800 * 0.002;
    // The worker's concurrency (DEFAULT_CONCURRENCY; email at most DB_POOL_MAX 5 − 2 sends at once) and the
    // jobs of an order: expire-order + order-paid, one update-stock, one confirmation email (2 s of SMTP), one analytics event.
    const deployed: Record<QueueName, { jobs: number; seconds: number; concurrency: number }> = {
      email: { jobs: 1, seconds: 2, concurrency: Math.min(DEFAULT_CONCURRENCY.email, 5 - 2) },
      order: { jobs: 2, seconds: 0.5, concurrency: DEFAULT_CONCURRENCY.order },
      inventory: { jobs: 1, seconds: 0.5, concurrency: DEFAULT_CONCURRENCY.inventory },
      notifications: { jobs: 1, seconds: 0.5, concurrency: DEFAULT_CONCURRENCY.notifications },
    };
    const replicas = plan.hours[0].workerReplicas;
    for (const q of QUEUE_NAMES) {
      const d = deployed[q];
      const drained = replicas * (d.concurrency / d.seconds) * 0.7;
      assert.ok(drained >= orders * d.jobs, `${q}: ${replicas} workers drain ${drained} jobs/s at 70 % of their slots, the peak brings ${orders * d.jobs}`);
    }
    // 3.6 emails/s × 2 s = 7.2 busy sends over 3 per worker at 70 % = 3.43 → 4 workers; ten at once would say 1.
    assert.equal(replicas, 4);
    assert.equal(plan.hours[0].bottleneckQueue, 'email');
  });
  it('follows WORKER_CONCURRENCY: a queue run with fewer jobs at once needs more workers', () => {
    const peak = [{ hour: '2026-11-27T19:00:00.000Z', baseRequestsPerSecond: 180, eventMultiplier: 10, meanRequestsPerSecond: 1800, peakRequestsPerSecond: 1800, requestsInHour: 0 }];
    const atConcurrency = (env: Record<string, string>) => {
      // DB_POOL_MAX 5: the worker's pool as the deployment spec runs it.
      const app = loadCapacityCheckConfig({ DB_POOL_MAX: '5', ...env });
      return planCapacity(peak, web, { ...DEFAULT_WORKER_PLAN, maxReplicas: 50, queues: getQueueWorkloads(app.workerConcurrency, app.dbPoolMax) }).hours[0];
    };
    assert.equal(atConcurrency({}).workerReplicas, 4);
    // inventory=1: 3.6 jobs/s × 0.5 s / 0.7 = 2.57 → 3, still under email's 4; notifications=1 the same.
    assert.equal(atConcurrency({ WORKER_CONCURRENCY: 'inventory=1' }).workerReplicas, 4);
    // order=1: 7.2 jobs/s × 0.5 s / 0.7 = 5.14 → 6.
    assert.deepEqual([atConcurrency({ WORKER_CONCURRENCY: 'order=1' }).workerReplicas, atConcurrency({ WORKER_CONCURRENCY: 'order=1' }).bottleneckQueue], [6, 'order']);
    // email=20 is still capped by the pool (DB_POOL_MAX 5 → 3 sends); with DB_POOL_MAX 22 it runs 20 (7.2 / 14 → 1)
    // and order's 7.2 jobs/s × 0.5 s / (5 × 0.7) = 1.03 → 2 is what is left.
    assert.equal(atConcurrency({ WORKER_CONCURRENCY: 'email=20' }).workerReplicas, 4);
    assert.deepEqual([atConcurrency({ WORKER_CONCURRENCY: 'email=20', DB_POOL_MAX: '22' }).workerReplicas, atConcurrency({ WORKER_CONCURRENCY: 'email=20', DB_POOL_MAX: '22' }).bottleneckQueue], [2, 'order']);
  });
  it('rejects a negative capacity with NEGATIVE_CAPACITY', () => {
    assert.throws(() => planCapacity([], { ...web, capacityPerInstanceRps: -5 }), { code: 'NEGATIVE_CAPACITY' });
    assert.throws(() => parseBenchCapacity({ requestsPerSecondPerInstance: -1, measuredAt: '2026-11-20T10:00:00Z' }), { code: 'NEGATIVE_CAPACITY' });
  });
  it('refuses a measured capacity above the --capacity bound (1e308 req/s made simulate\'s ready capacity Infinity, null in --json)', () => {
    assert.throws(() => parseBenchCapacity({ requestsPerSecondPerInstance: 1e308, measuredAt: '2026-11-20T10:00:00Z' }, 'pod.json'), {
      code: 'MALFORMED_FILE',
      message: 'pod.json: requestsPerSecondPerInstance 1e+308 is too large (at most 1e+12)',
    });
    assert.equal(parseBenchCapacity({ requestsPerSecondPerInstance: 1e12, measuredAt: '2026-11-20T10:00:00Z' }).requestsPerSecondPerInstance, 1e12);
  });
});

describe('consistency checks', () => {
  // The app's settings with its own defaults (no variable set), the deployment spec's database.
  const app = loadCapacityCheckConfig({});
  const seed: CheckOptions = {
    ...DEFAULT_CHECK_ASSUMPTIONS,
    ...app,
    dbPoolMaxSource: "DB_POOL_MAX unset: the app's default",
    redisMaxMemory: { mb: 256, source: 'assumed' },
    redisMaxClients: { limit: 10_000, source: "Redis's default" },
    workerQueues: 4,
    maxWebReplicas: 20,
    maxWorkerReplicas: 10,
    peakRps: 1800,
    maxConnections: 200,
    reservedConnections: 13,
    migrationConnections: 2,
  };

  it('flags 20 web + 10 workers × the app\'s default pool of 10 against max_connections 200, with a DB_POOL_MAX that fits', () => {
    const f = checkDbConnections(seed);
    assert.equal(app.dbPoolMax, 10);
    assert.equal(f.level, 'error');
    assert.match(f.message, /× pool max 10 \(DB_POOL_MAX unset: the app's default\) = 300 connections vs max_connections 200 \(164 usable after the 10 % headroom \(20\), 13 reserved, 2 for a running migration and 1 for a CLI command\)/);
    // 164 / 30 = 5.5 → 5.
    assert.match(f.fix ?? '', /set DB_POOL_MAX to 5 /);
    assert.match(f.fix ?? '', /PgBouncer/);
  });
  it('counts each role at its own pool when they differ (20 web × 5 + 10 workers × 8 = 180 of 164)', () => {
    const f = checkDbConnections({ ...seed, dbPoolMax: 5, workerDbPoolMax: 8, dbPoolMaxSource: "the deployment spec's" });
    assert.match(f.message, /× pool max 5 \(web\) and 8 \(worker\) \(the deployment spec's\) = 180 connections/);
    assert.equal(f.level, 'error');
  });
  it('accepts the pool the manifests set (DB_POOL_MAX=5: 150 of 164)', () => {
    const settings = loadCapacityCheckConfig({ DB_POOL_MAX: '5' });
    assert.equal(checkDbConnections({ ...seed, ...settings, dbPoolMaxSource: 'DB_POOL_MAX' }).level, 'ok');
  });
  it('says a pool fits only where the manifests render it: the same 10 % of max_connections stays free, and the message says so', () => {
    const spec = SEED_DEPLOYMENT_SPEC;
    const pools = { ...seed, ...loadCapacityCheckConfig({ DB_POOL_MAX: String(spec.web.dbPoolMax) }), dbPoolMaxSource: 'DB_POOL_MAX' };
    const k8s = { maxWebReplicas: spec.web.replicas.max, maxWorkerReplicas: spec.worker.replicas.max, rolloutSurge: { ...getK8sRolloutSurge(spec.web.replicas.max, spec.worker.replicas.max), source: 'Kubernetes maxSurge' } };
    for (let maxConnections = 180; maxConnections <= 280; maxConnections++) {
      const plan = checkDbConnections({ ...pools, ...k8s, maxConnections });
      let renders = true;
      try {
        checkConnectionBudget(withOverrides(spec, { database: { maxConnections } }), 'k8s');
      } catch {
        renders = false;
      }
      assert.equal(plan.level === 'ok', renders, `max_connections ${maxConnections}: plan says ${plan.level}, manifests ${renders ? 'render' : 'refuse'}`);
    }
    // `salescale plan --max-connections 215` with DB_POOL_MAX=5: 180 for the pools + 16 leaves 19 of 215 free, under 22.
    const tight = checkDbConnections({ ...pools, ...k8s, maxConnections: 215 });
    assert.equal(tight.level, 'error');
    assert.match(tight.message, /vs max_connections 215 \(177 usable after the 10 % headroom \(22\), 13 reserved, 2 for a running migration and 1 for a CLI command\)/);
    assert.match(tight.fix ?? '', /DB_POOL_MAX to 4 /);
  });
  it('reports no eviction error: the app itself refuses an evicting queue Redis, and says where the cache lives', () => {
    const shared = checkRedisMemory(seed).find((f) => f.id === 'redis-eviction');
    assert.equal(shared?.level, 'ok');
    assert.match(shared?.message ?? '', /refuses to start unless it is noeviction.*the cache shares it/);
    const own = checkRedisMemory({ ...seed, ...loadCapacityCheckConfig({ REDIS_URL: 'redis://queue:6379', CACHE_REDIS_URL: 'redis://cache:6379' }), dbPoolMaxSource: '' });
    assert.match(own.find((f) => f.id === 'redis-eviction')?.message ?? '', /the cache's own Redis may evict/);
    // Without the cache the queue Redis holds 144 MB of 256: no warning.
    assert.equal(own.find((f) => f.id === 'redis-memory')?.level, 'ok');
  });
  it('counts signed-in buyers by customer id: the seed limits fit one busy buyer; shoppers behind one address share it (a warning, not an error)', () => {
    const [signedIn, anonymous] = checkRateLimits(seed);
    assert.equal(signedIn.level, 'ok');
    assert.match(signedIn.message, /customer 1000 \/ 15 min vs 600, sale 100 \/ 1 min vs 40/);
    assert.equal(anonymous.level, 'warning');
    assert.match(anonymous.message, /general 1000 \/ 15 min vs 1800, sale 100 \/ 1 min vs 120/);
    assert.match(anonymous.fix ?? '', /RATE_LIMIT_GENERAL_MAX to ≥ 2700 and RATE_LIMIT_SALE_MAX to ≥ 180/);
  });
  it('still errs when the app\'s limits would stop a busy signed-in buyer (RATE_LIMIT_CUSTOMER_MAX=300 per 15 min)', () => {
    const [signedIn] = checkRateLimits({ ...seed, ...loadCapacityCheckConfig({ RATE_LIMIT_CUSTOMER_MAX: '300' }), dbPoolMaxSource: '' });
    assert.equal(signedIn.level, 'error');
    assert.match(signedIn.fix ?? '', /RATE_LIMIT_CUSTOMER_MAX to ≥ 900/);
    const off = checkRateLimits({ ...seed, ...loadCapacityCheckConfig({ RATE_LIMIT_ENABLED: 'false' }), dbPoolMaxSource: '' });
    assert.deepEqual(off.map((f) => f.level), ['ok', 'ok']);
  });
});

describe('scheduled scaling output', () => {
  const bf = getCalendarEvent('black-friday', 2026);
  const plan = planCapacity(forecastHourly({ events: [bf] }, new Date('2026-11-27T08:00:00Z'), new Date('2026-11-27T12:00:00Z')), web);
  const windows = getPrescaleWindows(plan, { leadMinutes: 10 });
  it('opens each window lead minutes before the planned hour', () => {
    assert.equal(new Date(windows[0].startMs).toISOString(), '2026-11-27T07:50:00.000Z');
    assert.equal(windows.at(-1)?.replicas, 12);
  });
  it('emits KEDA cron triggers and AWS scheduled actions as plain objects', () => {
    const [first] = toKedaCronTriggers(windows, 'UTC');
    assert.deepEqual(first.metadata, { timezone: 'UTC', start: '50 7 27 11 *', end: '0 10 27 11 *', desiredReplicas: '3' });
    const actions = toAwsScheduledActions(windows, 'web-asg', 2);
    assert.deepEqual(actions.map((a) => [a.properties.StartTime, a.properties.MinSize]), [
      ['2026-11-27T07:50:00Z', 3],
      ['2026-11-27T09:50:00Z', 12],
      ['2026-11-27T12:00:00Z', 2],
    ]);
  });
});
