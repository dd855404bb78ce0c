import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkScheduleStart } from './schedule-start-check.ts';

const action = (StartTime: string, MinSize: number) => ({ logicalId: 'SalePrescale', properties: { AutoScalingGroupName: 'salescale-web', MinSize, StartTime } });

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
});
