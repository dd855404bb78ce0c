import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_AZURE_RULES, buildAzureAutoscaleSetting, getAzureProfileSteps } from '../schedule/cloud-schedules.ts';
import { checkScheduleEnd, checkScheduleStart } from './schedule-start-check.ts';

const action = (StartTime: string, MinSize: number) => ({ logicalId: 'SalePrescale', properties: { AutoScalingGroupName: 'salescale-web', MinSize, StartTime }, toFloor: false });

describe('scheduled actions against the clock', () => {
  it('warns when a scheduled action starts in the past, which EC2 Auto Scaling refuses (a plan run during the sale, or for a past year)', () => {
    const actions = [action('2026-11-26T23:50:00Z', 3), action('2026-11-27T09:50:00Z', 12), action('2026-11-28T00:00:00Z', 2)];
    const during = checkScheduleStart({ actions, now: new Date('2026-11-27T08:00:00Z') });
    assert.equal(during.level, 'warning');
    assert.match(during.message, /1 of 3 AWS scheduled actions start before now \(2026-11-27T08:00Z; first 2026-11-26T23:50:00Z\)/);
    assert.match(during.fix ?? '', /--from/);
    const before = checkScheduleStart({ actions, now: new Date('2026-11-20T00:00:00Z') });
    assert.equal(before.level, 'ok');
    assert.equal(checkScheduleStart({ actions: [], now: new Date('2026-11-20T00:00:00Z') }).level, 'ok');
  });

  it('warns of the Google Cloud schedules and Azure fixed-date profiles over by now (accepted, never run), not of one under way, which applies at once', () => {
    const ms = (iso: string) => Date.parse(iso);
    const intervals = [
      { startMs: ms('2026-11-26T23:50:00Z'), endMs: ms('2026-11-27T08:00:00Z') },
      { startMs: ms('2026-11-27T07:50:00Z'), endMs: ms('2026-11-27T20:00:00Z') },
      { startMs: ms('2026-11-27T19:50:00Z'), endMs: ms('2026-11-28T00:00:00Z') },
    ];
    const gcp = checkScheduleEnd({ engine: 'gcp', intervals, now: new Date('2026-11-27T08:00:00Z') });
    assert.equal(gcp.level, 'warning');
    assert.equal(gcp.message, '1 of 3 Google Cloud scaling schedules ended before now (2026-11-27T08:00Z; first 2026-11-26T23:50Z): Compute Engine keeps a one-off schedule whose time has passed but never runs it (status OBSOLETE), so those pre-scale nothing (the other 2, running or ahead, do)');
    const azure = checkScheduleEnd({ engine: 'azure', intervals, now: new Date('2026-11-28T00:00:00Z') });
    assert.match(azure.message, /^3 of 3 Azure autoscale fixed-date profiles ended before now .*, so the sale is not pre-scaled$/);
    assert.equal(checkScheduleEnd({ engine: 'azure', intervals, now: new Date('2026-11-27T07:59:00Z') }).level, 'ok');
    assert.equal(checkScheduleEnd({ engine: 'gcp', intervals: [], now: new Date('2026-11-27T07:59:00Z') }).level, 'ok');
  });

  it('counts an Azure fixed-date profile as ended from the end it is written with (a minute before its step ends), not from the step end', () => {
    const windows = [{ startMs: Date.parse('2026-11-26T23:50:00Z'), endMs: Date.parse('2026-11-28T00:00:00Z'), replicas: 8 }];
    const written = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows, timeZone: 'UTC' }).profiles.flatMap((p) => (p.fixedDate ? [p.fixedDate] : []));
    assert.deepEqual(written.map((d) => [d.start, d.end]), [['2026-11-26T23:50:00', '2026-11-27T23:59:00']]);
    // What the check is given is what is written: the profile's own start and end.
    const intervals = getAzureProfileSteps(windows, 2);
    assert.deepEqual(intervals.map((w) => [new Date(w.startMs).toISOString(), new Date(w.endMs).toISOString()]), [['2026-11-26T23:50:00.000Z', '2026-11-27T23:59:00.000Z']]);
    // Half a minute after the written end the profile no longer matches: it has ended.
    assert.equal(checkScheduleEnd({ engine: 'azure', intervals, now: new Date('2026-11-27T23:59:30Z') }).level, 'warning');
    assert.equal(checkScheduleEnd({ engine: 'azure', intervals, now: new Date('2026-11-27T23:58:30Z') }).level, 'ok');
  });
});
