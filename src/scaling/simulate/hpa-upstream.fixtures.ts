/**
 * Cases ported from the Kubernetes HPA controller's own unit tests, each named after the upstream
 * test (and subtest) it comes from: kubernetes/kubernetes `pkg/controller/podautoscaler/`
 * `replica_calculator_test.go` (v1.35 table layout) and `horizontal_test.go`. Values are the
 * upstream ones; the harness conventions of each upstream file are reproduced by the runners in
 * `hpa-upstream.test.ts` (pod names test-pod-N, two containers per pod, hot/cool start times,
 * 2 min CPU initialization period and 10 s readiness delay, scaleUpLimitFactor 8 in horizontal_test).
 */
import type { HpaMetricSpec } from './hpa-controller.ts';

export type StartTime = 'hot' | 'cool' | 'zero';
export type Readiness = 'True' | 'False';

/** replica_calculator_test.go: `GetResourceReplicas` on CPU (requests per container, levels per container). */
export interface ResourceCalcCase {
  upstream: string;
  currentReplicas: number;
  /** Per pod, milli; both containers request this amount. Its length is the number of pods if larger. */
  requests: number[];
  /** levels[pod][container], milli. */
  levels: number[][];
  podNames?: string[];
  container?: string;
  readiness?: Readiness[];
  start?: StartTime[];
  phase?: string[];
  deleted?: boolean[];
  targetUtilization: number;
  tolerances?: [down: number, up: number];
  expect: { replicas: number; utilization: number; raw: number } | { error: string };
}

const r3 = [1000, 1000, 1000];
const r4 = [1000, 1000, 1000, 1000];
const r5 = [1000, 1000, 1000, 1000, 1000];
const r7 = [...r5, 1000, 1000];
const each = (...v: number[]) => v.map((x) => [x, x]);
const uneven = [900, 1000, 1100];

