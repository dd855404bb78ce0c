import client from 'prom-client';
import { clearGauge } from '../metrics/scrape-gauges.ts';
import { DEGRADE_MODES, type DegradeMode } from './degrade-mode.ts';

export interface ClusterMetrics {
  /** Counted only by the instance that made the transition, so a sum over instances is the cluster's count. */
  transitions: client.Counter<'from' | 'to' | 'trigger'>;
}

/**
 * Gauges read this instance's view at scrape time (no Redis call during a scrape). Membership figures are
 * `undefined` while this instance's last heartbeat is too old to say who is live (Redis unreachable): the
 * gauges are then left out, not frozen at the last reading.
 */
export function clusterMetricsFor(
  registry: client.Registry,
  view: { mode(): DegradeMode; liveInstances(): { web: number; worker: number } | undefined; costPerHourUsd(): number | undefined },
): ClusterMetrics {
  new client.Gauge({
    name: 'salescale_degrade_mode',
    help: 'Degrade mode this instance applies: 1 for the current mode, 0 for the others',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      const current = view.mode();
      for (const mode of DEGRADE_MODES) this.set({ mode }, mode === current ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'salescale_live_instances',
    help: 'Instances with a heartbeat in the last three beats, cluster-wide, by role (as last seen by this instance; absent while its own heartbeat fails)',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      clearGauge(this);
      const live = view.liveInstances();
      if (!live) return;
      this.set({ role: 'web' }, live.web);
      this.set({ role: 'worker' }, live.worker);
    },
  });
  new client.Gauge({
    name: 'salescale_estimated_cost_usd_per_hour',
    help: 'Estimated cluster cost: live instances × CLUSTER_INSTANCE_HOUR_COST_USD',
    registers: [registry],
    collect() {
      clearGauge(this);
      const cost = view.costPerHourUsd();
      if (cost !== undefined) this.set(cost);
    },
  });
  return {
    transitions: new client.Counter({
      name: 'salescale_degrade_transitions_total',
      help: 'Degrade mode transitions made by this instance (trigger: auto = thresholds, admin = PUT /api/v1/admin/mode)',
      labelNames: ['from', 'to', 'trigger'],
      registers: [registry],
    }),
  };
}
