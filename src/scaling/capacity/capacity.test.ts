import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { forecastHourly } from '../forecast/forecast.ts';
import { getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers } from '../schedule/schedule.ts';
import { parseBenchCapacity } from './bench-capacity.ts';
import { loadCapacityCheckConfig } from '../../platform/config/config.ts';
import { type CheckOptions, DEFAULT_CHECK_ASSUMPTIONS, checkDbConnections, checkRateLimits, checkRedisMemory } from './checks.ts';
import { DEFAULT_WORKER_PLAN, getWorkerReplicas, planCapacity } from './plan.ts';

const web = { capacityPerInstanceRps: 150, sloP95Ms: 500, targetUtilization: 0.7, minReplicas: 2, maxReplicas: 20 };

describe('capacity plan', () => {
  it('sizes web replicas at the target utilization of the service rate', () => {
    const plan = planCapacity([{ hour: '2026-11-27T19:00:00.000Z', baseRequestsPerSecond: 180, eventMultiplier: 10, meanRequestsPerSecond: 1800, peakRequestsPerSecond: 1800, requestsInHour: 0 }], web);
    // μ = 150 + ln 20 / 0.5 = 155.99; 1800 / (0.7 × 155.99) = 16.48 → 17.
    assert.equal(plan.hours[0].webReplicas, 17);
  });
  it('sizes workers by Little\'s law: rate × time ÷ (concurrency × utilization)', () => {
    // 30 jobs/s × 0.5 s = 15 busy slots; / (10 × 0.7) = 2.14 → 3.
    assert.equal(getWorkerReplicas(30, DEFAULT_WORKER_PLAN), 3);
  });
  it('rejects a negative capacity with NEGATIVE_CAPACITY', () => {
    assert.throws(() => planCapacity([], { ...web, capacityPerInstanceRps: -5 }), { code: 'NEGATIVE_CAPACITY' });
    assert.throws(() => parseBenchCapacity({ requestsPerSecondPerInstance: -1, measuredAt: '2026-11-20T10:00:00Z' }), { code: 'NEGATIVE_CAPACITY' });
  });
});

describe('consistency checks', () => {
  // The app's settings with its own defaults (no variable set), the deployment spec's database.
  const app = loadCapacityCheckConfig({});
  const seed: CheckOptions = {
    ...DEFAULT_CHECK_ASSUMPTIONS,
    ...app,
    dbPoolMaxSource: "DB_POOL_MAX unset: the app's default",
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
    assert.match(f.message, /× pool max 10 \(DB_POOL_MAX unset: the app's default\) = 300 connections vs max_connections 200 \(185 usable after 13 reserved and 2 for a running migration\)/);
    // 185 / 30 = 6.2 → 6.
    assert.match(f.fix ?? '', /set DB_POOL_MAX to 6 /);
    assert.match(f.fix ?? '', /PgBouncer/);
  });
  it('accepts the pool the manifests set (DB_POOL_MAX=5: 150 of 185)', () => {
    const settings = loadCapacityCheckConfig({ DB_POOL_MAX: '5' });
    assert.equal(checkDbConnections({ ...seed, ...settings, dbPoolMaxSource: 'DB_POOL_MAX' }).level, 'ok');
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
