/**
 * Reads what `kubectl` prints into the shapes the HPA port uses: an `autoscaling/v2`
 * HorizontalPodAutoscaler (YAML or JSON, or a List holding one), `kubectl get pods -o json`, the
 * `metrics.k8s.io` PodMetricsList, `custom.metrics.k8s.io` MetricValueLists and
 * `external.metrics.k8s.io` ExternalMetricValueLists. Quantities become milli-units
 * (`Quantity.MilliValue()`, rounded up), times seconds since the epoch. Anything that is not the
 * expected shape is a {@link ScalingInputError} naming the field, never a crash.
 */
import { parse as parseYaml } from 'yaml';
import type { ScalingErrorCode } from '../errors.ts';
import { ScalingInputError } from '../errors.ts';
import type { HpaBehaviorInput, HpaScalingPolicy } from './hpa-behavior.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { HpaMetricInputs, HpaMetricSpec, HpaMetricTarget, HpaSpec, ResourcePodMetrics } from './hpa-controller.ts';
import type { HpaCondition } from './hpa.ts';
import type { HpaContainer, HpaPod } from './hpa-replica-calculator.ts';

type Obj = Record<string, unknown>;

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** `resource.Quantity` → `MilliValue()` (rounded up like the API machinery). Null when not a quantity. */
export function parseQuantityMilli(q: unknown): number | null {
  if (typeof q === 'number' && Number.isFinite(q)) return Math.ceil(q * 1000 - 1e-9);
  if (typeof q !== 'string') return null;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return null;
  const mult = BINARY[m[2] ?? ''] ?? DECIMAL[m[2] ?? ''];
  if (mult === undefined) return null;
  return Math.ceil(Number(m[1]) * mult * 1000 - 1e-6);
}

