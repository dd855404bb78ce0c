/**
 * Forecast → plan → pre-scaling schedule → simulation of several policies over the same demand.
 */
import type { CapacityPlan, WebPlanOptions } from '../capacity/plan.ts';
import { DEFAULT_WEB_PLAN, planCapacity } from '../capacity/plan.ts';
import type { ForecastOptions } from '../forecast/forecast.ts';
import { createDemandCurve, forecastHourly } from '../forecast/forecast.ts';
import { DEFAULT_AZURE_RULES, buildAzureAutoscaleSetting, toGceScalingSchedules, type AzureRuleParams } from '../schedule/cloud-schedules.ts';
import { applyHpaTolerance, getPrescaleWindows, toAwsScheduledActions, type HpaPrescale } from '../schedule/schedule.ts';
import type { TargetTrackingOptions } from './aws-target-tracking.ts';
import { DEFAULT_AZURE_SCALER, type AzureScalerOptions } from './azure-scaler.ts';
import type { GceScalerOptions } from './gce-scaler.ts';
import type { HpaScalerOptions } from './k8s-hpa-scaler.ts';
import { DEFAULT_HPA_SCALER, getHpaTolerances } from './k8s-hpa-scaler.ts';
import type { NodePoolInput } from './node-pool.ts';
import type { PrescaleWindow } from './prescale.ts';
import { createWindowLookup } from './prescale.ts';
import { GCE_CRON_YEARS } from './gce-schedules.ts';
import type { PolicyName, SimulationResult } from './simulate.ts';
import { DEFAULT_STEP_SECONDS, readOncePerStep, simulatePolicy } from './simulate.ts';
import type { ServiceModelOptions } from './service-model.ts';
import { DEFAULT_SERVICE_MODEL, getServiceRate } from './service-model.ts';

const HOUR_MS = 3_600_000;

/** Inputs of a policy comparison. */
export interface CompareInput {
  /** The demand the simulation replays (× `demandFactor`). */
  forecast: Partial<ForecastOptions>;
  /** The forecast the plan, pre-scaling windows and predictive scaling are sized on (e.g. its 0.9 quantile). @defaultValue forecast */
  planForecast?: Partial<ForecastOptions>;
  from: Date;
  to: Date;
  policies: readonly PolicyName[];
  capacityPerInstanceRps: number;
  pricePerInstanceHour: number;
  web?: Partial<Omit<WebPlanOptions, 'capacityPerInstanceRps'>>;
  service?: Partial<Omit<ServiceModelOptions, 'capacityPerInstanceRps'>>;
  hpa?: Partial<HpaScalerOptions>;
  aws?: Partial<TargetTrackingOptions>;
  gce?: Partial<GceScalerOptions>;
  azure?: Partial<Omit<AzureScalerOptions, 'setting'>> & { rules?: Partial<AzureRuleParams> };
  /** Pre-scaled capacity is ready this long before each planned hour. @defaultValue 10 */
  leadMinutes?: number;
  /** Actual demand = forecast × factor (test the plan against a forecast error). @defaultValue 1 */
  demandFactor?: number;
  /** @defaultValue 5 */
  stepSeconds?: number;
  /** Node pool and Cluster Autoscaler under the Kubernetes policies. @defaultValue none: pods are scheduled at once */
  nodePool?: NodePoolInput;
  onProgress?: (policy: PolicyName, fraction: number) => void;
}

export interface CompareResult {
  plan: CapacityPlan;
  windows: PrescaleWindow[];
  /** The windows as the KEDA cron triggers get them: steps inside the HPA's tolerance raised (`applyHpaTolerance`). */
  kedaPrescale: HpaPrescale;
  results: SimulationResult[];
  /** Notes on the rating, for stderr: a GCE schedule rated that `manifests --target gcp` refuses to write. */
  warnings: string[];
}

