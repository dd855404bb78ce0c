/**
 * The node pool under a Kubernetes deployment, checked against the plan: whether the pre-scaling lead time
 * covers a node that has to be added first, and how many nodes the peak needs. The Cluster Autoscaler adds a
 * node only once a pod is Pending (kubernetes/autoscaler `cluster-autoscaler/FAQ.md`), so a KEDA cron
 * window that raises replicas `lead` minutes early gets them Ready only if the lead covers the HPA's reaction,
 * the autoscaler's scan, the node's provisioning and the pod's start-up.
 */
import type { PodResources } from '../simulate/cluster-autoscaler.ts';
import { estimateNodes } from '../simulate/cluster-autoscaler.ts';
import type { CheckFinding } from './checks.ts';

/** How big a node is: its allocatable, or a count of (equal) pods. */
export type NodeSize = { allocatable: PodResources; source: string } | { podsPerNode: number; source: string };

export interface NodeCheckOptions {
  /** Pre-scaling lead time, minutes (windows start this early). */
  leadMinutes: number;
  /** HPA sync period: the cron trigger's replicas are read at the next sync. */
  hpaSyncSeconds: number;
  /** Cluster Autoscaler `--scan-interval`. */
  scanIntervalSeconds: number;
  /** Scale-up request to node Ready. */
  provisioningSeconds: number;
  /** Pod creation to Ready. */
  podReadySeconds: number;
  web: { peak: number; min: number; request: PodResources };
  worker: { peak: number; min: number; request: PodResources };
  node: NodeSize;
  /** Node group maximum, when known. */
  maxNodes?: number;
  /**
   * Pods a rolling update adds at the peak (the Deployments' maxSurge, with maxUnavailable 0: render-k8s.ts), and what
   * says so. The new pods must be scheduled before any old one stops, so a maximum that holds only the peak stalls a
   * release at it. None when absent.
   */
  rolloutSurge?: { web: number; worker: number; source: string };
}

/** The overprovisioning pattern of the Cluster Autoscaler FAQ, as the fix text names it. */
const OVERPROVISIONING = 'low-priority placeholder pods (the Cluster Autoscaler FAQ\'s overprovisioning: a Deployment of pause pods in a PriorityClass of value -10, which real pods preempt, so the freed node is already Ready while the placeholders wait for the next one)';

function countNodes(pods: { count: number; request: PodResources }[], node: NodeSize): number {
  if ('podsPerNode' in node) return Math.ceil(pods.reduce((n, p) => n + p.count, 0) / node.podsPerNode - 1e-9);
  return estimateNodes(pods.flatMap((p) => Array.from({ length: p.count }, () => p.request)), node.allocatable).nodes;
}

function describeNode(node: NodeSize): string {
  return 'podsPerNode' in node ? `${node.podsPerNode} pods each (${node.source})` : `${node.allocatable.cpuMillicores}m CPU / ${node.allocatable.memoryMiB} MiB allocatable (${node.source})`;
}

