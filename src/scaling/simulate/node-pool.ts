/**
 * The node pool under the Kubernetes policies (hpa, hpa-legacy, hpa-prescaled): pods beyond what the Ready
 * nodes hold stay Pending; the Cluster Autoscaler (`cluster-autoscaler.ts`) adds nodes for them on its scan
 * interval, and a Pending pod starts (and begins its start-up lag) when a node with room is Ready. Without a
 * node pool the simulator schedules every pod at once, as before.
 */
import { ScalingInputError } from '../errors.ts';
import type { ClusterAutoscalerOptions, ClusterAutoscalerState } from './cluster-autoscaler.ts';
import { DEFAULT_CLUSTER_AUTOSCALER, checkProvisioningTime, countReadyNodes, createClusterState, runClusterAutoscaler } from './cluster-autoscaler.ts';
import type { SimPod } from './hpa-pods.ts';
import { createPendingPod, isPending } from './hpa-pods.ts';

/** The node pool of a simulation run. */
export interface NodePoolInput extends Partial<Omit<ClusterAutoscalerOptions, 'podsPerNode' | 'podShareOfNode'>> {
  /** Pods of the web Deployment one node holds. */
  podsPerNode: number;
  /** Share of a node one pod requests (larger of CPU and memory). @defaultValue 1 / podsPerNode */
  podShareOfNode?: number;
  /** Nodes at the start. @defaultValue just enough for the starting replicas (and at least `minNodes`) */
  initialNodes?: number;
}

/** Node figures of one run, added to its totals. */
export interface NodeTotals {
  initialNodes: number;
  peakNodes: number;
  /** Hours of every node of the pool, provisioning ones included (they are billed from launch). */
  nodeHours: number;
  /** Most pods Pending at once. */
  maxPendingPods: number;
  /** Pod-minutes spent Pending. */
  pendingPodMinutes: number;
  /** Nodes the Cluster Autoscaler requested / removed. */
  nodesAdded: number;
  nodesRemoved: number;
}

export interface NodePoolRun {
  readonly options: ClusterAutoscalerOptions;
  readonly initialNodes: number;
  /** Binds Pending pods to room on Ready nodes, oldest first; a bound pod starts now. */
  bind(pods: readonly SimPod[], now: number, readyDelaySeconds: number): SimPod[];
  /** One Cluster Autoscaler scan; pods of a removed node are recreated (and start again). */
  scan(pods: readonly SimPod[], now: number, readyDelaySeconds: number): SimPod[];
  readyNodes(now: number): number;
  totalNodes(): number;
  /** Adds one step of `dt` seconds to the totals. */
  record(pods: readonly SimPod[], dt: number): void;
  readonly totals: NodeTotals;
}

/** Resolves the defaults and refuses a pool that contradicts itself (INVALID_OPTION). */
export function resolveNodePoolOptions(input: NodePoolInput, initialPods: number, maxReplicas: number): { options: ClusterAutoscalerOptions; initialNodes: number } {
  if (!(Number.isSafeInteger(input.podsPerNode) && input.podsPerNode >= 1)) throw new ScalingInputError('INVALID_OPTION', `podsPerNode must be a whole number ≥ 1 (got ${input.podsPerNode})`);
  const minNodes = input.minNodes ?? DEFAULT_CLUSTER_AUTOSCALER.minNodes;
  const fit = Math.ceil(initialPods / input.podsPerNode);
  const maxNodes = input.maxNodes ?? Math.max(minNodes, Math.ceil(maxReplicas / input.podsPerNode), input.initialNodes ?? 0);
  const initialNodes = input.initialNodes ?? Math.min(maxNodes, Math.max(minNodes, fit));
  if (!(minNodes <= initialNodes && initialNodes <= maxNodes)) throw new ScalingInputError('INVALID_OPTION', `node pool: need min ≤ initial ≤ max nodes (got ${minNodes} ≤ ${initialNodes} ≤ ${maxNodes})`);
  const options: ClusterAutoscalerOptions = { ...DEFAULT_CLUSTER_AUTOSCALER, ...input, podShareOfNode: input.podShareOfNode ?? 1 / input.podsPerNode, minNodes, maxNodes };
  checkProvisioningTime(options);
  return { options, initialNodes };
}

export function createNodePool(input: NodePoolInput, initialPods: number, maxReplicas: number): NodePoolRun {
  const { options, initialNodes } = resolveNodePoolOptions(input, initialPods, maxReplicas);
  let state: ClusterAutoscalerState = createClusterState(initialNodes);
  const totals: NodeTotals = { initialNodes, peakNodes: initialNodes, nodeHours: 0, maxPendingPods: 0, pendingPodMinutes: 0, nodesAdded: 0, nodesRemoved: 0 };

  function bind(pods: readonly SimPod[], now: number, readyDelaySeconds: number): SimPod[] {
    const room = countReadyNodes(state, now) * options.podsPerNode - pods.filter((p) => !isPending(p)).length;
    if (room <= 0 || !pods.some(isPending)) return pods as SimPod[];
    let left = room;
    return pods.map((p) => {
      if (left <= 0 || !isPending(p)) return p;
      left--;
      return { startedAt: now, readyAt: now + readyDelaySeconds };
    });
  }

  return {
    options,
    initialNodes,
    bind,
    scan(pods, now, readyDelaySeconds) {
      const pending = pods.filter(isPending).length;
      const r = runClusterAutoscaler(state, options, { now, pendingPods: pending, scheduledPods: pods.length - pending });
      state = r.state;
      totals.nodesAdded += r.added;
      totals.nodesRemoved += r.removed;
      totals.peakNodes = Math.max(totals.peakNodes, state.nodes.length);
      if (r.evictedPods === 0) return pods as SimPod[];
      // Evicted pods are replaced by new ones (the ReplicaSet's), scheduled on the nodes left: the newest bound pods go.
      let evict = r.evictedPods;
      const out = [...pods];
      for (let i = out.length - 1; i >= 0 && evict > 0; i--) {
        if (isPending(out[i])) continue;
        out[i] = createPendingPod();
        evict--;
      }
      return bind(out, now, readyDelaySeconds);
    },
    readyNodes: (now) => countReadyNodes(state, now),
    totalNodes: () => state.nodes.length,
    record(pods, dt) {
      const pending = pods.filter(isPending).length;
      totals.nodeHours += (state.nodes.length * dt) / 3600;
      totals.pendingPodMinutes += (pending * dt) / 60;
      totals.maxPendingPods = Math.max(totals.maxPendingPods, pending);
    },
    totals,
  };
}
