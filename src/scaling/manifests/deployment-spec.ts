/**
 * The one typed source every deployment target is rendered from: replicas, autoscaling targets,
 * resources, probes, pool sizes, drain timings, queue-depth targets and the pre-scaling plan.
 * A number lives here once; the renderers (k8s, compose, swarm, aws, heroku, do) only translate it.
 */
import { ConfigError, parseTrustProxy } from '../../platform/config/config.ts';
import { MAX_TIMER_MS } from '../../platform/config/env-schema.ts';
import type { PaymentProviderName } from '../../platform/config/payments.config.ts';
import { QUEUE_NAMES, type QueueName } from '../../platform/queue/queue-definitions.ts';
import { findRedisPrefixProblem } from '../../platform/redis/redis-prefix.ts';
import { DEFAULT_RUNBOOK_URL, findRunbookUrlProblem } from '../alerts/runbook-links.ts';
import { DEFAULT_TOLERANCE } from '../simulate/hpa-replica-calculator.ts';
import { getTrustProxyEnv } from './role-env.ts';
import type { CalendarEventId } from '../forecast/calendar.ts';

/** CPU in millicores, memory in MiB (rendered as `250m`/`256Mi`, `0.25`/`256M`, …). */
export interface Resources {
  cpuMillicores: number;
  memoryMiB: number;
}

export interface ReplicaBounds {
  /** Lower bound of the autoscaler (the seed: 2 web, 1 worker: delayed BullMQ jobs need a worker). */
  min: number;
  /** Upper bound of the autoscaler (the seed: 20). */
  max: number;
  /** Count at deploy time, and the fixed count where a platform does not autoscale (swarm, heroku). */
  desired: number;
}

/** One direction of the HPA `behavior` block (autoscaling/v2). */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
}

export interface HttpProbe {
  path: '/ready' | '/health';
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  /** Consecutive successes before an instance counts as healthy again (ALB healthy threshold). */
  successThreshold: number;
}

export interface RoleSpec {
  /** Port of `/health`, `/ready` and `/metrics` (PORT for web, WORKER_PORT for workers). */
  port: number;
  replicas: ReplicaBounds;
  requests: Resources;
  limits: Resources;
  /** DB_POOL_MAX of every process of this role. */
  dbPoolMax: number;
}

