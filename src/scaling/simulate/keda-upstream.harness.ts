/**
 * Runs the ported KEDA cases (`keda-upstream.fixtures.ts`) through the public functions, reproducing
 * what each upstream test sets up: the executor tests build a ScaledObject whose `status.lastActiveTime`
 * is unset and whose creation time is Go's zero time (long before "now"), and stand one mock scaler in
 * for each flag (`isActive`, `isError`). Returns, per case, what upstream asserts and what this port
 * computed; `keda-upstream.test.ts` asserts them and `KEDA-UPSTREAM-CASES.md` lists them.
 */
import { normalizeBehavior } from './hpa-behavior.ts';
import type { KedaScaledObjectInput } from './keda.ts';
import { createKedaState, createScaledObject, getKedaHpaSpec, getScaledObjectState, pollScaledObject } from './keda.ts';
import { getMetricWithFallback } from './keda-fallback.ts';
import type { KedaTrigger, TriggerReading } from './keda-triggers.ts';
import { parseRedisTriggerMetadata, readTriggers } from './keda-triggers.ts';
import type { KedaUpstreamFile, SpecArgs, ValidationExpect } from './keda-upstream.fixtures.ts';
import { CRON_CASES, EXECUTOR_CASES, FALLBACK_CASES, HPA_SPEC_CASES, REDIS_PARSE_CASES, SCALED_OBJECT_STATE_CASES, VALIDATION_CASES } from './keda-upstream.fixtures.ts';

/** "now" of the executor cases (seconds); the ScaledObject was created at 0. */
const T = 1_000_000;

export interface KedaUpstreamCaseResult {
  upstream: string;
  file: KedaUpstreamFile;
  family: string;
  expected: unknown;
  actual: unknown;
  pass: boolean;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Only the keys upstream asserts, in the expectation's order. */
function project(expected: object, actual: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]]));
}

function redisTrigger(name: string): KedaTrigger {
  return { type: 'redis', name, listName: `list-${name}`, listLength: 5, activationListLength: 0 };
}

/** The ScaledObject an upstream test builds; fields it leaves nil are left out (minReplicaCount's nil matters). */
function specFrom(args: SpecArgs, triggerNames = args.triggerNames ?? ['trigger']): KedaScaledObjectInput {
  return {
    ...(args.minReplicaCount !== undefined ? { minReplicaCount: args.minReplicaCount } : {}),
    ...(args.maxReplicaCount !== undefined ? { maxReplicaCount: args.maxReplicaCount } : {}),
    ...(args.idleReplicaCount !== undefined ? { idleReplicaCount: args.idleReplicaCount } : {}),
    ...(args.fallback ? { fallback: args.fallback } : {}),
    ...(args.annotations ? { annotations: args.annotations } : {}),
    ...(args.scaleDownSelectPolicy ? { behavior: normalizeBehavior({ scaleDown: { selectPolicy: args.scaleDownSelectPolicy } }) } : {}),
    triggers: triggerNames.map(redisTrigger),
  };
}

/** Passes when every expected error matches (`true`: any error; `exact`: the whole message). */
function matchesValidation(expected: ValidationExpect, actual: { valid?: true; error?: string }): boolean {
  if ('valid' in expected) return actual.valid === true;
  if (actual.error === undefined) return false;
  if (expected.error === true) return true;
  return expected.exact ? actual.error === expected.error : actual.error.includes(expected.error);
}

function runExecutorCases(): KedaUpstreamCaseResult[] {
  return EXECUTOR_CASES.map((c) => {
    const so = createScaledObject(specFrom(c.spec, c.isError ? ['trigger', 'failing'] : ['trigger']));
    const readings: TriggerReading[] = [{ name: 'trigger', value: c.isActive ? 1 : 0, targetAverageValue: 1, active: c.isActive }];
    if (c.isError) readings.push({ name: 'failing', value: 0, targetAverageValue: 1, active: false, error: 'some error' });
    const d = pollScaledObject(so, createKedaState(null, 0), { now: T, currentReplicas: c.currentReplicas, readings });
    const actual = project(c.expect, { replicas: d.replicas, active: d.active, ready: d.ready, lastActiveTimeSet: d.state.lastActiveAt === T });
    return { upstream: c.upstream, file: 'scale_scaledobjects_test.go', family: 'operator: RequestScale', expected: c.expect, actual, pass: equal(actual, c.expect) };
  });
}

