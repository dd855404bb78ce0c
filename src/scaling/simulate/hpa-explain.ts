/**
 * `salescale hpa explain`: one controller sync on what kubectl shows, told step by step — per
 * metric the pods counted and left out (and why), the ratio against the tolerance band and the
 * proposal; then the max over the metrics, the stabilization entry and the rate-limit policy that
 * shaped the result, and the conditions the controller would write.
 */
import type { HpaControllerOptions, HpaMetricInputs, HpaSyncResult, MetricProposal } from './hpa-controller.ts';
import { syncHpa } from './hpa-controller.ts';
import type { HpaState, ScaleEvent, TimestampedRecommendation } from './hpa.ts';
import { createHpaState } from './hpa.ts';
import type { HpaStatusInput } from './hpa-k8s-input.ts';
import type { HpaSpec } from './hpa-controller.ts';
import type { HpaPod } from './hpa-replica-calculator.ts';

export interface ExplainInput {
  hpa: { spec: HpaSpec; status?: HpaStatusInput; targetRef: string };
  pods: HpaPod[];
  inputs: HpaMetricInputs;
  /** Seconds since the epoch. */
  now: number;
  /** `scale.spec.replicas`; default: status.desiredReplicas, else status.currentReplicas, else the live pods. */
  currentReplicas?: number;
  /** Earlier recommendations the controller holds (its memory is not in the API). */
  history?: TimestampedRecommendation[];
  scaleUpEvents?: ScaleEvent[];
  scaleDownEvents?: ScaleEvent[];
  /** Model a controller that has just (re)started: it records the current count first. */
  fresh?: boolean;
  options?: Partial<HpaControllerOptions>;
}

export interface PodVerdict {
  pod: string;
  group: 'ready' | 'unready' | 'missing' | 'ignored';
  reason: string;
}

export interface MetricExplanation {
  name: string;
  type: string;
  target?: string;
  replicas?: number;
  utilization?: number;
  rawUsage?: number;
  usageRatio?: number;
  recomputedRatio?: number;
  toleranceBand: [number, number];
  withinTolerance?: boolean;
  counted: string[];
  leftOut: PodVerdict[];
  outcome?: string;
  error?: { reason: string; message: string };
}

export interface Explanation {
  hpa: string;
  target: string;
  at: string;
  mode: 'behavior' | 'legacy';
  currentReplicas: number;
  currentReplicasSource: string;
  statusReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  tolerances: { scaleDown: number; scaleUp: number };
  metrics: MetricExplanation[];
  metricDesiredReplicas: number | null;
  metricName: string;
  stabilization?: HpaSyncResult['stabilization'];
  rate?: HpaSyncResult['rate'];
  desiredReplicas: number;
  reason: string;
  conditions: HpaSyncResult['conditions'];
  /** The Event a rescale records. */
  event?: HpaSyncResult['event'];
  /** The status the cluster reported, for comparison. */
  reportedStatus?: HpaStatusInput;
  assumptions: string[];
}

function formatMilli(v: number): string {
  return v % 1000 === 0 ? String(v / 1000) : `${v}m`;
}

function describeTarget(p: MetricProposal): string | undefined {
  const t = p.target;
  if (!t) return undefined;
  if (t.type === 'Utilization') return `${t.averageUtilization} % of request (Utilization)`;
  if (t.type === 'AverageValue') return `${formatMilli(t.averageValue ?? 0)} per pod (AverageValue)`;
  return `${formatMilli(t.value ?? 0)} in total (Value)`;
}

function explainMetric(p: MetricProposal, tol: { scaleDown: number; scaleUp: number }): MetricExplanation {
  const grouping = p.trace?.grouping;
  const counted: string[] = [];
  const leftOut: PodVerdict[] = [];
  for (const [pod, v] of grouping?.reasons ?? []) {
    if (v.group === 'ready') counted.push(pod);
    else leftOut.push({ pod, group: v.group, reason: v.reason });
  }
  const band: [number, number] = [1 - tol.scaleDown, 1 + tol.scaleUp];
  return {
    name: p.name,
    type: p.type,
    target: describeTarget(p),
    replicas: p.replicas,
    utilization: p.utilization,
    rawUsage: p.rawUsage,
    usageRatio: p.usageRatio,
    recomputedRatio: p.trace?.newUsageRatio,
    toleranceBand: band,
    withinTolerance: p.usageRatio === undefined ? undefined : p.usageRatio >= band[0] && p.usageRatio <= band[1],
    counted,
    leftOut,
    outcome: p.outcome,
    error: p.error,
  };
}