export interface DeploymentSpec {
  /** Name of the app, prefix of every resource. */
  name: string;
  image: { repository: string; tag: string };
  web: RoleSpec & {
    /** Public host name of the Ingress / load balancer. */
    host: string;
    /**
     * METRICS_PORT: `/metrics` on its own listener, scraped by Prometheus and never routed by the
     * load balancer (production refuses anonymous `/metrics` on the public port).
     */
    metricsPort: number;
    autoscaling: {
      /** Target average CPU utilization, % of requests (HPA), of the instance (ASG), of the container (DO). */
      cpuPercent: number;
      /**
       * Target average memory utilization, % of requests (HPA metric, KEDA memory trigger); `null`: no memory metric.
       * A Node.js pod's memory is no load signal: an idle one already holds WEB_IDLE_MEMORY_MIB, which more pods do not
       * lower, and a leak is not cured by more pods. A target only holds pods up after a peak: the HPA stops scaling in
       * at the idle floor (`getIdleMemoryFloorReplicas`), which `checkDeploymentSpec` keeps at or below replicas.min.
       * The memory limit, and the HighMemoryUsage / ElevatedMemoryUsage alerts on it, guard against OOM instead.
       * @defaultValue null
       */
      memoryPercent: number | null;
      behavior: { scaleUp: ScalingRules; scaleDown: ScalingRules };
      /** Target for the optional ALBRequestCountPerTarget policy (requests per target per minute). */
      requestsPerTargetPerMinute: number;
    };
    /** Instances behind the load balancer of the local compose stack. */
    composeInstances: number;
    /**
     * Requests/s one web pod as deployed here (`requests`/`limits` above) serves within the p95 SLO. The one
     * figure for the pod's capacity: the pre-scaling windows are planned with it, every rendered web role gets
     * it as WAITING_ROOM_CAPACITY_RPS, and `plan`, `simulate` and `cost` use it unless given `--bench` (a
     * measurement of your own pod) or `--capacity`. Fixed here, so a benchmark rerun does not churn manifests.
     * The seed strategy's figure, not a measurement: `bench/results/capacity.json` (8,000/s) is one process
     * with no CPU limit on the 2-core dev machine under loopback load, not a pod with half a core.
     */
    capacityPerInstanceRps: number;
    /**
     * TRUST_PROXY of the web role where an L7 proxy that appends X-Forwarded-For sits in front of it: the
     * ingress controller's pods (Kubernetes) and the ALB's nodes (AWS), both on private addresses. Without it
     * every shopper's address is the proxy's: one rate-limit budget and one guest waiting-room ticket for all.
     * Safe because only the proxy reaches the web port (a ClusterIP Service; the instances' security group
     * admits the ALB only). Narrow it to your pod CIDR / VPC CIDR if you know them.
     */
    trustedProxyCidrs: readonly string[];
  };
  worker: RoleSpec & {
    queues: readonly QueueName[];
    /** BullMQ's key prefix is the hash-tagged REDIS_PREFIX: `{salescale}:<queue>:wait`. */
    redisPrefix: string;
    /**
     * Seconds of one replica's work the KEDA redis triggers aim each queue's backlog at: a queue's `listLength`
     * is the jobs one replica completes in that time at the concurrency the worker runs the queue with and its
     * assumed job time (`getWorkerListLengths`), so a slow queue (email: 3 sends at once, 2 s each) scales on a
     * short list and a fast one (notifications: 100 at once) on a long one. @defaultValue 5
     */
    backlogSecondsPerReplica: number;
    /** KEDA activationListLength (0→1 only; workers never go below `min`). */
    activationJobs: number;
    pollingIntervalSeconds: number;
    cooldownPeriodSeconds: number;
  };
  probes: { readiness: HttpProbe; liveness: HttpProbe; startupSeconds: number };
  /**
   * The payment provider of every web and worker role (PAYMENT_PROVIDER): the web role takes payments and verifies
   * the provider's webhooks, the worker gives money owed back (voids, refunds) through it, and each refuses to boot
   * without the provider's keys. The keys are secrets: each platform passes them as it passes SESSION_SECRET
   * (`getPaymentSecretNames` in role-env.ts). The built-in test provider is refused in production, so it is no choice here.
   * @defaultValue { provider: 'stripe' }
   */
  payments: { provider: Exclude<PaymentProviderName, 'test'> };
  /**
   * Email, sent by the worker alone: MAIL_FROM of every worker, an address of a domain your mail provider sends for
   * (the app's default, `no-reply@salescale.local`, is refused or filed as spam). The mail server (SMTP_URL, with its
   * credentials) is a secret each platform passes to the worker as it passes SESSION_SECRET.
   * @defaultValue { from: 'Salescale <no-reply@shop.example.com>' }
   */
  mail: { from: string };
  /**
   * Graceful stop: on SIGTERM `/ready` answers 503 for `drainDelaySeconds` (SHUTDOWN_DRAIN_DELAY_MS,
   * long enough for the load balancer to notice), then in-flight work gets `shutdownTimeoutSeconds`
   * (SHUTDOWN_TIMEOUT_MS). The platform's kill timeout must cover both plus a margin.
   */
  drain: { drainDelaySeconds: number; shutdownTimeoutSeconds: number; marginSeconds: number; deregistrationDelaySeconds: number };
  database: {
    /** PostgreSQL max_connections (the seed: 250; RDS parameter group and compose use it). */
    maxConnections: number;
    /** superuser_reserved_connections + admin/monitoring headroom. */
    reservedConnections: number;
    /** Connections a running `salescale migrate` holds (the advisory lock plus its pool). */
    migrationConnections: number;
  };
  /**
   * The Redis servers compose and swarm run (`--maxmemory`); the clouds provision node types and tiers of several GB
   * (`aws.cacheNodeType`, `gcp.redisMemoryGb`, `azure.redisCapacity`). `plan` judges the queue Redis's memory at the
   * peak against `queueMaxMemoryMb` unless given `--redis-maxmemory`.
   */
  redis: {
    /** maxmemory of the queue Redis (REDIS_URL: BullMQ, sessions, rate limits, carts, the stock gate; noeviction). @defaultValue 512 */
    queueMaxMemoryMb: number;
    /** maxmemory of the cache Redis (CACHE_REDIS_URL; allkeys-lru). @defaultValue 256 */
    cacheMaxMemoryMb: number;
    /**
     * Whether the queue Redis takes TLS only, i.e. the Kubernetes secret's REDIS_URL starts with `rediss://`
     * (ElastiCache with in-transit encryption, Azure Cache for Redis on 6380, Memorystore with TLS). The URL itself is a
     * secret the spec never sees, so it is said here: KEDA's redis triggers (the worker's ScaledObject) read the
     * queues with `enableTLS` set from it, and without it KEDA cannot read a TLS-only Redis and holds the fallback
     * replicas. @defaultValue false (the seed's queue Redis, `queue-redis:6379` in the cluster, speaks plain TCP)
     */
    queueTls: boolean;
    /**
     * Whether KEDA verifies the TLS Redis's certificate (its `unsafeSsl` is the opposite), as the app does with
     * REDIS_TLS_VERIFY. Only with `queueTls`. @defaultValue true
     */
    queueTlsVerify: boolean;
  };
  keepAliveTimeoutSeconds: number;
  aws: {
    instanceType: string;
    workerInstanceType: string;
    healthCheckGracePeriodSeconds: number;
    instanceWarmupSeconds: number;
    predictiveMode: 'ForecastOnly' | 'ForecastAndScale';
    dbInstanceClass: string;
    cacheNodeType: string;
    postgresVersion: string;
  };
  /** Google Cloud: regional MIG + autoscaler, Cloud SQL, Memorystore (deploy/gcp). */
  gcp: {
    region: string;
    machineType: string;
    /** Autoscaler initialization period (coolDownPeriodSec): boot + app start. */
    initializationPeriodSeconds: number;
    predictiveMethod: 'NONE' | 'OPTIMIZE_AVAILABILITY';
    /** Scale-in controls: at most this many VMs below the peak of the window. */
    maxScaledInReplicas: number;
    scaleInTimeWindowSeconds: number;
    /** Autohealing waits this long after a VM starts before acting on its health check. */
    autohealingInitialDelaySeconds: number;
    /** Cloud SQL tier (db-custom-<vCPU>-<MiB>) and version. */
    dbTier: string;
    postgresVersion: string;
    /** Memorystore for Redis size per instance (queue and cache). */
    redisMemoryGb: number;
  };
  /** Azure: VM scale set + autoscale setting, PostgreSQL flexible server, Azure Cache for Redis (deploy/azure). */
  azure: {
    location: string;
    vmSize: string;
    /** Scale-in rule threshold; the scale-out threshold is web.autoscaling.cpuPercent. */
    scaleInCpuPercent: number;
    /** Instances added per scale-out, % of the current count. */
    scaleOutPercent: number;
    scaleOutCooldown: string;
    scaleInCooldown: string;
    predictiveMode: 'Disabled' | 'ForecastOnly' | 'Enabled';
    predictiveLookAhead: string;
    /** PostgreSQL flexible server SKU (tier GeneralPurpose) and version. */
    postgresSku: string;
    postgresVersion: string;
    /** Azure Cache for Redis: Standard tier, family C, this capacity. */
    redisCapacity: number;
  };
  alerts: {
    /**
     * Where the on-call engineer reads docs/runbook.md: every rendered alert (the PrometheusRule, Cloud
     * Monitoring policies, CloudWatch alarms, and `salescale alerts` by default) links to it plus
     * `#<alert name in lower case>`. An http(s) URL or a relative path, without a fragment. The seed keeps the
     * path in the repository, the one address that is right for every copy of it: set your team's URL
     * (e.g. the file on your Git host, or an internal docs site) and re-render.
     * @defaultValue DEFAULT_RUNBOOK_URL ('docs/runbook.md')
     */
    runbookUrl: string;
  };
  /**
   * The Kubernetes node pool the pods run on: what `simulate --nodes` and `plan`'s node checks assume when not
   * told (`--node-cpu`/`--node-memory`/`--pods-per-node`, `--node-provisioning-seconds`). No file renders it: the
   * cluster's node groups belong to the platform (EKS managed node group, GKE node pool, AKS node pool).
   * Both figures are assumptions, not measurements.
   */
  nodePool: {
    /**
     * What one node offers the app's pods: a 2 vCPU / 8 GiB node (m5.large, e2-standard-2, D2s_v5) after the
     * kubelet's reservations (~0.1 vCPU, ~1 GiB) and the usual DaemonSets (kube-proxy, CNI, a log agent: ~0.3
     * vCPU, ~0.5 GiB). Read yours with `kubectl describe node` (Allocatable less the DaemonSet pods' requests).
     */
    allocatable: Resources;
    /**
     * The Cluster Autoscaler's scale-up request to the node Ready: the cloud's VM launch, boot, kubelet
     * registration, CNI. Its FAQ: "on GCE it usually takes 3 to 4 minutes" to schedulable; AWS's EKS best
     * practices table gives the Cluster Autoscaler ~60–90 s (Karpenter ~30 s). 120 s is in between; time yours.
     */
    provisioningSeconds: number;
  };
  /** Where the pre-scaling windows come from: the capacity plan of one calendar sale. */
  prescale: {
    event: CalendarEventId;
    /**
     * The sale the committed files are rendered for: a fixed year keeps them reproducible (the tests render
     * them with it). `salescale manifests` without `--year` plans the next sale that has not ended yet, so
     * once this one is over `--check` reports the files as stale: move the year on and re-render.
     */
    year: number;
    timeZone: string;
    /** Requests/s at weekly-pattern multiplier 1.0. */
    baseRps: number;
    leadMinutes: number;
  };
}

