/**
 * Cases ported from KEDA's own tests (kedacore/keda), each named after the upstream test (and sub-test
 * or Ginkgo `It`) it comes from, with the upstream inputs and the upstream expectations: only what the
 * upstream test asserts is expected. What each upstream harness sets up implicitly (an unset
 * `status.lastActiveTime`, a creation time long past, one mock trigger per activity flag) is spelled out
 * in `keda-upstream.harness.ts`; `keda-upstream.test.ts` asserts every case and
 * `testdata/KEDA-UPSTREAM-CASES.md` lists them, with the tests left out and why.
 *
 * Versions read (stored copies of kedacore/keda; where the store reported no commit, its index id):
 * | file                                              | version                                      |
 * | pkg/scaling/executor/scale_scaledobjects.go       | id 53806294824 (ScaleResult refactor); older 7f17c10c98ce89a6751f60a9169fb7d9b720a114 |
 * | pkg/scaling/executor/scale_scaledobjects_test.go  | id 56511586528 (with the HPA-health tests); older 4af6a5ab953388b6647a083385c52907cc5d7169 |
 * | pkg/scaling/executor/triggers_activity_test.go    | 067a6c51a9396ba28f5427be182c436474ea0206 (not ported) |
 * | pkg/scaling/scale_handler.go / _test.go           | id 3479569852 / id 54907349549               |
 * | apis/keda/v1alpha1/scaledobject_types.go          | ca8dd42efb6b53f8041aec6b54d4e3c7e5bc9368     |
 * | apis/keda/v1alpha1/scaledobject_types_test.go     | 6d65650b300ea3879e64bb8faa2896869a6613b3     |
 * | apis/keda/v1alpha1/scaletriggers_types.go / _test.go | id 2441777970 / c40ebe1fdf2dc3d7784f6a9879d7f27f693c2414 |
 * | controllers/keda/hpa.go                           | id 3589683730 (pause annotations → Disabled) |
 * | controllers/keda/scaledobject_controller_test.go  | id 3481732329                                |
 * | controllers/keda/hpa_test.go                      | 0fd41272a52d15f43e971b9bb51293de222a3496 (not ported) |
 * | pkg/fallback/fallback.go                          | dfe21b06f6bd9c3b7cf5bc1e5f985a5a975934e9     |
 * | pkg/fallback/fallback_test.go                     | id 4271123852 (matches dfe21b06's signatures) |
 * | pkg/scalers/cron_scaler.go                        | id 3596850340 (before kedacore/keda#6888: 1 outside the window) |
 * | pkg/scalers/cron_scaler_test.go                   | c2f562f74c98518665c4fc01c0791117bde19c16 (after kedacore/keda#6888: 0) |
 * | pkg/scalers/redis_scaler.go                       | id 3799252290                                |
 * | pkg/scalers/redis_scaler_test.go                  | a3585f9f2ced53b00e54dcbf116e8b412da184f2     |
 * The stored sources are of the 2.17–2.18 line: fallback only for AverageValue targets (2.18 added
 * Value), cron 0 outside its window (2.18).
 */
import type { HpaSelectPolicy } from './hpa-behavior.ts';
import type { ConditionStatus, KedaAnnotations } from './keda.ts';
import type { KedaFallbackBehavior, TriggerHealth } from './keda-fallback.ts';

export type KedaUpstreamFile =
  | 'scale_scaledobjects_test.go'
  | 'scale_handler_test.go'
  | 'scaledobject_types_test.go'
  | 'scaletriggers_types_test.go'
  | 'scaledobject_controller_test.go'
  | 'fallback_test.go'
  | 'cron_scaler_test.go'
  | 'redis_scaler_test.go';

/** The ScaledObject fields the upstream cases set; unset ones are KEDA's nil. */
export interface SpecArgs {
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  fallback?: { failureThreshold: number; replicas: number; behavior?: KedaFallbackBehavior };
  annotations?: Partial<KedaAnnotations>;
  scaleDownSelectPolicy?: HpaSelectPolicy;
  /** Trigger names (one redis trigger each); unset: one trigger. */
  triggerNames?: string[];
}