/** Runs one sync and collects the why. */
export function explainHpa(input: ExplainInput): Explanation {
  const { spec, status } = input.hpa;
  const live = input.pods.filter((p) => !p.deleted && p.phase !== 'Failed' && p.phase !== 'Succeeded').length;
  let currentReplicas = input.currentReplicas;
  let source = '--replicas';
  if (currentReplicas === undefined) {
    if (status?.desiredReplicas !== undefined) [currentReplicas, source] = [status.desiredReplicas, 'status.desiredReplicas, what the controller last set on the target'];
    else if (status?.currentReplicas !== undefined) [currentReplicas, source] = [status.currentReplicas, 'status.currentReplicas'];
    else [currentReplicas, source] = [live, 'pods that are not failed, succeeded or being deleted'];
  }
  const assumptions: string[] = [];
  let state: HpaState;
  if (input.fresh) {
    state = createHpaState();
    assumptions.push('a controller that has just started: it first records the current count as a recommendation');
  } else {
    state = { recommendations: input.history ?? [], scaleUpEvents: input.scaleUpEvents ?? [], scaleDownEvents: input.scaleDownEvents ?? [] };
    if (!input.history) assumptions.push('no earlier recommendations inside the stabilization windows (the controller keeps them in memory only; pass --history)');
    if (!input.scaleUpEvents && !input.scaleDownEvents) assumptions.push('no scale events inside the policy periods (pass --scale-events)');
  }
  const r = syncHpa({
    spec,
    specReplicas: currentReplicas,
    statusReplicas: status?.currentReplicas ?? live,
    pods: input.pods,
    inputs: input.inputs,
    state,
    now: input.now,
    options: input.options,
  });
  return {
    hpa: `${spec.namespace}/${spec.name}`,
    target: input.hpa.targetRef,
    at: new Date(input.now * 1000).toISOString(),
    mode: spec.behavior ? 'behavior' : 'legacy',
    currentReplicas,
    currentReplicasSource: source,
    statusReplicas: status?.currentReplicas ?? live,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    tolerances: r.tolerances,
    metrics: r.proposals.map((p) => explainMetric(p, r.tolerances)),
    metricDesiredReplicas: r.metricDesiredReplicas,
    metricName: r.metricName,
    stabilization: r.stabilization,
    rate: r.rate,
    desiredReplicas: r.desiredReplicas,
    reason: r.reason,
    conditions: r.conditions,
    event: r.event,
    reportedStatus: status,
    assumptions,
  };
}

const ratio = (x: number) => (Math.round(x * 1000) / 1000).toString();
const ago = (at: number, now: number) => `${Math.round(now - at)} s ago`;

