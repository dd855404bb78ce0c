import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEED_DEPLOYMENT_SPEC, checkDeploymentSpec, withOverrides } from '../manifests/deployment-spec.ts';
import type { NodeCheckOptions } from './node-checks.ts';
import { checkNodePool } from './node-checks.ts';

const POD = { cpuMillicores: 250, memoryMiB: 256 };
const options = (o: Partial<NodeCheckOptions> = {}): NodeCheckOptions => ({
  leadMinutes: 10,
  hpaSyncSeconds: 15,
  scanIntervalSeconds: 10,
  provisioningSeconds: 120,
  podReadySeconds: 30,
  web: { peak: 17, min: 2, request: POD },
  worker: { peak: 1, min: 1, request: POD },
  node: { allocatable: { cpuMillicores: 1500, memoryMiB: 6000 }, source: 'test' },
  ...o,
});
const byId = (o: NodeCheckOptions) => Object.fromEntries(checkNodePool(o).map((f) => [f.id, f]));

describe('node pool checks', () => {
  it('counts the nodes the peak and the off-peak need from web and worker requests over the node allocatable', () => {
    const pool = byId(options())['node-pool'];
    assert.equal(pool.level, 'ok');
    assert.match(pool.message, /17 web \(250m \/ 256 MiB\) \+ 1 worker \(250m \/ 256 MiB\) pods need 3 node\(s\) of 1500m CPU \/ 6000 MiB allocatable \(test\), off-peak \(2 web \+ 1 worker\) need 1: the Cluster Autoscaler adds 2 for the sale/);
    // Memory binds first on a small-memory node: 4 pods of 256 MiB per 1024 MiB node, 18 pods → 5 nodes.
    assert.match(byId(options({ node: { allocatable: { cpuMillicores: 4000, memoryMiB: 1024 }, source: 'test' } }))['node-pool'].message, /need 5 node\(s\)/);
    assert.match(byId(options({ node: { podsPerNode: 4, source: '--pods-per-node' } }))['node-pool'].message, /need 5 node\(s\) of 4 pods each/);
  });

  it('is an error when the node group maximum cannot hold the peak, naming the maximum to set', () => {
    const pool = byId(options({ maxNodes: 2 }))['node-pool'];
    assert.equal(pool.level, 'error');
    assert.match(pool.fix ?? '', /raise the node group's maximum to ≥ 3/);
    assert.equal(byId(options({ maxNodes: 3 }))['node-pool'].level, 'ok');
  });

  it('warns when the node group maximum holds the peak but not a release at it: the Deployments surge with maxUnavailable 0, so the new pods would stay Pending', () => {
    // 17 + 5 web and 1 + 1 worker pods of 250m on 1500m nodes: 24 pods, 4 nodes; the peak alone needs 3.
    const surge = { web: 5, worker: 1, source: 'Kubernetes maxSurge' };
    const pool = byId(options({ maxNodes: 3, rolloutSurge: surge }))['node-pool'];
    assert.equal(pool.level, 'warning', pool.message);
    assert.match(pool.message, /a release at the peak \(\+ 5 web and 1 worker pods, Kubernetes maxSurge\) needs 4: above the maximum 3/);
    assert.match(pool.fix ?? '', /raise the node group's maximum to ≥ 4/);
    assert.equal(byId(options({ maxNodes: 4, rolloutSurge: surge }))['node-pool'].level, 'ok');
    assert.match(byId(options({ rolloutSurge: surge }))['node-pool'].message, /its node group maximum must be ≥ 4 \(3 for the peak, 4 for a release at it\)/);
  });

  it('warns when the lead is shorter than HPA sync + scan + node provisioning + pod start-up, and says what to change', () => {
    assert.equal(byId(options())['node-lead-time'].level, 'ok');
    assert.match(byId(options())['node-lead-time'].message, /= 175 s/);
    const short = byId(options({ leadMinutes: 2 }))['node-lead-time'];
    assert.equal(short.level, 'warning');
    assert.match(short.fix ?? '', /raise the lead to ≥ 3 min/);
    assert.match(short.fix ?? '', /node group's minimum to 3 for the sale/);
    assert.match(short.fix ?? '', /PriorityClass of value -10/);
    // Exactly covered is enough.
    assert.equal(byId(options({ leadMinutes: 3, provisioningSeconds: 125 }))['node-lead-time'].level, 'ok');
  });

  it('does not ask a lead for a new node when the peak fits the off-peak nodes: HPA sync + pod start-up is the chain (the warning told to set the node minimum it already had)', () => {
    const big = { node: { podsPerNode: 100, source: '--pods-per-node' } } as const;
    assert.match(byId(options(big))['node-pool'].message, /adds 0 for the sale/);
    const lead = byId(options({ ...big, leadMinutes: 1 }))['node-lead-time'];
    assert.equal(lead.level, 'ok', lead.message);
    assert.match(lead.message, /HPA sync 15 s \+ pod start-up 30 s = 45 s/);
    // Shorter than that still warns, without the node remedies.
    const none = byId(options({ ...big, leadMinutes: 0 }))['node-lead-time'];
    assert.equal(none.level, 'warning');
    assert.match(none.fix ?? '', /raise the lead to ≥ 1 min/);
    assert.doesNotMatch(none.fix ?? '', /node group/);
  });

  it('the deployment spec refuses a node pool its pods do not fit, or a provisioning time past the 15-minute limit', () => {
    assert.doesNotThrow(() => checkDeploymentSpec(SEED_DEPLOYMENT_SPEC));
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { nodePool: { allocatable: { cpuMillicores: 200, memoryMiB: 6000 } } })), /a web pod \(250m, 512 MiB\) must fit nodePool.allocatable/);
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { nodePool: { provisioningSeconds: 1200 } })), /nodePool.provisioningSeconds must be 0–900/);
  });
});