/** pkg/scaling/executor/scale_scaledobjects_test.go: `RequestScale(so, isActive, isError)`. */
export interface ExecutorCase {
  upstream: string;
  spec: SpecArgs;
  currentReplicas: number;
  isActive: boolean;
  isError: boolean;
  /** What the upstream test asserts: the scale it set, the Active / Ready conditions, LastActiveTime set. */
  expect: { replicas?: number; active?: boolean; ready?: ConditionStatus; lastActiveTimeSet?: boolean };
}

const inactive = { isActive: false, isError: false };
const active = { isActive: true, isError: false };

export const EXECUTOR_CASES: ExecutorCase[] = [
  { upstream: 'TestScaleToMinReplicasWhenNotActive', spec: { minReplicaCount: 0 }, currentReplicas: 10, ...inactive, expect: { replicas: 0, active: false } },
  { upstream: 'TestScaleToMinReplicasFromLowerInitialReplicaCount', spec: { minReplicaCount: 5 }, currentReplicas: 1, ...inactive, expect: { replicas: 5, active: false } },
  { upstream: 'TestScaleFromMinReplicasWhenActive', spec: { minReplicaCount: 0 }, currentReplicas: 0, ...active, expect: { replicas: 1, active: true, lastActiveTimeSet: true } },
  { upstream: 'TestScaleToIdleReplicasWhenNotActive', spec: { idleReplicaCount: 0, minReplicaCount: 5 }, currentReplicas: 10, ...inactive, expect: { replicas: 0, active: false } },
  { upstream: 'TestScaleFromIdleToMinReplicasWhenActive', spec: { idleReplicaCount: 0, minReplicaCount: 5 }, currentReplicas: 0, ...active, expect: { replicas: 5, active: true, lastActiveTimeSet: true } },
  // The event "Scaled  namespace/name from 2 to 5, triggered by testTrigger": idle set, 2 < min → min.
  { upstream: 'TestEventWitTriggerInfo', spec: { idleReplicaCount: 0, minReplicaCount: 5 }, currentReplicas: 2, ...active, expect: { replicas: 5 } },
  { upstream: 'TestNoScaleToMinReplicasWhenNotActiveAndPauseScaleInAnnotationSet', spec: { minReplicaCount: 0, annotations: { pausedScaleIn: true } }, currentReplicas: 10, ...inactive, expect: { replicas: 10, active: false } },
  { upstream: 'TestNoScaleToIdleReplicasWhenNotActiveAndPauseScaleInAnnotationSet', spec: { idleReplicaCount: 0, minReplicaCount: 5, annotations: { pausedScaleIn: true } }, currentReplicas: 10, ...inactive, expect: { replicas: 10, active: false } },
  { upstream: 'TestScaleFromMinReplicasWhenActivationForced', spec: { minReplicaCount: 0, annotations: { forceActivation: true } }, currentReplicas: 0, ...inactive, expect: { replicas: 1, active: true, lastActiveTimeSet: true } },
  { upstream: 'TestNoScaleFromMinReplicasWhenActiveAndPausedScaleOutAnnotationSet', spec: { minReplicaCount: 0, annotations: { pausedScaleOut: true } }, currentReplicas: 0, ...active, expect: { replicas: 0, active: true } },
  {
    upstream: 'TestNoScaleFromIdleReplicasToMinReplicasWhenActiveAndPausedScaleOutAnnotationSet',
    spec: { idleReplicaCount: 0, minReplicaCount: 5, maxReplicaCount: 10, annotations: { pausedScaleOut: true } },
    currentReplicas: 0,
    ...active,
    expect: { replicas: 0, active: true },
  },
  // newSOWithHPA: minReplicaCount 1, the target at 1 replica; the scale client has no expectations, so
  // any scale call would fail the upstream test: the replica count is asserted unchanged.
  { upstream: 'TestRequestScale_AllHealthy_HPAHealthy', spec: { minReplicaCount: 1 }, currentReplicas: 1, ...active, expect: { replicas: 1, ready: 'True' } },
  { upstream: 'TestRequestScale_ScalerError_HPAHealthy', spec: { minReplicaCount: 1 }, currentReplicas: 1, isActive: false, isError: true, expect: { replicas: 1, ready: 'False' } },
  { upstream: 'TestRequestScale_PartialError_HPAHealthy', spec: { minReplicaCount: 1 }, currentReplicas: 1, isActive: true, isError: true, expect: { replicas: 1, ready: 'Unknown' } },
  {
    upstream: 'TestRequestScale_ScalerErrorWithFallback_HPAHealthy',
    spec: { minReplicaCount: 1, fallback: { failureThreshold: 0, replicas: 5 } },
    currentReplicas: 1,
    isActive: false,
    isError: true,
    expect: { replicas: 1, ready: 'True' },
  },
];