/** RFC 3339 time → seconds since the epoch; null when absent, an error when malformed. */
function parseTime(v: unknown, where: string, code: ScalingErrorCode): number | null {
  if (v === undefined || v === null) return null;
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw new ScalingInputError(code, `${where}: "${String(v)}" is not an RFC 3339 time`);
  return t / 1000;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(code: ScalingErrorCode, msg: string): never {
  throw new ScalingInputError(code, msg);
}

/** Parses YAML or JSON text (JSON is YAML); `what` names the file in errors. */
export function parseDocument(text: string, what: string, code: ScalingErrorCode): Obj {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail(code, `${what} is neither YAML nor JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObj(doc)) fail(code, `${what} must hold one Kubernetes object`);
  return doc;
}

/**
 * The largest milli-value the controller reads: it takes every target, usage, request and metric value as
 * `Quantity.MilliValue()`, an int64, so 2^63 − 1 milli-units (about 9.2e15 units); beyond that Go's
 * result overflows. (A quantity itself is documented up to 2^63 − 1 units.) As a JavaScript number the
 * bound is 2^63, so a value within 1024 of it is not told apart from it.
 */
const MAX_QUANTITY_MILLI = 2 ** 63;

/** `maxReplicas`, `minReplicas` and `averageUtilization` are int32 fields: the API server refuses larger ones. */
const MAX_INT32 = 2 ** 31 - 1;

function quantity(v: unknown, where: string, code: ScalingErrorCode): number {
  const q = parseQuantityMilli(v);
  if (q === null) fail(code, `${where}: "${String(v)}" is not a Kubernetes quantity`);
  // 1e308 read as Infinity milli-units and was printed as "Infinitym", with a ratio of 0.
  if (!(Math.abs(q) <= MAX_QUANTITY_MILLI)) {
    fail(code, `${where}: "${String(v)}" is out of range: the controller reads a quantity in milli-units as a 64-bit integer (Quantity.MilliValue()), at most 9223372036854775807m (about 9.2e15)`);
  }
  return q;
}

function str(v: unknown, where: string, code: ScalingErrorCode): string {
  if (typeof v !== 'string' || v === '') fail(code, `${where} must be a non-empty string`);
  return v;
}

function labelsOf(selector: unknown): Record<string, string> | undefined {
  if (!isObj(selector) || !isObj(selector.matchLabels)) return undefined;
  return Object.fromEntries(Object.entries(selector.matchLabels).map(([k, v]) => [k, String(v)]));
}

function parseTarget(t: unknown, where: string): HpaMetricTarget {
  const C = 'MALFORMED_HPA';
  if (!isObj(t)) fail(C, `${where}.target is required`);
  const out: HpaMetricTarget = { type: 'Utilization' };
  if (t.averageUtilization !== undefined) {
    if (typeof t.averageUtilization !== 'number' || !Number.isInteger(t.averageUtilization) || t.averageUtilization <= 0 || t.averageUtilization > MAX_INT32) fail(C, `${where}.target.averageUtilization must be an integer from 1 to ${MAX_INT32} (an int32)`);
    out.averageUtilization = t.averageUtilization;
  }
  if (t.averageValue !== undefined) out.averageValue = quantity(t.averageValue, `${where}.target.averageValue`, C);
  if (t.value !== undefined) out.value = quantity(t.value, `${where}.target.value`, C);
  const declared = t.type;
  if (declared !== undefined && declared !== 'Utilization' && declared !== 'AverageValue' && declared !== 'Value') fail(C, `${where}.target.type must be Utilization, AverageValue or Value (got ${String(declared)})`);
  // The API's conversion from older versions infers the type from the field that is set.
  out.type = (declared as HpaMetricTarget['type'] | undefined) ?? (out.value !== undefined ? 'Value' : out.averageValue !== undefined ? 'AverageValue' : 'Utilization');
  if (out.type === 'Utilization' && out.averageUtilization === undefined) fail(C, `${where}.target: type Utilization needs averageUtilization`);
  if (out.type === 'AverageValue' && out.averageValue === undefined) fail(C, `${where}.target: type AverageValue needs averageValue`);
  if (out.type === 'Value' && out.value === undefined) fail(C, `${where}.target: type Value needs value`);
  return out;
}

function parseMetricSpec(m: unknown, i: number): HpaMetricSpec {
  const C = 'MALFORMED_HPA';
  const where = `spec.metrics[${i}]`;
  if (!isObj(m)) fail(C, `${where} must be an object`);
  switch (m.type) {
    case 'Resource': {
      const r = isObj(m.resource) ? m.resource : fail(C, `${where}.resource is required for type Resource`);
      return { type: 'Resource', name: str(r.name, `${where}.resource.name`, C), target: parseTarget(r.target, `${where}.resource`) };
    }
    case 'ContainerResource': {
      const r = isObj(m.containerResource) ? m.containerResource : fail(C, `${where}.containerResource is required for type ContainerResource`);
      return { type: 'ContainerResource', name: str(r.name, `${where}.containerResource.name`, C), container: str(r.container, `${where}.containerResource.container`, C), target: parseTarget(r.target, `${where}.containerResource`) };
    }
    case 'Pods': {
      const p = isObj(m.pods) ? m.pods : fail(C, `${where}.pods is required for type Pods`);
      const metric = isObj(p.metric) ? p.metric : fail(C, `${where}.pods.metric is required`);
      const target = parseTarget(p.target, `${where}.pods`);
      if (target.type !== 'AverageValue') fail(C, `${where}.pods.target.type must be AverageValue`);
      return { type: 'Pods', metricName: str(metric.name, `${where}.pods.metric.name`, C), selector: labelsOf(metric.selector), target };
    }
    case 'Object': {
      const o = isObj(m.object) ? m.object : fail(C, `${where}.object is required for type Object`);
      const metric = isObj(o.metric) ? o.metric : fail(C, `${where}.object.metric is required`);
      const d = isObj(o.describedObject) ? o.describedObject : fail(C, `${where}.object.describedObject is required`);
      return {
        type: 'Object',
        describedObject: { kind: str(d.kind, `${where}.object.describedObject.kind`, C), name: str(d.name, `${where}.object.describedObject.name`, C), apiVersion: typeof d.apiVersion === 'string' ? d.apiVersion : undefined },
        metricName: str(metric.name, `${where}.object.metric.name`, C),
        target: parseTarget(o.target, `${where}.object`),
      };
    }
    case 'External': {
      const e = isObj(m.external) ? m.external : fail(C, `${where}.external is required for type External`);
      const metric = isObj(e.metric) ? e.metric : fail(C, `${where}.external.metric is required`);
      return { type: 'External', metricName: str(metric.name, `${where}.external.metric.name`, C), selector: labelsOf(metric.selector), target: parseTarget(e.target, `${where}.external`) };
    }
    default:
      if (typeof m.type !== 'string') fail(C, `${where}.type is required`);
      // Kept, as the controller keeps it: it makes that metric invalid (InvalidMetricSourceType).
      return { type: 'Unknown', sourceType: m.type };
  }
}

function parseRules(r: unknown, where: string): HpaBehaviorInput['scaleUp'] {
  const C = 'MALFORMED_HPA';
  if (r === undefined || r === null) return undefined;
  if (!isObj(r)) fail(C, `${where} must be an object`);
  const out: NonNullable<HpaBehaviorInput['scaleUp']> = {};
  if (r.stabilizationWindowSeconds !== undefined) out.stabilizationWindowSeconds = r.stabilizationWindowSeconds as number;
  if (r.selectPolicy !== undefined) out.selectPolicy = r.selectPolicy as 'Max';
  if (r.tolerance !== undefined) out.tolerance = quantity(r.tolerance, `${where}.tolerance`, C) / 1000;
  if (r.policies !== undefined) {
    if (!Array.isArray(r.policies)) fail(C, `${where}.policies must be a list`);
    out.policies = r.policies.map((p, i): HpaScalingPolicy => {
      if (!isObj(p)) fail(C, `${where}.policies[${i}] must be an object`);
      return { type: p.type as 'Pods', value: p.value as number, periodSeconds: p.periodSeconds as number };
    });
  }
  return out;
}

/** The HPA's `status`, when `kubectl get hpa -o yaml` included it. */
export interface HpaStatusInput {
  currentReplicas?: number;
  desiredReplicas?: number;
  lastScaleTime?: number;
  conditions: HpaCondition[];
}

const HPA_COMMAND = 'give kubectl get hpa.v2.autoscaling NAME -o yaml';

/** The kinds of a List's items, counted: `3 × Pod`, `1 × HorizontalPodAutoscaler, 1 × Service`. */
function countKinds(items: readonly unknown[]): string {
  const counts = new Map<string, number>();
  for (const item of items) {
    const kind = isObj(item) && typeof item.kind === 'string' ? item.kind : '(no kind)';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, n]) => `${n} × ${kind}`).join(', ');
}

/** Parses an `autoscaling/v2` HorizontalPodAutoscaler (or a List with exactly one). */
export function parseHpa(doc: Obj): { spec: HpaSpec; status?: HpaStatusInput; targetRef: string } {
  const C = 'MALFORMED_HPA';
  let hpa = doc;
  if (doc.kind === 'List' || doc.kind === 'HorizontalPodAutoscalerList') {
    const items = Array.isArray(doc.items) ? doc.items : [];
    // A List of something else (kubectl get pods -o json given as --hpa) is named by what it holds.
    if (!items.every((item) => isObj(item) && item.kind === 'HorizontalPodAutoscaler')) fail(C, `the HPA file is a List of ${countKinds(items)}, not of one HorizontalPodAutoscaler: ${HPA_COMMAND}`);
    if (items.length !== 1) fail(C, `the HPA file holds ${items.length} HorizontalPodAutoscalers; give exactly one (kubectl get hpa NAME -o yaml)`);
    hpa = items[0] as Obj;
  }
  if (!isObj(hpa) || hpa.kind !== 'HorizontalPodAutoscaler') fail(C, `expected kind HorizontalPodAutoscaler, got ${isObj(hpa) ? String(hpa.kind) : typeof hpa}: ${HPA_COMMAND}`);
  if (hpa.apiVersion !== 'autoscaling/v2') fail(C, `apiVersion must be autoscaling/v2 (got ${String(hpa.apiVersion)}); run kubectl get hpa.v2.autoscaling NAME -o yaml`);
  const meta = isObj(hpa.metadata) ? hpa.metadata : {};
  const spec = isObj(hpa.spec) ? hpa.spec : fail(C, 'spec is required');
  const ref = isObj(spec.scaleTargetRef) ? spec.scaleTargetRef : fail(C, 'spec.scaleTargetRef is required');
  const max = spec.maxReplicas;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_INT32) fail(C, `spec.maxReplicas must be an integer from 1 to ${MAX_INT32} (an int32)`);
  const min = spec.minReplicas ?? 1;
  if (typeof min !== 'number' || !Number.isInteger(min) || min < 0 || min > max) fail(C, `spec.minReplicas must be an integer in 0…maxReplicas (got ${String(spec.minReplicas)})`);
  // API default: one CPU metric at 80 % utilization.
  const rawMetrics = spec.metrics ?? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  if (!Array.isArray(rawMetrics) || rawMetrics.length === 0) fail(C, 'spec.metrics must be a non-empty list');
  const metrics = rawMetrics.map(parseMetricSpec);
  let behavior: HpaSpec['behavior'];
  let scaleDownWindowFromFlag = false;
  if (spec.behavior !== undefined && spec.behavior !== null) {
    if (!isObj(spec.behavior)) fail(C, 'spec.behavior must be an object');
    try {
      const scaleDown = parseRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown');
      behavior = normalizeBehavior({ scaleUp: parseRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'), scaleDown });
      scaleDownWindowFromFlag = scaleDown?.stabilizationWindowSeconds === undefined;
    } catch (e) {
      fail(C, (e as Error).message.replace(/^behavior\./, 'spec.behavior.'));
    }
  }
  let status: HpaStatusInput | undefined;
  if (isObj(hpa.status)) {
    const s = hpa.status;
    const conditions = Array.isArray(s.conditions)
      ? s.conditions.filter(isObj).map((c) => ({ type: c.type as HpaCondition['type'], status: c.status as HpaCondition['status'], reason: String(c.reason ?? ''), message: String(c.message ?? '') }))
      : [];
    status = {
      currentReplicas: typeof s.currentReplicas === 'number' ? s.currentReplicas : undefined,
      desiredReplicas: typeof s.desiredReplicas === 'number' ? s.desiredReplicas : undefined,
      lastScaleTime: parseTime(s.lastScaleTime, 'status.lastScaleTime', C) ?? undefined,
      conditions,
    };
  }
  return {
    spec: { name: String(meta.name ?? 'hpa'), namespace: String(meta.namespace ?? 'default'), minReplicas: min, maxReplicas: max, metrics, behavior, ...(scaleDownWindowFromFlag ? { scaleDownWindowFromFlag } : {}) },
    status,
    targetRef: `${String(ref.kind)}/${String(ref.name)}`,
  };
}

function parseContainers(list: unknown, where: string): HpaContainer[] {
  const C = 'MALFORMED_POD_LIST';
  if (!Array.isArray(list)) fail(C, `${where} must be a list`);
  return list.map((c, i) => {
    if (!isObj(c)) fail(C, `${where}[${i}] must be an object`);
    const requests: Record<string, number> = {};
    const res = isObj(c.resources) && isObj(c.resources.requests) ? c.resources.requests : {};
    for (const [k, v] of Object.entries(res)) requests[k] = quantity(v, `${where}[${i}].resources.requests.${k}`, C);
    return { name: str(c.name, `${where}[${i}].name`, C), requests };
  });
}

/** `kubectl get pods -o json` (a List / PodList), or a single Pod. */
export function parsePodList(doc: Obj): HpaPod[] {
  const C = 'MALFORMED_POD_LIST';
  const items = doc.kind === 'Pod' ? [doc] : Array.isArray(doc.items) ? doc.items : fail(C, 'expected a PodList (kubectl get pods -o json) with items');
  return items.map((p, i) => {
    const where = `items[${i}]`;
    if (!isObj(p) || (p.kind !== undefined && p.kind !== 'Pod')) fail(C, `${where} is not a Pod`);
    const meta = isObj(p.metadata) ? p.metadata : fail(C, `${where}.metadata is required`);
    const spec = isObj(p.spec) ? p.spec : fail(C, `${where}.spec is required`);
    const status = isObj(p.status) ? p.status : {};
    const name = str(meta.name, `${where}.metadata.name`, C);
    const readyCond = Array.isArray(status.conditions) ? status.conditions.find((c) => isObj(c) && c.type === 'Ready') : undefined;
    const ready = isObj(readyCond)
      ? { status: (['True', 'False', 'Unknown'].includes(String(readyCond.status)) ? readyCond.status : 'Unknown') as 'True' | 'False' | 'Unknown', lastTransitionTime: parseTime(readyCond.lastTransitionTime, `${where}.status.conditions[Ready].lastTransitionTime`, C) ?? 0 }
      : null;
    const init = Array.isArray(spec.initContainers) ? spec.initContainers.filter((c) => isObj(c) && c.restartPolicy === 'Always') : [];
    return {
      name,
      phase: typeof status.phase === 'string' ? status.phase : 'Pending',
      deleted: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
      startTime: parseTime(status.startTime, `${where}.status.startTime`, C),
      ready,
      containers: parseContainers(spec.containers, `${where}.spec.containers`),
      sidecars: parseContainers(init, `${where}.spec.initContainers`),
    };
  });
}

/** A Go duration as metrics-server prints it (`1m0s`, `15.035s`, `500ms`) → seconds. */
function windowSeconds(v: unknown, where: string): number {
  if (v === undefined) return 60;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const text = typeof v === 'string' ? v : '';
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) fail('MALFORMED_METRICS', `${where}: "${String(v)}" is not a duration like 1m0s or 30s`);
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/** `metrics.k8s.io/v1beta1` PodMetricsList (`kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods`). */
export function parsePodMetricsList(doc: Obj): ResourcePodMetrics[] {
  const C = 'MALFORMED_METRICS';
  if (doc.kind !== 'PodMetricsList' && doc.kind !== 'PodMetrics') fail(C, `expected kind PodMetricsList, got ${String(doc.kind)}`);
  const items = doc.kind === 'PodMetrics' ? [doc] : Array.isArray(doc.items) ? doc.items : fail(C, 'PodMetricsList.items must be a list');
  return items.map((m, i) => {
    const where = `items[${i}]`;
    if (!isObj(m)) fail(C, `${where} must be an object`);
    const meta = isObj(m.metadata) ? m.metadata : fail(C, `${where}.metadata is required`);
    const containers = Array.isArray(m.containers) ? m.containers : fail(C, `${where}.containers must be a list`);
    return {
      name: str(meta.name, `${where}.metadata.name`, C),
      timestamp: parseTime(m.timestamp, `${where}.timestamp`, C) ?? fail(C, `${where}.timestamp is required`),
      window: windowSeconds(m.window, `${where}.window`),
      containers: containers.map((c, j) => {
        if (!isObj(c) || !isObj(c.usage)) fail(C, `${where}.containers[${j}].usage is required`);
        const usage: Record<string, number> = {};
        for (const [k, v] of Object.entries(c.usage)) usage[k] = quantity(v, `${where}.containers[${j}].usage.${k}`, C);
        return { name: str(c.name, `${where}.containers[${j}].name`, C), usage };
      }),
    };
  });
}

/**
 * Adds a `custom.metrics.k8s.io` MetricValueList (per-pod values go to `podCustomMetrics`, other
 * described objects to `objectMetrics`) or an `external.metrics.k8s.io` ExternalMetricValueList.
 */
export function addMetricValueList(doc: Obj, into: HpaMetricInputs): void {
  const C = 'MALFORMED_METRICS';
  const items = Array.isArray(doc.items) ? doc.items : fail(C, `expected a MetricValueList or ExternalMetricValueList with items (got kind ${String(doc.kind)})`);
  if (doc.kind === 'ExternalMetricValueList') {
    const external = into.externalMetrics ?? {};
    into.externalMetrics = external;
    items.forEach((m, i) => {
      if (!isObj(m)) fail(C, `items[${i}] must be an object`);
      const name = str(m.metricName, `items[${i}].metricName`, C);
      const labels = isObj(m.metricLabels) ? Object.fromEntries(Object.entries(m.metricLabels).map(([k, v]) => [k, String(v)])) : undefined;
      const series = external[name] ?? [];
      external[name] = series;
      series.push({ value: quantity(m.value, `items[${i}].value`, C), labels });
    });
    return;
  }
  if (doc.kind !== 'MetricValueList') fail(C, `expected kind MetricValueList or ExternalMetricValueList, got ${String(doc.kind)}`);
  items.forEach((m, i) => {
    if (!isObj(m)) fail(C, `items[${i}] must be an object`);
    const d = isObj(m.describedObject) ? m.describedObject : fail(C, `items[${i}].describedObject is required`);
    const metric = isObj(m.metric) ? m.metric : fail(C, `items[${i}].metric is required`);
    const metricName = str(metric.name, `items[${i}].metric.name`, C);
    const value = quantity(m.value, `items[${i}].value`, C);
    const kind = str(d.kind, `items[${i}].describedObject.kind`, C);
    const name = str(d.name, `items[${i}].describedObject.name`, C);
    if (kind === 'Pod') {
      const perPod = into.podCustomMetrics ?? {};
      into.podCustomMetrics = perPod;
      const timestamp = parseTime(m.timestamp, `items[${i}].timestamp`, C) ?? 0;
      const window = typeof m.windowSeconds === 'number' ? m.windowSeconds : 60;
      const list = perPod[metricName] ?? [];
      perPod[metricName] = list;
      list.push({ pod: name, value, timestamp, window });
    } else {
      const objects = into.objectMetrics ?? [];
      into.objectMetrics = objects;
      objects.push({ kind, name, metricName, value });
    }
  });
}