/**
 * Resident memory of an idle web process (`salescale serve` on Node 24.21, connected to PostgreSQL and Redis, no
 * traffic): 289–316 MiB measured with and without a compile cache, 255 MiB with the V8 heap capped at 256 MB; most of
 * it lies outside the JS heap (65 MB), so it does not shrink with load. The HPA's memory metric is the working set over
 * the request: a target below this figure (with the HPA's 10 % tolerance) asks for more pods at every sync, and more
 * pods do not lower a per-pod baseline, so the Deployment climbs to maxReplicas and stays there.
 */
export const WEB_IDLE_MEMORY_MIB = 316;

/**
 * Resident memory of an idle worker process (`salescale worker` on Node 24.21, connected to PostgreSQL and Redis, its
 * four queues' BullMQ Workers open, no jobs): about 309 MiB in QA, 300 MiB re-measured (347 MiB peak while it started),
 * 40 MB of it JS heap. The scheduler places pods by their requests and the kubelet evicts first the pods furthest above
 * theirs under node memory pressure: a request below this figure over-packs nodes and puts workers first in line,
 * from boot, and during a sale.
 */
export const WORKER_IDLE_MEMORY_MIB = 309;

/**
 * The fewest pods an HPA memory metric at `targetPercent` of `requestMiB` scales in to while every pod is idle at
 * `idleMiB`: with r = idle / target, the HPA asks for ceil(n × r) pods (nothing while |1 − r| ≤ tolerance), so scale-in
 * stops at the largest n with ceil(n × r) = n, i.e. n < 1 / (1 − r). Infinity when r ≥ 1 − tolerance: memory alone
 * then holds any count, up to maxReplicas.
 */