export const RESOURCE_CALC_CASES: ResourceCalcCase[] = [
  { upstream: 'TestReplicaCalcResourceScale/scale up', currentReplicas: 3, requests: r3, levels: each(300, 500, 700), targetUtilization: 30, expect: { replicas: 5, utilization: 50, raw: 1000 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: container metric', currentReplicas: 3, container: 'container2', requests: r3, levels: [[1000, 300], [1000, 500], [1000, 700]], targetUtilization: 30, expect: { replicas: 5, utilization: 50, raw: 500 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: unready pod scales less', currentReplicas: 3, readiness: ['False', 'True', 'True'], requests: r3, levels: each(300, 500, 700), targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 1200 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: hot-CPU container scales less', currentReplicas: 3, start: ['hot', 'cool', 'cool'], container: 'container2', requests: r3, levels: [[0, 300], [0, 500], [0, 700]], targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: hot-CPU pod scales less', currentReplicas: 3, start: ['hot', 'cool', 'cool'], requests: r3, levels: each(300, 500, 700), targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 1200 } },
  { upstream: 'TestReplicaCalcResourceScale/no scale: unready pods ignored', currentReplicas: 3, readiness: ['True', 'False', 'False'], requests: r3, levels: each(400, 500, 700), targetUtilization: 30, expect: { replicas: 3, utilization: 40, raw: 800 } },
  { upstream: 'TestReplicaCalcResourceScale/no scale: hot-CPU pods ignored', currentReplicas: 3, readiness: ['True', 'False', 'False'], start: ['cool', 'hot', 'hot'], requests: r3, levels: each(400, 500, 700), targetUtilization: 30, expect: { replicas: 3, utilization: 40, raw: 800 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: failed pods ignored', currentReplicas: 2, readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Failed', 'Failed'], requests: r4, levels: each(500, 700), targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 1200 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: failed pods ignored with missing container metric', currentReplicas: 2, readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Failed', 'Failed'], container: 'container2', requests: r4, levels: [[1000, 500], [9000, 700], [1000], [9000]], targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: container metrics with failed pods ignored', currentReplicas: 2, readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Failed', 'Failed'], container: 'container2', requests: r4, levels: [[1000, 500], [9000, 700]], targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: pods being deleted are ignored', currentReplicas: 2, readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running'], deleted: [false, false, true, true], requests: r4, levels: each(500, 700), targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 1200 } },
  { upstream: 'TestReplicaCalcResourceScale/scale up: container metrics with pods being deleted ignored', currentReplicas: 2, readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running'], deleted: [false, false, true, true], container: 'container1', requests: r4, levels: each(500, 700), targetUtilization: 30, expect: { replicas: 4, utilization: 60, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down', currentReplicas: 5, requests: r5, levels: each(100, 300, 500, 250, 250), targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 560 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: container metric', currentReplicas: 5, container: 'container2', requests: r5, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 280 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: exclude unready pods', currentReplicas: 5, readiness: ['True', 'True', 'True', 'False', 'False'], requests: r5, levels: each(100, 300, 500, 250, 250), targetUtilization: 50, expect: { replicas: 2, utilization: 30, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: container metric excludes unready pods', currentReplicas: 5, readiness: ['True', 'True', 'True', 'False', 'False'], container: 'container2', requests: r5, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], targetUtilization: 50, expect: { replicas: 2, utilization: 30, raw: 300 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: exclude unscheduled pods', currentReplicas: 5, readiness: ['True', 'False', 'False', 'False', 'False'], phase: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'], requests: r5, levels: each(100), targetUtilization: 50, expect: { replicas: 1, utilization: 10, raw: 200 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: container metric excludes unscheduled pods', currentReplicas: 5, readiness: ['True', 'False', 'False', 'False', 'False'], phase: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'], container: 'container2', requests: r5, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], targetUtilization: 50, expect: { replicas: 1, utilization: 10, raw: 100 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: ignore hot-CPU pods', currentReplicas: 5, start: ['cool', 'cool', 'cool', 'hot', 'hot'], requests: r5, levels: each(100, 300, 500, 250, 250), targetUtilization: 50, expect: { replicas: 2, utilization: 30, raw: 600 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: container metric ignores hot-CPU pods', currentReplicas: 5, start: ['cool', 'cool', 'cool', 'hot', 'hot'], container: 'container2', requests: r5, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]], targetUtilization: 50, expect: { replicas: 2, utilization: 30, raw: 300 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: failed pods ignored', currentReplicas: 5, readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'], requests: r7, levels: each(100, 300, 500, 250, 250), targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 560 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: container metric with failed pods ignored', currentReplicas: 5, readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'], container: 'container2', requests: r7, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 280 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: pods being deleted are ignored', currentReplicas: 5, readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Running'], deleted: [false, false, false, false, false, true, true], requests: r7, levels: each(100, 300, 500, 250, 250), targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 560 } },
  { upstream: 'TestReplicaCalcResourceScale/scale down: still-running pods being deleted are ignored', currentReplicas: 5, readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Running'], deleted: [false, false, false, false, false, true, true], container: 'container2', requests: r7, levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], targetUtilization: 50, expect: { replicas: 3, utilization: 28, raw: 280 } },
  { upstream: 'TestReplicaCalcDisjointResourcesMetrics', currentReplicas: 1, requests: [1000], levels: each(100), podNames: ['an-older-pod-name'], targetUtilization: 100, expect: { error: 'no metrics returned matched known pods' } },
  { upstream: 'TestReplicaCalcTolerance', currentReplicas: 3, requests: uneven, levels: each(1010, 1030, 1020), targetUtilization: 100, expect: { replicas: 3, utilization: 102, raw: 2040 } },
  { upstream: 'TestReplicaCalcConfigurableTolerance/Outside of a 0% tolerance', tolerances: [0, 0], currentReplicas: 3, requests: uneven, levels: each(909, 1010, 1111), targetUtilization: 100, expect: { replicas: 4, utilization: 101, raw: 2020 } },
  { upstream: 'TestReplicaCalcConfigurableTolerance/Within a 200% scale-up tolerance', tolerances: [0.1, 2], currentReplicas: 3, requests: uneven, levels: each(1890, 1910, 1900), targetUtilization: 100, expect: { replicas: 3, utilization: 190, raw: 3800 } },
  { upstream: 'TestReplicaCalcConfigurableTolerance/Outside 8% scale-up tolerance (and superfuous scale-down tolerance)', tolerances: [2, 0.08], currentReplicas: 3, requests: uneven, levels: each(1100, 1080, 1090), targetUtilization: 100, expect: { replicas: 4, utilization: 109, raw: 2180 } },
  { upstream: 'TestReplicaCalcConfigurableTolerance/Within a 36% scale-down tolerance', tolerances: [0.36, 0.1], currentReplicas: 3, requests: uneven, levels: each(660, 640, 650), targetUtilization: 100, expect: { replicas: 3, utilization: 65, raw: 1300 } },
  { upstream: 'TestReplicaCalcConfigurableTolerance/Outside a 34% scale-down tolerance', tolerances: [0.34, 0.1], currentReplicas: 3, requests: uneven, levels: each(660, 640, 650), targetUtilization: 100, expect: { replicas: 2, utilization: 65, raw: 1300 } },
  { upstream: 'TestReplicaCalcSuperfluousMetrics', currentReplicas: 4, requests: r4, levels: each(4000, 9500, 3000, 7000, 3200, 2000), targetUtilization: 100, expect: { replicas: 24, utilization: 587, raw: 11750 } },
  { upstream: 'TestReplicaCalcMissingMetrics', currentReplicas: 4, requests: r4, levels: each(400, 95), targetUtilization: 100, expect: { replicas: 3, utilization: 24, raw: 495 } },
  { upstream: 'TestReplicaCalcEmptyMetrics', currentReplicas: 4, requests: r3, levels: [], targetUtilization: 100, expect: { error: 'unable to get metrics for resource cpu: no metrics returned from resource metrics API' } },
  { upstream: 'TestReplicaCalcEmptyCPURequest', currentReplicas: 1, requests: [], levels: each(200), targetUtilization: 100, expect: { error: 'missing request for' } },
  { upstream: 'TestReplicaCalcMissingMetricsNoChangeEq', currentReplicas: 2, requests: [1000, 1000], levels: each(1000), targetUtilization: 100, expect: { replicas: 2, utilization: 100, raw: 2000 } },
  { upstream: 'TestReplicaCalcMissingMetricsNoChangeGt', currentReplicas: 2, requests: [1000, 1000], levels: each(1900), targetUtilization: 100, expect: { replicas: 2, utilization: 190, raw: 3800 } },
  { upstream: 'TestReplicaCalcMissingMetricsNoChangeLt', currentReplicas: 2, requests: [1000, 1000], levels: each(600), targetUtilization: 100, expect: { replicas: 2, utilization: 60, raw: 1200 } },
  { upstream: 'TestReplicaCalcMissingMetricsUnreadyChange', currentReplicas: 3, readiness: ['False', 'True', 'True'], requests: r3, levels: each(100, 450), targetUtilization: 50, expect: { replicas: 3, utilization: 45, raw: 900 } },
  { upstream: 'TestReplicaCalcMissingMetricsHotCpuNoChange', currentReplicas: 3, start: ['hot', 'cool', 'cool'], requests: r3, levels: each(100, 450), targetUtilization: 50, expect: { replicas: 3, utilization: 45, raw: 900 } },
  { upstream: 'TestReplicaCalcMissingMetricsUnreadyScaleUp', currentReplicas: 3, readiness: ['False', 'True', 'True'], requests: r3, levels: each(100, 2000), targetUtilization: 50, expect: { replicas: 4, utilization: 200, raw: 4000 } },
  { upstream: 'TestReplicaCalcMissingMetricsHotCpuScaleUp', currentReplicas: 3, readiness: ['False', 'True', 'True'], start: ['hot', 'cool', 'cool'], requests: r3, levels: each(100, 2000), targetUtilization: 50, expect: { replicas: 4, utilization: 200, raw: 4000 } },
  { upstream: 'TestReplicaCalcMissingMetricsUnreadyScaleDown', currentReplicas: 4, readiness: ['False', 'True', 'True', 'True'], requests: r4, levels: each(100, 100, 100), targetUtilization: 50, expect: { replicas: 3, utilization: 10, raw: 200 } },
  { upstream: 'TestReplicaCalcMissingMetricsScaleDownTargetOver100', currentReplicas: 4, readiness: ['False', 'True', 'True', 'True'], requests: [1000, 1000, 2000, 2000], levels: each(200, 100, 100), targetUtilization: 300, expect: { replicas: 2, utilization: 6, raw: 200 } },
  { upstream: 'TestReplicaCalcDuringRollingUpdateWithMaxSurge', currentReplicas: 2, phase: ['Running', 'Running', 'Running'], requests: r3, levels: each(100, 100), targetUtilization: 50, expect: { replicas: 2, utilization: 10, raw: 200 } },
  // TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150m of ~300m, target 56 % → 9; target 55 % → 10.
  { upstream: 'TestReplicaCalcComputedToleranceAlgImplementation (target 56 %)', currentReplicas: 10, requests: [400, 200, 310, 290, 302, 298, 301, 299, 300, 300], levels: each(150, 150, 150, 150, 150, 150, 150, 150, 150, 150), targetUtilization: 56, expect: { replicas: 9, utilization: 50, raw: 300 } },
  { upstream: 'TestReplicaCalcComputedToleranceAlgImplementation (target 55 %, inside tolerance)', currentReplicas: 10, requests: [400, 200, 310, 290, 302, 298, 301, 299, 300, 300], levels: each(150, 150, 150, 150, 150, 150, 150, 150, 150, 150), targetUtilization: 55, expect: { replicas: 10, utilization: 50, raw: 300 } },
];

/** replica_calculator_test.go: Pods (custom per-pod), Object and External metrics. */
export interface MetricCalcCase {
  upstream: string;
  kind: 'pods' | 'object' | 'objectPerPod' | 'external' | 'externalPerPod';
  currentReplicas: number;
  levels: number[];
  target: number;
  readiness?: Readiness[];
  start?: StartTime[];
  phase?: string[];
  tolerances?: [down: number, up: number];
  expect: { replicas: number; usage: number };
}

export const METRIC_CALC_CASES: MetricCalcCase[] = [
  { upstream: 'TestReplicaCalcScaleUpCM', kind: 'pods', currentReplicas: 3, levels: [20000, 10000, 30000], target: 15000, expect: { replicas: 4, usage: 20000 } },
  { upstream: 'TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale', kind: 'pods', currentReplicas: 3, readiness: ['True', 'True', 'False'], start: ['cool', 'cool', 'hot'], levels: [50000, 10000, 30000], target: 15000, expect: { replicas: 6, usage: 30000 } },
  { upstream: 'TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown', kind: 'pods', currentReplicas: 3, readiness: ['False', 'True', 'False'], start: ['hot', 'cool', 'hot'], levels: [50000, 15000, 30000], target: 15000, expect: { replicas: 7, usage: 31666 } },
  { upstream: 'TestReplicaCalcScaleUpCMObject', kind: 'object', currentReplicas: 3, levels: [20000], target: 15000, expect: { replicas: 4, usage: 20000 } },
  { upstream: 'TestReplicaCalcScaleUpCMPerPodObject', kind: 'objectPerPod', currentReplicas: 3, levels: [20000], target: 5000, expect: { replicas: 4, usage: 6667 } },
  { upstream: 'TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods', kind: 'object', currentReplicas: 3, readiness: ['False', 'True', 'False'], levels: [50000], target: 10000, expect: { replicas: 5, usage: 50000 } },
  { upstream: 'TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods', kind: 'external', currentReplicas: 3, readiness: ['False', 'True', 'False'], levels: [8600], target: 4400, expect: { replicas: 2, usage: 8600 } },
  { upstream: 'TestReplicaCalcScaleUpPerPodCMExternal', kind: 'externalPerPod', currentReplicas: 3, levels: [8600], target: 2150, expect: { replicas: 4, usage: 2867 } },
  { upstream: 'TestReplicaCalcScaleDownCM', kind: 'pods', currentReplicas: 5, levels: [12000, 12000, 12000, 12000, 12000], target: 20000, expect: { replicas: 3, usage: 12000 } },
  { upstream: 'TestReplicaCalcScaleDownPerPodCMObject', kind: 'objectPerPod', currentReplicas: 5, levels: [6000], target: 2000, expect: { replicas: 3, usage: 1200 } },
  { upstream: 'TestReplicaCalcScaleDownCMObject', kind: 'object', currentReplicas: 5, levels: [12000], target: 20000, expect: { replicas: 3, usage: 12000 } },
  { upstream: 'TestReplicaCalcScaleDownCMExternal', kind: 'external', currentReplicas: 5, levels: [8600], target: 14334, expect: { replicas: 3, usage: 8600 } },
  { upstream: 'TestReplicaCalcScaleDownPerPodCMExternal', kind: 'externalPerPod', currentReplicas: 5, levels: [8600], target: 2867, expect: { replicas: 3, usage: 1720 } },
  { upstream: 'TestReplicaCalcToleranceCM', kind: 'pods', currentReplicas: 3, levels: [20000, 21000, 21000], target: 20000, expect: { replicas: 3, usage: 20666 } },
  { upstream: 'TestReplicaCalcToleranceCMObject', kind: 'object', currentReplicas: 3, levels: [20666], target: 20000, expect: { replicas: 3, usage: 20666 } },
  { upstream: 'TestReplicaCalcTolerancePerPodCMObject', kind: 'objectPerPod', currentReplicas: 4, levels: [20166], target: 5000, expect: { replicas: 4, usage: 5042 } },
  { upstream: 'TestReplicaCalcToleranceCMExternal', kind: 'external', currentReplicas: 3, levels: [8600], target: 8888, expect: { replicas: 3, usage: 8600 } },
  { upstream: 'TestReplicaCalcTolerancePerPodCMExternal', kind: 'externalPerPod', currentReplicas: 3, levels: [8600], target: 2900, expect: { replicas: 3, usage: 2867 } },
  { upstream: 'TestReplicaCalcConfigurableToleranceCM', kind: 'pods', tolerances: [0.1, 0.01], currentReplicas: 3, levels: [20000, 21000, 21000], target: 20000, expect: { replicas: 4, usage: 20666 } },
  { upstream: 'TestReplicaCalcConfigurableToleranceCMObject', kind: 'object', tolerances: [0.1, 0.01], currentReplicas: 3, levels: [20666], target: 20000, expect: { replicas: 4, usage: 20666 } },
  { upstream: 'TestReplicaCalcConfigurableTolerancePerPodCMObject', kind: 'objectPerPod', tolerances: [0.1, 0.01], currentReplicas: 4, levels: [20208], target: 5000, expect: { replicas: 5, usage: 5052 } },
  { upstream: 'TestReplicaCalcConfigurableToleranceCMExternal', kind: 'external', tolerances: [0.1, 0.01], currentReplicas: 3, levels: [8900], target: 8800, expect: { replicas: 4, usage: 8900 } },
  { upstream: 'TestReplicaCalcConfigurableTolerancePerPodCMExternal', kind: 'externalPerPod', tolerances: [0.1, 0.01], currentReplicas: 3, levels: [8600], target: 2800, expect: { replicas: 4, usage: 2867 } },
  { upstream: 'TestPlainMetricReplicaCalcMissingMetricsNoChangeEq', kind: 'pods', currentReplicas: 5, levels: [20000, 19000, 21000], target: 20000, expect: { replicas: 5, usage: 20000 } },
  { upstream: 'TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM', kind: 'pods', currentReplicas: 2, phase: ['Running', 'Running', 'Running'], levels: [10000, 10000], target: 17000, expect: { replicas: 2, usage: 10000 } },
];

/** horizontal_test.go reconcile tests (`testCase.runTest`): one controller sync. */
export interface ReconcileCase {
  upstream: string;
  min: number;
  max: number;
  spec: number;
  status?: number;
  /** `CPUTarget`: adds a Resource cpu Utilization metric first. */
  cpuTarget?: number;
  metrics?: HpaMetricSpec[];
  levels: number[];
  /** `reportedCPURequests`, milli per pod (split over two containers); undefined: `statusReplicas` pods of 1 CPU. */
  requests?: number[];
  readiness?: Readiness[];
  start?: StartTime[];
  phase?: string[];
  deleted?: boolean[];
  /** undefined: a new controller (records the current count first); else stored [value, seconds ago]. */
  recommendations?: [number, number][];
  scaleUp?: RulesArgs;
  scaleDown?: RulesArgs;
  /** `event`: the SuccessfulRescale message upstream checks when `verifyEvents` is set, null for none. */
  expect: { replicas: number; cpuUtilization?: number; conditions: string[]; event?: string | null };
}

/** `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`. */
export type RulesArgs = [pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number];

const OK = ['AbleToScale=True:SucceededRescale', 'ScalingActive=True:ValidMetricFound', 'ScalingLimited=False:DesiredWithinRange'];
/** `statusOkWithOverrides`. */
function ok(...overrides: string[]): string[] {
  const out = [...OK];
  for (const o of overrides) {
    const type = o.split('=')[0];
    const i = out.findIndex((c) => c.startsWith(`${type}=`));
    if (i >= 0) out[i] = o;
    else out.push(o);
  }
  return out;
}
const qps = (avg: number): HpaMetricSpec => ({ type: 'Pods', metricName: 'qps', target: { type: 'AverageValue', averageValue: avg } });
const obj = (target: HpaMetricTarget): HpaMetricSpec => ({ type: 'Object', describedObject: { kind: 'Deployment', name: 'some-deployment', apiVersion: 'apps/v1' }, metricName: 'qps', target });
const ext = (target: HpaMetricTarget): HpaMetricSpec => ({ type: 'External', metricName: 'qps', target });
const cheddar: HpaMetricSpec = { type: 'Unknown', sourceType: 'CheddarCheese' };
type HpaMetricTarget = Extract<HpaMetricSpec, { type: 'Object' }>['target'];
const FIVE_REQ = [1000, 1000, 1000, 1000, 1000];

export const RECONCILE_CASES: ReconcileCase[] = [
  { upstream: 'TestScaleUp', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1000, 1000, 1000], expect: { replicas: 5, cpuUtilization: 50, conditions: OK } },
  { upstream: 'TestScaleUpContainer', min: 2, max: 6, spec: 3, metrics: [{ type: 'ContainerResource', name: 'cpu', container: 'container1', target: { type: 'Utilization', averageUtilization: 30 } }], levels: [300, 500, 700], requests: [1000, 1000, 1000], expect: { replicas: 5, conditions: OK } },
  { upstream: 'TestScaleUpUnreadyLessScale', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1000, 1000, 1000], readiness: ['False', 'True', 'True'], expect: { replicas: 4, cpuUtilization: 60, conditions: OK } },
  { upstream: 'TestScaleUpHotCpuLessScale', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1000, 1000, 1000], start: ['hot', 'cool', 'cool'], expect: { replicas: 4, cpuUtilization: 60, conditions: OK } },
  { upstream: 'TestScaleUpUnreadyNoScale', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [400, 500, 700], requests: [1000, 1000, 1000], readiness: ['True', 'False', 'False'], expect: { replicas: 3, cpuUtilization: 40, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestScaleUpHotCpuNoScale', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [400, 500, 700], requests: [1000, 1000, 1000], readiness: ['True', 'False', 'False'], start: ['cool', 'hot', 'hot'], expect: { replicas: 3, cpuUtilization: 40, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestScaleUpIgnoresFailedPods', min: 2, max: 6, spec: 2, cpuTarget: 30, levels: [500, 700], requests: [1000, 1000, 1000, 1000], readiness: ['True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Failed', 'Failed'], expect: { replicas: 4, cpuUtilization: 60, conditions: OK } },
  { upstream: 'TestScaleUpIgnoresDeletionPods', min: 2, max: 6, spec: 2, cpuTarget: 30, levels: [500, 700], requests: [1000, 1000, 1000, 1000], readiness: ['True', 'True', 'False', 'False'], deleted: [false, false, true, true], expect: { replicas: 4, cpuUtilization: 60, conditions: OK } },
  { upstream: 'TestScaleUpDeployment', min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1000, 1000, 1000], expect: { replicas: 5, cpuUtilization: 50, conditions: OK } },
  { upstream: 'TestScaleUpCM', min: 2, max: 6, spec: 3, metrics: [qps(15000)], levels: [20000, 10000, 30000], requests: [1000, 1000, 1000], expect: { replicas: 4, conditions: OK } },
  { upstream: 'TestScaleUpCMUnreadyAndHotCpuNoLessScale', min: 2, max: 6, spec: 3, metrics: [qps(15000)], levels: [50000, 10000, 30000], readiness: ['True', 'True', 'False'], start: ['cool', 'cool', 'hot'], requests: [1000, 1000, 1000], expect: { replicas: 6, conditions: OK } },
  { upstream: 'TestScaleUpCMUnreadyandCpuHot', min: 2, max: 6, spec: 3, metrics: [qps(15000)], levels: [50000, 15000, 30000], readiness: ['False', 'True', 'False'], start: ['hot', 'cool', 'hot'], requests: [1000, 1000, 1000], expect: { replicas: 6, conditions: ok('AbleToScale=True:SucceededRescale', 'ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestScaleUpHotCpuNoScaleWouldScaleDown', min: 2, max: 6, spec: 3, metrics: [qps(15000)], levels: [50000, 15000, 30000], requests: [1000, 1000, 1000], start: ['hot', 'cool', 'hot'], expect: { replicas: 6, conditions: ok('AbleToScale=True:SucceededRescale', 'ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestScaleUpCMObject', min: 2, max: 6, spec: 3, metrics: [obj({ type: 'Value', value: 15000 })], levels: [20000], expect: { replicas: 4, conditions: OK } },
  { upstream: 'TestScaleUpFromZeroCMObject', min: 0, max: 6, spec: 0, metrics: [obj({ type: 'Value', value: 15000 })], levels: [20000], expect: { replicas: 2, conditions: OK } },
  { upstream: 'TestScaleUpFromZeroIgnoresToleranceCMObject', min: 0, max: 6, spec: 0, metrics: [obj({ type: 'Value', value: 1000 })], levels: [1000], expect: { replicas: 1, conditions: OK } },
  { upstream: 'TestScaleUpPerPodCMObject', min: 2, max: 6, spec: 3, metrics: [obj({ type: 'AverageValue', averageValue: 10000 })], levels: [40000], expect: { replicas: 4, conditions: OK } },
  { upstream: 'TestScaleUpCMExternal', min: 2, max: 6, spec: 3, metrics: [ext({ type: 'Value', value: 6666 })], levels: [8600], expect: { replicas: 4, conditions: OK } },
  { upstream: 'TestScaleUpPerPodCMExternal', min: 2, max: 6, spec: 3, metrics: [ext({ type: 'AverageValue', averageValue: 2222 })], levels: [8600], expect: { replicas: 4, conditions: OK } },
  { upstream: 'TestScaleDown', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, cpuUtilization: 28, conditions: OK } },
  { upstream: 'TestScaleDownContainerResource', min: 2, max: 6, spec: 5, metrics: [{ type: 'ContainerResource', name: 'cpu', container: 'container2', target: { type: 'Utilization', averageUtilization: 50 } }], levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownWithScalingRules', min: 2, max: 6, scaleUp: [0, 0, 100, 15, 30], spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, cpuUtilization: 28, conditions: OK } },
  { upstream: 'TestScaleUpOneMetricInvalid', min: 2, max: 6, spec: 3, cpuTarget: 30, metrics: [cheddar], levels: [300, 400, 500], requests: [1000, 1000, 1000], expect: { replicas: 4, cpuUtilization: 40, conditions: OK } },
  { upstream: 'TestScaleUpFromZeroOneMetricInvalid', min: 0, max: 6, spec: 0, cpuTarget: 30, metrics: [cheddar], levels: [300, 400, 500], requests: [1000, 1000, 1000], recommendations: [], expect: { replicas: 4, cpuUtilization: 40, conditions: OK } },
  { upstream: 'TestScaleUpBothMetricsEmpty', min: 2, max: 6, spec: 3, metrics: [cheddar], levels: [], requests: [1000, 1000, 1000], expect: { replicas: 3, conditions: ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:InvalidMetricSourceType'] } },
  { upstream: 'TestScaleDownStabilizeInitialSize', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, expect: { replicas: 5, cpuUtilization: 28, conditions: ok('AbleToScale=True:ReadyForNewScale', 'AbleToScale=True:ScaleDownStabilized') } },
  { upstream: 'TestScaleDownCM', min: 2, max: 6, spec: 5, metrics: [qps(20000)], levels: [12000, 12000, 12000, 12000, 12000], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownCMObject', min: 2, max: 6, spec: 5, metrics: [obj({ type: 'Value', value: 20000 })], levels: [12000], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownToZeroCMObject', min: 0, max: 6, spec: 5, metrics: [obj({ type: 'Value', value: 20000 })], levels: [0], requests: FIVE_REQ, recommendations: [], expect: { replicas: 0, conditions: OK } },
  { upstream: 'TestScaleDownPerPodCMObject', min: 2, max: 6, spec: 5, metrics: [obj({ type: 'AverageValue', averageValue: 20000 })], levels: [60000], requests: FIVE_REQ, recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownCMExternal', min: 2, max: 6, spec: 5, metrics: [ext({ type: 'Value', value: 14400 })], levels: [8600], recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownToZeroCMExternal', min: 0, max: 6, spec: 5, metrics: [ext({ type: 'Value', value: 14400 })], levels: [0], recommendations: [], expect: { replicas: 0, conditions: OK } },
  { upstream: 'TestScaleDownPerPodCMExternal', min: 2, max: 6, spec: 5, metrics: [ext({ type: 'AverageValue', averageValue: 3000 })], levels: [8600], recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestScaleDownIncludeUnreadyPods', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, readiness: ['True', 'True', 'True', 'False', 'False'], recommendations: [], expect: { replicas: 2, cpuUtilization: 30, conditions: OK } },
  { upstream: 'TestScaleDownIgnoreHotCpuPods', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: FIVE_REQ, start: ['cool', 'cool', 'cool', 'hot', 'hot'], recommendations: [], expect: { replicas: 2, cpuUtilization: 30, conditions: OK } },
  { upstream: 'TestScaleDownIgnoresFailedPods', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: [...FIVE_REQ, 1000, 1000], readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], phase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'], recommendations: [], expect: { replicas: 3, cpuUtilization: 28, conditions: OK } },
  { upstream: 'TestScaleDownIgnoresDeletionPods', min: 2, max: 6, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: [...FIVE_REQ, 1000, 1000], readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'], deleted: [false, false, false, false, false, true, true], recommendations: [], expect: { replicas: 3, cpuUtilization: 28, conditions: OK } },
  { upstream: 'TestTolerance', min: 1, max: 5, spec: 3, cpuTarget: 100, levels: [1010, 1030, 1020], requests: [900, 1000, 1100], expect: { replicas: 3, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestToleranceCM', min: 1, max: 5, spec: 3, metrics: [qps(20000)], levels: [20000, 20001, 21000], requests: [900, 1000, 1100], expect: { replicas: 3, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestToleranceCMObject', min: 1, max: 5, spec: 3, metrics: [obj({ type: 'Value', value: 20000 })], levels: [20050], requests: [900, 1000, 1100], expect: { replicas: 3, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestToleranceCMExternal', min: 2, max: 6, spec: 4, metrics: [ext({ type: 'Value', value: 8666 })], levels: [8600], expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestTolerancePerPodCMObject', min: 2, max: 6, spec: 4, metrics: [obj({ type: 'AverageValue', averageValue: 2200 })], levels: [8600], expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestTolerancePerPodCMExternal', min: 2, max: 6, spec: 4, metrics: [ext({ type: 'AverageValue', averageValue: 2200 })], levels: [8600], expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestMinReplicas', min: 2, max: 5, spec: 3, cpuTarget: 90, levels: [10, 95, 10], requests: [900, 1000, 1100], recommendations: [], expect: { replicas: 2, conditions: ok('ScalingLimited=True:TooFewReplicas') } },
  { upstream: 'TestZeroMinReplicasDesiredZero', min: 0, max: 5, spec: 3, cpuTarget: 90, levels: [0, 0, 0], requests: [900, 1000, 1100], recommendations: [], expect: { replicas: 0, conditions: ok('ScalingLimited=False:DesiredWithinRange') } },
  { upstream: 'TestMinReplicasDesiredZero', min: 2, max: 5, spec: 3, cpuTarget: 90, levels: [0, 0, 0], requests: [900, 1000, 1100], recommendations: [], expect: { replicas: 2, conditions: ok('ScalingLimited=True:TooFewReplicas') } },
  { upstream: 'TestZeroReplicas', min: 3, max: 5, spec: 0, cpuTarget: 90, levels: [], requests: [], expect: { replicas: 0, conditions: ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:ScalingDisabled'] } },
  { upstream: 'TestTooFewReplicas', min: 3, max: 5, spec: 2, cpuTarget: 90, levels: [], requests: [], expect: { replicas: 3, conditions: ['AbleToScale=True:SucceededRescale'] } },
  { upstream: 'TestTooManyReplicas', min: 3, max: 5, spec: 10, cpuTarget: 90, levels: [], requests: [], expect: { replicas: 5, conditions: ['AbleToScale=True:SucceededRescale'] } },
  { upstream: 'TestMaxReplicas', min: 2, max: 5, spec: 3, cpuTarget: 90, levels: [8000, 9500, 1000], requests: [900, 1000, 1100], expect: { replicas: 5, conditions: ok('ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestSuperfluousMetrics', min: 2, max: 6, spec: 4, cpuTarget: 100, levels: [4000, 9500, 3000, 7000, 3200, 2000], requests: [1000, 1000, 1000, 1000], expect: { replicas: 6, conditions: ok('ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestMissingMetrics', min: 2, max: 6, spec: 4, cpuTarget: 100, levels: [400, 95], requests: [1000, 1000, 1000, 1000], recommendations: [], expect: { replicas: 3, conditions: OK } },
  { upstream: 'TestEmptyMetrics', min: 2, max: 6, spec: 4, cpuTarget: 100, levels: [], requests: [1000, 1000, 1000, 1000], expect: { replicas: 4, conditions: ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:FailedGetResourceMetric'] } },
  { upstream: 'TestEmptyCPURequest', min: 1, max: 5, spec: 1, cpuTarget: 100, levels: [200], requests: [], expect: { replicas: 1, conditions: ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:FailedGetResourceMetric'] } },
  { upstream: 'TestEventCreated', min: 1, max: 5, spec: 1, cpuTarget: 50, levels: [200], requests: [200], expect: { replicas: 2, conditions: OK, event: 'New size: 2; reason: cpu resource utilization (percentage of request) above target' } },
  { upstream: 'TestEventNotCreated', min: 1, max: 5, spec: 2, cpuTarget: 50, levels: [200, 200], requests: [400, 400], expect: { replicas: 2, conditions: ok('AbleToScale=True:ReadyForNewScale'), event: null } },
  { upstream: 'TestMissingReports', min: 1, max: 5, spec: 4, cpuTarget: 50, levels: [200], requests: [200], recommendations: [], expect: { replicas: 2, conditions: OK } },
  { upstream: 'TestUpscaleCap', min: 1, max: 100, spec: 3, scaleUp: [0, 0, 700, 60, 0], cpuTarget: 10, levels: [100, 200, 300], requests: [100, 100, 100], expect: { replicas: 24, conditions: ok('ScalingLimited=True:ScaleUpLimit') } },
  { upstream: 'TestUpscaleCapGreaterThanMaxReplicas', min: 1, max: 20, spec: 3, scaleUp: [0, 0, 700, 60, 0], cpuTarget: 10, levels: [100, 200, 300], requests: [100, 100, 100], expect: { replicas: 20, conditions: ok('ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestMoreReplicasThanSpecNoScale', min: 1, max: 8, spec: 4, status: 5, cpuTarget: 50, levels: [500, 500, 500, 500, 500], requests: FIVE_REQ, expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestConditionInvalidSourceType', min: 2, max: 6, spec: 3, metrics: [cheddar], levels: [20000], expect: { replicas: 3, conditions: ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:InvalidMetricSourceType'] } },
  { upstream: 'TestNoBackoffUpscaleCM', min: 1, max: 5, spec: 3, metrics: [qps(15000)], levels: [20000, 10000, 30000], requests: [1000, 1000, 1000], expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale', 'AbleToScale=True:SucceededRescale', 'ScalingLimited=False:DesiredWithinRange') } },
  { upstream: 'TestNoBackoffUpscaleCMNoBackoffCpu', min: 1, max: 5, spec: 3, cpuTarget: 10, metrics: [qps(15000)], levels: [20000, 10000, 30000], requests: [1000, 1000, 1000], expect: { replicas: 5, conditions: ok('AbleToScale=True:ReadyForNewScale', 'AbleToScale=True:SucceededRescale', 'ScalingLimited=True:TooManyReplicas') } },
  { upstream: 'TestStabilizeDownscale', min: 1, max: 5, spec: 4, cpuTarget: 100, levels: [50, 50, 50], requests: [100, 100, 100], recommendations: [[10, 600], [4, 60]], expect: { replicas: 4, conditions: ok('AbleToScale=True:ReadyForNewScale', 'AbleToScale=True:ScaleDownStabilized') } },
  { upstream: 'TestComputedToleranceAlgImplementation (tc1)', min: 0, max: 1000, spec: 10, cpuTarget: 56, levels: Array(10).fill(150), requests: [400, 200, 310, 290, 302, 298, 301, 299, 300, 300], recommendations: [], expect: { replicas: 9, conditions: OK } },
  { upstream: 'TestComputedToleranceAlgImplementation (tc2)', min: 0, max: 1000, spec: 10, cpuTarget: 55, levels: Array(10).fill(150), requests: [400, 200, 310, 290, 302, 298, 301, 299, 300, 300], recommendations: [], expect: { replicas: 10, conditions: ok('AbleToScale=True:ReadyForNewScale') } },
  { upstream: 'TestScaleUpRCImmediately', min: 2, max: 6, spec: 1, levels: [0, 0, 0, 0], requests: [1000, 1000, 1000, 1000], expect: { replicas: 2, conditions: ['AbleToScale=True:SucceededRescale'] } },
  { upstream: 'TestScaleDownRCImmediately', min: 2, max: 5, spec: 6, cpuTarget: 50, levels: [8000, 9500, 1000], requests: [900, 1000, 1100], expect: { replicas: 5, conditions: ['AbleToScale=True:SucceededRescale'] } },
];

/** horizontal_test.go `TestScalingWithRules` (`convertDesiredReplicasWithBehaviorRate`). */
export interface RateCase {
  upstream: string;
  min: number;
  max: number;
  current: number;
  desired: number;
  scaleUp?: RulesArgs;
  scaleDown?: RulesArgs;
  /** `generateEventsUniformDistribution(values, 120)`. */
  upEvents?: number[];
  downEvents?: number[];
  expect: { replicas: number; condition: string };
}

const W = 'TestScalingWithRules/';
export const RATE_CASES: RateCase[] = [
  { upstream: `${W}prenormalized desired replicas within range`, current: 5, desired: 7, min: 3, max: 8, expect: { replicas: 7, condition: 'DesiredWithinRange' } },
  { upstream: `${W}prenormalized desired replicas < minReplicas`, current: 3, desired: 1, min: 2, max: 8, expect: { replicas: 2, condition: 'TooFewReplicas' } },
  { upstream: `${W}prenormalized desired replicas within range when minReplicas is 0`, current: 1, desired: 0, min: 0, max: 10, expect: { replicas: 0, condition: 'DesiredWithinRange' } },
  { upstream: `${W}maxReplicas is the limit because maxReplicas < scaleUpLimit`, current: 20, desired: 1000, min: 1, max: 10, expect: { replicas: 10, condition: 'TooManyReplicas' } },
  { upstream: `${W}desired replica count is more than the maximum replica count`, current: 100, desired: 1000, min: 100, max: 150, expect: { replicas: 150, condition: 'TooManyReplicas' } },
  { upstream: `${W}scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies`, current: 3, desired: 1000, min: 1, max: 2000, scaleUp: [0, 0, 1, 60, 0], expect: { replicas: 4, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with default behavior`, min: 1, max: 1000, current: 10, desired: 50, expect: { replicas: 20, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with pods policy larger than percent policy`, min: 1, max: 1000, scaleUp: [100, 60, 100, 60, 0], current: 10, desired: 500, expect: { replicas: 110, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with percent policy larger than pods policy`, min: 1, max: 1000, scaleUp: [2, 60, 100, 60, 0], current: 10, desired: 500, expect: { replicas: 20, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with spec MaxReplicas limitation with large pod policy`, min: 1, max: 1000, scaleUp: [100, 60, 0, 0, 0], current: 10, desired: 50, expect: { replicas: 50, condition: 'DesiredWithinRange' } },
  { upstream: `${W}scaleUp with spec MaxReplicas limitation with large percent policy`, min: 1, max: 1000, scaleUp: [10000, 60, 0, 0, 0], current: 10, desired: 50, expect: { replicas: 50, condition: 'DesiredWithinRange' } },
  { upstream: `${W}scaleUp with pod policy limitation`, min: 1, max: 1000, scaleUp: [30, 60, 0, 0, 0], current: 10, desired: 50, expect: { replicas: 40, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with percent policy limitation`, min: 1, max: 1000, scaleUp: [0, 0, 200, 60, 0], current: 10, desired: 50, expect: { replicas: 30, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleDown with percent policy larger than pod policy`, min: 1, max: 1000, scaleDown: [20, 60, 1, 60, 300], current: 100, desired: 2, expect: { replicas: 80, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with pod policy larger than percent policy`, min: 1, max: 1000, scaleDown: [2, 60, 1, 60, 300], current: 100, desired: 2, expect: { replicas: 98, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with spec MinReplicas=nil limitation with large pod policy`, min: 1, max: 1000, scaleDown: [100, 60, 0, 0, 300], current: 10, desired: 0, expect: { replicas: 1, condition: 'TooFewReplicas' } },
  { upstream: `${W}scaleDown with spec MinReplicas limitation with large percent policy`, min: 5, max: 1000, scaleDown: [0, 0, 100, 60, 300], current: 10, desired: 2, expect: { replicas: 5, condition: 'TooFewReplicas' } },
  { upstream: `${W}scaleDown with pod policy limitation`, min: 1, max: 1000, scaleDown: [5, 60, 0, 0, 300], current: 10, desired: 2, expect: { replicas: 5, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with percent policy limitation`, min: 1, max: 1000, scaleDown: [0, 0, 50, 60, 300], current: 10, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
  { upstream: `${W}scaleUp with spec MaxReplicas limitation with large pod policy and events`, upEvents: [1, 5, 9], min: 1, max: 200, scaleUp: [300, 60, 0, 0, 0], current: 100, desired: 500, expect: { replicas: 200, condition: 'TooManyReplicas' } },
  { upstream: `${W}scaleUp with spec MaxReplicas limitation with large percent policy and events`, upEvents: [1, 5, 9], min: 1, max: 200, scaleUp: [0, 0, 10000, 60, 0], current: 100, desired: 500, expect: { replicas: 200, condition: 'TooManyReplicas' } },
  { upstream: `${W}scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events`, upEvents: [1, 5, 9], min: 1, max: 1000, scaleUp: [5, 120, 0, 0, 0], current: 100, desired: 500, expect: { replicas: 100, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with pod policy and previous scale up events`, upEvents: [1, 5, 9], min: 1, max: 1000, scaleUp: [150, 120, 0, 0, 0], current: 100, desired: 500, expect: { replicas: 235, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with percent policy and previous scale up events`, upEvents: [1, 5, 9], min: 1, max: 1000, scaleUp: [0, 0, 200, 120, 0], current: 100, desired: 500, expect: { replicas: 255, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleUp with percent policy and previous scale up and down events`, upEvents: [4], downEvents: [2], min: 1, max: 1000, scaleUp: [0, 0, 300, 300, 0], current: 6, desired: 24, expect: { replicas: 16, condition: 'ScaleUpLimit' } },
  { upstream: `${W}scaleDown with default policy and previous events`, downEvents: [1, 5, 9], min: 1, max: 1000, current: 10, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
  { upstream: `${W}scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events`, downEvents: [1, 5, 9], min: 1, max: 1000, scaleDown: [115, 120, 0, 0, 300], current: 100, desired: 0, expect: { replicas: 1, condition: 'TooFewReplicas' } },
  { upstream: `${W}scaleDown with spec MinReplicas limitation with large pod policy and previous events`, downEvents: [1, 5, 9], min: 5, max: 1000, scaleDown: [130, 120, 0, 0, 300], current: 100, desired: 0, expect: { replicas: 5, condition: 'TooFewReplicas' } },
  { upstream: `${W}scaleDown with spec MinReplicas limitation with large percent policy and previous events`, downEvents: [1, 5, 9], min: 5, max: 1000, scaleDown: [0, 0, 100, 120, 300], current: 100, desired: 2, expect: { replicas: 5, condition: 'TooFewReplicas' } },
  { upstream: `${W}scaleDown with pod policy limitation and previous events`, downEvents: [1, 5, 9], min: 1, max: 1000, scaleDown: [5, 120, 0, 0, 300], current: 100, desired: 2, expect: { replicas: 100, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with percent policy limitation and previous events`, downEvents: [2, 4, 6], min: 1, max: 1000, scaleDown: [0, 0, 50, 120, 300], current: 100, desired: 0, expect: { replicas: 56, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with percent policy and previous scale up and down events`, upEvents: [2], downEvents: [4], min: 1, max: 1000, scaleDown: [0, 0, 50, 180, 0], current: 10, desired: 1, expect: { replicas: 6, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with previous events preventing further scale down`, downEvents: [10, 10, 10], min: 1, max: 1000, scaleDown: [0, 0, 10, 120, 300], current: 100, desired: 0, expect: { replicas: 100, condition: 'ScaleDownLimit' } },
  { upstream: `${W}scaleDown with with previous events still allowing more scale down`, downEvents: [10, 10, 10], min: 1, max: 1000, scaleDown: [0, 0, 1000, 120, 300], current: 10, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check 'outdated' flag for events for one behavior for up`, upEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleUp: [1000, 60, 0, 0, 0], current: 100, desired: 200, expect: { replicas: 200, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check that events were not marked 'outdated' for two different policies in the behavior for up`, upEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleUp: [1000, 120, 100, 60, 0], current: 100, desired: 200, expect: { replicas: 200, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check that events were marked 'outdated' for two different policies in the behavior for up`, upEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleUp: [1000, 30, 100, 60, 0], current: 100, desired: 200, expect: { replicas: 200, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check 'outdated' flag for events for one behavior for down`, downEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleDown: [1000, 60, 0, 0, 300], current: 100, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check that events were not marked 'outdated' for two different policies in the behavior for down`, downEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleDown: [1000, 120, 100, 60, 300], current: 100, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
  { upstream: `${W}check that events were marked 'outdated' for two different policies in the behavior for down`, downEvents: [8, 12, 9, 11], min: 1, max: 1000, scaleDown: [1000, 30, 100, 60, 300], current: 100, desired: 5, expect: { replicas: 5, condition: 'DesiredWithinRange' } },
];

/** horizontal_test.go `TestNormalizeDesiredReplicasWithBehavior` (`stabilizeRecommendationWithBehaviors`). */
export interface StabilizeCase {
  upstream: string;
  /** [value, seconds ago]. */
  recommendations: [number, number][];
  current: number;
  desired: number;
  upWindow: number;
  downWindow: number;
  expect: { replicas: number; stored: number[] };
}

const N = 'TestNormalizeDesiredReplicasWithBehavior/';
export const STABILIZE_CASES: StabilizeCase[] = [
  { upstream: `${N}empty recommendations for scaling down`, recommendations: [], current: 100, desired: 5, upWindow: 0, downWindow: 0, expect: { replicas: 5, stored: [5] } },
  { upstream: `${N}simple scale down stabilization`, recommendations: [[4, 120], [5, 60]], current: 100, desired: 3, upWindow: 0, downWindow: 180, expect: { replicas: 5, stored: [4, 5, 3] } },
  { upstream: `${N}simple scale up stabilization`, recommendations: [[4, 120], [5, 60]], current: 1, desired: 7, upWindow: 300, downWindow: 0, expect: { replicas: 4, stored: [4, 5, 7] } },
  { upstream: `${N}no scale down stabilization`, recommendations: [[1, 120], [2, 60]], current: 100, desired: 3, upWindow: 300, downWindow: 0, expect: { replicas: 3, stored: [1, 2, 3] } },
  { upstream: `${N}no scale up stabilization`, recommendations: [[4, 120], [5, 60]], current: 1, desired: 3, upWindow: 0, downWindow: 300, expect: { replicas: 3, stored: [4, 5, 3] } },
  { upstream: `${N}no scale down stabilization, reuse recommendation element`, recommendations: [[10, 600], [9, 540]], current: 100, desired: 3, upWindow: 0, downWindow: 0, expect: { replicas: 3, stored: [10, 3] } },
  { upstream: `${N}no scale up stabilization, reuse recommendation element`, recommendations: [[10, 600], [9, 540]], current: 1, desired: 100, upWindow: 0, downWindow: 0, expect: { replicas: 100, stored: [10, 100] } },
  { upstream: `${N}scale down stabilization, reuse one of obsolete recommendation element`, recommendations: [[10, 600], [4, 60], [5, 120], [9, 540]], current: 100, desired: 3, upWindow: 0, downWindow: 180, expect: { replicas: 5, stored: [10, 4, 5, 3] } },
  { upstream: `${N}scale up stabilization, reuse one of obsolete recommendation element`, recommendations: [[10, 6000], [6, 60], [5, 120], [9, 180]], current: 1, desired: 100, upWindow: 300, downWindow: 0, expect: { replicas: 5, stored: [100, 6, 5, 9] } },
];

/** horizontal_test.go `TestNormalizeDesiredReplicas` (legacy `stabilizeRecommendation`, 5 min window). */
export const LEGACY_STABILIZE_CASES: { upstream: string; recommendations: [number, number][]; desired: number; expect: { replicas: number; logLength: number } }[] = [
  { upstream: 'TestNormalizeDesiredReplicas/empty log', recommendations: [], desired: 5, expect: { replicas: 5, logLength: 1 } },
  { upstream: 'TestNormalizeDesiredReplicas/stabilize', recommendations: [[4, 120], [5, 60]], desired: 3, expect: { replicas: 5, logLength: 3 } },
  { upstream: 'TestNormalizeDesiredReplicas/no stabilize', recommendations: [[1, 120], [2, 60]], desired: 3, expect: { replicas: 3, logLength: 3 } },
  { upstream: 'TestNormalizeDesiredReplicas/no stabilize - old recommendations', recommendations: [[10, 600], [9, 540]], desired: 3, expect: { replicas: 3, logLength: 2 } },
  { upstream: 'TestNormalizeDesiredReplicas/stabilize - old recommendations', recommendations: [[10, 600], [4, 60], [5, 120], [9, 540]], desired: 3, expect: { replicas: 5, logLength: 4 } },
];

/** horizontal_test.go `TestConvertDesiredReplicasWithRules` (legacy limits; the test file sets scaleUpLimitFactor = 8). */
export const LEGACY_RULES_CASES: { upstream: string; current: number; desired: number; min: number; max: number; expect: { replicas: number; condition: string } }[] = [
  { upstream: 'TestConvertDesiredReplicasWithRules/prenormalized desired replicas within range', current: 5, desired: 7, min: 3, max: 8, expect: { replicas: 7, condition: 'DesiredWithinRange' } },
  { upstream: 'TestConvertDesiredReplicasWithRules/prenormalized desired replicas < minReplicas', current: 3, desired: 1, min: 2, max: 8, expect: { replicas: 2, condition: 'TooFewReplicas' } },
  { upstream: 'TestConvertDesiredReplicasWithRules/prenormalized desired zeroed replicas within range', current: 1, desired: 0, min: 0, max: 10, expect: { replicas: 0, condition: 'DesiredWithinRange' } },
  { upstream: 'TestConvertDesiredReplicasWithRules/maxReplicas is the limit because maxReplicas < scaleUpLimit', current: 20, desired: 1000, min: 1, max: 10, expect: { replicas: 10, condition: 'TooManyReplicas' } },
  { upstream: 'TestConvertDesiredReplicasWithRules/scaleUpLimit is the limit because scaleUpLimit < maxReplicas', current: 3, desired: 1000, min: 1, max: 2000, expect: { replicas: 24, condition: 'ScaleUpLimit' } },
];

/** horizontal_test.go `TestStoreScaleEvents`: events as [change, seconds ago, outdated]. */
export const STORE_EVENT_CASES: { upstream: string; change: number; prev: [number, number][]; rules?: RulesArgs; expectChange: number; expectEvents: [number, boolean][] }[] = [
  { upstream: 'TestStoreScaleEvents/empty entries with default behavior', change: 5, prev: [], expectChange: 0, expectEvents: [] },
  { upstream: 'TestStoreScaleEvents/empty entries with two-policy-behavior', change: 5, prev: [], rules: [10, 60, 100, 60, 0], expectChange: 0, expectEvents: [[5, false]] },
  { upstream: 'TestStoreScaleEvents/one outdated entry to be kept untouched without behavior', change: 5, prev: [[7, 61]], expectChange: 0, expectEvents: [[7, false]] },
  { upstream: 'TestStoreScaleEvents/one outdated entry to be replaced with behavior', change: 5, prev: [[7, 61]], rules: [10, 60, 100, 60, 0], expectChange: 0, expectEvents: [[5, false]] },
  { upstream: 'TestStoreScaleEvents/one actual entry to be not touched with behavior', change: 5, prev: [[7, 58]], rules: [10, 60, 100, 60, 0], expectChange: 7, expectEvents: [[7, false], [5, false]] },
  { upstream: 'TestStoreScaleEvents/two entries, one of them to be replaced', change: 5, prev: [[7, 61], [6, 59]], rules: [10, 60, 0, 0, 0], expectChange: 6, expectEvents: [[5, false], [6, false]] },
  { upstream: 'TestStoreScaleEvents/replace one entry, use policies with different periods', change: 5, prev: [[8, 29], [6, 59], [7, 61], [9, 61]], rules: [10, 60, 100, 30, 0], expectChange: 14, expectEvents: [[8, false], [6, false], [7, true], [5, false]] },
  { upstream: 'TestStoreScaleEvents/two entries, both actual', change: 5, prev: [[7, 58], [6, 59]], rules: [10, 120, 100, 30, 0], expectChange: 13, expectEvents: [[7, false], [6, false], [5, false]] },
];

/**
 * replica_calculator_test.go `TestGroupPods`: one pod each unless noted. Times are seconds before
 * "now"; `metric` is [seconds before now of the sample, window] or 'zero' (a zero timestamp).
 */
export interface GroupPodsCase {
  upstream: string;
  resource: 'cpu' | 'memory';
  pods: { name: string; phase: string; deleted?: boolean; startAgo?: number; ready?: [status: Readiness, transitionAgo: number]; metric?: [ago: number, window: number] | 'zero' }[];
  expect: { ready: number; unready: string[]; missing: string[]; ignored: string[] };
}

const G = 'TestGroupPods/';
export const GROUP_PODS_CASES: GroupPodsCase[] = [
  { upstream: `${G}void`, resource: 'cpu', pods: [], expect: { ready: 0, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}count in a ready pod - memory`, resource: 'memory', pods: [{ name: 'bentham', phase: 'Succeeded', metric: [0, 60] }], expect: { ready: 1, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}unready a pod without ready condition - CPU`, resource: 'cpu', pods: [{ name: 'lucretius', phase: 'Succeeded', startAgo: 0, metric: 'zero' }], expect: { ready: 0, unready: ['lucretius'], missing: [], ignored: [] } },
  { upstream: `${G}count in a ready pod with fresh metrics during initialization period - CPU`, resource: 'cpu', pods: [{ name: 'bentham', phase: 'Succeeded', startAgo: 60, ready: ['True', 30], metric: [0, 30] }], expect: { ready: 1, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}unready a ready pod without fresh metrics during initialization period - CPU`, resource: 'cpu', pods: [{ name: 'bentham', phase: 'Succeeded', startAgo: 60, ready: ['True', 30], metric: [0, 60] }], expect: { ready: 0, unready: ['bentham'], missing: [], ignored: [] } },
  { upstream: `${G}unready an unready pod during initialization period - CPU`, resource: 'cpu', pods: [{ name: 'lucretius', phase: 'Succeeded', startAgo: 600, ready: ['False', 594], metric: 'zero' }], expect: { ready: 0, unready: ['lucretius'], missing: [], ignored: [] } },
  { upstream: `${G}count in a ready pod without fresh metrics after initialization period - CPU`, resource: 'cpu', pods: [{ name: 'bentham', phase: 'Succeeded', startAgo: 180, ready: ['True', 180], metric: [120, 60] }], expect: { ready: 1, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}count in an unready pod that was ready after initialization period - CPU`, resource: 'cpu', pods: [{ name: 'lucretius', phase: 'Succeeded', startAgo: 600, ready: ['False', 540], metric: 'zero' }], expect: { ready: 1, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}unready pod that has never been ready after initialization period - CPU`, resource: 'cpu', pods: [{ name: 'lucretius', phase: 'Succeeded', startAgo: 600, ready: ['False', 590], metric: 'zero' }], expect: { ready: 1, unready: [], missing: [], ignored: [] } },
  { upstream: `${G}a missing pod`, resource: 'cpu', pods: [{ name: 'epicurus', phase: 'Succeeded', startAgo: 180 }], expect: { ready: 0, unready: [], missing: ['epicurus'], ignored: [] } },
  {
    upstream: `${G}several pods`,
    resource: 'cpu',
    pods: [
      { name: 'lucretius', phase: 'Succeeded', startAgo: 0, metric: 'zero' },
      { name: 'niccolo', phase: 'Succeeded', startAgo: 180, ready: ['True', 180], metric: 'zero' },
      { name: 'epicurus', phase: 'Succeeded', startAgo: 180 },
    ],
    expect: { ready: 1, unready: ['lucretius'], missing: ['epicurus'], ignored: [] },
  },
  { upstream: `${G}pending pods are unreadied`, resource: 'cpu', pods: [{ name: 'unscheduled', phase: 'Pending' }], expect: { ready: 0, unready: ['unscheduled'], missing: [], ignored: [] } },
  { upstream: `${G}ignore pods with deletion timestamps`, resource: 'cpu', pods: [{ name: 'deleted', phase: 'Pending', deleted: true, metric: 'zero' }], expect: { ready: 0, unready: [], missing: [], ignored: ['deleted'] } },
  { upstream: `${G}ignore pods in a failed state`, resource: 'cpu', pods: [{ name: 'failed', phase: 'Failed', metric: 'zero' }], expect: { ready: 0, unready: [], missing: [], ignored: ['failed'] } },
];
