/**
 * The Kubernetes Cluster Autoscaler on one node group, as its documentation describes it
 * (kubernetes/autoscaler `cluster-autoscaler/FAQ.md`, "How does scale-up work?", "How does scale-down
 * work?", "What are the parameters to CA?"; the estimator in `estimator/binpacking_estimator.go`).
 * Pure: a state in, a state out. The simulator (`simulate.ts`, through `node-pool.ts`) binds pods to Ready
 * nodes and calls `runClusterAutoscaler` every scan interval.
 *
 * Simplifications, each named where it is made: one node group (so no expander), pods of one size on
 * the scale-up side (the First-Fit Decreasing estimate is then a division; `estimateNodes` keeps the
 * general form for `plan`), pods spread evenly over the Ready nodes (kube-scheduler's default
 * LeastAllocated scoring) for the scale-down side, which therefore tracks counts, not pod placements.
 */
import { ScalingInputError } from '../errors.ts';

/** CPU in millicores, memory in MiB: a pod's requests or a node's allocatable. */
export interface PodResources {
  cpuMillicores: number;
  memoryMiB: number;
}

/** The node group and the Cluster Autoscaler's flags (defaults: the FAQ's parameter table). */
export interface ClusterAutoscalerOptions {
  /** Pods of the simulated Deployment one node holds (`getPodsPerNode`). */
  podsPerNode: number;
  /** Share of a node's allocatable one pod requests, the larger of CPU and memory (for the utilization threshold). */
  podShareOfNode: number;
  /** Node group minimum: scale-down stops there. @defaultValue 1 */
  minNodes: number;
  /** Node group maximum: scale-up stops there. */
  maxNodes: number;
  /** Scale-up request to the node Ready and schedulable (cloud provider + kubelet bootstrap; an assumption). @defaultValue 120 */
  provisioningSeconds: number;
  /** `--scan-interval`. @defaultValue 10 */
  scanIntervalSeconds: number;
  /** `--scale-down-unneeded-time`. @defaultValue 600 */
  scaleDownUnneededSeconds: number;
  /** `--scale-down-delay-after-add`. @defaultValue 600 */
  scaleDownDelayAfterAddSeconds: number;
  /** `--scale-down-utilization-threshold`. @defaultValue 0.5 */
  scaleDownUtilizationThreshold: number;
  /** `--max-empty-bulk-delete`. @defaultValue 10 */
  maxEmptyBulkDelete: number;
  /** `--max-node-provision-time`: a longer provisioning time is refused (see `checkProvisioningTime`). @defaultValue 900 */
  maxNodeProvisionSeconds: number;
  /**
   * The requests behind `podShareOfNode`, for the utilization the Cluster Autoscaler computes: the allocatable left
   * to the app's pods, one pod's requests, and the DaemonSet pods' requests on every node (the node's Allocatable
   * being `allocatable + daemonSets`). @defaultValue undefined: a node's utilization is its pods × `podShareOfNode`,
   * which is the autoscaler's with no DaemonSet requests or with `--ignore-daemonsets-utilization`
   */
  requests?: { allocatable: PodResources; pod: PodResources; daemonSets: PodResources };
  /** `--ignore-daemonsets-utilization`: DaemonSet requests left out of a node's utilization. @defaultValue false */
  ignoreDaemonSetsUtilization: boolean;
}

export const DEFAULT_CLUSTER_AUTOSCALER: Omit<ClusterAutoscalerOptions, 'podsPerNode' | 'podShareOfNode' | 'maxNodes'> = {
  minNodes: 1,
  provisioningSeconds: 120,
  scanIntervalSeconds: 10,
  scaleDownUnneededSeconds: 600,
  scaleDownDelayAfterAddSeconds: 600,
  scaleDownUtilizationThreshold: 0.5,
  maxEmptyBulkDelete: 10,
  maxNodeProvisionSeconds: 900,
  ignoreDaemonSetsUtilization: false,
};