/** pkg/scaling/scale_handler_test.go: `getScaledObjectState` over the triggers' answers. */
export interface ScaledObjectStateCase {
  upstream: string;
  triggers: { name: string; value: number; active: boolean; error?: string }[];
  expect: { active: boolean; error: boolean; activeTriggers: string[] };
}

export const SCALED_OBJECT_STATE_CASES: ScaledObjectStateCase[] = [
  { upstream: 'TestCheckScaledObjectScalersWithError', triggers: [{ name: 'metric-name', value: 0, active: false, error: 'some error' }], expect: { active: false, error: true, activeTriggers: [] } },
  {
    upstream: 'TestCheckScaledObjectFindFirstActiveNotIgnoreOthers',
    triggers: [
      { name: 'metric-name', value: 10, active: true },
      { name: 'failing', value: 0, active: false, error: 'some error' },
    ],
    expect: { active: true, error: true, activeTriggers: ['metric-name'] },
  },
];

/** The HPA KEDA generates: scaledobject_types_test.go `GetHPAMinReplicas/GetHPAMaxReplicas`, controller tests on `newHPAForScaledObject`. */
export interface HpaSpecCase {
  upstream: string;
  file: KedaUpstreamFile;
  spec: SpecArgs;
  expect: { minReplicas?: number; maxReplicas?: number; scaleDownSelectPolicy?: HpaSelectPolicy };
}

export const HPA_SPEC_CASES: HpaSpecCase[] = [
  { upstream: 'TestGetHPAReplicas/Default min and max', file: 'scaledobject_types_test.go', spec: {}, expect: { minReplicas: 1, maxReplicas: 100 } },
  { upstream: 'TestGetHPAReplicas/Custom min, default max', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 5 }, expect: { minReplicas: 5, maxReplicas: 100 } },
  { upstream: 'TestGetHPAReplicas/Default min, custom max', file: 'scaledobject_types_test.go', spec: { maxReplicaCount: 10 }, expect: { minReplicas: 1, maxReplicas: 10 } },
  { upstream: 'TestGetHPAReplicas/Custom min and max', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 5, maxReplicaCount: 10 }, expect: { minReplicas: 5, maxReplicas: 10 } },
  { upstream: 'TestGetHPAReplicas/Zero min, default max', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 0 }, expect: { minReplicas: 1, maxReplicas: 100 } },
  {
    upstream: 'ScaledObjectController/deploys ScaledObject and creates HPA, when IdleReplicaCount, MinReplicaCount and MaxReplicaCount is defined',
    file: 'scaledobject_controller_test.go',
    spec: { idleReplicaCount: 1, minReplicaCount: 5, maxReplicaCount: 10 },
    expect: { minReplicas: 5, maxReplicas: 10 },
  },
  {
    upstream: 'ScaledObjectController/deploys ScaledObject and creates HPA with scale down select policy disabled when pause scale-in annotation set',
    file: 'scaledobject_controller_test.go',
    spec: { annotations: { pausedScaleIn: true } },
    expect: { scaleDownSelectPolicy: 'Disabled' },
  },
  // Upstream also asserts `Behavior == nil` before the annotation: here the behavior is always the API-defaulted one.
  {
    upstream: 'ScaledObjectController/sets scale down select policy to disable when annotation added to existing object (annotation added)',
    file: 'scaledobject_controller_test.go',
    spec: { minReplicaCount: 1, maxReplicaCount: 10, annotations: { pausedScaleIn: true } },
    expect: { scaleDownSelectPolicy: 'Disabled' },
  },
  {
    upstream: 'ScaledObjectController/sets scale down select policy to original policy when annotation removed (annotation set)',
    file: 'scaledobject_controller_test.go',
    spec: { minReplicaCount: 1, maxReplicaCount: 10, scaleDownSelectPolicy: 'Min', annotations: { pausedScaleIn: true } },
    expect: { scaleDownSelectPolicy: 'Disabled' },
  },
  {
    upstream: 'ScaledObjectController/sets scale down select policy to original policy when annotation removed (annotation removed)',
    file: 'scaledobject_controller_test.go',
    spec: { minReplicaCount: 1, maxReplicaCount: 10, scaleDownSelectPolicy: 'Min' },
    expect: { scaleDownSelectPolicy: 'Min' },
  },
];