export function getIdleMemoryFloorReplicas(idleMiB: number, requestMiB: number, targetPercent: number, tolerance: number): number {
  const r = (100 * idleMiB) / (requestMiB * targetPercent);
  if (r >= 1 - tolerance) return Number.POSITIVE_INFINITY;
  return Math.ceil(1 / (1 - r)) - 1;
}

/**
 * Why KEDA's cron scaler could not load a time zone Node's Intl takes, or undefined. KEDA reads the trigger's `timezone`
 * with Go's `time.LoadLocation`: an IANA name (links such as `Asia/Kolkata` or `US/Eastern` included) looked up as a
 * file, case-sensitively, and no bare UTC offset. Intl takes `+01:00`, `utc` and `europe/paris`; it cannot tell a link's
 * own spelling, so the case is judged on its shape (every part starts with a capital, as every IANA name's does) and,
 * for a canonical name, against Intl's spelling of it.
 */
export function findCronTimeZoneProblem(timeZone: string): string | undefined {
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return 'is not a time zone';
  }
  if (/^[+-]\d/.test(canonical)) return 'is a UTC offset, not a zone name: give an IANA name (a region like Europe/Paris, or Etc/GMT-1 for a fixed UTC+1)';
  const misCased = timeZone !== canonical && timeZone.toLowerCase() === canonical.toLowerCase();
  if (misCased || timeZone.split('/').some((part) => !/^[A-Z]/.test(part))) return `is not spelled as the IANA name${misCased ? ` ${canonical}` : ''} (Go reads it case-sensitively)`;
  return undefined;
}