/** A node of the group: requested at `requestedAt`, schedulable from `readyAt` (seconds on the simulation clock). */
export interface SimNode {
  requestedAt: number;
  readyAt: number;
}

export interface ClusterAutoscalerState {
  nodes: SimNode[];
  /** Time of the last scale-up (−∞ before any). */
  lastScaleUpAt: number;
  /** When each currently unneeded node became unneeded, oldest first (one entry per removable node). */
  unneededSince: number[];
}

/** What the autoscaler sees at a scan. */
export interface ClusterView {
  now: number;
  /** Pods the scheduler could not place (phase Pending, unschedulable). */
  pendingPods: number;
  /** Pods bound to a node. */
  scheduledPods: number;
}

export interface ClusterAutoscalerResult {
  state: ClusterAutoscalerState;
  /** Nodes requested at this scan. */
  added: number;
  /** Nodes removed at this scan. */
  removed: number;
  /** Pods evicted from a removed non-empty node: the caller recreates them elsewhere (they start again). */
  evictedPods: number;
}

/**
 * Pods of one size a node holds: the smaller of its CPU and memory quotients. A pod larger than the node
 * is refused: "CA doesn't add nodes to the cluster if it wouldn't make a pod schedulable" (FAQ, "I have a
 * couple of pending pods, but there was no scale-up?").
 */
export function getPodsPerNode(allocatable: PodResources, request: PodResources): number {
  const n = Math.floor(Math.min(allocatable.cpuMillicores / request.cpuMillicores, allocatable.memoryMiB / request.memoryMiB) + 1e-9);
  if (!(n >= 1)) {
    throw new ScalingInputError(
      'INVALID_OPTION',
      `a pod requesting ${request.cpuMillicores}m CPU and ${request.memoryMiB} MiB does not fit a node with ${allocatable.cpuMillicores}m and ${allocatable.memoryMiB} MiB allocatable: the Cluster Autoscaler adds no node for a pod that would not fit on one`,
      { allocatable, request },
    );
  }
  return n;
}

/** The larger of a pod's CPU and memory shares of a node (the flag's "maximum value between the sum of cpu requests and sum of memory requests … divided by node's corresponding allocatable"). */
export function getPodShareOfNode(allocatable: PodResources, request: PodResources): number {
  return Math.max(request.cpuMillicores / allocatable.cpuMillicores, request.memoryMiB / allocatable.memoryMiB);
}

/**
 * Nodes of one template that hold the given pods: First-Fit Decreasing, as the binpacking estimator
 * ("Estimate implements First-Fit bin-packing approximation algorithm … the default order is
 * DecreasingPodOrderer"): pods by decreasing size, each on the first new node it fits, else on a new node.
 * A pod that fits no empty node is left out (`unplaceable`).
 */
export function estimateNodes(pods: readonly PodResources[], node: PodResources): { nodes: number; unplaceable: number } {
  const size = (p: PodResources) => p.cpuMillicores / node.cpuMillicores + p.memoryMiB / node.memoryMiB;
  const ordered = [...pods].sort((a, b) => size(b) - size(a));
  const free: PodResources[] = [];
  let unplaceable = 0;
  for (const pod of ordered) {
    if (pod.cpuMillicores > node.cpuMillicores || pod.memoryMiB > node.memoryMiB) {
      unplaceable++;
      continue;
    }
    let target = free.find((f) => f.cpuMillicores >= pod.cpuMillicores && f.memoryMiB >= pod.memoryMiB);
    if (!target) {
      target = { ...node };
      free.push(target);
    }
    target.cpuMillicores -= pod.cpuMillicores;
    target.memoryMiB -= pod.memoryMiB;
  }
  return { nodes: free.length, unplaceable };
}

/**
 * "Cluster Autoscaler expects requested nodes to appear within 15 minutes (configured by
 * `--max-node-provision-time` flag.) After this time, if they are still unregistered, it stops considering
 * them in simulations … It will also attempt to remove any nodes left unregistered after this time."
 * A node slower than that never serves in this model, so the value is refused.
 */