/**
 * What the admission webhook (and the controller, which sets Ready False) refuses. `error: true`: the
 * upstream test asserts a refusal but not its message; `exact`: it asserts the whole message (EqualError).
 */
export type ValidationExpect = { valid: true } | { error: string | true; exact?: boolean };

export interface ValidationCase {
  upstream: string;
  file: KedaUpstreamFile;
  spec: SpecArgs;
  expect: ValidationExpect;
}

// TestCheckFallbackValid uses a couchdb trigger; a redis trigger stands in (both have an AverageValue target).
const fallbackOf = (failureThreshold: number, replicas: number) => ({ fallback: { failureThreshold, replicas } });

export const VALIDATION_CASES: ValidationCase[] = [
  { upstream: 'TestCheckReplicaCountBoundsAreValid/Valid: min 1, max 5, no idle', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 1, maxReplicaCount: 5 }, expect: { valid: true } },
  { upstream: 'TestCheckReplicaCountBoundsAreValid/Valid: min 1, max 5, idle 0', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 1, maxReplicaCount: 5, idleReplicaCount: 0 }, expect: { valid: true } },
  { upstream: 'TestCheckReplicaCountBoundsAreValid/Invalid: min 2 > max 1', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 2, maxReplicaCount: 1 }, expect: { error: 'MinReplicaCount=2 must be less than MaxReplicaCount=1' } },
  { upstream: 'TestCheckReplicaCountBoundsAreValid/Invalid: idle 1 == min 1', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 1, maxReplicaCount: 5, idleReplicaCount: 1 }, expect: { error: 'IdleReplicaCount=1 must be less than MinReplicaCount=1' } },
  { upstream: 'TestCheckReplicaCountBoundsAreValid/Invalid: idle 2 > min 1', file: 'scaledobject_types_test.go', spec: { minReplicaCount: 1, maxReplicaCount: 5, idleReplicaCount: 2 }, expect: { error: 'IdleReplicaCount=2 must be less than MinReplicaCount=1' } },
  { upstream: 'TestCheckFallbackValid/No fallback configured', file: 'scaledobject_types_test.go', spec: {}, expect: { valid: true } },
  { upstream: 'TestCheckFallbackValid/Implicit AverageValue metricType (empty string) - valid', file: 'scaledobject_types_test.go', spec: fallbackOf(3, 1), expect: { valid: true } },
  { upstream: 'TestCheckFallbackValid/Negative FailureThreshold - invalid', file: 'scaledobject_types_test.go', spec: fallbackOf(-1, 1), expect: { error: 'must both be greater than or equal to 0' } },
  { upstream: 'TestCheckFallbackValid/Negative Replicas - invalid', file: 'scaledobject_types_test.go', spec: fallbackOf(3, -1), expect: { error: 'must both be greater than or equal to 0' } },
  // TestValidateTriggers uses cpu and prometheus triggers; the name check does not look at the type.
  { upstream: 'TestValidateTriggers/valid triggers', file: 'scaletriggers_types_test.go', spec: { triggerNames: ['trigger1', 'trigger2'] }, expect: { valid: true } },
  {
    upstream: 'TestValidateTriggers/duplicate trigger names',
    file: 'scaletriggers_types_test.go',
    spec: { triggerNames: ['trigger1', 'trigger1'] },
    expect: { error: 'triggerName "trigger1" is defined multiple times in the ScaledObject, but it must be unique', exact: true },
  },
  { upstream: "ScaledObjectController/doesn't allow MinReplicaCount > MaxReplicaCount", file: 'scaledobject_controller_test.go', spec: { minReplicaCount: 10, maxReplicaCount: 5 }, expect: { error: true } },
  { upstream: "ScaledObjectController/doesn't allow IdleReplicaCount > MinReplicaCount", file: 'scaledobject_controller_test.go', spec: { idleReplicaCount: 10, minReplicaCount: 5 }, expect: { error: true } },
  {
    upstream: "ScaledObjectController/doesn't allow IdleReplicaCount > MaxReplicaCount, when MinReplicaCount is not explicitly defined",
    file: 'scaledobject_controller_test.go',
    spec: { idleReplicaCount: 10, maxReplicaCount: 5 },
    expect: { error: true },
  },
  // Upstream's object also has idleReplicaCount 10 > minReplicaCount 5, so it is refused on two counts.
  {
    upstream: "ScaledObjectController/doesn't allow non-unique triggerName in ScaledObject",
    file: 'scaledobject_controller_test.go',
    spec: { idleReplicaCount: 10, minReplicaCount: 5, triggerNames: ['non-unique', 'non-unique'] },
    expect: { error: true },
  },
];

