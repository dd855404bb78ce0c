/**
 * The node pool options of `simulate` and `plan`: the size of a node (`--pods-per-node`, or `--node-cpu` with
 * `--node-memory`, else the deployment spec's `nodePool.allocatable`), its provisioning time, and for
 * `simulate` the group's start, minimum and maximum. Any of them turns `simulate`'s node pool on.
 */
import type { Command } from 'commander';
import { MAX_REPLICAS, toBoundedNumber } from './cli-inputs.ts';
import { ScalingInputError, quoteInput } from './errors.ts';
import type { DeploymentSpec } from './manifests/deployment-spec.ts';
import type { NodeSize } from './capacity/node-checks.ts';
import type { PodResources } from './simulate/cluster-autoscaler.ts';
import { checkProvisioningTime, DEFAULT_CLUSTER_AUTOSCALER, getPodShareOfNode, getPodsPerNode } from './simulate/cluster-autoscaler.ts';
import type { NodePoolInput } from './simulate/node-pool.ts';

export interface NodePoolCliOptions {
  nodes?: string;
  nodeMin?: string;
  nodeMax?: string;
  nodeCpu?: string;
  nodeMemory?: string;
  podsPerNode?: string;
  nodeProvisioningSeconds?: string;
}

/** Adds the options; `simulate` gets the group's start and minimum too. */
export function addNodePoolOptions(cmd: Command, spec: DeploymentSpec, command: 'simulate' | 'plan'): Command {
  const node = spec.nodePool;
  if (command === 'simulate') {
    cmd
      .option('--nodes <n|fit>', 'Kubernetes policies: simulate the node pool and its Cluster Autoscaler, starting with n nodes, or "fit": just enough for the starting replicas (any --node-* option implies --nodes fit)')
      .option('--node-min <n>', `node group minimum (default ${DEFAULT_CLUSTER_AUTOSCALER.minNodes})`);
  }
  return cmd
    .option('--node-max <n>', command === 'simulate' ? 'node group maximum (default: enough nodes for --max replicas)' : 'node group maximum, checked against the peak')
    .option('--node-cpu <millicores>', `a node's allocatable CPU for the app's pods, with --node-memory (default: the deployment spec's ${node.allocatable.cpuMillicores}m, an assumption)`)
    .option('--node-memory <MiB>', `a node's allocatable memory for the app's pods, with --node-cpu (default: the deployment spec's ${node.allocatable.memoryMiB} MiB)`)
    .option('--pods-per-node <n>', 'pods one node holds, instead of --node-cpu/--node-memory')
    .option('--node-provisioning-seconds <s>', `Cluster Autoscaler scale-up request to node Ready, 0–${DEFAULT_CLUSTER_AUTOSCALER.maxNodeProvisionSeconds} (default: the deployment spec's ${node.provisioningSeconds}, an assumption)`);
}

/**
 * The node's size from the options, else the spec's allocatable. A node that cannot hold one of `requests`
 * (the pods it must run) is refused (INVALID_OPTION), as `simulate` refuses it: no node count can hold that pod.
 */
export function resolveNodeSize(o: NodePoolCliOptions, spec: DeploymentSpec, requests: readonly PodResources[] = []): NodeSize {
  if (o.podsPerNode !== undefined) {
    if (o.nodeCpu !== undefined || o.nodeMemory !== undefined) throw new ScalingInputError('INVALID_OPTION', '--pods-per-node or --node-cpu/--node-memory, not both', { field: '--pods-per-node' });
    return { podsPerNode: toBoundedNumber(o.podsPerNode, '--pods-per-node', { atLeast: 1, atMost: MAX_REPLICAS, whole: true }), source: '--pods-per-node' };
  }
  if ((o.nodeCpu === undefined) !== (o.nodeMemory === undefined)) {
    const [given, missing] = o.nodeCpu !== undefined ? ['--node-cpu', '--node-memory'] : ['--node-memory', '--node-cpu'];
    throw new ScalingInputError('INVALID_OPTION', `${given} needs ${missing} (a node's allocatable CPU in millicores and memory in MiB), or give --pods-per-node`, { field: given });
  }
  const size: { allocatable: PodResources; source: string } =
    o.nodeCpu !== undefined && o.nodeMemory !== undefined
      ? { allocatable: { cpuMillicores: toBoundedNumber(o.nodeCpu, '--node-cpu', { above: 0 }), memoryMiB: toBoundedNumber(o.nodeMemory, '--node-memory', { above: 0 }) }, source: '--node-cpu/--node-memory' }
      : { allocatable: spec.nodePool.allocatable, source: "the deployment spec's nodePool, assumed" };
  for (const request of requests) getPodsPerNode(size.allocatable, request);
  return size;
}