export function checkProvisioningTime(o: Pick<ClusterAutoscalerOptions, 'provisioningSeconds' | 'maxNodeProvisionSeconds'>, field = 'provisioningSeconds'): void {
  if (!(o.provisioningSeconds >= 0 && o.provisioningSeconds <= o.maxNodeProvisionSeconds)) {
    throw new ScalingInputError('INVALID_OPTION', `${field} must be 0–${o.maxNodeProvisionSeconds} (the Cluster Autoscaler's --max-node-provision-time: a node not registered by then is given up and removed) (got ${o.provisioningSeconds})`, { field, value: o.provisioningSeconds });
  }
}

/** A group of `initialNodes` nodes, Ready long before the simulation starts. */
export function createClusterState(initialNodes: number): ClusterAutoscalerState {
  return { nodes: Array.from({ length: initialNodes }, () => ({ requestedAt: -7200, readyAt: -3600 })), lastScaleUpAt: Number.NEGATIVE_INFINITY, unneededSince: [] };
}

export function countReadyNodes(state: ClusterAutoscalerState, now: number): number {
  return state.nodes.filter((n) => n.readyAt <= now).length;
}

/**
 * Scale-up: "It checks for any unschedulable pods every 10 seconds (configurable by `--scan-interval`
 * flag)" and "checks if any of the unschedulable pods would fit on a new node". Nodes already requested
 * count for the pending pods until they register (they are considered in simulations until
 * `--max-node-provision-time`), so one burst of pods is not answered twice. Nodes to add: the pods left
 * over ÷ pods per node, rounded up (First-Fit Decreasing of pods of one size), within the group's maximum
 * ("all suitable node groups are already at their maximum size" means no scale-up).
 */
function scaleUp(state: ClusterAutoscalerState, o: ClusterAutoscalerOptions, view: ClusterView): { state: ClusterAutoscalerState; added: number } {
  const upcoming = state.nodes.filter((n) => n.readyAt > view.now).length;
  const leftOver = view.pendingPods - upcoming * o.podsPerNode;
  const add = Math.max(0, Math.min(Math.ceil(leftOver / o.podsPerNode), o.maxNodes - state.nodes.length));
  if (add === 0) return { state, added: 0 };
  const nodes = [...state.nodes, ...Array.from({ length: add }, () => ({ requestedAt: view.now, readyAt: view.now + o.provisioningSeconds }))];
  return { state: { ...state, nodes, lastScaleUpAt: view.now }, added: add };
}

/**
 * A node's utilization with `pods` pods of the Deployment: for CPU and for memory, the requests of every pod on
 * the node over its Allocatable, the larger of the two (`utilization/info.go`; the FAQ: "DaemonSet pods and
 * Mirror pods are included by default"). With `--ignore-daemonsets-utilization`, "DaemonSet pods resourses
 * will be subtracted from the node allocatable and won't be added to pods requests": pods × `podShareOfNode`.
 */
export function getNodeUtilization(o: Pick<ClusterAutoscalerOptions, 'podShareOfNode' | 'requests' | 'ignoreDaemonSetsUtilization'>, pods: number): number {
  const r = o.requests;
  if (!r || o.ignoreDaemonSetsUtilization) return pods * o.podShareOfNode;
  const share = (k: 'cpuMillicores' | 'memoryMiB') => (r.daemonSets[k] + pods * r.pod[k]) / (r.allocatable[k] + r.daemonSets[k]);
  return Math.max(share('cpuMillicores'), share('memoryMiB'));
}

/**
 * Removable Ready nodes now: a node is unneeded when "the sum of cpu requests and sum of memory requests
 * of all pods running on this node … are smaller than 50% of the node's allocatable" and its pods "can be
 * moved to other nodes"; never below the group's minimum. The threshold is checked node by node
 * (`eligibility.go`: `if utilInfo.Utilization >= threshold { return false, nil }`), not on the pool's
 * average: with pods spread evenly, a Ready node holds ⌊scheduled ÷ Ready⌋ pods or one more, so the nodes
 * below the threshold are those whose own count is; of them, as many are removable as leave room for all
 * scheduled pods on the rest.
 */
