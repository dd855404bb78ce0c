/**
 * The pre-scaling windows the manifests carry: the capacity plan of the spec's calendar sale
 * (forecast → replicas per hour → windows above the minimum), as KEDA cron triggers and AWS
 * scheduled actions. Deterministic: the same spec gives the same windows.
 */
import { DEFAULT_WORKER_PLAN, getBacklogListLength, getQueueThroughput, getQueueWorkloads, planCapacity, type CapacityPlan, type WebPlanOptions, type WorkerPlanOptions } from '../capacity/plan.ts';
import { getCalendarEvent, getSeedCalendarEvents } from '../forecast/calendar.ts';
import { forecastHourly } from '../forecast/forecast.ts';
import { applyHpaTolerance, getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers, type AwsScheduledAction, type KedaCronTrigger, type RaisedPrescaleStep } from '../schedule/schedule.ts';
import { DEFAULT_TOLERANCE } from '../simulate/hpa.ts';
import { normalizeBehavior } from '../simulate/hpa-behavior.ts';
import type { CompareInput } from '../simulate/compare.ts';
import type { PrescaleWindow } from '../simulate/prescale.ts';
import type { WorkerKedaOptions } from '../simulate/simulate-workers.ts';
import { type DeploymentSpec, WEB_IDLE_MEMORY_MIB } from './deployment-spec.ts';
import { getHpaMemoryModel } from '../simulate/k8s-hpa-scaler.ts';
import { QUEUE_NAMES, type QueueName } from '../../platform/queue/queue-definitions.ts';

export interface PrescaleSchedule {
  plan: CapacityPlan;
  /** The sale the windows were planned for, e.g. "Black Friday 2027". */
  label: string;
  /** `kedaCron` is built from the windows with the steps the HPA's tolerance would swallow raised (`kedaRaised`); the other platforms take `windows`. */
  web: { windows: PrescaleWindow[]; kedaCron: KedaCronTrigger[]; kedaRaised: RaisedPrescaleStep[]; awsActions: AwsScheduledAction[] };
  worker: { windows: PrescaleWindow[]; kedaCron: KedaCronTrigger[]; kedaRaised: RaisedPrescaleStep[]; awsActions: AwsScheduledAction[] };
}

/**
 * The capacity plan's settings as deployed: the web pod's capacity, the HPA's CPU target and both roles'
 * replica bounds. `plan`, `simulate` and `cost` take their defaults from here, so that `plan` for the
 * spec's sale gives the windows the manifests carry.
 */
export function getSpecPlanOptions(spec: DeploymentSpec): { web: WebPlanOptions; workers: WorkerPlanOptions } {
  return {
    web: { capacityPerInstanceRps: spec.web.capacityPerInstanceRps, sloP95Ms: 500, targetUtilization: spec.web.autoscaling.cpuPercent / 100, minReplicas: spec.web.replicas.min, maxReplicas: spec.web.replicas.max },
    // The worker as deployed: the app's concurrency per queue, email capped by the worker's own pool.
    workers: { ...DEFAULT_WORKER_PLAN, queues: getQueueWorkloads({}, spec.worker.dbPoolMax), minReplicas: spec.worker.replicas.min, maxReplicas: spec.worker.replicas.max },
  };
}

/**
 * Each queue's KEDA redis `listLength`: the jobs one worker replica completes in `worker.backlogSecondsPerReplica`
 * at the queue's concurrency and job time, as the plan sizes workers (at least 1). The ScaledObject then asks for the
 * replicas that drain each queue's backlog in that time, whatever the queue's concurrency.
 */
export function getWorkerListLengths(spec: DeploymentSpec): Record<QueueName, number> {
  const queues = getSpecPlanOptions(spec).workers.queues;
  return Object.fromEntries(QUEUE_NAMES.map((q) => [q, getBacklogListLength(getQueueThroughput(queues[q]), spec.worker.backlogSecondsPerReplica)])) as Record<QueueName, number>;
}

/**
 * The autoscalers' settings as the rendered files set them, for the simulator: the HPA's memory target and
 * behavior (the HorizontalPodAutoscaler and the ScaledObject's horizontalPodAutoscalerConfig), the EC2 group's
 * DefaultInstanceWarmup (the target tracking policy sets no warm-up of its own), the GCE autoscaler's
 * initialization period and scale-in controls, the Azure rules. `simulate` and `cost` run the engines with them,
 * so that a simulated policy is the deployed one (the EC2 model's own default warm-up is 300 s, 2.5 × the
 * template's; the GCE model has no scale-in controls unless given).
 */