export function resolveProvisioningSeconds(o: NodePoolCliOptions, spec: DeploymentSpec): number {
  if (o.nodeProvisioningSeconds === undefined) return spec.nodePool.provisioningSeconds;
  const provisioningSeconds = toBoundedNumber(o.nodeProvisioningSeconds, '--node-provisioning-seconds', { atLeast: 0 });
  checkProvisioningTime({ provisioningSeconds, maxNodeProvisionSeconds: DEFAULT_CLUSTER_AUTOSCALER.maxNodeProvisionSeconds }, '--node-provisioning-seconds');
  return provisioningSeconds;
}

export function resolveNodeMax(o: NodePoolCliOptions): number | undefined {
  return o.nodeMax === undefined ? undefined : toBoundedNumber(o.nodeMax, '--node-max', { atLeast: 1, atMost: MAX_REPLICAS, whole: true });
}

/** `simulate`'s node pool for the web pods, or undefined when no node option is given (pods scheduled at once). */
export function resolveSimulateNodePool(o: NodePoolCliOptions, spec: DeploymentSpec, webPod: PodResources): (NodePoolInput & { source: string }) | undefined {
  const given = [o.nodes, o.nodeMin, o.nodeMax, o.nodeCpu, o.nodeMemory, o.podsPerNode, o.nodeProvisioningSeconds].some((v) => v !== undefined);
  if (!given) return undefined;
  const size = resolveNodeSize(o, spec);
  const podsPerNode = 'podsPerNode' in size ? size.podsPerNode : getPodsPerNode(size.allocatable, webPod);
  const podShareOfNode = 'podsPerNode' in size ? 1 / size.podsPerNode : getPodShareOfNode(size.allocatable, webPod);
  let initialNodes: number | undefined;
  if (o.nodes !== undefined && o.nodes.trim() !== 'fit') {
    const n = Number(o.nodes);
    if (o.nodes.trim() === '' || !Number.isSafeInteger(n) || n < 0 || n > MAX_REPLICAS) throw new ScalingInputError('INVALID_OPTION', `--nodes must be a whole number 0–${MAX_REPLICAS} or "fit" (got ${quoteInput(o.nodes)})`, { field: '--nodes', value: o.nodes });
    initialNodes = n;
  }
  const minNodes = o.nodeMin === undefined ? undefined : toBoundedNumber(o.nodeMin, '--node-min', { atLeast: 0, atMost: MAX_REPLICAS, whole: true });
  const maxNodes = resolveNodeMax(o);
  const min = minNodes ?? DEFAULT_CLUSTER_AUTOSCALER.minNodes;
  if (maxNodes !== undefined && min > maxNodes) throw new ScalingInputError('INVALID_OPTION', `--node-min ${min} must not exceed --node-max ${maxNodes}`, { field: '--node-min' });
  if (initialNodes !== undefined && (initialNodes < min || (maxNodes !== undefined && initialNodes > maxNodes))) {
    throw new ScalingInputError('INVALID_OPTION', `--nodes ${initialNodes} must be within the node group's --node-min ${min} and --node-max ${maxNodes ?? '(enough for --max)'}`, { field: '--nodes', value: o.nodes });
  }
  return { podsPerNode, podShareOfNode, initialNodes, minNodes, maxNodes, provisioningSeconds: resolveProvisioningSeconds(o, spec), source: size.source };
}