export function countRemovableNodes(state: ClusterAutoscalerState, o: ClusterAutoscalerOptions, view: ClusterView): number {
  const ready = countReadyNodes(state, view.now);
  if (ready === 0) return 0;
  const least = Math.floor(view.scheduledPods / ready + 1e-9);
  const holdingOneMore = view.scheduledPods - least * ready;
  const isBelow = (pods: number) => getNodeUtilization(o, pods) < o.scaleDownUtilizationThreshold - 1e-9;
  const below = (isBelow(least) ? ready - holdingOneMore : 0) + (isBelow(least + 1) ? holdingOneMore : 0);
  const needed = Math.ceil(view.scheduledPods / o.podsPerNode - 1e-9);
  return Math.max(0, Math.min(below, ready - needed, state.nodes.length - o.minNodes));
}

/**
 * Scale-down, "if no scale-up is needed": no removal within `--scale-down-delay-after-add` of a scale-up
 * (the unneeded timers keep running meanwhile, so the two overlap rather than add up); a node goes after
 * it has been unneeded for `--scale-down-unneeded-time` ("If a node is unneeded for more than 10 minutes,
 * it will be terminated"). "Cluster Autoscaler terminates one non-empty node at a time … Empty
 * nodes, on the other hand, can be terminated in bulk, up to 10 nodes at a time". When fewer nodes are
 * removable than before, the most recent timers go (the FAQ's node B: its condition "may not be true …
 * anymore"). Pods on a removed non-empty node are evicted (the fewest any node holds, ⌊scheduled ÷ Ready⌋).
 */
function scaleDown(state: ClusterAutoscalerState, o: ClusterAutoscalerOptions, view: ClusterView): ClusterAutoscalerResult {
  const none = (s: ClusterAutoscalerState): ClusterAutoscalerResult => ({ state: s, added: 0, removed: 0, evictedPods: 0 });
  const removable = countRemovableNodes(state, o, view);
  const since = state.unneededSince.slice(0, removable);
  while (since.length < removable) since.push(view.now);
  // RunOnce updates the unneeded nodes before it checks the cooldown ("In dry run only utilization is
  // updated", static_autoscaler.go): the timers run through delay-after-add, only removals wait for it.
  if (view.now < state.lastScaleUpAt + o.scaleDownDelayAfterAddSeconds) return none({ ...state, unneededSince: since });
  const expired = since.filter((t) => view.now - t >= o.scaleDownUnneededSeconds).length;
  if (expired === 0) return none({ ...state, unneededSince: since });
  const ready = countReadyNodes(state, view.now);
  const empty = Math.max(0, ready - view.scheduledPods);
  const removed = empty > 0 ? Math.min(expired, empty, o.maxEmptyBulkDelete) : 1;
  const evictedPods = empty > 0 ? 0 : Math.floor(view.scheduledPods / ready);
  // The newest Ready nodes go (which ones does not matter to a model that counts).
  const nodes = [...state.nodes];
  for (let k = 0; k < removed; k++) {
    const i = nodes.findLastIndex((n) => n.readyAt <= view.now);
    nodes.splice(i, 1);
  }
  return { state: { ...state, nodes, unneededSince: since.slice(removed) }, added: 0, removed, evictedPods };
}

/** One scan: scale up for pending pods, else consider scale-down. */
export function runClusterAutoscaler(state: ClusterAutoscalerState, o: ClusterAutoscalerOptions, view: ClusterView): ClusterAutoscalerResult {
  if (view.pendingPods > 0) {
    // Scale-down is considered only "if no scale-up is needed"; its timers start over.
    const up = scaleUp(state, o, view);
    return { state: { ...up.state, unneededSince: [] }, added: up.added, removed: 0, evictedPods: 0 };
  }
  return scaleDown(state, o, view);
}