/** pkg/fallback/fallback_test.go: `GetMetricsWithFallback` for one metric. */
export interface FallbackCase {
  upstream: string;
  fallback: { failureThreshold: number; replicas: number; behavior?: KedaFallbackBehavior } | null;
  /** `status.health[metric]` before the request. */
  health?: TriggerHealth;
  /** What the scaler answers: a value, or an error. */
  metric: { value: number } | { error: string };
  /** `createMetricSpec(averageValue)`. */
  targetAverageValue: number;
  /** The target's replicas (`mockScaleAndDeployment`), where the test mocks them. */
  currentReplicas: number;
  expect: { value?: number; error?: string; health?: TriggerHealth };
}

const failing = (n: number): TriggerHealth => ({ numberOfFailures: n, status: 'Failing' });
const happy = (n: number): TriggerHealth => ({ numberOfFailures: n, status: 'Happy' });
const someError = { error: 'some error' };

export const FALLBACK_CASES: FallbackCase[] = [
  { upstream: 'fallback/should return the expected metric when fallback is disabled', fallback: null, metric: { value: 5 }, targetAverageValue: 3, currentReplicas: 0, expect: { value: 5 } },
  {
    upstream: 'fallback/should reset the health status when scaler metrics are available when fallback is enabled',
    fallback: { failureThreshold: 3, replicas: 10 },
    health: failing(5),
    metric: { value: 6 },
    targetAverageValue: 3,
    currentReplicas: 0,
    expect: { value: 6, health: happy(0) },
  },
  { upstream: 'fallback/should not reset the health status when fallback is not enabled', fallback: null, health: failing(5), metric: { value: 6 }, targetAverageValue: 3, currentReplicas: 0, expect: { value: 6, health: failing(5) } },
  { upstream: 'fallback/should propagate the error when fallback is disabled', fallback: null, metric: someError, targetAverageValue: 3, currentReplicas: 0, expect: { error: 'some error' } },
  {
    upstream: 'fallback/should bump the number of failures when metrics call fails',
    fallback: { failureThreshold: 3, replicas: 10 },
    health: happy(0),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 0,
    expect: { error: 'some error', health: failing(1) },
  },
  {
    upstream: 'fallback/should return a normalised metric when number of failures are beyond threshold',
    fallback: { failureThreshold: 3, replicas: 10 },
    health: happy(3),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 5,
    expect: { value: 100, health: failing(4) },
  },
  {
    upstream: 'fallback/should return error when fallback is enabled but scaledobject has invalid parameter',
    fallback: { failureThreshold: -3, replicas: 10 },
    health: happy(3),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 0,
    expect: { error: 'some error' },
  },
  {
    upstream: "fallback/should use fallback replicas when current replicas is lower when behavior is 'currentReplicasIfHigher'",
    fallback: { failureThreshold: 3, replicas: 10, behavior: 'currentReplicasIfHigher' },
    health: happy(3),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 4,
    expect: { value: 100 },
  },
  {
    upstream: "fallback/should use current replicas when behavior is 'currentReplicas'",
    fallback: { failureThreshold: 3, replicas: 10, behavior: 'currentReplicas' },
    health: happy(3),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 6,
    expect: { value: 60 },
  },
  {
    upstream: "fallback/should ignore current replicas when behavior is 'static'",
    fallback: { failureThreshold: 3, replicas: 10, behavior: 'static' },
    health: happy(3),
    metric: someError,
    targetAverageValue: 10,
    currentReplicas: 15,
    expect: { value: 100 },
  },
];

