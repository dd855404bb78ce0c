/**
 * Kubernetes: a kustomize base (Deployments, Service, Ingress, the seed's HPA, the worker KEDA
 * ScaledObject on BullMQ queue depth, PodDisruptionBudgets, the migration Job, the PrometheusRule)
 * and a production overlay that swaps the web HPA for a KEDA ScaledObject with the same CPU/memory
 * targets and behavior plus the plan's cron pre-scaling windows (two autoscalers must never drive
 * one Deployment, so the overlay deletes the HPA).
 */
// Type-only imports from the model packages (dev dependencies, erased at run time): the object literals
// below are checked against the API's own field names and types by tsc.
import type { IIoK8sApiCoreV1PodSpec, IService } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler, IIoK8sApiAutoscalingV2HorizontalPodAutoscalerBehavior } from 'kubernetes-models/autoscaling/v2';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IScaledObject, ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parse } from 'yaml';
import { ALERT_RULES, type AlertRule } from '../alerts/alert-rules.ts';
import { renderPrometheusRules } from '../alerts/prometheus-rules.ts';
import { RECORDING_RULES, renderRecordingRules } from '../alerts/recording-rules.ts';
import { K8S_MAX_SURGE } from './connection-budget.ts';
import { getTerminationGraceSeconds, type DeploymentSpec, type HttpProbe } from './deployment-spec.ts';
import { getWorkerListLengths, type PrescaleSchedule } from './prescale-plan.ts';
import type { RenderedFile } from './rendered-file.ts';
import { toYaml } from './rendered-file.ts';
import { getAllRoleSecretNames, getRoleArgv, getRoleEnv, getRoleSecretNames, getTrustProxyEnv, k8sCpu, k8sMemory, type Role } from './role-env.ts';


export const K8S_BASE_DIR = 'deploy/k8s/base';
export const K8S_PRODUCTION_DIR = 'deploy/k8s/overlays/production';
/** Keys of the Secret every role reads (created by the operator, never rendered). */
export const K8S_SECRET_KEYS = {
  DATABASE_URL: 'database-url',
  REDIS_URL: 'redis-url',
  CACHE_REDIS_URL: 'cache-redis-url',
  ADMIN_API_TOKEN: 'admin-api-token',
  SESSION_SECRET: 'session-secret',
  // The payment provider's keys (spec.payments): web and worker both call it.
  STRIPE_SECRET_KEY: 'stripe-secret-key',
  STRIPE_WEBHOOK_SECRET: 'stripe-webhook-secret',
  // The mail server, read by the worker alone (getRoleSecretNames).
  SMTP_URL: 'smtp-url',
} as const;

function labels(spec: DeploymentSpec, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': spec.name, 'app.kubernetes.io/component': component };
}

function secretName(spec: DeploymentSpec): string {
  return `${spec.name}-secrets`;
}

type EnvVar = NonNullable<IIoK8sApiCoreV1PodSpec['containers'][number]['env']>[number];
type Probe = NonNullable<IIoK8sApiCoreV1PodSpec['containers'][number]['readinessProbe']>;

