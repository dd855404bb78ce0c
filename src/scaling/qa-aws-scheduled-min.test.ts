/**
 * QA: the CloudFormation template takes each group's lower bound as a parameter (`WebMinSize`,
 * `WorkerMinSize`; docs/deploy-aws.md tells the operator to raise `WorkerMinSize` when HighQueueDepth fires),
 * but the scheduled action that ends the sale sets `MinSize` to the spec's literal (web 2, worker 1). A stack
 * deployed with WorkerMinSize=3 is put back to a minimum of 1 after the sale (and the group's MinSize no
 * longer matches its parameter). The restoring action should set the group's own parameter (Ref).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEED_DEPLOYMENT_SPEC } from './manifests/deployment-spec.ts';
import { renderTarget } from './manifests/manifests.ts';
import { AWS_TEMPLATE_PATH } from './manifests/render-aws.ts';

interface Resource { Type: string; Properties: Record<string, unknown> }

describe('QA: AWS scheduled actions after the sale', () => {
  const file = renderTarget('aws', SEED_DEPLOYMENT_SPEC).find((f) => f.path === AWS_TEMPLATE_PATH);
  assert.ok(file, 'no CloudFormation template rendered');
  const template = parse(file.content) as { Parameters: Record<string, unknown>; Resources: Record<string, Resource> };
  const actions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::AutoScaling::ScheduledAction');

  for (const [group, param] of [
    ['WebAutoScalingGroup', 'WebMinSize'],
    ['WorkerAutoScalingGroup', 'WorkerMinSize'],
  ] as const) {
    it(`the last ${group} action restores MinSize to the ${param} parameter, not a literal`, () => {
      assert.ok(template.Parameters[param], `${param} is a template parameter`);
      const mine = actions
        .filter(([, r]) => JSON.stringify(r.Properties.AutoScalingGroupName) === JSON.stringify({ Ref: group }))
        .sort(([, a], [, b]) => String(a.Properties.StartTime).localeCompare(String(b.Properties.StartTime)));
      assert.ok(mine.length > 0, `no scheduled actions for ${group}`);
      const [id, last] = mine[mine.length - 1];
      assert.deepEqual(last.Properties.MinSize, { Ref: param }, `${id} (${String(last.Properties.StartTime)}) sets MinSize ${JSON.stringify(last.Properties.MinSize)}`);
    });
  }
});
