/**
 * Offline validation of Kubernetes, KEDA and prometheus-operator objects: the kubernetes-models
 * validators (required fields, types), plus what they miss: unknown fields (from the models' type
 * declarations), enum values and ranges, and the KEDA trigger metadata each scaler needs.
 * Test-time only: it imports dev dependencies.
 */
import { findUnknownFields } from './k8s-type-fields.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  [key: string]: unknown;
}

type ModelClass = new (data: unknown) => { validate(): void };

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  let mod: Record<string, unknown>;
  if (group === 'keda.sh') mod = await import(`@kubernetes-models/keda/keda.sh/${version}`);
  else if (group === 'monitoring.coreos.com') mod = await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`);
  else mod = await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  return mod[kind] as ModelClass | undefined;
}

interface EnumRule {
  kinds?: string[];
  /** Matched against the path with array indexes removed, e.g. `spec.metrics[].type`. */
  path: RegExp;
  allowed: readonly (string | number)[];
}

/** KEDA scalers this project may use (a typo such as `redis-list` is refused). */
export const KEDA_TRIGGER_TYPES = ['redis', 'redis-cluster', 'redis-streams', 'cron', 'prometheus', 'cpu', 'memory', 'kafka', 'rabbitmq', 'aws-sqs-queue', 'postgresql', 'metrics-api', 'external'] as const;

const ENUMS: EnumRule[] = [
  { path: /(^|\.)imagePullPolicy$/, allowed: ['Always', 'IfNotPresent', 'Never'] },
  { path: /(^|\.)template\.spec\.restartPolicy$/, allowed: ['Always', 'OnFailure', 'Never'] },
  { path: /(^|\.)ports\[\]\.protocol$/, allowed: ['TCP', 'UDP', 'SCTP'] },
  { path: /(^|\.)seccompProfile\.type$/, allowed: ['RuntimeDefault', 'Localhost', 'Unconfined'] },
  { kinds: ['Deployment'], path: /^spec\.strategy\.type$/, allowed: ['RollingUpdate', 'Recreate'] },
  { kinds: ['Service'], path: /^spec\.type$/, allowed: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] },
  { kinds: ['Ingress'], path: /\.pathType$/, allowed: ['Exact', 'Prefix', 'ImplementationSpecific'] },
  { kinds: ['HorizontalPodAutoscaler'], path: /^spec\.metrics\[\]\.type$/, allowed: ['Resource', 'Pods', 'Object', 'External', 'ContainerResource'] },
  { kinds: ['HorizontalPodAutoscaler'], path: /^spec\.metrics\[\]\.resource\.name$/, allowed: ['cpu', 'memory'] },
  { kinds: ['HorizontalPodAutoscaler'], path: /\.target\.type$/, allowed: ['Utilization', 'Value', 'AverageValue'] },
  { path: /behavior\.scale(Up|Down)\.selectPolicy$/, allowed: ['Max', 'Min', 'Disabled'] },
  { path: /behavior\.scale(Up|Down)\.policies\[\]\.type$/, allowed: ['Pods', 'Percent'] },
  { kinds: ['PodDisruptionBudget'], path: /^spec\.unhealthyPodEvictionPolicy$/, allowed: ['IfHealthyBudget', 'AlwaysAllow'] },
  { kinds: ['ScaledObject'], path: /^spec\.triggers\[\]\.type$/, allowed: KEDA_TRIGGER_TYPES },
  { kinds: ['ScaledObject'], path: /^spec\.triggers\[\]\.metricType$/, allowed: ['AverageValue', 'Value', 'Utilization'] },
  { kinds: ['PrometheusRule'], path: /^spec\.groups\[\]\.rules\[\]\.labels\.severity$/, allowed: ['critical', 'warning', 'info'] },
];

function visit(value: unknown, path: string, fn: (path: string, value: unknown) => void): void {
  fn(path, value);
  if (Array.isArray(value)) {
    for (const v of value) visit(v, `${path}[]`, fn);
  }
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k, fn);
}

function checkEnumsAndRanges(object: K8sObject): string[] {
  const out: string[] = [];
  visit(object, '', (path, value) => {
    for (const rule of ENUMS) {
      if (rule.kinds && !rule.kinds.includes(object.kind)) continue;
      if (rule.path.test(path) && !rule.allowed.includes(value as string)) out.push(`${path}: "${String(value)}" is not one of ${rule.allowed.join(', ')}`);
    }
    const range = (lo: number, hi: number) => {
      if (typeof value === 'number' && (value < lo || value > hi || !Number.isInteger(value))) out.push(`${path}: ${value} is outside ${lo}–${hi}`);
    };
    if (/behavior\.scale(Up|Down)\.stabilizationWindowSeconds$/.test(path)) range(0, 3600);
    if (/behavior\.scale(Up|Down)\.policies\[\]\.periodSeconds$/.test(path)) range(1, 1800);
    if (/behavior\.scale(Up|Down)\.policies\[\]\.value$/.test(path)) range(1, Number.MAX_SAFE_INTEGER);
    if (/(^|\.)averageUtilization$/.test(path)) range(1, Number.MAX_SAFE_INTEGER);
  });
  return out;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?(,\d+(-\d+)?)*)(\/\d+)?$/;

function isCron(value: unknown): boolean {
  return typeof value === 'string' && value.trim().split(/\s+/).length === 5 && value.trim().split(/\s+/).every((f) => CRON_FIELD.test(f));
}

/** What each KEDA scaler needs in `metadata` (kedacore/keda pkg/scalers/*). */
function checkKedaTriggers(object: K8sObject): string[] {
  if (object.kind !== 'ScaledObject') return [];
  const spec = object.spec as { minReplicaCount?: number; maxReplicaCount?: number; triggers?: { type: string; metadata?: Record<string, unknown>; metricType?: string }[] };
  const out: string[] = [];
  if ((spec.minReplicaCount ?? 0) > (spec.maxReplicaCount ?? 100)) out.push('spec: minReplicaCount exceeds maxReplicaCount');
  const names = new Set<string>();
  (spec.triggers ?? []).forEach((t, i) => {
    const at = `spec.triggers[${i}]`;
    const md = t.metadata ?? {};
    const name = (t as { name?: string }).name;
    if (name) {
      if (names.has(name)) out.push(`${at}.name: "${name}" is used twice`);
      names.add(name);
    }
    for (const [k, v] of Object.entries(md)) if (typeof v !== 'string') out.push(`${at}.metadata.${k}: must be a string, got ${typeof v}`);
    const need = (keys: string[]) => {
      for (const k of keys) if (md[k] === undefined) out.push(`${at}.metadata.${k}: required by the ${t.type} scaler`);
    };
    const positiveInt = (k: string) => {
      if (md[k] !== undefined && !/^\d+$/.test(String(md[k]))) out.push(`${at}.metadata.${k}: "${String(md[k])}" is not a whole number`);
    };
    if (t.type === 'redis') {
      need(['listName']);
      positiveInt('listLength');
      positiveInt('activationListLength');
    }
    if (t.type === 'cron') {
      need(['timezone', 'start', 'end', 'desiredReplicas']);
      for (const k of ['start', 'end']) if (md[k] !== undefined && !isCron(md[k])) out.push(`${at}.metadata.${k}: "${String(md[k])}" is not a 5-field cron expression`);
      positiveInt('desiredReplicas');
    }
    if (t.type === 'prometheus') need(['serverAddress', 'query', 'threshold']);
    if (t.type === 'cpu' || t.type === 'memory') {
      need(['value']);
      if (t.metricType !== undefined && t.metricType !== 'Utilization' && t.metricType !== 'AverageValue') out.push(`${at}.metricType: the ${t.type} scaler takes Utilization or AverageValue`);
    }
  });
  return out;
}

/** Every problem found in one object, as `Kind/name: path: message` lines (empty when valid). */
export async function validateK8sObject(object: K8sObject): Promise<string[]> {
  const id = `${object.kind}/${object.metadata?.name ?? '?'}`;
  const problems: string[] = [];
  const Model = await loadModel(object.apiVersion, object.kind);
  if (!Model) return [`${id}: unknown apiVersion/kind ${object.apiVersion} ${object.kind}`];
  try {
    new Model(structuredClone(object)).validate();
  } catch (error) {
    const details = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details?.length) for (const d of details) problems.push(`${d.instancePath || '/'}: ${d.message ?? 'invalid'}`);
    else problems.push((error as Error).message);
  }
  problems.push(...findUnknownFields(object), ...checkEnumsAndRanges(object), ...checkKedaTriggers(object));
  return problems.map((p) => `${id}: ${p}`);
}

export async function validateK8sObjects(objects: readonly K8sObject[]): Promise<string[]> {
  const out: string[] = [];
  for (const object of objects) out.push(...(await validateK8sObject(object)));
  return out;
}
