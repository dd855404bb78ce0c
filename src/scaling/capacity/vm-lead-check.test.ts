import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getScheduleWaitSeconds } from '../simulate/scaler.ts';
import { checkVmLeadTime } from './vm-lead-check.ts';

describe('the VM lead check', () => {
  it('waits for no evaluation when the interval divides a minute, else for the longest gap from a whole minute to the next evaluation', () => {
    assert.deepEqual([60, 30, 15, 45, 90].map(getScheduleWaitSeconds), [0, 0, 0, 30, 60]);
  });

  it('warns for the clouds whose wait + instance ready exceeds the lead, and names the lead that covers them', () => {
    const clouds = [
      { platform: 'AWS', scheduleWaitSeconds: 0, readySeconds: 200 },
      { platform: 'Azure', scheduleWaitSeconds: 0, readySeconds: 120 },
    ];
    const short = checkVmLeadTime(3, clouds);
    assert.equal(short.level, 'warning');
    assert.match(short.message, /not covered: AWS,/);
    assert.match(short.fix ?? '', /≥ 4 min/);
    assert.equal(checkVmLeadTime(4, clouds).level, 'ok');
  });
});