/** Seconds the platform must wait after SIGTERM before SIGKILL. */
export function getTerminationGraceSeconds(spec: DeploymentSpec): number {
  return spec.drain.drainDelaySeconds + spec.drain.shutdownTimeoutSeconds + spec.drain.marginSeconds;
}

export const SEED_DEPLOYMENT_SPEC: DeploymentSpec = {
  name: 'salescale',
  image: { repository: 'ghcr.io/salescale/salescale', tag: '0.1.0' },
  web: {
    port: 3030,
    host: 'shop.example.com',
    metricsPort: 9464,
    // The seed's EKS Deployment and HPA.
    replicas: { min: 2, max: 20, desired: 3 },
    // Memory requested = the limit: an idle web pod holds about 300 MiB (WEB_IDLE_MEMORY_MIB), which the request must
    // cover (the scheduler places pods by it, the kubelet evicts first the pods above theirs).
    requests: { cpuMillicores: 250, memoryMiB: 512 },
    limits: { cpuMillicores: 500, memoryMiB: 512 },
    dbPoolMax: 5,
    autoscaling: {
      cpuPercent: 70,
      // No memory metric (the seed's 80 %): an idle pod is at 62 % of its request, so 80 % held web at 4 pods, not 2,
      // after every peak (ceil(4 × 62 / 80) = 4).
      memoryPercent: null,
      behavior: {
        // Out fast (a sale ramps in minutes), in slowly (the seed's 5 min, one pod per minute).
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }, { type: 'Percent', value: 10, periodSeconds: 60 }] },
      },
      requestsPerTargetPerMinute: 6000,
    },
    composeInstances: 3,
    capacityPerInstanceRps: 150,
    // RFC 1918: pod CIDRs (10.244.0.0/16, 172.16.0.0/12 on some CNIs) and VPC subnets are carved from these.
    trustedProxyCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  },
  worker: {
    port: 3031,
    // The seed's swarm stack runs 2 workers; the capacity plan's worker tier is 1–10.
    replicas: { min: 1, max: 10, desired: 2 },
    // Memory requested = the limit: an idle worker holds about 309 MiB (WORKER_IDLE_MEMORY_MIB) and grows with the jobs
    // it runs at once (up to 100 notifications); below its request it is never the kubelet's first eviction.
    requests: { cpuMillicores: 250, memoryMiB: 512 },
    limits: { cpuMillicores: 500, memoryMiB: 512 },
    dbPoolMax: 5,
    queues: QUEUE_NAMES,
    redisPrefix: 'salescale',
    backlogSecondsPerReplica: 5,
    activationJobs: 0,
    pollingIntervalSeconds: 30,
    cooldownPeriodSeconds: 300,
  },
  probes: {
    readiness: { path: '/ready', periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2, successThreshold: 2 },
    liveness: { path: '/health', periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3, successThreshold: 1 },
    startupSeconds: 30,
  },
  payments: { provider: 'stripe' },
  mail: { from: 'Salescale <no-reply@shop.example.com>' },
  drain: { drainDelaySeconds: 10, shutdownTimeoutSeconds: 25, marginSeconds: 5, deregistrationDelaySeconds: 30 },
  // 250: k8s and gcp need 196 at the maxima during a rollout, which left 4 of 200 free (connection-budget.ts wants
  // 10 %). Every instance class the clouds use here allows far more (RDS db.r6g.large's default is about 1,700).
  database: { maxConnections: 250, reservedConnections: 13, migrationConnections: 2 },
  redis: { queueMaxMemoryMb: 512, cacheMaxMemoryMb: 256, queueTls: false, queueTlsVerify: true },
  keepAliveTimeoutSeconds: 65,
  aws: {
    // 2 vCPU / 4 GiB compute-optimised, the class of the GCP and Azure machines and the one `cost` prices (it reads
    // these). A burstable t3.small cannot hold the 70 % CPU target through a sale on its 20 % baseline.
    instanceType: 'c6i.large',
    workerInstanceType: 'c6i.large',
    healthCheckGracePeriodSeconds: 300,
    instanceWarmupSeconds: 120,
    predictiveMode: 'ForecastOnly',
    dbInstanceClass: 'db.r6g.large',
    cacheNodeType: 'cache.r6g.large',
    postgresVersion: '17',
  },
  gcp: {
    region: 'us-central1',
    machineType: 'c2d-highcpu-2',
    // Predictive autoscaling is meant for initialization periods over 2 minutes; ours is boot + image pull + app start.
    initializationPeriodSeconds: 120,
    predictiveMethod: 'OPTIMIZE_AVAILABILITY',
    maxScaledInReplicas: 4,
    scaleInTimeWindowSeconds: 600,
    autohealingInitialDelaySeconds: 300,
    dbTier: 'db-custom-8-32768',
    postgresVersion: 'POSTGRES_17',
    redisMemoryGb: 5,
  },
  azure: {
    location: 'eastus',
    vmSize: 'Standard_F2s_v2',
    // A 30-point margin below the scale-out threshold keeps the flapping check from blocking every scale-in.
    scaleInCpuPercent: 40,
    scaleOutPercent: 50,
    scaleOutCooldown: 'PT5M',
    scaleInCooldown: 'PT10M',
    predictiveMode: 'ForecastOnly',
    predictiveLookAhead: 'PT15M',
    postgresSku: 'Standard_D8ds_v5',
    postgresVersion: '17',
    redisCapacity: 2,
  },
  alerts: { runbookUrl: DEFAULT_RUNBOOK_URL },
  nodePool: { allocatable: { cpuMillicores: 1500, memoryMiB: 6000 }, provisioningSeconds: 120 },
  prescale: { event: 'black-friday', year: 2027, timeZone: 'UTC', baseRps: 100, leadMinutes: 10 },
};