export function getSpecEngineOptions(spec: DeploymentSpec): Required<Pick<CompareInput, 'hpa' | 'aws' | 'gce' | 'azure'>> {
  return {
    // The HPA's memory metric and behavior (its CPU target is the plan's targetUtilization, which --target-util moves for every engine).
    // Its memory metric, if the spec sets one (none by default), divides an idle pod's measured memory (plus load) by the spec's request.
    hpa: {
      memoryTargetPercent: spec.web.autoscaling.memoryPercent ?? undefined,
      memoryModel: getHpaMemoryModel(WEB_IDLE_MEMORY_MIB, spec.web.requests.memoryMiB),
      behavior: normalizeBehavior(spec.web.autoscaling.behavior),
    },
    aws: { defaultInstanceWarmupSeconds: spec.aws.instanceWarmupSeconds },
    gce: { coolDownPeriodSec: spec.gcp.initializationPeriodSeconds, scaleInControl: { maxScaledInReplicas: { fixed: spec.gcp.maxScaledInReplicas }, timeWindowSec: spec.gcp.scaleInTimeWindowSeconds } },
    azure: { rules: { scaleInCpuPercent: spec.azure.scaleInCpuPercent, scaleOutPercent: spec.azure.scaleOutPercent, scaleOutCooldown: spec.azure.scaleOutCooldown, scaleInCooldown: spec.azure.scaleInCooldown } },
  };
}

/**
 * The worker ScaledObject as `render-k8s.ts` renders it, for the worker simulation: the redis triggers' backlog target and
 * activation, the operator's polling interval and cooldown, and the behavior of the HPA KEDA creates. The ScaledObject
 * takes the web HPA's behavior (`web.autoscaling.behavior`: scale-down at most one pod or 10 % a minute, the smaller),
 * and KEDA passes it to that HPA as it is: without it the simulation ran the API server's default and dropped workers
 * all at once after the stabilization window.
 */
export function getSpecWorkerKedaOptions(spec: DeploymentSpec): Required<Omit<WorkerKedaOptions, 'listLength' | 'podReadySeconds'>> {
  const w = spec.worker;
  return {
    backlogSecondsPerReplica: w.backlogSecondsPerReplica,
    activationListLength: w.activationJobs,
    pollingIntervalSeconds: w.pollingIntervalSeconds,
    cooldownPeriodSeconds: w.cooldownPeriodSeconds,
    behavior: normalizeBehavior(spec.web.autoscaling.behavior),
  };
}

export function getPrescaleSchedule(spec: DeploymentSpec): PrescaleSchedule {
  const p = spec.prescale;
  const focus = getCalendarEvent(p.event, p.year, p.timeZone);
  const from = new Date(focus.startsAt.getTime() - 3 * 3_600_000);
  const forecast = forecastHourly({ baseRequestsPerSecond: p.baseRps, timeZone: p.timeZone, events: getSeedCalendarEvents(p.year, p.timeZone) }, from, focus.endsAt);
  const options = getSpecPlanOptions(spec);
  const plan = planCapacity(forecast, options.web, options.workers);
  const webWindows = getPrescaleWindows(plan, { tier: 'web', leadMinutes: p.leadMinutes });
  const workerWindows = getPrescaleWindows(plan, { tier: 'workers', leadMinutes: p.leadMinutes });
  // The HPA KEDA creates has min max(minReplicaCount, 1) and the default tolerance.
  const webKeda = applyHpaTolerance(webWindows, spec.web.replicas.min, spec.web.replicas.max, DEFAULT_TOLERANCE);
  const workerKeda = applyHpaTolerance(workerWindows, spec.worker.replicas.min, spec.worker.replicas.max, DEFAULT_TOLERANCE);
  const rename = (actions: AwsScheduledAction[], stem: string) => actions.map((a, i) => ({ ...a, logicalId: `${stem}${i + 1}` }));
  return {
    plan,
    label: `${focus.name} ${p.year}`,
    web: {
      windows: webWindows,
      kedaCron: toKedaCronTriggers(webKeda.windows, p.timeZone, 'web-prescale'),
      kedaRaised: webKeda.raised,
      awsActions: rename(toAwsScheduledActions(webWindows, `${spec.name}-web`, spec.web.replicas.min), 'WebPrescale'),
    },
    worker: {
      windows: workerWindows,
      kedaCron: toKedaCronTriggers(workerKeda.windows, p.timeZone, 'worker-prescale'),
      kedaRaised: workerKeda.raised,
      awsActions: rename(toAwsScheduledActions(workerWindows, `${spec.name}-worker`, spec.worker.replicas.min), 'WorkerPrescale'),
    },
  };
}

/**
 * A warning when the sale's plan needs more web replicas than the autoscalers' maximum: every platform's
 * windows are then capped at `web.replicas.max` (the plan clamps each hour), so those hours are pre-scaled
 * short of the load. Undefined when the plan fits.
 */
export function describeCappedPrescale(spec: DeploymentSpec, schedule: PrescaleSchedule = getPrescaleSchedule(spec)): string | undefined {
  const { plan } = schedule;
  if (plan.hoursAboveMax.length === 0) return undefined;
  const needed = Math.max(...plan.hours.map((h) => h.webReplicasNeeded));
  const max = plan.web.maxReplicas;
  return `${schedule.label} needs up to ${needed} web replicas, above web.replicas.max ${max}, in ${plan.hoursAboveMax.length} hour(s) from ${plan.hoursAboveMax[0].slice(0, 16)}Z: every platform pre-scales those hours to ${max}; raise web.replicas.max in the deployment spec (its pools are re-checked against max_connections), or give the pod more CPU and measure web.capacityPerInstanceRps again`;
}