/**
 * pkg/scalers/cron_scaler_test.go. Upstream evaluates at `time.Now()` and branches on the weekday /
 * hour; here each branch is one case at a fixed instant, with the window the cron pair gives around
 * it resolved by hand (the simulator's cron trigger is a resolved window).
 */
export interface CronCase {
  upstream: string;
  /** The cron pair, as upstream writes it (for the table). */
  cron: { timezone: string; start: string; end: string; desiredReplicas: number };
  window: { start: string; end: string };
  at: string;
  expect: { active?: boolean; value?: number };
}

const thursdays = { timezone: 'Etc/UTC', start: '0 0 * * Thu', end: '59 23 * * Thu', desiredReplicas: 10 };
const evenHours = { timezone: 'Etc/UTC', start: '0 */2 * * *', end: '0 1-23/2 * * *', desiredReplicas: 10 };
// 2026-01-08 is a Thursday: its window is 00:00–23:59 UTC; the even-hour window around 10:30 is 10:00–11:00.
const thursdayWindow = { start: '2026-01-08T00:00:00Z', end: '2026-01-08T23:59:00Z' };
const tenOClockWindow = { start: '2026-01-08T10:00:00Z', end: '2026-01-08T11:00:00Z' };
const onThursday = '2026-01-08T12:00:00Z';
const onFriday = '2026-01-09T12:00:00Z';

export const CRON_CASES: CronCase[] = [
  { upstream: 'TestIsActive (a Thursday)', cron: thursdays, window: thursdayWindow, at: onThursday, expect: { active: true } },
  { upstream: 'TestIsActive (not a Thursday)', cron: thursdays, window: thursdayWindow, at: onFriday, expect: { active: false } },
  { upstream: 'TestIsActiveRange (even hour)', cron: evenHours, window: tenOClockWindow, at: '2026-01-08T10:30:00Z', expect: { active: true } },
  { upstream: 'TestIsActiveRange (odd hour)', cron: evenHours, window: tenOClockWindow, at: '2026-01-08T11:30:00Z', expect: { active: false } },
  { upstream: 'TestGetMetrics (a Thursday)', cron: thursdays, window: thursdayWindow, at: onThursday, expect: { value: 10 } },
  { upstream: 'TestGetMetrics (not a Thursday)', cron: thursdays, window: thursdayWindow, at: onFriday, expect: { value: 0 } },
  { upstream: 'TestGetMetricsRange (even hour)', cron: evenHours, window: tenOClockWindow, at: '2026-01-08T10:30:00Z', expect: { value: 10 } },
  { upstream: 'TestGetMetricsRange (odd hour)', cron: evenHours, window: tenOClockWindow, at: '2026-01-08T11:30:00Z', expect: { value: 0 } },
];

/** pkg/scalers/redis_scaler_test.go: `parseRedisMetadata` on the list fields (`error: true`: any error). */
export interface RedisParseCase {
  upstream: string;
  metadata: Record<string, string>;
  expect: { ok: true } | { error: string | true } | { listName: string; listLength: number; activationListLength: number };
}

const clusterHosts = { hosts: 'a, b, c', ports: '1, 2, 3' };