function env(spec: DeploymentSpec, role: Role): EnvVar[] {
  // In Kubernetes the drain pause is the preStop sleep (it runs before SIGTERM, while the endpoint is
  // being removed), so the process itself need not keep answering 503 after SIGTERM.
  // ingress-nginx appends the client to X-Forwarded-For: believe it from the ingress pods.
  const plain = { ...getRoleEnv(spec, role), ...(role === 'migrate' ? {} : { SHUTDOWN_DRAIN_DELAY_MS: '0' }), ...(role === 'web' ? getTrustProxyEnv(spec) : {}) };
  // Every key but the role secrets another role reads (SMTP_URL is the worker's).
  const notThisRole = new Set<string>(getAllRoleSecretNames(spec).filter((name) => !getRoleSecretNames(spec, role).includes(name)));
  const secrets = role === 'migrate' ? (['DATABASE_URL'] as const) : (Object.keys(K8S_SECRET_KEYS) as (keyof typeof K8S_SECRET_KEYS)[]).filter((name) => !notThisRole.has(name));
  return [
    ...Object.entries(plain).map(([name, value]) => ({ name, value })),
    ...(role === 'migrate' ? [] : [{ name: 'INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]),
    ...secrets.map((name) => ({ name, valueFrom: { secretKeyRef: { name: secretName(spec), key: K8S_SECRET_KEYS[name] } } })),
  ];
}

function probe(p: HttpProbe, port: string, failureThreshold = p.failureThreshold): Probe {
  // Kubernetes requires successThreshold 1 for liveness and startup probes.
  const successThreshold = p.path === '/ready' ? p.successThreshold : 1;
  return { httpGet: { path: p.path, port }, periodSeconds: p.periodSeconds, timeoutSeconds: p.timeoutSeconds, failureThreshold, successThreshold };
}

const SECURITY_CONTEXT = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
const POD_SECURITY_CONTEXT = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' as const } };

function podSpec(spec: DeploymentSpec, role: 'web' | 'worker'): IIoK8sApiCoreV1PodSpec {
  const r = spec[role];
  const portName = role === 'web' ? 'http' : 'metrics';
  const startupFailures = Math.ceil(spec.probes.startupSeconds / spec.probes.liveness.periodSeconds) + 1;
  return {
    terminationGracePeriodSeconds: getTerminationGraceSeconds(spec),
    securityContext: POD_SECURITY_CONTEXT,
    containers: [
      {
        name: role,
        image: `${spec.image.repository}:${spec.image.tag}`,
        imagePullPolicy: 'IfNotPresent',
        command: getRoleArgv(role),
        ports: [
          { name: portName, containerPort: r.port, protocol: 'TCP' },
          ...(role === 'web' ? [{ name: 'metrics', containerPort: spec.web.metricsPort, protocol: 'TCP' as const }] : []),
        ],
        env: env(spec, role),
        resources: {
          requests: { cpu: k8sCpu(r.requests.cpuMillicores), memory: k8sMemory(r.requests.memoryMiB) },
          limits: { cpu: k8sCpu(r.limits.cpuMillicores), memory: k8sMemory(r.limits.memoryMiB) },
        },
        startupProbe: { ...probe(spec.probes.liveness, portName, startupFailures) },
        readinessProbe: probe(spec.probes.readiness, portName),
        livenessProbe: probe(spec.probes.liveness, portName),
        // The image's own /bin/sleep (Debian slim), not the sleep action: that needs Kubernetes 1.30 (PodLifecycleSleepAction,
        // alpha in 1.29), and an older cluster refuses it or runs no pause at all, so ingress-nginx kept routing to a
        // pod already closing. Either way the pause counts against terminationGracePeriodSeconds.
        lifecycle: { preStop: { exec: { command: ['sleep', String(spec.drain.drainDelaySeconds)] } } },
        securityContext: SECURITY_CONTEXT,
        // The root filesystem is read-only: DATA_DIR and the temp folder are the only writable places.
        volumeMounts: [
          { name: 'data', mountPath: '/data' },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      { name: 'data', emptyDir: { sizeLimit: '256Mi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ],
  };
}

function deployment(spec: DeploymentSpec, role: 'web' | 'worker'): IDeployment {
  const component = role;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${spec.name}-${role}`, labels: labels(spec, component) },
    spec: {
      // No `replicas`: the autoscaler owns the count. A `replicas` here would be re-applied by every
      // `kubectl apply` and cut a scaled-out sale back to that number until the HPA reacts.
      revisionHistoryLimit: 5,
      selector: { matchLabels: labels(spec, component) },
      // The surge counts against max_connections at the maxima (connection-budget.ts): workers roll one at a time.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: K8S_MAX_SURGE[role], maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: labels(spec, component),
          // The web role serves /metrics on METRICS_PORT only (closed on the public port in production).
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(role === 'web' ? spec.web.metricsPort : spec.worker.port), 'prometheus.io/path': '/metrics' },
        },
        spec: podSpec(spec, role),
      },
    },
  };
}

function behavior(spec: DeploymentSpec): IIoK8sApiAutoscalingV2HorizontalPodAutoscalerBehavior {
  return structuredClone(spec.web.autoscaling.behavior);
}

function webHpa(spec: DeploymentSpec): IHorizontalPodAutoscaler {
  const a = spec.web.autoscaling;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: `${spec.name}-web`, labels: labels(spec, 'web') },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${spec.name}-web` },
      minReplicas: spec.web.replicas.min,
      maxReplicas: spec.web.replicas.max,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.cpuPercent } } },
        ...(a.memoryPercent === null ? [] : [{ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: a.memoryPercent } } }]),
      ],
      behavior: behavior(spec),
    },
  };
}

