/**
 * Every rule of the Cluster Autoscaler model, each with the sentence it implements: kubernetes/autoscaler
 * `cluster-autoscaler/FAQ.md` (HEAD as stored, commit 0024f25) and `estimator/binpacking_estimator.go`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterAutoscalerOptions, ClusterAutoscalerState } from './cluster-autoscaler.ts';
import { DEFAULT_CLUSTER_AUTOSCALER, checkProvisioningTime, countReadyNodes, createClusterState, estimateNodes, getPodShareOfNode, getPodsPerNode, runClusterAutoscaler } from './cluster-autoscaler.ts';
import { createNodePool } from './node-pool.ts';
import { createPendingPod, isPending } from './hpa-pods.ts';

const FAQ = 'cluster-autoscaler/FAQ.md';
const ESTIMATOR = 'cluster-autoscaler/estimator/binpacking_estimator.go';

function rule(title: string, source: string, quote: string, fn: () => void): void {
  it(`${title} — "${quote}" (${source})`, fn);
}

const WEB_POD = { cpuMillicores: 250, memoryMiB: 256 };
const options = (o: Partial<ClusterAutoscalerOptions> = {}): ClusterAutoscalerOptions => ({ ...DEFAULT_CLUSTER_AUTOSCALER, podsPerNode: 6, podShareOfNode: 1 / 6, maxNodes: 10, ...o });

/** Scans every 10 s from `from` to `to` with a fixed pod count, returning the state and what happened. */
function scanFor(state: ClusterAutoscalerState, o: ClusterAutoscalerOptions, from: number, to: number, view: { pendingPods: number; scheduledPods: number }) {
  const events: { now: number; added: number; removed: number; evictedPods: number }[] = [];
  let s = state;
  for (let now = from; now <= to; now += o.scanIntervalSeconds) {
    const r = runClusterAutoscaler(s, o, { now, ...view });
    s = r.state;
    if (r.added || r.removed) events.push({ now, added: r.added, removed: r.removed, evictedPods: r.evictedPods });
  }
  return { state: s, events };
}

describe('Cluster Autoscaler: node size and the binpacking estimate', () => {
  rule('a node holds the smaller of its CPU and memory quotients of one pod', FAQ, 'The sum of cpu requests and sum of memory requests of all pods running on this node', () => {
    assert.equal(getPodsPerNode({ cpuMillicores: 1500, memoryMiB: 6000 }, WEB_POD), 6);
    assert.equal(getPodsPerNode({ cpuMillicores: 4000, memoryMiB: 1000 }, WEB_POD), 3);
    assert.equal(getPodShareOfNode({ cpuMillicores: 1000, memoryMiB: 512 }, WEB_POD), 0.5);
  });

  rule('a pod larger than a node is refused, since no new node would make it schedulable', FAQ, "CA doesn't add nodes to the cluster if it wouldn't make a pod schedulable", () => {
    assert.throws(() => getPodsPerNode({ cpuMillicores: 200, memoryMiB: 6000 }, WEB_POD), { code: 'INVALID_OPTION', message: /does not fit a node with 200m/ });
  });

  rule('nodes for mixed pods come from First-Fit Decreasing on the node template', ESTIMATOR, 'First-Fit Decreasing bin-packing approximation algorithm', () => {
    const node = { cpuMillicores: 1000, memoryMiB: 4000 };
    // Largest first: 600 and 400 share a node, 500 + 500 the next; first fit in arrival order would need 3.
    assert.deepEqual(estimateNodes([{ cpuMillicores: 500, memoryMiB: 1 }, { cpuMillicores: 600, memoryMiB: 1 }, { cpuMillicores: 500, memoryMiB: 1 }, { cpuMillicores: 400, memoryMiB: 1 }], node), { nodes: 2, unplaceable: 0 });
    assert.deepEqual(estimateNodes([{ cpuMillicores: 1200, memoryMiB: 1 }], node), { nodes: 0, unplaceable: 1 });
  });

  rule('pods of one size pack as pods ÷ pods per node, rounded up', ESTIMATOR, 'Returns the number of nodes needed to accommodate all pods from the list', () => {
    const node = { cpuMillicores: 1500, memoryMiB: 6000 };
    for (const pods of [1, 6, 7, 17, 18]) assert.equal(estimateNodes(Array.from({ length: pods }, () => WEB_POD), node).nodes, Math.ceil(pods / 6), `${pods} pods`);
  });
});

