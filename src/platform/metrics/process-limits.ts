import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/**
 * CPU the process may use, in cores: the cgroup v2 quota (`cpu.max`) when one is set, else 1 —
 * a Node.js instance saturates its one event-loop thread before it can use a second core, so
 * "CPU > 90 %" means 90 % of one core unless a container limit says otherwise.
 */
export function getCpuLimitCores(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    const cores = Number(quota) / Number(period);
    if (quota !== 'max' && Number.isFinite(cores) && cores > 0) return cores;
  } catch {
    // not in a cgroup v2 container
  }
  return 1;
}

/** Memory the process may use, in bytes: the cgroup limit when there is one, else physical memory. */
export function getMemoryLimitBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory();
  // Unconstrained processes report 0 or UINT64_MAX depending on the platform.
  return constrained > 0 && constrained < total ? constrained : total;
}