/** BullMQ keys of a queue: `{prefix}:<queue>:wait` (list) and `:prioritized` (zset); KEDA's redis scaler reads both. */
export function getBullmqKeys(spec: DeploymentSpec, queue: string): { wait: string; prioritized: string } {
  const prefix = `{${spec.worker.redisPrefix}}`;
  return { wait: `${prefix}:${queue}:wait`, prioritized: `${prefix}:${queue}:prioritized` };
}

function workerScaledObject(spec: DeploymentSpec, schedule: PrescaleSchedule): IScaledObject {
  const w = spec.worker;
  const listLengths = getWorkerListLengths(spec);
  // KEDA's redis scaler: enableTLS for a TLS-only Redis (REDIS_URL rediss://), unsafeSsl to skip its certificate check.
  const { queueTls, queueTlsVerify } = spec.redis;
  const redisTls: Record<string, string> = queueTls ? { enableTLS: 'true', unsafeSsl: String(!queueTlsVerify) } : { enableTLS: 'false' };
  const redis = w.queues.flatMap((queue) => {
    const keys = getBullmqKeys(spec, queue);
    return (['wait', 'prioritized'] as const).map((state) => ({
      type: 'redis',
      name: `${queue}-${state}`,
      // KEDA's default, spelled out: the admission webhook of 2.14 (kedacore/keda#6066) and 2.17.0 (#6696)
      // refused a ScaledObject with a fallback whose triggers left metricType unset.
      metricType: 'AverageValue',
      metadata: { listName: keys[state], listLength: String(listLengths[queue]), activationListLength: String(w.activationJobs), databaseIndex: '0', ...redisTls },
      authenticationRef: { name: `${spec.name}-queue-redis` },
    }));
  });
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: `${spec.name}-worker`, labels: labels(spec, 'worker') },
    spec: {
      scaleTargetRef: { name: `${spec.name}-worker` },
      pollingInterval: w.pollingIntervalSeconds,
      cooldownPeriod: w.cooldownPeriodSeconds,
      // Never zero: delayed and retried jobs need a running worker to be promoted.
      minReplicaCount: w.replicas.min,
      maxReplicaCount: w.replicas.max,
      fallback: { failureThreshold: 3, replicas: w.replicas.desired },
      advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(spec) } },
      triggers: [...redis, ...schedule.worker.kedaCron],
    },
  };
}

function triggerAuthentication(spec: DeploymentSpec): ITriggerAuthentication {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name: `${spec.name}-queue-redis`, labels: labels(spec, 'worker') },
    spec: {
      secretTargetRef: [
        { parameter: 'address', name: secretName(spec), key: 'redis-address' },
        { parameter: 'password', name: secretName(spec), key: 'redis-password' },
      ],
    },
  };
}

function webScaledObject(spec: DeploymentSpec, schedule: PrescaleSchedule): IScaledObject {
  const a = spec.web.autoscaling;
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: `${spec.name}-web`, labels: labels(spec, 'web') },
    spec: {
      scaleTargetRef: { name: `${spec.name}-web` },
      minReplicaCount: spec.web.replicas.min,
      maxReplicaCount: spec.web.replicas.max,
      advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(spec) } },
      triggers: [
        { type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: String(a.cpuPercent) } },
        ...(a.memoryPercent === null ? [] : [{ type: 'memory', name: 'memory', metricType: 'Utilization', metadata: { value: String(a.memoryPercent) } }]),
        ...schedule.web.kedaCron,
      ],
    },
  };
}