describe('Cluster Autoscaler: scale-up', () => {
  rule('pending pods get nodes at the next scan, Ready after the provisioning time', FAQ, 'It checks for any unschedulable pods every 10 seconds (configurable by `--scan-interval` flag)', () => {
    const o = options({ provisioningSeconds: 120 });
    const r = runClusterAutoscaler(createClusterState(1), o, { now: 10, pendingPods: 7, scheduledPods: 6 });
    assert.equal(r.added, 2);
    assert.equal(r.state.nodes.length, 3);
    assert.equal(countReadyNodes(r.state, 129), 1);
    assert.equal(countReadyNodes(r.state, 130), 3);
  });

  rule('nodes already requested count for the pending pods, so one burst is not answered twice', FAQ, 'if they are still unregistered, it stops considering them in simulations', () => {
    const o = options();
    const first = runClusterAutoscaler(createClusterState(1), o, { now: 0, pendingPods: 5, scheduledPods: 6 });
    const again = runClusterAutoscaler(first.state, o, { now: 10, pendingPods: 5, scheduledPods: 6 });
    assert.equal(first.added, 1);
    assert.equal(again.added, 0);
    // Two more pods than the requested node holds: one more node.
    assert.equal(runClusterAutoscaler(first.state, o, { now: 10, pendingPods: 8, scheduledPods: 6 }).added, 1);
  });

  rule('the node group maximum caps the scale-up', FAQ, 'all suitable node groups are already at their maximum size', () => {
    const r = runClusterAutoscaler(createClusterState(2), options({ maxNodes: 3 }), { now: 0, pendingPods: 30, scheduledPods: 12 });
    assert.equal(r.added, 1);
    assert.equal(runClusterAutoscaler(r.state, options({ maxNodes: 3 }), { now: 10, pendingPods: 30, scheduledPods: 12 }).added, 0);
  });

  rule('a provisioning time beyond --max-node-provision-time is refused', FAQ, 'Cluster Autoscaler expects requested nodes to appear within 15 minutes', () => {
    assert.doesNotThrow(() => checkProvisioningTime({ provisioningSeconds: 900, maxNodeProvisionSeconds: 900 }));
    assert.throws(() => checkProvisioningTime({ provisioningSeconds: 901, maxNodeProvisionSeconds: 900 }, '--node-provisioning-seconds'), { code: 'INVALID_OPTION', message: /^--node-provisioning-seconds must be 0–900/ });
  });
});