/** The text `hpa explain` prints. */
export function renderExplanation(e: Explanation, now: number): string {
  const out: string[] = [];
  out.push(`HPA ${e.hpa} → ${e.target} at ${e.at}`);
  out.push(`current replicas ${e.currentReplicas} (${e.currentReplicasSource}); min ${e.minReplicas}, max ${e.maxReplicas}; ${e.mode === 'behavior' ? 'spec.behavior set' : 'no spec.behavior: legacy normalization'}`);
  out.push(`tolerance: scale down below ${ratio(1 - e.tolerances.scaleDown)}, scale up above ${ratio(1 + e.tolerances.scaleUp)}`);
  e.metrics.forEach((m, i) => {
    out.push('');
    out.push(`metric ${i + 1}: ${m.name}${m.target ? ` — target ${m.target}` : ''}`);
    if (m.error) {
      out.push(`  FAILED (${m.error.reason}): ${m.error.message}`);
      return;
    }
    if (m.counted.length > 0 || m.leftOut.length > 0) {
      out.push(`  pods counted (${m.counted.length}): ${m.counted.join(', ') || '—'}`);
      for (const p of m.leftOut) {
        const how = p.group === 'ignored' ? 'ignored' : p.group === 'missing' ? 'missing: counted at 0 on a scale-up, at the target (or 100 % of request) on a scale-down' : 'unready: counted at 0 on a scale-up, left out otherwise';
        out.push(`  left out: ${p.pod} — ${p.reason} (${how})`);
      }
    }
    const usage: string[] = [];
    if (m.utilization !== undefined) usage.push(`utilization ${m.utilization} %`);
    if (m.rawUsage !== undefined) {
      const perPodTarget = m.target !== undefined && (m.type === 'Object' || m.type === 'External') && m.target.endsWith('(AverageValue)');
      const label = m.utilization !== undefined ? 'raw average per pod ' : m.type === 'Object' || m.type === 'External' ? (perPodTarget ? 'total over current replicas ' : 'value ') : 'average per pod ';
      usage.push(`${label}${formatMilli(m.rawUsage)}`);
    }
    if (usage.length > 0) out.push(`  ${usage.join(', ')}`);
    if (m.usageRatio !== undefined) {
      out.push(`  ratio ${ratio(m.usageRatio)} ${m.withinTolerance ? 'inside' : 'outside'} the tolerance band [${ratio(m.toleranceBand[0])}, ${ratio(m.toleranceBand[1])}]${m.recomputedRatio !== undefined ? `; recomputed with missing/unready pods: ${ratio(m.recomputedRatio)}` : ''}`);
    }
    out.push(`  proposal: ${m.replicas} replica(s) — ${m.outcome}`);
  });
  out.push('');
  if (e.metricDesiredReplicas === null) {
    if (e.reason === 'FailedGetMetrics') out.push('no action: every metric failed, or a metric failed and the others would scale down (the controller keeps the current count)');
  } else out.push(`desired by the metrics: ${e.metricDesiredReplicas} (the largest proposal, from ${e.metricName})`);
  if (e.reason === 'CurrentAboveMax' || e.reason === 'CurrentBelowMin') out.push(`the current count is outside [min, max]: the controller moves it to the bound without looking at the metrics`);
  if (e.reason === 'ScalingDisabled') out.push('the target has 0 replicas and minReplicas > 0: scaling is disabled');
  const s = e.stabilization;
  if (s) {
    if (s.mode === 'behavior') out.push(`stabilization: scale-up window keeps min ${s.upRecommendation}, scale-down window keeps max ${s.downRecommendation} → ${s.stabilized}`);
    else out.push(`stabilization (legacy, 300 s scale-down window): highest recommendation ${s.stabilized}`);
    if (s.limitingEntry) out.push(`  held by the recommendation ${s.limitingEntry.value} made ${ago(s.limitingEntry.at, now)}`);
    else if (s.stabilized === s.desired) out.push('  no earlier recommendation changed it');
  }
  const r = e.rate;
  if (r && r.direction !== 'none') {
    if (r.direction === 'up') out.push(`rate limit (scale up): at most ${r.limit} (${r.policy}); allowed up to ${r.maxAllowed ?? r.limit}`);
    else if (e.mode === 'legacy') out.push(`no scale-down rate limit without spec.behavior; allowed down to minReplicas ${r.minAllowed}`);
    else out.push(`rate limit (scale down): at least ${r.limit ?? '—'}${r.policy ? ` (${r.policy})` : ''}${r.minAllowed !== undefined ? `; allowed down to ${r.minAllowed}` : ''}`);
  }
  out.push(`DESIRED REPLICAS: ${e.desiredReplicas}${e.desiredReplicas === e.currentReplicas ? ' (no change)' : ` (from ${e.currentReplicas})`} — ${e.reason}`);
  if (e.event) out.push(`event: ${e.event.type} ${e.event.reason} "${e.event.message}"`);
  if (e.reportedStatus?.desiredReplicas !== undefined && e.reportedStatus.desiredReplicas !== e.desiredReplicas && e.currentReplicasSource !== '--replicas') {
    out.push(`(the cluster last reported desiredReplicas ${e.reportedStatus.desiredReplicas}; this sync, on the metrics given, wants ${e.desiredReplicas})`);
  }
  out.push('');
  out.push('conditions:');
  for (const c of e.conditions) out.push(`  ${c.type.padEnd(15)} ${c.status.padEnd(6)} ${c.reason.padEnd(20)} ${c.message}`);
  if (e.reportedStatus?.conditions.length) {
    out.push('reported by the cluster:');
    for (const c of e.reportedStatus.conditions) out.push(`  ${c.type.padEnd(15)} ${c.status.padEnd(6)} ${c.reason.padEnd(20)} ${c.message}`);
  }
  if (e.assumptions.length > 0) out.push('', `assumed: ${e.assumptions.join('; ')}`);
  return out.join('\n');
}
