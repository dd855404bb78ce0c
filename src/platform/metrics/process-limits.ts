import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/**
 * CPU the process may use, in cores: the cgroup quota when one is set (v2 `cpu.max`, else v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`), else 1 — a Node.js instance saturates its one
 * event-loop thread before it can use a second core, so "CPU > 90 %" means 90 % of one core unless a
 * container limit says otherwise.
 */
export function getCpuLimitCores(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  const attempt = (quotaOf: () => [string | undefined, string | undefined]) => {
    try {
      const [quota, period] = quotaOf();
      const cores = Number(quota) / Number(period);
      return quota !== 'max' && Number(quota) > 0 && Number.isFinite(cores) && cores > 0 ? cores : undefined;
    } catch {
      return undefined; // no such cgroup file
    }
  };
  const v2 = () => read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/) as [string, string];
  const v1 = (): [string, string] => [read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim(), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim()];
  return attempt(v2) ?? attempt(v1) ?? 1;
}

/** Memory the process may use, in bytes: the cgroup limit when there is one, else physical memory. */
export function getMemoryLimitBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory();
  // Unconstrained processes report 0 or UINT64_MAX depending on the platform.
  return constrained > 0 && constrained < total ? constrained : total;
}
