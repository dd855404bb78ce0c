/**
 * Whether the pre-scaling lead covers a new VM on each cloud, with the figures `simulate` runs: the cloud
 * counterpart of `node-checks.ts`'s `node-lead-time`, which checks the same lead for a pod on a new node.
 */
import type { CheckFinding } from './checks.ts';

/** One cloud's time from a pre-scaling window's start to a new instance serving, as the simulator runs it. */
export interface VmLeadTime {
  /** "AWS", "Compute Engine", "Azure". */
  platform: string;
  /** How long the window waits for the autoscaler to apply it (`getScheduleWaitSeconds` of its evaluation interval). */
  scheduleWaitSeconds: number;
  /** A new instance's launch to serving (boot, app start-up, the load balancer's health checks). */
  readySeconds: number;
}

/**
 * Whether the pre-scaling lead covers a new VM on each cloud: the window's floor is applied once the autoscaler
 * evaluates it (on the window's whole minute for every deployed interval) and its instances serve only once booted
 * and healthy, so a lead shorter than both together leaves the window's first minutes short of capacity, exactly
 * when `simulate` runs that cloud over the SLO (`node-lead-time` checks the same for a pod on a new node).
 */
export function checkVmLeadTime(leadMinutes: number, platforms: readonly VmLeadTime[]): CheckFinding {
  const needs = platforms.map((p) => ({ ...p, needed: p.scheduleWaitSeconds + p.readySeconds }));
  const chain = needs.map((p) => `${p.platform} wait for an evaluation ${p.scheduleWaitSeconds} s + instance ready ${p.readySeconds} s = ${p.needed} s`).join('; ');
  const short = needs.filter((p) => leadMinutes * 60 < p.needed);
  if (short.length === 0) return { id: 'vm-lead-time', level: 'ok', message: `pre-scaling lead ${leadMinutes} min covers a new instance on each cloud: ${chain}` };
  const longest = Math.max(...short.map((p) => p.needed));
  return {
    id: 'vm-lead-time',
    level: 'warning',
    message: `pre-scaling lead ${leadMinutes} min is shorter than a new instance needs (${chain}); not covered: ${short.map((p) => p.platform).join(', ')}, whose window's instances would still be booting when its hour begins`,
    fix: `raise the lead to ≥ ${Math.ceil(longest / 60)} min (plan/simulate --lead, the deployment spec's prescale.leadMinutes)`,
  };
}