export const REDIS_PARSE_CASES: RedisParseCase[] = [
  { upstream: 'TestRedisParseMetadata #1 nothing passed', metadata: {}, expect: { error: true } },
  { upstream: 'TestRedisParseMetadata #2 properly formed listName', metadata: { listName: 'mylist', listLength: '10', addressFromEnv: 'REDIS_HOST', passwordFromEnv: 'REDIS_PASSWORD' }, expect: { ok: true } },
  { upstream: 'TestRedisParseMetadata #7 improperly formed listLength', metadata: { listName: 'mylist', listLength: 'AA', addressFromEnv: 'REDIS_HOST', password: '' }, expect: { error: true } },
  {
    upstream: 'TestRedisParseMetadata #8 improperly formed activationListLength',
    metadata: { listName: 'mylist', listLength: '1', activationListLength: 'AA', addressFromEnv: 'REDIS_HOST', password: '' },
    expect: { error: true },
  },
  { upstream: 'TestParseRedisClusterMetadata/no list name', metadata: { ...clusterHosts, listLength: '5' }, expect: { error: 'error parsing redis metadata' } },
  { upstream: 'TestParseRedisClusterMetadata/invalid list length', metadata: { ...clusterHosts, listName: 'mylist', listLength: 'invalid' }, expect: { error: 'error parsing redis metadata' } },
  // The address comes from authParams (`addresses: ":7001, :7002"`), which the port does not read.
  { upstream: 'TestParseRedisClusterMetadata/address is defined in auth params', metadata: { listName: 'mylist' }, expect: { listName: 'mylist', listLength: 5, activationListLength: 0 } },
  { upstream: 'TestParseRedisSentinelMetadata/no list name', metadata: { ...clusterHosts, listLength: '5' }, expect: { error: 'error parsing redis metadata' } },
  { upstream: 'TestParseRedisSentinelMetadata/invalid list length', metadata: { ...clusterHosts, listName: 'mylist', listLength: 'invalid' }, expect: { error: 'error parsing redis metadata' } },
  { upstream: 'TestParseRedisSentinelMetadata/address is defined in auth params', metadata: { listName: 'mylist' }, expect: { listName: 'mylist', listLength: 5, activationListLength: 0 } },
];

/** Upstream tests read and left out, with the reason. */
export interface NotPortedEntry {
  file: string;
  tests: string;
  reason: string;
}

