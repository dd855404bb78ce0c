/**
 * Azure Monitor autoscale on a VM scale set as a simulated autoscaler: the engine runs every
 * `intervalSeconds` (30–60 s by resource type), reads Percentage CPU (per-minute instance average,
 * aggregated over each rule's time window after the metric delay) and applies the setting's profiles
 * and rules; predictive autoscale forecasts the set's total CPU from the history.
 */
import type { AzureAutoscaleSetting, AzureAutoscaleState, AzureRule } from './azure-autoscale.ts';
import { aggregateWindow, evaluateAzureAutoscale, parseIsoDuration } from './azure-autoscale.ts';
import type { LoadHistoryPoint } from './gce-schedules.ts';
import { forecastSeasonalLoad } from './gce-schedules.ts';
import type { Scaler } from './scaler.ts';

export interface AzureScalerOptions {
  setting: AzureAutoscaleSetting;
  /** @defaultValue 60 */
  intervalSeconds: number;
  /** Platform metric latency. @defaultValue 60 */
  metricDelaySeconds: number;
  /** VM create to healthy behind the load balancer probe. @defaultValue 120 */
  vmReadySeconds: number;
  /** Predictive: hourly load history (requests/s) and requests/s per VM at 100 % CPU. */
  history?: readonly LoadHistoryPoint[];
  serviceRatePerVm?: number;
}

/** Predictive autoscale's documented history needs: 7 days minimum, 15-day rolling window. */
export const AZURE_PREDICTIVE_LIMITS = { minHistoryHours: 7 * 24, maxHistoryHours: 15 * 24 };

/** The engine's run every 60 s ("every 30–60 s by resource type"), metrics a minute late, a VM serving 120 s after it is created. */
export const DEFAULT_AZURE_SCALER: Pick<AzureScalerOptions, 'intervalSeconds' | 'metricDelaySeconds' | 'vmReadySeconds'> = { intervalSeconds: 60, metricDelaySeconds: 60, vmReadySeconds: 120 };

export function createAzureScaler(options: Partial<AzureScalerOptions> & { setting: AzureAutoscaleSetting }): Scaler {
  const o: AzureScalerOptions = { ...DEFAULT_AZURE_SCALER, ...options };
  let state: AzureAutoscaleState = { cooldownUntilMs: Number.NEGATIVE_INFINITY };
  const lookAhead = parseIsoDuration(o.setting.predictiveAutoscalePolicy?.scaleLookAheadTime ?? 'PT15M');
  return {
    intervalSeconds: o.intervalSeconds,
    readyDelaySeconds: o.vmReadySeconds,
    decide(ctx) {
      const end = ctx.now - o.metricDelaySeconds;
      const metricValue = (rule: AzureRule): number | undefined => {
        if (rule.metricTrigger.metricName !== 'Percentage CPU') return undefined;
        const grain = parseIsoDuration(rule.metricTrigger.timeGrain);
        const window = parseIsoDuration(rule.metricTrigger.timeWindow);
        const samples: number[] = [];
        for (let t = end; t > end - window; t -= grain) if (ctx.anyReadyAt(t)) samples.push(ctx.utilizationAt(t, grain) * 100);
        return samples.length > 0 ? aggregateWindow(samples.reverse(), rule.metricTrigger.timeAggregation) : undefined;
      };
      let predictedCpuPercent: number | undefined;
      if (o.setting.predictiveAutoscalePolicy?.scaleMode === 'Enabled' && o.history && o.serviceRatePerVm && ctx.pods.length > 0) {
        const load = forecastSeasonalLoad(o.history, ctx.nowMs, ctx.nowMs + lookAhead * 1000, AZURE_PREDICTIVE_LIMITS);
        // The forecast is the set's total CPU (5 VMs: up to 500 %); per instance at the current count.
        if (load !== undefined) predictedCpuPercent = Math.min(100, ((load / o.serviceRatePerVm) * 100) / ctx.pods.length);
      }
      const decision = evaluateAzureAutoscale(o.setting, state, { nowMs: ctx.nowMs, current: ctx.pods.length, metricValue, predictedCpuPercent });
      state = decision.state;
      return decision.newCount;
    },
  };
}
