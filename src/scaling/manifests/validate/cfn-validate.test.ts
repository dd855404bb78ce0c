/**
 * checkCfnSemantics refuses a scheduled action whose MinSize exceeds its group's MaxSize. Since 73dbf1b the
 * actions back to the floor set MinSize to {Ref: WebMinSize}; compared as an object to a number, such an action
 * passed whatever the parameter's default.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCfnSemantics } from './cfn-validate.ts';

function template(minSize: unknown) {
  return {
    Parameters: { WebMinSize: { Default: 50 } },
    Resources: {
      WebGroup: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MaxSize: 10, MinSize: 2 } },
      WebFloor: { Type: 'AWS::AutoScaling::ScheduledAction', Properties: { AutoScalingGroupName: { Ref: 'WebGroup' }, MinSize: minSize } },
    },
  };
}

describe('checkCfnSemantics: scheduled action MinSize above the group MaxSize', () => {
  it('a literal MinSize 50 above MaxSize 10 is reported (baseline)', () => {
    assert.match(checkCfnSemantics(template(50)).join('\n'), /Resources\.WebFloor: MinSize 50 exceeds the group's MaxSize 10/);
  });
  it('MinSize {Ref: WebMinSize} whose default 50 is above MaxSize 10 is reported', () => {
    assert.match(checkCfnSemantics(template({ Ref: 'WebMinSize' })).join('\n'), /Resources\.WebFloor: MinSize 50 exceeds the group's MaxSize 10/);
  });
});