export function comparePolicies(input: CompareInput): CompareResult {
  const web: WebPlanOptions = { ...DEFAULT_WEB_PLAN, ...input.web, capacityPerInstanceRps: input.capacityPerInstanceRps };
  const service: ServiceModelOptions = { ...DEFAULT_SERVICE_MODEL, ...input.service, sloP95Ms: web.sloP95Ms, capacityPerInstanceRps: input.capacityPerInstanceRps };
  // Plan one hour past the end so that windows for the last hour's successor exist.
  const planFrom = new Date(Math.floor(input.from.getTime() / HOUR_MS) * HOUR_MS);
  const planTo = new Date(input.to.getTime() + HOUR_MS);
  const sizing = input.planForecast ?? input.forecast;
  const plan = planCapacity(forecastHourly(sizing, planFrom, planTo), web);
  const windows = getPrescaleWindows(plan, { leadMinutes: input.leadMinutes ?? 10 });
  const hpa = { minReplicas: web.minReplicas, maxReplicas: web.maxReplicas, cpuTargetPercent: web.targetUtilization * 100, ...input.hpa };
  // KEDA's cron triggers go through the HPA's tolerance (per direction, as the simulated HPA applies it); the other platforms' schedules set a floor and take the windows as they are.
  const kedaPrescale = applyHpaTolerance(windows, hpa.minReplicas, hpa.maxReplicas, getHpaTolerances({ ...DEFAULT_HPA_SCALER, ...hpa }));
  const forecastDemand = createDemandCurve(input.forecast);
  const factor = input.demandFactor ?? 1;
  // Predictive scaling (AWS, GCE, Azure) learns from the group's history: three weeks of the base pattern
  // before the window, no events (each engine uses as much of it as its docs say).
  const historyFrom = new Date(planFrom.getTime() - 21 * 24 * HOUR_MS);
  const history = forecastHourly({ ...input.forecast, events: [] }, historyFrom, planFrom).map((h) => ({ hourMs: Date.parse(h.hour), load: h.meanRequestsPerSecond }));
  const serviceRatePerVm = getServiceRate(service);
  const timeZone = input.forecast.timeZone ?? 'UTC';
  const target = web.targetUtilization * 100;
  const gceSchedules = toGceScalingSchedules(windows, timeZone, undefined, 'omit-year');
  // A year-less cron is one past GCE_CRON_YEARS: rated here, but refused by `manifests --target gcp`.
  const gcePastCronYears = input.policies.includes('gce-predictive-scheduled') && Object.values(gceSchedules).some((s) => s.schedule.split(' ').length === 5);
  const warnings = gcePastCronYears
    ? [`gce-predictive-scheduled is rated on Compute Engine scaling schedules past ${GCE_CRON_YEARS[1]} (the cron's last year), which salescale manifests --target gcp refuses to write: no deployable schedule matches this rating`]
    : [];
  const gce: Partial<GceScalerOptions> = {
    minNumReplicas: web.minReplicas,
    maxNumReplicas: web.maxReplicas,
    cpuTarget: web.targetUtilization,
    // Past 2036 (the cron's last year) the deployed file is refused; here the 5-field cron starts once in the simulated span (at most 45 days), as the one-off would.
    schedules: gceSchedules,
    fromMs: input.from.getTime(),
    toMs: input.to.getTime(),
    history,
    serviceRatePerVm,
    ...input.gce,
  };
  const usesAzure = input.policies.some((p) => p.startsWith('azure-'));
  const azure: AzureScalerOptions | undefined = usesAzure
    ? {
        ...DEFAULT_AZURE_SCALER,
        history,
        serviceRatePerVm,
        ...input.azure,
        setting: buildAzureAutoscaleSetting({ min: web.minReplicas, max: web.maxReplicas, rules: { ...DEFAULT_AZURE_RULES, scaleOutCpuPercent: target, ...input.azure?.rules }, windows, timeZone }),
      }
    : undefined;
  // The EC2 group runs the scheduled actions the CloudFormation template gets, and a ForecastAndScale policy.
  const aws: Partial<TargetTrackingOptions> = {
    minSize: web.minReplicas,
    maxSize: web.maxReplicas,
    targetCpuPercent: target,
    scheduledActions: toAwsScheduledActions(windows, 'web', web.minReplicas).map((a) => a.properties),
    predictive: { mode: 'ForecastAndScale' },
    history,
    serviceRatePerInstance: serviceRatePerVm,
    ...input.aws,
  };
  // Every policy runs over the same steps: each step's demand (a look at every event) is worked out once for all.
  const demand = readOncePerStep((t: number) => forecastDemand(t) * factor, input.from.getTime(), input.to.getTime(), input.stepSeconds ?? DEFAULT_STEP_SECONDS);
  const results = input.policies.map((policy) =>
    simulatePolicy({
      policy,
      from: input.from,
      to: input.to,
      demand,
      service,
      pricePerInstanceHour: input.pricePerInstanceHour,
      stepSeconds: input.stepSeconds,
      hpa,
      aws,
      gce,
      azure,
      prescale: createWindowLookup(policy === 'hpa-prescaled' ? kedaPrescale.windows : windows),
      nodePool: input.nodePool,
      events: input.forecast.events,
      onProgress: input.onProgress ? (f) => input.onProgress?.(policy, f) : undefined,
    }),
  );
  return { plan, windows, kedaPrescale, results, warnings };
}