function runScaledObjectStateCases(): KedaUpstreamCaseResult[] {
  return SCALED_OBJECT_STATE_CASES.map((c) => {
    const actual = getScaledObjectState(c.triggers.map((t) => ({ ...t, targetAverageValue: 1 })));
    return { upstream: c.upstream, file: 'scale_handler_test.go', family: 'operator: trigger activity', expected: c.expect, actual, pass: equal(actual, c.expect) };
  });
}

function runHpaSpecCases(): KedaUpstreamCaseResult[] {
  return HPA_SPEC_CASES.map((c) => {
    let actual: Record<string, unknown>;
    try {
      const hpa = getKedaHpaSpec(createScaledObject(specFrom(c.spec)));
      actual = project(c.expect, { minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas, scaleDownSelectPolicy: hpa.behavior.scaleDown.selectPolicy });
    } catch (error) {
      actual = { error: messageOf(error) };
    }
    return { upstream: c.upstream, file: c.file, family: 'generated HPA', expected: c.expect, actual, pass: equal(actual, c.expect) };
  });
}

function runValidationCases(): KedaUpstreamCaseResult[] {
  return VALIDATION_CASES.map((c) => {
    let actual: { valid?: true; error?: string };
    try {
      createScaledObject(specFrom(c.spec));
      actual = { valid: true };
    } catch (error) {
      actual = { error: messageOf(error) };
    }
    return { upstream: c.upstream, file: c.file, family: 'admission webhook', expected: c.expect, actual, pass: matchesValidation(c.expect, actual) };
  });
}

function runFallbackCases(): KedaUpstreamCaseResult[] {
  return FALLBACK_CASES.map((c) => {
    const base = { name: 'some_metric_name', targetAverageValue: c.targetAverageValue };
    const reading: TriggerReading = 'value' in c.metric ? { ...base, value: c.metric.value, active: true } : { ...base, value: 0, active: false, error: c.metric.error };
    const fallback = c.fallback ? { behavior: 'static' as const, ...c.fallback } : null;
    const answer = getMetricWithFallback({ fallback, reading, health: c.health, currentReplicas: c.currentReplicas });
    const actual: Record<string, unknown> = answer.value === null ? { error: reading.error } : { value: answer.value };
    if ('health' in c.expect) actual.health = answer.health;
    return { upstream: c.upstream, file: 'fallback_test.go', family: 'fallback', expected: c.expect, actual, pass: equal(actual, c.expect) };
  });
}

function runCronCases(): KedaUpstreamCaseResult[] {
  return CRON_CASES.map((c) => {
    const trigger: KedaTrigger = { type: 'cron', name: 'cron', startMs: Date.parse(c.window.start), endMs: Date.parse(c.window.end), desiredReplicas: c.cron.desiredReplicas };
    const [r] = readTriggers([trigger], () => 0, Date.parse(c.at));
    const actual = project(c.expect, { active: r.active, value: r.value });
    return { upstream: c.upstream, file: 'cron_scaler_test.go', family: 'cron scaler', expected: c.expect, actual, pass: equal(actual, c.expect) };
  });
}

function runRedisParseCases(): KedaUpstreamCaseResult[] {
  return REDIS_PARSE_CASES.map((c) => {
    let actual: Record<string, unknown>;
    try {
      const t = parseRedisTriggerMetadata('redis', c.metadata);
      actual = 'ok' in c.expect ? { ok: true } : { listName: t.listName, listLength: t.listLength, activationListLength: t.activationListLength };
    } catch (error) {
      actual = { error: messageOf(error) };
    }
    const e = c.expect;
    const pass = 'error' in e ? typeof actual.error === 'string' && (e.error === true || actual.error.includes(e.error)) : equal(actual, e);
    return { upstream: c.upstream, file: 'redis_scaler_test.go', family: 'redis scaler: metadata', expected: e, actual, pass };
  });
}

/** Every ported case, in the order of the table. */
export function runKedaUpstreamCases(): KedaUpstreamCaseResult[] {
  return [
    ...runExecutorCases(),
    ...runScaledObjectStateCases(),
    ...runHpaSpecCases(),
    ...runValidationCases(),
    ...runFallbackCases(),
    ...runCronCases(),
    ...runRedisParseCases(),
  ];
}