/** Nodes at the plan's peak and off-peak, and the lead time a new node needs. */
export function checkNodePool(o: NodeCheckOptions): CheckFinding[] {
  const peakNodes = countNodes([{ count: o.web.peak, request: o.web.request }, { count: o.worker.peak, request: o.worker.request }], o.node);
  const offPeakNodes = countNodes([{ count: o.web.min, request: o.web.request }, { count: o.worker.min, request: o.worker.request }], o.node);
  const surge = o.rolloutSurge;
  const releaseNodes = surge
    ? countNodes([{ count: o.web.peak + surge.web, request: o.web.request }, { count: o.worker.peak + surge.worker, request: o.worker.request }], o.node)
    : peakNodes;
  const pods = (r: PodResources) => `${r.cpuMillicores}m / ${r.memoryMiB} MiB`;
  const sizing = `peak: ${o.web.peak} web (${pods(o.web.request)}) + ${o.worker.peak} worker (${pods(o.worker.request)}) pods need ${peakNodes} node(s) of ${describeNode(o.node)}, off-peak (${o.web.min} web + ${o.worker.min} worker) need ${offPeakNodes}`;
  const release = surge ? `a release at the peak (+ ${surge.web} web and ${surge.worker} worker pods, ${surge.source}) needs ${releaseNodes}` : '';
  const adds = `the Cluster Autoscaler adds ${Math.max(0, peakNodes - offPeakNodes)} for the sale`;
  const fixMax = (nodes: number) => `raise the node group's maximum to ≥ ${nodes} (--node-max to check it here)`;
  let pool: CheckFinding;
  if (o.maxNodes !== undefined && peakNodes > o.maxNodes) {
    pool = { id: 'node-pool', level: 'error', message: `${sizing}: the node group's maximum ${o.maxNodes} cannot hold the peak — pods would stay Pending`, fix: fixMax(releaseNodes) };
  } else if (o.maxNodes !== undefined && releaseNodes > o.maxNodes) {
    pool = {
      id: 'node-pool',
      level: 'warning',
      message: `${sizing}; ${release}: above the maximum ${o.maxNodes}, its new pods would stay Pending and, as no old pod stops before a new one is Ready (maxUnavailable 0), the release would stall until the load and the replicas come down`,
      fix: `${fixMax(releaseNodes)}, or release before or after the sale`,
    };
  } else {
    const max = o.maxNodes !== undefined ? ` (maximum ${o.maxNodes})` : surge ? `; its node group maximum must be ≥ ${releaseNodes} (${peakNodes} for the peak, ${releaseNodes} for a release at it)` : `; its node group maximum must be ≥ ${peakNodes}`;
    pool = { id: 'node-pool', level: 'ok', message: `${sizing}${surge ? `, ${release}` : ''}: ${adds}${max}` };
  }

  // Without a node to add (the peak fits the off-peak nodes), a window's pods wait only for the HPA and their start-up.
  if (peakNodes <= offPeakNodes) {
    const needed = o.hpaSyncSeconds + o.podReadySeconds;
    const chain = `HPA sync ${o.hpaSyncSeconds} s + pod start-up ${o.podReadySeconds} s = ${needed} s (the peak fits the off-peak nodes: no node to wait for)`;
    const lead: CheckFinding =
      o.leadMinutes * 60 >= needed
        ? { id: 'node-lead-time', level: 'ok', message: `pre-scaling lead ${o.leadMinutes} min covers the window's pods: ${chain}` }
        : { id: 'node-lead-time', level: 'warning', message: `pre-scaling lead ${o.leadMinutes} min is shorter than the window's pods need: ${chain}; they would be starting when its hour begins`, fix: `raise the lead to ≥ ${Math.ceil(needed / 60)} min (plan/simulate --lead, the deployment spec's prescale.leadMinutes)` };
    return [lead, pool];
  }
  const needed = o.hpaSyncSeconds + o.scanIntervalSeconds + o.provisioningSeconds + o.podReadySeconds;
  const chain = `HPA sync ${o.hpaSyncSeconds} s + Cluster Autoscaler scan ${o.scanIntervalSeconds} s + node provisioning ${o.provisioningSeconds} s + pod start-up ${o.podReadySeconds} s = ${needed} s`;
  const lead: CheckFinding =
    o.leadMinutes * 60 >= needed
      ? { id: 'node-lead-time', level: 'ok', message: `pre-scaling lead ${o.leadMinutes} min covers pods that wait for a new node: ${chain}` }
      : {
          id: 'node-lead-time',
          level: 'warning',
          message: `pre-scaling lead ${o.leadMinutes} min is shorter than a pod that waits for a new node needs: ${chain}; the window's pods would be Pending or starting when its hour begins`,
          fix: `raise the lead to ≥ ${Math.ceil(needed / 60)} min (plan/simulate --lead, the deployment spec's prescale.leadMinutes), or set the node group's minimum to ${peakNodes} for the sale (nodes Ready before the window), or keep ${OVERPROVISIONING}`,
        };
  return [lead, pool];
}
