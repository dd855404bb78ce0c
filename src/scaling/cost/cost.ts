/**
 * Monthly cost table in the seed strategy's structure (components × normal / peak / sale) from
 * explicit assumptions, and the price of each simulated policy for a sale event.
 */
import { getJobsPerOrder, type CapacityPlan } from '../capacity/plan.ts';
import { SEED_DEPLOYMENT_SPEC } from '../manifests/deployment-spec.ts';
import type { SimulationResult } from '../simulate/simulate.ts';
import type { PricingCatalogue } from './pricing.ts';
import { getHourly, getInstancePrice } from './pricing.ts';

export const SCENARIOS = ['normal', 'peak', 'sale'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Everything the monthly table is computed from; printed with the table. */
export interface CostAssumptions {
  /** Instance type of web and worker instances. @defaultValue the deployment spec's `aws.instanceType` (c6i.large) */
  instanceType: string;
  /** Managed PostgreSQL class per scenario. @defaultValue db.m6g.large / db.m6g.xlarge / db.m6g.2xlarge */
  postgresClass: Record<Scenario, string>;
  /**
   * PostgreSQL instances billed at the class's price, storage included: the deployed highly available primary
   * counts twice (RDS Multi-AZ, Cloud SQL REGIONAL and Azure zone-redundant HA bill the standby like the
   * primary) and the read replica (`DATABASE_REPLICA_URL`) once. @defaultValue 3
   */
  postgresInstances: number;
  /** PostgreSQL storage per instance. @defaultValue 100 */
  postgresStorageGb: number;
  /** Managed Redis node class per scenario. */
  redisClass: Record<Scenario, string>;
  /**
   * Redis prices per hour: the deployment runs two Redis (queues with noeviction, the cache with
   * allkeys-lru), on AWS each a replication group of two nodes. @defaultValue 4
   */
  redisNodes: number;
  /** Mean response size in KiB (1,024 bytes; data transfer out, load balancer bytes processed). @defaultValue 30 */
  responseKb: number;
  /** Custom metrics and alarms. @defaultValue 50 / 20 */
  customMetrics: number;
  alarms: number;
  /** Log volume per request in KiB. @defaultValue 0.5 */
  logKbPerRequest: number;
  /** Queue API calls per job (send, receive, delete — SQS-equivalent). @defaultValue 3 */
  queueCallsPerJob: number;
  /** Hours in a month. @defaultValue 730 */
  hoursPerMonth: number;
  /**
   * Azure Application Gateway v2's minimum instance count (autoscale `minCapacity`), each reserving 10 capacity
   * units billed while the gateway runs; read only with a gateway catalogue. @defaultValue 0 (Azure: 2, deploy/azure)
   */
  gatewayMinInstances?: number;
}

export const DEFAULT_COST_ASSUMPTIONS: CostAssumptions = {
  // What the CloudFormation template launches, web and workers alike.
  instanceType: SEED_DEPLOYMENT_SPEC.aws.instanceType,
  postgresClass: { normal: 'db.m6g.large', peak: 'db.m6g.xlarge', sale: 'db.m6g.2xlarge' },
  // deploy/aws: a Multi-AZ DB instance and its read replica.
  postgresInstances: 3,
  postgresStorageGb: 100,
  redisClass: { normal: 'cache.t4g.medium', peak: 'cache.m6g.large', sale: 'cache.m6g.xlarge' },
  // deploy/aws: two replication groups (QueueRedis, CacheRedis) of NumCacheClusters 2.
  redisNodes: 4,
  responseKb: 30,
  customMetrics: 50,
  alarms: 20,
  logKbPerRequest: 0.5,
  queueCallsPerJob: 3,
  hoursPerMonth: 730,
};

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const HOUR_MS = 3_600_000;

/**
 * The month `cost` prices around a window: whole weeks (they keep the weekly pattern whole), 4 of them unless the
 * window is longer, when it is the fewest whole weeks that hold it (its usage is still scaled to a month). It holds
 * the window and never starts before the history's first hour (`historyStart`, which the window never precedes):
 * - 10 November + 4 weeks of the window's year (from the history's first hour when it starts later) when that holds
 *   the window: Black Friday and Cyber Monday's month, whose figures the README prints;
 * - otherwise the weeks from 2 weeks before the window's first day (UTC), moved later until the window's end fits
 *   and, with a history, until they start at its first hour.
 * Before, it was 10 November + 4 weeks whatever the window: a Christmas or a June window priced a month that held
 * Black Friday and not the window.
 */
export function getSaleMonth(from: Date, to: Date, historyStart?: Date): { start: Date; end: Date; weeks: number } {
  const earliest = historyStart?.getTime() ?? Number.NEGATIVE_INFINITY;
  const november = Math.max(Date.UTC(from.getUTCFullYear(), 10, 10), earliest);
  if (november <= from.getTime() && to.getTime() <= november + 4 * WEEK_MS) return { start: new Date(november), end: new Date(november + 4 * WEEK_MS), weeks: 4 };
  // From the window's first hour: the month starts on an hour at or before it and still reaches the window's end.
  const firstHour = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  const weeks = Math.max(4, Math.ceil((to.getTime() - firstHour) / WEEK_MS));
  const twoWeeksBefore = Math.floor(from.getTime() / DAY_MS) * DAY_MS - 2 * WEEK_MS;
  const start = Math.max(twoWeeksBefore, Math.ceil((to.getTime() - weeks * WEEK_MS) / HOUR_MS) * HOUR_MS, earliest);
  return { start: new Date(start), end: new Date(start + weeks * WEEK_MS), weeks };
}

/** Usage of one scenario month, from a capacity plan over that month. */
export interface MonthUsage {
  webInstanceHours: number;
  workerInstanceHours: number;
  requests: number;
  jobs: number;
}

/**
 * Sums a plan's hours, scaled to a month of `hoursPerMonth`. Replicas are sized on each hour's peak; requests
 * and jobs are what the hour serves (its forecast count), not its peak rate for the whole hour.
 */
export function getMonthUsage(plan: CapacityPlan, hoursPerMonth = 730): MonthUsage {
  const scale = hoursPerMonth / Math.max(1, plan.hours.length);
  let web = 0;
  let workers = 0;
  let requests = 0;
  let jobs = 0;
  for (const h of plan.hours) {
    web += h.webReplicas;
    workers += h.workerReplicas;
    requests += h.requestsInHour;
    jobs += h.requestsInHour * plan.workers.ordersPerRequest * getJobsPerOrder(plan.workers);
  }
  return {
    webInstanceHours: web * scale,
    workerInstanceHours: workers * scale,
    requests: requests * scale,
    jobs: jobs * scale,
  };
}

/**
 * GiB (2^30 bytes) of `count` items of `kib` KiB each: the one unit every per-"GB" price is applied to. Google Cloud
 * prices per GiB; AWS and Azure write GB, read here as 2^30 bytes (a decimal GB would bill 7.4 % more of them).
 */
export function toGib(count: number, kib: number): number {
  return (count * kib) / (1024 * 1024);
}

export const COST_COMPONENTS = ['EC2 Instances', 'Load Balancer', 'RDS PostgreSQL', 'ElastiCache Redis', 'Queue', 'CloudWatch', 'Data Transfer'] as const;
export type CostComponent = (typeof COST_COMPONENTS)[number];

export type CostColumn = Record<CostComponent | 'Total', number>;

/**
 * Azure Application Gateway v2's capacity unit (learn.microsoft.com/azure/application-gateway/understanding-pricing):
 * an hour's CUs are the highest of its compute units (Standard_v2: about 50 TLS connections/s with an RSA 2048
 * certificate per compute unit), persistent connections / 2,500 and throughput Mbps / 2.22; the minimum instance
 * count reserves 10 CUs per instance, billed whatever the use, and CUs above them are billed on top.
 */
export const GATEWAY_CAPACITY_UNIT = { tlsConnectionsPerSecond: 50, persistentConnections: 2500, mbps: 2.22, reservedPerInstance: 10 } as const;

/**
 * Application Gateway v2 capacity units of `requests` responses of `responseKb` KiB over `hours` hours, as their mean
 * rate: throughput (responses only, decimal megabits: KiB × 1024 × 8 / 10^6) / 2.22 Mbps, or compute units as one new
 * TLS connection per request (an upper bound: browsers keep connections alive) / 50 per second, whichever is higher;
 * persistent connections are not modelled (the sale model has no count of open connections). At 30 KiB a response
 * is 0.246 Mb, so throughput is the larger dimension above 5.6 KiB; the 20 CUs that 2 instances reserve carry about
 * 180 responses/s of 30 KiB.
 */
export function getGatewayCapacityUnits(requests: number, responseKb: number, hours: number): number {
  if (hours <= 0) return 0;
  const perSecond = requests / (hours * 3600);
  const mbps = (perSecond * responseKb * 1024 * 8) / 1e6;
  return Math.max(mbps / GATEWAY_CAPACITY_UNIT.mbps, perSecond / GATEWAY_CAPACITY_UNIT.tlsConnectionsPerSecond);
}

/**
 * The load balancer of a span of `hoursPerMonth` hours by the catalogue's rule: AWS ALB's hours + its LCU-hours;
 * Google Cloud's forwarding-rule hours + the GB processed (`toGib`); Azure's Application Gateway v2 hours + its
 * capacity unit-hours + the Standard Load Balancer's outbound rule hours.
 * Google Cloud bills the data processed both ways, requests in and responses out (so do the ALB's processed bytes);
 * only the responses are counted here, the requests being small beside them. Processed bytes are the only ALB
 * dimension modelled, so its LCU-hours are the GB processed: an hour's LCUs are the highest of 25 new
 * connections/s, 3,000 active connections/min, 1 GB/h processed (EC2 targets) and 1,000 rule evaluations/s,
 * fractions billed, no minimum (aws.amazon.com/elasticloadbalancing/pricing), and one dimension's LCUs summed over
 * the hours are its total whichever hour they fell in. A new connection per request reaches 1 LCU at 90,000
 * requests an hour, which at the default 30 KiB is 2.6 GiB, so processed bytes is the busiest dimension unless
 * responses are below about 11.6 KiB.
 * The gateway's CUs are billed per hour as max(reserved, used) (`getGatewayCapacityUnits`); with the span's totals
 * only, the used CUs are the span's mean rate: a lower bound of the bill when the span's hours go from under the
 * reserved CUs to above them (exact when every hour is above or every hour under). Partial hours, billed as full, are
 * not rounded up. The outbound rule's data processed is
 * the VMs' own egress (image pulls, packages, payment calls), not the responses, and is not modelled.
 */
export function getLoadBalancerCost(
  usage: Pick<MonthUsage, 'requests'>,
  p: PricingCatalogue,
  a: Pick<CostAssumptions, 'responseKb' | 'hoursPerMonth' | 'gatewayMinInstances'>,
): number {
  const lb = p.loadBalancer;
  const hours = a.hoursPerMonth;
  if ('perCapacityUnitHour' in lb) {
    const reserved = (a.gatewayMinInstances ?? 0) * GATEWAY_CAPACITY_UNIT.reservedPerInstance;
    const units = Math.max(reserved, getGatewayCapacityUnits(usage.requests, a.responseKb, hours));
    return hours * (lb.perHour + lb.outboundRulePerHour) + hours * units * lb.perCapacityUnitHour;
  }
  const processedGib = toGib(usage.requests, a.responseKb);
  const perGb = 'perLcuHour' in lb ? lb.perLcuHour : lb.perGbProcessed;
  return hours * lb.perHour + processedGib * perGb;
}

export function getMonthlyCost(usage: MonthUsage, scenario: Scenario, p: PricingCatalogue, a: CostAssumptions = DEFAULT_COST_ASSUMPTIONS): CostColumn {
  const h = a.hoursPerMonth;
  const gibOut = toGib(usage.requests, a.responseKb);
  const storage = typeof p.postgres.storagePerGbMonth === 'number' ? p.postgres.storagePerGbMonth : 0;
  const col = {
    'EC2 Instances': (usage.webInstanceHours + usage.workerInstanceHours) * getInstancePrice(p, a.instanceType),
    'Load Balancer': getLoadBalancerCost(usage, p, a),
    'RDS PostgreSQL': a.postgresInstances * (h * getHourly(p.postgres, a.postgresClass[scenario], 'PostgreSQL class') + a.postgresStorageGb * storage),
    'ElastiCache Redis': h * a.redisNodes * getHourly(p.redis, a.redisClass[scenario], 'Redis class'),
    Queue: ((usage.jobs * a.queueCallsPerJob) / 1e6) * p.queue.perMillionRequests,
    CloudWatch: a.customMetrics * p.monitoring.perCustomMetricMonth + a.alarms * p.monitoring.perAlarmMonth + toGib(usage.requests, a.logKbPerRequest) * p.monitoring.perLogGbIngested,
    'Data Transfer': gibOut * p.dataTransfer.perGbOut,
  } as Record<CostComponent, number>;
  return { ...col, Total: COST_COMPONENTS.reduce((s, c) => s + col[c], 0) };
}

/**
 * Worker instance-hours of [fromMs, toMs): each plan hour's worker replicas × the part of the hour inside the
 * window. The simulated policies scale web; the workers run as the plan sizes them, as in the monthly table.
 */
export function getWindowWorkerHours(plan: CapacityPlan, fromMs: number, toMs: number): number {
  let hours = 0;
  for (const h of plan.hours) {
    const start = Date.parse(h.hour);
    const overlap = Math.min(toMs, start + 3_600_000) - Math.max(fromMs, start);
    if (overlap > 0) hours += h.workerReplicas * (overlap / 3_600_000);
  }
  return hours;
}

/** The price of one simulated policy for the simulated window. */
export interface PolicyCost {
  policy: string;
  /** Web instance-hours: the simulated policy's (the workers' are workerInstanceHours; instanceCost prices both). */
  webInstanceHours: number;
  /** Worker instance-hours of the window (the plan's workers, the same for every policy). */
  workerInstanceHours: number;
  /** Web and worker instance-hours × the instance price. */
  instanceCost: number;
  /** Load balancer (its hours and the served responses' processed bytes, or Azure's gateway capacity units), PostgreSQL and Redis for the window's hours (sale classes). */
  sharedCost: number;
  totalCost: number;
  orders: number;
  costPer1000Orders: number;
  minutesOverSlo: number;
  failedRequests: number;
}

export function pricePolicies(
  results: readonly SimulationResult[],
  p: PricingCatalogue,
  o: { hours: number; ordersPerRequest: number; assumptions?: CostAssumptions; workerInstanceHours?: number },
): PolicyCost[] {
  const a = o.assumptions ?? DEFAULT_COST_ASSUMPTIONS;
  const databases = o.hours * (a.postgresInstances * getHourly(p.postgres, a.postgresClass.sale, 'PostgreSQL class') + a.redisNodes * getHourly(p.redis, a.redisClass.sale, 'Redis class'));
  const price = getInstancePrice(p, a.instanceType);
  return results.map((r) => {
    const workerInstanceHours = o.workerInstanceHours ?? 0;
    const instanceCost = (r.totals.instanceHours + workerInstanceHours) * price;
    // The load balancer by the month's rule, on the responses this policy served over the window's hours.
    const shared = databases + getLoadBalancerCost({ requests: r.totals.servedRequests }, p, { ...a, hoursPerMonth: o.hours });
    const orders = r.totals.servedRequests * o.ordersPerRequest;
    const totalCost = instanceCost + shared;
    return {
      policy: r.policy,
      webInstanceHours: r.totals.instanceHours,
      workerInstanceHours,
      instanceCost,
      sharedCost: shared,
      totalCost,
      orders,
      costPer1000Orders: orders > 0 ? (totalCost / orders) * 1000 : Number.NaN,
      minutesOverSlo: r.totals.minutesOverSlo,
      failedRequests: r.totals.failedRequests,
    };
  });
}
