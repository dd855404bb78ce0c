import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { forecastHourly } from '../forecast/forecast.ts';
import { getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers } from '../schedule/schedule.ts';
import { parseBenchCapacity } from './bench-capacity.ts';
import { DEFAULT_CHECK_OPTIONS, checkDbConnections, checkRateLimits } from './checks.ts';
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
  it('flags the seed strategy: 20 instances × pool 50 against max_connections 200, with a pool size that fits', () => {
    const f = checkDbConnections({ ...DEFAULT_CHECK_OPTIONS, maxWebReplicas: 20, maxWorkerReplicas: 0, peakRps: 1800 });
    assert.equal(f.level, 'error');
    assert.match(f.message, /1000 connections vs max_connections 200/);
    // (200 − 13) / 20 = 9.35 → pool 9.
    assert.match(f.fix ?? '', /pool max to 9 per process/);
    assert.match(f.fix ?? '', /PgBouncer/);
  });
  it('accepts a pool that fits', () => {
    assert.equal(checkDbConnections({ ...DEFAULT_CHECK_OPTIONS, maxWebReplicas: 20, maxWorkerReplicas: 0, peakRps: 1800, dbPoolMax: 9 }).level, 'ok');
  });
  it('flags the sale limit of 100 req/min when three shoppers share an IP', () => {
    const [, sale] = checkRateLimits({ ...DEFAULT_CHECK_OPTIONS, maxWebReplicas: 20, maxWorkerReplicas: 0, peakRps: 1800 });
    assert.equal(sale.level, 'error');
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