/** A spec with some fields replaced (one level deep per section), for the CLI and tests. */
export function withOverrides(spec: DeploymentSpec, overrides: { [K in keyof DeploymentSpec]?: Partial<DeploymentSpec[K]> }): DeploymentSpec {
  const out = structuredClone(spec) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] = current && typeof current === 'object' && !Array.isArray(current) ? { ...(current as object), ...(value as object) } : value;
  }
  return out as unknown as DeploymentSpec;
}

/**
 * Refuses a spec whose numbers contradict each other; returns it unchanged otherwise. Connections are not judged
 * here: how many a target opens (its rollout surge) and against which limit (max_connections, Azure's share of it, a
 * Heroku plan, a DigitalOcean node) depend on the target, so `checkConnectionBudget` (connection-budget.ts) judges
 * them per target with the one rule `plan` uses too (CONNECTION_HEADROOM_PERCENT of the limit left free).
 */
export function checkDeploymentSpec(spec: DeploymentSpec): DeploymentSpec {
  const problems: string[] = [];
  for (const role of ['web', 'worker'] as const) {
    const r = spec[role].replicas;
    if (!(Number.isInteger(r.min) && Number.isInteger(r.max) && Number.isInteger(r.desired))) problems.push(`${role}.replicas must be integers`);
    if (!(r.min >= 1 && r.min <= r.desired && r.desired <= r.max)) problems.push(`${role}.replicas must satisfy 1 ≤ min ≤ desired ≤ max (got ${r.min}/${r.desired}/${r.max})`);
    const { requests, limits } = spec[role];
    if (requests.cpuMillicores > limits.cpuMillicores || requests.memoryMiB > limits.memoryMiB) problems.push(`${role}.requests must not exceed ${role}.limits`);
  }
  if (!(spec.worker.backlogSecondsPerReplica > 0)) problems.push(`worker.backlogSecondsPerReplica must be > 0 (got ${spec.worker.backlogSecondsPerReplica})`);
  if (!(spec.web.capacityPerInstanceRps > 0)) problems.push(`web.capacityPerInstanceRps must be > 0 (got ${spec.web.capacityPerInstanceRps})`);
  const a = spec.web.autoscaling;
  if (!(a.cpuPercent > 0 && a.cpuPercent <= 100 && (a.memoryPercent === null || (a.memoryPercent > 0 && a.memoryPercent <= 100)))) problems.push('web.autoscaling targets must be in (0, 100]');
  if (!(spec.web.requests.memoryMiB >= WEB_IDLE_MEMORY_MIB)) problems.push(`web.requests.memoryMiB ${spec.web.requests.memoryMiB} must be at least an idle web pod's ${WEB_IDLE_MEMORY_MIB} MiB: the scheduler would place web pods on nodes without the memory they hold, and the kubelet evicts pods above their request first under node memory pressure`);
  if (a.memoryPercent !== null) {
    const floor = getIdleMemoryFloorReplicas(WEB_IDLE_MEMORY_MIB, spec.web.requests.memoryMiB, a.memoryPercent, DEFAULT_TOLERANCE);
    if (floor > spec.web.replicas.min) problems.push(`web.autoscaling.memoryPercent ${a.memoryPercent} holds an idle web Deployment at ${Number.isFinite(floor) ? `${floor} pods` : 'replicas.max'}, above web.replicas.min ${spec.web.replicas.min} (an idle pod's ${WEB_IDLE_MEMORY_MIB} MiB is ${Math.round((100 * WEB_IDLE_MEMORY_MIB) / spec.web.requests.memoryMiB)} % of web.requests.memoryMiB ${spec.web.requests.memoryMiB}, HPA tolerance ${DEFAULT_TOLERANCE * 100} %): set it to null (memory is no load signal)`);
  }
  if (!(spec.worker.requests.memoryMiB >= WORKER_IDLE_MEMORY_MIB)) problems.push(`worker.requests.memoryMiB ${spec.worker.requests.memoryMiB} must be at least an idle worker's ${WORKER_IDLE_MEMORY_MIB} MiB: the scheduler would place workers on nodes without the memory they hold, and the kubelet evicts pods above their request first under node memory pressure`);
  for (const rules of [a.behavior.scaleUp, a.behavior.scaleDown]) {
    if (rules.stabilizationWindowSeconds < 0 || rules.stabilizationWindowSeconds > 3600) problems.push('stabilizationWindowSeconds must be 0–3600');
    for (const p of rules.policies) if (!(p.value > 0 && p.periodSeconds >= 1 && p.periodSeconds <= 1800)) problems.push('HPA policies need value > 0 and periodSeconds 1–1800');
  }
  if (spec.drain.deregistrationDelaySeconds < spec.drain.drainDelaySeconds) problems.push('drain.deregistrationDelaySeconds must be ≥ drainDelaySeconds');
  // Rendered as SHUTDOWN_TIMEOUT_MS, where 0 means no limit: the grace period (drain + timeout + margin) assumes one.
  // Both are rendered in ms and must stay within the longest delay Node's timers hold (2^31 − 1 ms).
  const { drainDelaySeconds, shutdownTimeoutSeconds } = spec.drain;
  if (!(shutdownTimeoutSeconds >= 1 && shutdownTimeoutSeconds * 1000 <= MAX_TIMER_MS)) problems.push(`drain.shutdownTimeoutSeconds must be 1–${Math.floor(MAX_TIMER_MS / 1000)} (rendered as SHUTDOWN_TIMEOUT_MS, where 0 is no limit and the grace period assumes one; got ${shutdownTimeoutSeconds})`);
  if (!(drainDelaySeconds >= 0 && drainDelaySeconds * 1000 <= MAX_TIMER_MS)) problems.push(`drain.drainDelaySeconds must be 0–${Math.floor(MAX_TIMER_MS / 1000)} (got ${drainDelaySeconds})`);
  if (!spec.redis.queueTls && !spec.redis.queueTlsVerify) problems.push('redis.queueTlsVerify false needs redis.queueTls (there is no certificate to skip on a plain connection)');
  const timeZoneProblem = findCronTimeZoneProblem(spec.prescale.timeZone);
  if (timeZoneProblem) problems.push(`prescale.timeZone ${JSON.stringify(spec.prescale.timeZone)} ${timeZoneProblem} (rendered as the KEDA cron triggers' timezone, which KEDA loads with Go's time.LoadLocation)`);
  const prefixProblem = findRedisPrefixProblem(spec.worker.redisPrefix);
  if (prefixProblem) problems.push(`worker.redisPrefix ${prefixProblem} (rendered as REDIS_PREFIX, which the app refuses at start-up)`);
  // Checked by the app's own TRUST_PROXY parser, on the value as rendered: one the web role refuses at start-up
  // (every address, an entry wider than a private range, a malformed entry, a hop count in a list) crash-loops every pod.
  // A lone number the app accepts, as a hop count: rendered where one proxy sits in front (k8s, AWS), `2` lets a client
  // forge an X-Forwarded-For entry and pass as any address. The platforms that need a hop count set TRUST_PROXY themselves.
  try {
    const trustProxy = parseTrustProxy(getTrustProxyEnv(spec).TRUST_PROXY);
    if (typeof trustProxy === 'number') problems.push(`web.trustedProxyCidrs ${JSON.stringify(spec.web.trustedProxyCidrs)} is a hop count (TRUST_PROXY=${trustProxy} to the app), not a CIDR: list the proxies' addresses/CIDRs (a platform that needs a hop count, such as Heroku, sets TRUST_PROXY its own way)`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(`web.trustedProxyCidrs is rendered as TRUST_PROXY, which the app refuses at start-up: ${error.message}`);
  }
  if (spec.keepAliveTimeoutSeconds <= 60) problems.push('keepAliveTimeoutSeconds must exceed the load balancers\u2019 60 s idle timeout');
  if (spec.azure.scaleInCpuPercent >= a.cpuPercent) problems.push(`azure.scaleInCpuPercent ${spec.azure.scaleInCpuPercent} must be below the scale-out threshold web.autoscaling.cpuPercent ${a.cpuPercent} (equal thresholds flap)`);
  if (!(Number.isInteger(spec.azure.scaleOutPercent) && spec.azure.scaleOutPercent >= 1)) problems.push('azure.scaleOutPercent must be a whole number ≥ 1 (the scale action value Azure accepts)');
  if (!(spec.gcp.initializationPeriodSeconds >= 0 && spec.gcp.initializationPeriodSeconds <= 3600)) problems.push('gcp.initializationPeriodSeconds must be 0–3600');
  if (!(spec.gcp.scaleInTimeWindowSeconds >= 60 && spec.gcp.scaleInTimeWindowSeconds <= 3600)) problems.push('gcp.scaleInTimeWindowSeconds must be 60–3600');
  if (!(Number.isInteger(spec.gcp.maxScaledInReplicas) && spec.gcp.maxScaledInReplicas >= 1)) problems.push('gcp.maxScaledInReplicas must be an integer ≥ 1');
  const runbookProblem = findRunbookUrlProblem(spec.alerts.runbookUrl);
  if (runbookProblem) problems.push(`alerts.runbookUrl ${runbookProblem} (got ${JSON.stringify(spec.alerts.runbookUrl)})`);
  for (const role of ['web', 'worker'] as const) {
    const { requests } = spec[role];
    const node = spec.nodePool.allocatable;
    if (requests.cpuMillicores > node.cpuMillicores || requests.memoryMiB > node.memoryMiB) problems.push(`a ${role} pod (${requests.cpuMillicores}m, ${requests.memoryMiB} MiB) must fit nodePool.allocatable (${node.cpuMillicores}m, ${node.memoryMiB} MiB)`);
  }
  // The Cluster Autoscaler gives up on a node not registered within --max-node-provision-time (15 min).
  if (!(spec.nodePool.provisioningSeconds >= 0 && spec.nodePool.provisioningSeconds <= 900)) problems.push('nodePool.provisioningSeconds must be 0–900');
  if (problems.length > 0) throw new DeploymentSpecError(problems);
  return spec;
}

export class DeploymentSpecError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`deployment spec is inconsistent:\n- ${problems.join('\n- ')}`);
    this.name = 'DeploymentSpecError';
    this.problems = problems;
  }
}