describe('Cluster Autoscaler: scale-down', () => {
  rule('an underused node goes after 10 minutes unneeded, not before', FAQ, 'If a node is unneeded for more than 10 minutes, it will be terminated', () => {
    const o = options();
    // 4 nodes, 7 pods of 1/6 node each: 29 % per node, 2 nodes hold them.
    const { events } = scanFor(createClusterState(4), o, 0, 1200, { pendingPods: 0, scheduledPods: 7 });
    assert.deepEqual(events[0], { now: 600, added: 0, removed: 1, evictedPods: 1 });
  });

  rule('a node at or above the utilization threshold stays', FAQ, 'are smaller than 50% of the node\'s allocatable', () => {
    // 3 nodes, 9 pods: exactly 50 % each; 8 pods: 44 %.
    assert.equal(scanFor(createClusterState(3), options(), 0, 1800, { pendingPods: 0, scheduledPods: 9 }).events.length, 0);
    assert.equal(scanFor(createClusterState(3), options(), 0, 1800, { pendingPods: 0, scheduledPods: 8 }).events.length, 1);
  });

  rule(
    'the threshold is checked per node, so the least loaded node can go while the average is at the threshold',
    'cluster-autoscaler/core/scaledown/eligibility/eligibility.go',
    'if utilInfo.Utilization >= threshold { return false, nil }',
    () => {
      // Each node is checked on its own utilization (FAQ: "all pods running on this node … are smaller than 50% of
      // the node's allocatable"). 3 nodes, 5 pods of 0.3 node each, spread 2/2/1: the 1-pod node is at 30 %,
      // its pod fits on either other node (3 pods per node), so it is unneeded though the average is 50 %.
      const o = options({ podsPerNode: 3, podShareOfNode: 0.3 });
      const { events } = scanFor(createClusterState(3), o, 0, 1200, { pendingPods: 0, scheduledPods: 5 });
      assert.deepEqual(events, [{ now: 600, added: 0, removed: 1, evictedPods: 1 }]);
      // 4 nodes, 11 pods of 1/6 node, spread 3/3/3/2: only the 2-pod node is below 50 %, so one timer runs, not two.
      const r = runClusterAutoscaler(createClusterState(4), options(), { now: 0, pendingPods: 0, scheduledPods: 11 });
      assert.deepEqual(r.state.unneededSince, [0]);
    },
  );

  rule(
    "DaemonSet pods' requests count in a node's utilization unless --ignore-daemonsets-utilization",
    FAQ,
    'DaemonSet pods and Mirror pods are included by default but this is configurable with `--ignore-daemonsets-utilization`',
    () => {
      // 1000m left to the app's pods, DaemonSets request 500m: the node's Allocatable is 1500m. One 300m pod per node:
      // (500 + 300) / 1500 = 53 % by default (utilization/info.go adds every pod's requests), not underutilized;
      // ignoring DaemonSets, 300 / (1500 − 500) = 30 % ("DaemonSet pods resourses will be subtracted from the node allocatable").
      const requests = { allocatable: { cpuMillicores: 1000, memoryMiB: 4000 }, pod: { cpuMillicores: 300, memoryMiB: 100 }, daemonSets: { cpuMillicores: 500, memoryMiB: 0 } };
      const counted = Object.assign(options({ podsPerNode: 3, podShareOfNode: 0.3 }), { requests });
      assert.deepEqual(scanFor(createClusterState(3), counted, 0, 1200, { pendingPods: 0, scheduledPods: 3 }).events, []);
      const ignored = Object.assign(options({ podsPerNode: 3, podShareOfNode: 0.3 }), { requests, ignoreDaemonSetsUtilization: true });
      assert.deepEqual(scanFor(createClusterState(3), ignored, 0, 600, { pendingPods: 0, scheduledPods: 3 }).events, [{ now: 600, added: 0, removed: 1, evictedPods: 1 }]);
    },
  );

  rule('no scale-down within 10 minutes of a scale-up', FAQ, 'there was a scale-up in the last 10 min (configurable by `--scale-down-delay-after-add` flag)', () => {
    const o = options({ provisioningSeconds: 60 });
    const up = runClusterAutoscaler(createClusterState(4), o, { now: 0, pendingPods: 1, scheduledPods: 24 });
    assert.equal(up.added, 1);
    // Load gone at once: nothing goes before delay-after-add ends (600 s).
    const { events } = scanFor(up.state, o, 10, 1800, { pendingPods: 0, scheduledPods: 2 });
    assert.ok(events[0].now >= 600);
  });

  rule(
    'unneeded time keeps counting during delay-after-add, so the two overlap',
    'cluster-autoscaler/core/static_autoscaler.go',
    'In dry run only utilization is updated',
    () => {
      // RunOnce calls UpdateUnneededNodes (UpdateClusterState in newer releases) before it checks
      // scaleDownInCooldown: nodes unneeded since 10 s have served their 600 s at 610 s, 10 s after the delay ends.
      const o = options({ provisioningSeconds: 60 });
      const up = runClusterAutoscaler(createClusterState(4), o, { now: 0, pendingPods: 1, scheduledPods: 24 });
      const { events } = scanFor(up.state, o, 10, 1800, { pendingPods: 0, scheduledPods: 2 });
      assert.deepEqual(events[0], { now: 610, added: 0, removed: 3, evictedPods: 0 });
    },
  );

  rule('no scale-down while pods are pending', FAQ, 'if no scale-up is needed, Cluster Autoscaler checks which nodes are unneeded', () => {
    const { state } = scanFor(createClusterState(4), options(), 0, 590, { pendingPods: 0, scheduledPods: 2 });
    const r = runClusterAutoscaler(state, options({ maxNodes: 4 }), { now: 600, pendingPods: 1, scheduledPods: 2 });
    assert.equal(r.removed, 0);
    assert.deepEqual(r.state.unneededSince, []);
  });

  rule('empty nodes go in bulk, non-empty ones one at a time', FAQ, 'Empty nodes, on the other hand, can be terminated in bulk, up to 10 nodes at a time', () => {
    // 14 nodes, 2 pods: 12 empty nodes, 10 at once.
    const bulk = scanFor(createClusterState(14), options({ maxNodes: 14 }), 0, 600, { pendingPods: 0, scheduledPods: 2 });
    assert.deepEqual(bulk.events, [{ now: 600, added: 0, removed: 10, evictedPods: 0 }]);
    // 5 nodes, 10 pods (none empty, 33 % each): one node per scan once they have been unneeded 10 min.
    const one = scanFor(createClusterState(5), options(), 0, 640, { pendingPods: 0, scheduledPods: 10 });
    assert.deepEqual(one.events.map((e) => e.removed), [1, 1]);
    assert.equal(one.events[0].evictedPods, 2);
  });

  rule('the node group minimum is kept', FAQ, 'the node group already has the minimum size', () => {
    const { state } = scanFor(createClusterState(5), options({ minNodes: 4 }), 0, 3600, { pendingPods: 0, scheduledPods: 1 });
    assert.equal(state.nodes.length, 4);
  });
});

describe('node pool in the simulator', () => {
  it('binds pending pods oldest first to room on Ready nodes, and only there', () => {
    const pool = createNodePool({ podsPerNode: 2, provisioningSeconds: 60 }, 2, 10);
    assert.equal(pool.initialNodes, 1);
    let pods = [{ startedAt: -3600, readyAt: -3570 }, { startedAt: -3600, readyAt: -3570 }, createPendingPod(), createPendingPod(), createPendingPod()];
    pods = pool.bind(pods, 0, 30);
    assert.equal(pods.filter(isPending).length, 3, 'no room on the one node');
    pods = pool.scan(pods, 0, 30);
    assert.equal(pool.totalNodes(), 3);
    pods = pool.bind(pods, 55, 30);
    assert.equal(pods.filter(isPending).length, 3, 'nodes not Ready yet');
    pods = pool.bind(pods, 60, 30);
    assert.equal(pods.filter(isPending).length, 0);
    assert.deepEqual(pods[2], { startedAt: 60, readyAt: 90 });
  });

  it('refuses an initial node count outside the group bounds', () => {
    assert.throws(() => createNodePool({ podsPerNode: 6, initialNodes: 1, minNodes: 2 }, 2, 20), { code: 'INVALID_OPTION', message: /min ≤ initial ≤ max nodes \(got 2 ≤ 1 ≤ 4\)/ });
  });
});