function service(spec: DeploymentSpec): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${spec.name}-web`, labels: labels(spec, 'web') },
    spec: { type: 'ClusterIP', selector: labels(spec, 'web'), ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  };
}

function ingress(spec: DeploymentSpec): IIngress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: `${spec.name}-web`,
      labels: labels(spec, 'web'),
      // ingress-nginx keeps upstream connections below the app's keep-alive timeout by default (60 s < 65 s).
      annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '1m' },
    },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: [spec.web.host], secretName: `${spec.name}-tls` }],
      rules: [{ host: spec.web.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `${spec.name}-web`, port: { name: 'http' } } } }] } }],
    },
  };
}

function pdb(spec: DeploymentSpec, role: 'web' | 'worker'): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: `${spec.name}-${role}`, labels: labels(spec, role) },
    // One pod at a time: node drains proceed, and a pod that is not ready can always be evicted.
    spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: labels(spec, role) } },
  };
}

function migrateJob(spec: DeploymentSpec): IJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${spec.name}-migrate`, labels: labels(spec, 'migrate') },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: labels(spec, 'migrate') },
        spec: {
          restartPolicy: 'OnFailure',
          securityContext: POD_SECURITY_CONTEXT,
          containers: [
            {
              name: 'migrate',
              image: `${spec.image.repository}:${spec.image.tag}`,
              imagePullPolicy: 'IfNotPresent',
              command: getRoleArgv('migrate'),
              env: env(spec, 'migrate'),
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
              securityContext: SECURITY_CONTEXT,
            },
          ],
        },
      },
    },
  };
}

/**
 * The alert table and the recording rules as one PrometheusRule (prometheus-operator): the same groups
 * as deploy/prometheus/recording-rules.yml and alert-rules.yml, each alert's `runbook_url` under the
 * spec's `alerts.runbookUrl`.
 */
export function prometheusRule(spec: DeploymentSpec, rules: readonly AlertRule[] = ALERT_RULES): IPrometheusRule {
  type Groups = IPrometheusRule['spec']['groups'];
  const recording = (parse(renderRecordingRules(RECORDING_RULES)) as { groups: Groups }).groups ?? [];
  const alerting = (parse(renderPrometheusRules(rules, { runbookUrl: spec.alerts.runbookUrl })) as { groups: Groups }).groups ?? [];
  const groups = [...recording, ...alerting];
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: `${spec.name}-alerts`, labels: { ...labels(spec, 'alerts'), role: 'alert-rules' } },
    spec: { groups },
  };
}

export function renderK8s(spec: DeploymentSpec, schedule: PrescaleSchedule): RenderedFile[] {
  const base: [string, object | object[]][] = [
    ['web-deployment.yaml', deployment(spec, 'web')],
    ['web-service.yaml', service(spec)],
    ['web-ingress.yaml', ingress(spec)],
    ['web-hpa.yaml', webHpa(spec)],
    ['worker-deployment.yaml', deployment(spec, 'worker')],
    ['worker-scaledobject.yaml', [triggerAuthentication(spec), workerScaledObject(spec, schedule)]],
    ['pod-disruption-budgets.yaml', [pdb(spec, 'web'), pdb(spec, 'worker')]],
    ['migrate-job.yaml', migrateJob(spec)],
    ['prometheus-rule.yaml', prometheusRule(spec)],
  ];
  const files: RenderedFile[] = base.map(([name, objects]) => ({
    path: `${K8S_BASE_DIR}/${name}`,
    format: 'k8s',
    content: toYaml(Array.isArray(objects) ? objects : [objects], { multi: true }),
  }));
  files.push({
    path: `${K8S_BASE_DIR}/kustomization.yaml`,
    format: 'kustomization',
    content: toYaml({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      labels: [{ pairs: { 'app.kubernetes.io/part-of': spec.name }, includeSelectors: false }],
      resources: base.map(([name]) => name),
    }),
  });
  files.push(
    {
      path: `${K8S_PRODUCTION_DIR}/kustomization.yaml`,
      format: 'kustomization',
      content: toYaml({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        namespace: spec.name,
        resources: ['../../base', 'web-scaledobject.yaml'],
        patches: [{ path: 'delete-web-hpa.yaml' }],
        images: [{ name: spec.image.repository, newTag: spec.image.tag }],
      }),
    },
    {
      path: `${K8S_PRODUCTION_DIR}/web-scaledobject.yaml`,
      format: 'k8s',
      content: toYaml([webScaledObject(spec, schedule)], { multi: true }),
    },
    {
      path: `${K8S_PRODUCTION_DIR}/delete-web-hpa.yaml`,
      format: 'k8s-patch',
      content: toYaml({ $patch: 'delete', apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: `${spec.name}-web` } }),
    },
  );
  return files;
}