export const NOT_PORTED: NotPortedEntry[] = [
  {
    file: 'scale_scaledobjects_test.go',
    tests: 'TestScaleToPausedReplicasCount',
    reason: 'autoscaling.keda.sh/paused and paused-replicas: the ScaledObject controller stops the scale loop, deletes the HPA and pins the count; not modelled (paused-scale-in / -out are)',
  },
  {
    file: 'scale_scaledobjects_test.go',
    tests:
      'TestGetHPAHealth_* (7), TestRequestScale_NoError_HPAUnhealthy, _ScalerError_HPAUnhealthy, _TransientHPAGap_ReadyStaysTrue, _HPAHealthy_HPAActiveTrue, _HPAScalingDisabled_HPAActiveTrueWithDistinctReason, TestCheckHPAHealth_CannotObserve_HPAActiveUnchanged, TestRequestScale_HPAActive_NotInSharedDefaults',
    reason: 'the HPAActive status condition, read from the HPA object: status bookkeeping, no replica decision',
  },
  { file: 'triggers_activity_test.go', tests: 'TestDynamicTriggersActivityUpdates, TestTriggersActivityStateTransitions', reason: 'status.triggersActivity map and how often it is patched' },
  {
    file: 'scale_handler_test.go',
    tests: 'TestGetScaledObjectMetrics_DirectCall, _FromCache, _InParallel; TestGetScaledObjectState_CacheClosedIsBenign; TestWatchMetricSpecUpdates_*',
    reason: 'metrics cache, parallel fetching, scaler-cache lifecycle and push scalers (client plumbing)',
  },
  { file: 'scale_handler_test.go', tests: 'TestCheckScaledObjectScalersWithTriggerAuthError', reason: 'resolving a TriggerAuthentication against HashiCorp Vault (client plumbing)' },
  {
    file: 'scale_handler_test.go',
    tests: 'TestGetScaledObjectStateRecordsResourceScalerActiveMetric, TestGetScaledObjectStateSkipsResourceScalerActiveMetricWithModifiers',
    reason: 'cpu/memory triggers (always active) and the Prometheus metrics KEDA exports; the worker ScaledObject has no cpu/memory trigger',
  },
  {
    file: 'scale_handler_test.go',
    tests: 'TestGetScaledJobState, TestGetScaledJobStateIfQueueEmptyButMinReplicaCountGreaterZero, TestGetScaledJobMetrics_CacheClosedIsBenign',
    reason: 'ScaledJobs (Kubernetes Jobs per message), not ScaledObjects',
  },
  { file: 'scale_handler_test.go', tests: 'TestScalingModifiersFormula', reason: 'advanced.scalingModifiers (composite formula) is not modelled' },
  { file: 'scale_handler_test.go', tests: 'TestHandleResult_*', reason: 'how the scale result is patched into the ScaledObject status' },
  {
    file: 'scaledobject_types_test.go',
    tests:
      'TestCheckFallbackValid/Explicit AverageValue metricType - valid, /Value metricType - invalid, /Multiple triggers with one valid AverageValue - valid, /CPU trigger - invalid, /Memory trigger - invalid, /Multiple triggers with one CPU and one valid - valid, /Using ScalingModifiers with AverageValue MetricType - valid, /Using ScalingModifiers with Value MetricType - invalid',
    reason: 'metricType, cpu/memory triggers and scalingModifiers are not modelled: redis and cron triggers always have an AverageValue target',
  },
  { file: 'scaledobject_types_test.go', tests: 'TestHasPausedReplicaAnnotation, TestHasPausedAnnotation, TestNeedToBePausedByAnnotation, TestIsUsingModifiers', reason: 'annotation parsing for the paused modes and scalingModifiers, not modelled' },
  { file: 'scaletriggers_types_test.go', tests: 'TestValidateTriggers/unsupported useCachedMetrics property for cpu / memory / cron scaler, /supported useCachedMetrics property for kafka scaler', reason: 'useCachedMetrics is not modelled' },
  {
    file: 'fallback_test.go',
    tests: 'should behave as if fallback is disabled when the metrics spec target type is not average value metric',
    reason: 'a Utilization/Value target: every trigger here has an AverageValue target',
  },
  { file: 'fallback_test.go', tests: 'should ignore error if we fail to update kubernetes status', reason: 'a failed status patch (client plumbing); the metric it asserts is the one of the normalised-metric case' },
  {
    file: 'fallback_test.go',
    tests: 'should set the fallback condition when a fallback exists in the scaled object, should set the fallback condition to false if the config is invalid',
    reason: 'the Fallback status condition, not modelled',
  },
  {
    file: 'cron_scaler_test.go',
    tests: 'TestCronParseMetadata (11 metadata maps)',
    reason: 'cron expression parsing (robfig/cron): the simulator takes resolved windows; schedule.ts renders the expressions and the manifest validator checks their shape',
  },
  { file: 'cron_scaler_test.go', tests: 'TestCronGetMetricSpecForScaling; the MetricName assertions of TestGetMetrics / TestGetMetricsRange', reason: 'external metric names are not modelled' },
  {
    file: 'redis_scaler_test.go',
    tests: 'TestRedisParseMetadata #3–#6, #9–#19',
    reason: 'address, host/port, password, TLS: the scaler connection (plumbing); the list fields of these maps are those of the ported cases',
  },
  { file: 'redis_scaler_test.go', tests: 'TestRedisGetMetricSpecForScaling', reason: 'external metric names are not modelled' },
  {
    file: 'redis_scaler_test.go',
    tests: 'TestParseRedisClusterMetadata and TestParseRedisSentinelMetadata: empty metadata, unequal number of Hosts/Ports, Hosts and Ports given in auth params, username / password / sentinel* / tls cases',
    reason: 'connection fields (plumbing)',
  },
  {
    file: 'scaledobject_controller_test.go',
    tests:
      'Metric Names (3), cleans up a deleted trigger from the HPA, cleans up old hpa when hpa name is updated, sets the hpaName in status if not set and HPA already exists, cache is correctly recreated if SO is deleted and created, deploys ScaledObject and creates HPA when metadata.Annotations is configured, scaleobject ready condition False/Unknown to True will requeue, the paused-condition tests, deletes hpa when scaledobject has pause annotation, reconciles scaledobject when hpa spec is changed',
    reason: 'controller plumbing against an API server (object names, caches, status, requeues) and the paused modes',
  },
  {
    file: 'hpa_test.go',
    tests: 'should remove deleted metric from health status, should not remove existing metric from health status',
    reason: 'pruning status.health when a trigger leaves the spec; a simulation keeps its triggers',
  },
  {
    file: 'scaledobject_webhook_test.go',
    tests: 'the envtest cases',
    reason: 'the same replica-count, fallback and trigger checks through an API server, plus cluster lookups (another HPA or ScaledObject on the target, container requests for cpu/memory); the unit cases above cover the checks; not read case by case',
  },
];
