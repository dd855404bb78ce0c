/**
 * The seed strategy's alert thresholds as code: one typed table, rendered into a Prometheus
 * alerting-rules file (`salescale alerts`, deploy/prometheus/alert-rules.yml) and, where CloudWatch
 * carries the signal, into CloudWatch alarms by the deployment templates.
 *
 * Sources, kept apart by `source`:
 * - `alert-thresholds`: the seed's ALERT_THRESHOLDS (CRITICAL / WARNING / INFO), one rule each.
 * - `critical-metrics`: targets of the seed's CRITICAL_METRICS that ALERT_THRESHOLDS leaves out
 *   (p99, disk, DB query time, slow queries, job time, failed jobs), as warnings.
 * - `cloudwatch-alarms`: the seed's two custom CloudWatch alarms (checkout rate; DB connections is
 *   the CloudWatch side of `HighDbConnections`).
 * - `stuck-work`: Salescale's own, for work that stopped moving while the processes that should do it look alive
 *   (not in the seed): a queue whose oldest runnable job keeps ageing far below the depth thresholds, an outbox the
 *   relay no longer empties. Depth and liveness alerts see neither.
 * - `waiting-room`: Salescale's own, for sale events queued in the waiting room (not in the seed).
 * - `availability`: Salescale's own, for a role with no live instance at all (not in the seed). Every other
 *   rule reads figures that a dead role stops reporting (a ratio or a quantile over no requests is empty, not
 *   high), so a shop whose web instances are all down, or whose workers are, fired nothing.
 *   Also one instance Prometheus can no longer scrape (`up`), whose per-instance alerts have gone silent.
 * - `payments`: Salescale's own, for checkout that takes money (reservations, payments, webhooks;
 *   not in the seed). Counters of the web role (payments, webhooks, provider calls, late payments,
 *   expiries by payment) and the worker (expiries by job and sweeper, reservations held).
 * - `inventory`: Salescale's own, for the stock every instance sells from (not in the seed): units given back on
 *   one process are announced to every web instance over Redis pub/sub (`salescale_stock_view_notices_total`, web
 *   and worker), and announcements that keep failing leave the other instances refusing those units for a while.
 *
 * Metric names are Salescale's own (see README "Metrics, health and alerts"). Definitions used below:
 * - CPU utilization = rate(process_cpu_seconds_total) / process_cpu_limit_cores (cgroup quota, else
 *   one core: a Node.js instance saturates its event-loop thread first), averaged over a role.
 * - Memory utilization = process_resident_memory_bytes / process_memory_limit_bytes (cgroup limit,
 *   else physical memory), per instance: the kernel kills the one instance that reaches its limit whatever the
 *   others use, and a leak is one instance's (a role's average of 40 %, 40 % and 95 % is 58 %). CPU stays a role's
 *   average: the load balancer spreads requests, and the autoscaler acts on the average.
 * - Error rate = 5xx responses / all responses to shoppers, cluster-wide (probes left out, 503 refusals counted).
 * - Latency and traffic = `http_request_duration_seconds` of shopper routes (probes left out; waiting-room event
 *   streams are never in it: see src/platform/http/long-lived.ts).
 * - Queue depth = runnable backlog (waiting + prioritized) per queue; every instance reports the same
 *   shared numbers, so they are de-duplicated with `max` before summing the states.
 */

export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertAction = 'scale_up' | 'scale_up_workers' | 'investigate' | 'monitor' | 'log' | 'notify_team';

export type CloudWatchStatistic = 'Average' | 'Sum' | 'Maximum' | 'Minimum' | 'SampleCount';
export type CloudWatchComparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

/** Where a rule comes from in the seed strategy. */
export type AlertSource = 'alert-thresholds' | 'critical-metrics' | 'cloudwatch-alarms' | 'availability' | 'stuck-work' | 'waiting-room' | 'payments' | 'inventory';

export interface CloudWatchAlarmSpec {
  namespace: string;
  metricName: string;
  /** Used when `extendedStatistic` is not set. */
  statistic: CloudWatchStatistic;
  /** A percentile statistic (e.g. `p95`); when set, alarms use it instead of `statistic`. */
  extendedStatistic?: string;
  /**
   * A fixed figure, or a share of the deployment spec's PostgreSQL max_connections, which the template resolves
   * (`getCloudWatchThreshold`) so that the alarm follows the database it provisions.
   */
  threshold: number | { percentOfMaxConnections: number };
  comparison: CloudWatchComparison;
  periodSeconds: number;
  evaluationPeriods: number;
  /** What the template must add (dimensions) or how the figure differs from the Prometheus rule. */
  note?: string;
}

/**
 * Share of PostgreSQL max_connections above which the database-side HighDbConnections alarms fire (RDS's
 * DatabaseConnections on AWS, the flexible server's active_connections on Azure): the seed's "DB connections > 80%".
 * A share, not a count: a fixed 150 fired at 75 % of max_connections 200 and at 60 % once the spec went to 250. It
 * stays below the 90 % the connection budget may reach during a rollout at the maxima (CONNECTION_HEADROOM_PERCENT),
 * so it warns before new instances are refused.
 */
export const DB_CONNECTIONS_ALARM_PERCENT = 80;

/** The connection count the HighDbConnections alarms fire above, for a database with `maxConnections`. */
export function getDbConnectionsAlarmThreshold(maxConnections: number, percent = DB_CONNECTIONS_ALARM_PERCENT): number {
  return Math.floor((maxConnections * percent) / 100);
}

/** An alarm's threshold as a figure, a share of max_connections resolved against the spec's. */
export function getCloudWatchThreshold(cw: CloudWatchAlarmSpec, maxConnections: number): number {
  return typeof cw.threshold === 'number' ? cw.threshold : getDbConnectionsAlarmThreshold(maxConnections, cw.threshold.percentOfMaxConnections);
}

export interface AlertRule {
  /** PascalCase, unique; the Prometheus `alert` name and the CloudWatch alarm name stem. */
  name: string;
  severity: AlertSeverity;
  /** The seed strategy's wording of the condition. */
  summary: string;
  /** PromQL over Salescale's own metric names; the rule fires while this returns a series. */
  expr: string;
  /** How long `expr` must hold before the alert fires (0 = at the first evaluation that holds). */
  forSeconds: number;
  action: AlertAction;
  /** CloudWatch equivalent, where the signal exists in CloudWatch (for the AWS template). */
  cloudwatch?: CloudWatchAlarmSpec;
  /** Where the rule comes from in the seed strategy. @defaultValue 'alert-thresholds' */
  source?: AlertSource;
  /**
   * What the alert means for shoppers, in one or two sentences (Prometheus `description` annotation). May use
   * `{{ $labels.<label> }}` for a label the expression keeps (its `by`); the rest — causes, how to confirm,
   * what to do — is the alert's section of docs/runbook.md, which its `runbook_url` annotation links to.
   */
  description: string;
}

/**
 * The scrape jobs that read Salescale's instances, in every rendered Prometheus configuration: `salescale-web` and
 * `salescale-worker` (deploy/prometheus/prometheus.yml, the compose stack, the collectors of the GCP VMs) and
 * `salescale-pods` (deploy/prometheus/prometheus.kubernetes.yml). `up` carries the job and target labels only, not the
 * app's `role`, so SalescaleTargetDown selects by job: a config that names them otherwise is not watched.
 */
export const SALESCALE_SCRAPE_JOBS = ['salescale-web', 'salescale-worker', 'salescale-pods'] as const;

/** Namespace of Salescale's Embedded Metric Format lines (CLOUDWATCH_EMF_NAMESPACE in deployments). */
export const CLOUDWATCH_NAMESPACE = 'Salescale';

/**
 * Every route but the probes, as the `route` label names them (the Fastify route template: `/health`, `/ready`,
 * `/metrics`; PROBE_ROUTES in src/web/plugins/health.ts). Probes are not shoppers: a `/ready` 503 while an
 * instance drains or sheds load is meant for the load balancer, and scrapes and health checks are fast and
 * frequent enough to dilute both error ratio and latency. Shoppers' 503s (load shed `OVERLOADED`, a dependency
 * down) stay counted: shoppers see them. Used by the alerts, the recording rules and the dashboard alike.
 */
export const SHOPPER_ROUTES = 'route!~"/health|/ready|/metrics"';

const CPU_UTILIZATION = 'avg by (role) (rate(process_cpu_seconds_total[1m]) / process_cpu_limit_cores)';
const MEMORY_UTILIZATION = 'max by (role, instance_id) (process_resident_memory_bytes / process_memory_limit_bytes)';
export const ERROR_RATIO = (window: string) =>
  `sum(rate(http_request_duration_seconds_count{${SHOPPER_ROUTES},status_code=~"5.."}[${window}])) / sum(rate(http_request_duration_seconds_count{${SHOPPER_ROUTES}}[${window}]))`;
export const LATENCY_QUANTILE = (q: number, window: string) =>
  `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${SHOPPER_ROUTES}}[${window}])))`;
/**
 * Checkout's own requests, as the `route` label names them: placing an order (`POST /api/v1/orders`, signed in or a
 * guest) and paying one (`POST /api/v1/orders/:id/pay`, `POST /api/v1/guest-orders/:token/pay`); the routes the
 * `checkout` rate limiter guards. Cluster-wide latency dilutes them: a sale's shoppers browse far more than they buy.
 */
export const CHECKOUT_ROUTES = 'route=~"/api/v1/orders|/api/v1/orders/:id/pay|/api/v1/guest-orders/:token/pay",method="POST"';
const CHECKOUT_LATENCY_QUANTILE = (q: number, window: string) =>
  `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${CHECKOUT_ROUTES}}[${window}])))`;
/** Checkout requests/s: at least 0.1 (30 in 5 minutes), so that one slow checkout on a quiet night is no quantile. */
const CHECKOUT_BUSY = (window: string) => `sum(rate(http_request_duration_seconds_count{${CHECKOUT_ROUTES}}[${window}])) >= 0.1`;
/**
 * Share of each instance's pool checked out. Per instance, not summed over the role: a pool is an instance's own, and
 * one exhausted (its requests waiting, then 503 DATABASE_BUSY) beside idle ones was 10 of 30 connections in use.
 */
const DB_CONNECTIONS_IN_USE_RATIO =
  'max by (role, pool, instance_id) ((db_pool_connections{state="total"} - ignoring(state) db_pool_connections{state="idle"}) / ignoring(state) db_pool_connections{state="max"})';
/**
 * How long the job at the head of `queue`'s line has been runnable (queue_oldest_waiting_job_age_seconds: delays on
 * purpose left out, see runnableSince in src/platform/queue/processing.ts); every instance reports the same shared
 * figure, so `max`.
 */
const QUEUE_WAIT_AGE = (queue: string) => `max by (queue) (queue_oldest_waiting_job_age_seconds{queue="${queue}"})`;
const QUEUE_DEPTH = 'sum by (queue) (max by (queue, state) (queue_jobs{state=~"waiting|prioritized"}))';
const REQUEST_RATE = (window: string, offset = '') => `sum(rate(http_request_duration_seconds_count{${SHOPPER_ROUTES}}[${window}]${offset}))`;

const EC2_CPU = { namespace: 'AWS/EC2', metricName: 'CPUUtilization', statistic: 'Average', comparison: 'GreaterThanThreshold', note: 'dimension AutoScalingGroupName' } as const;
const ALB_RESPONSE_TIME = {
  namespace: 'AWS/ApplicationELB',
  metricName: 'TargetResponseTime',
  statistic: 'Average',
  extendedStatistic: 'p95',
  comparison: 'GreaterThanThreshold',
  note: 'seconds; dimensions LoadBalancer and TargetGroup',
} as const;

export const ALERT_RULES: readonly AlertRule[] = [
  // CRITICAL
  {
    name: 'HighCpuUsage',
    severity: 'critical',
    summary: 'CPU > 90% for 2 minutes',
    description:
      '{{ $labels.role }} instances average over 90 % of their CPU limit: on web, requests wait behind a saturated event loop (slow pages, then 503 OVERLOADED from load shedding); on workers, confirmation emails and other follow-ups fall behind.',
    expr: `${CPU_UTILIZATION} > 0.9`,
    forSeconds: 120,
    action: 'scale_up',
    cloudwatch: { ...EC2_CPU, threshold: 90, periodSeconds: 60, evaluationPeriods: 2 },
  },
  {
    name: 'HighMemoryUsage',
    severity: 'critical',
    summary: 'Memory > 85% for 2 minutes',
    description:
      '{{ $labels.role }} instance {{ $labels.instance_id }} uses over 85 % of its memory limit: if it reaches it, it is killed (OOM) with the requests or jobs it holds, and a web instance refuses work with 503 OVERLOADED once its V8 heap passes the load-shedding thresholds.',
    expr: `${MEMORY_UTILIZATION} > 0.85`,
    forSeconds: 120,
    // Not the seed's scale_up: the alert names one instance (a leak, its streams or its cache), which more instances
    // do not bring down; the runbook restarts that instance.
    action: 'investigate',
  },
  {
    name: 'HighErrorRate',
    severity: 'critical',
    summary: 'Error rate > 5% for 1 minute',
    description:
      'Over 5 % of responses to shoppers are server errors (probes /health, /ready, /metrics left out; 503 refusals counted): shoppers see failed pages, checkouts or payments. 503s (load shed, a dependency down) carry Retry-After; 500s are bugs.',
    expr: `${ERROR_RATIO('1m')} > 0.05`,
    forSeconds: 60,
    action: 'investigate',
  },
  {
    name: 'HighResponseTimeP95',
    severity: 'critical',
    summary: 'Response time P95 > 2s for 2 minutes',
    description:
      'One shopper request in twenty takes over 2 s cluster-wide (probes and waiting-room event streams left out): shoppers wait, retry and abandon carts, and clients and load balancers start timing out.',
    expr: `${LATENCY_QUANTILE(0.95, '1m')} > 2`,
    forSeconds: 120,
    action: 'scale_up',
    cloudwatch: { ...ALB_RESPONSE_TIME, threshold: 2, periodSeconds: 60, evaluationPeriods: 2 },
  },
  {
    name: 'HighDbConnections',
    severity: 'critical',
    summary: 'DB connections > 80% for 1 minute',
    description:
      '{{ $labels.role }} instance {{ $labels.instance_id }} has over 80 % of its {{ $labels.pool }} pool connections checked out: a little more and its requests queue for a connection, and those that wait 5 s fail with 503 DATABASE_BUSY, checkout included.',
    expr: `${DB_CONNECTIONS_IN_USE_RATIO} > 0.8`,
    forSeconds: 60,
    action: 'scale_up',
    cloudwatch: {
      namespace: 'AWS/RDS',
      metricName: 'DatabaseConnections',
      statistic: 'Average',
      threshold: { percentOfMaxConnections: DB_CONNECTIONS_ALARM_PERCENT },
      comparison: 'GreaterThanThreshold',
      periodSeconds: 300,
      evaluationPeriods: 2,
      note: "the seed's HighDBConnections alarm: client connections to the primary database (RDS's own metric, every instance's pools together) above 80 % of the spec's max_connections (200 of 250), as Azure's PostgreSQL connections alert; the EMF lines' per-instance DatabaseConnections (at most DB_POOL_MAX each) could never reach it",
    },
  },
  {
    name: 'HighQueueDepth',
    severity: 'critical',
    summary: 'Queue depth > 5000',
    description:
      'Over 5000 runnable jobs wait in the {{ $labels.queue }} queue: the work that follows an order or a sign-up (confirmation emails, stock sync, analytics) runs minutes late. Checkout itself is not slowed.',
    expr: `${QUEUE_DEPTH} > 5000`,
    forSeconds: 0,
    action: 'scale_up_workers',
  },

  // Availability: a role with no live instance. Its own figures vanish with it, so these look at what is missing.
  {
    name: 'WebInstancesDown',
    severity: 'critical',
    summary: 'No web instance live or scraped for 2 minutes',
    description:
      'No web instance is live (no heartbeat, as the workers see the cluster) or none is scraped: shoppers get no page at all, and the error-rate and latency alerts stay silent because no request is counted.',
    // `absent` covers the whole cluster gone (nothing left to report a heartbeat count); the heartbeat count covers
    // web instances that hang or cannot reach Redis while the workers still report.
    expr: 'max by (role) (salescale_live_instances{role="web"}) < 1 or absent(process_cpu_seconds_total{role="web"})',
    forSeconds: 120,
    action: 'investigate',
    source: 'availability',
  },
  {
    name: 'WorkerInstancesDown',
    severity: 'critical',
    summary: 'No worker instance live or scraped for 2 minutes',
    description:
      'No worker has sent a heartbeat for 2 minutes (as the web instances see the cluster), or none is scraped: confirmation emails and stock syncs pile up, unpaid reservations are no longer expired (their units stay off sale) and the outbox is not relayed, long before any queue-depth alert; unscraped, the alerts on what only the worker reports (reservations held, dead letters, payment problems open, money owed back) cannot fire.',
    // The heartbeat count covers workers that are dead or hang; `absent` covers workers alive but not scraped (a
    // METRICS_TOKEN or WORKER_PORT Prometheus was not given), whose heartbeats keep the count at 1 while every series
    // only the worker reports has ended.
    expr: 'max by (role) (salescale_live_instances{role="worker"}) < 1 or absent(process_cpu_seconds_total{role="worker"})',
    forSeconds: 120,
    action: 'investigate',
    source: 'availability',
  },

  {
    name: 'SalescaleTargetDown',
    severity: 'warning',
    summary: 'A Salescale instance cannot be scraped for 5 minutes',
    description:
      'Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }} while its other targets may be fine: if that instance still serves, its share of shoppers or jobs goes unwatched, because every per-instance alert (memory, database pool, event loop) reads series it no longer reports.',
    // One target, not kube-prometheus' share of a job's targets above 10 %: one web instance of 11 or more is below
    // that share, and its per-instance alerts are silent all the same. The role-wide rules above cover all targets gone.
    expr: `up{job=~"${SALESCALE_SCRAPE_JOBS.join('|')}"} < 1`,
    forSeconds: 300,
    action: 'investigate',
    source: 'availability',
  },

  // Stuck work: a queue or the outbox that stopped moving while its workers and relays report alive. Each queue's
  // threshold follows what its lateness costs; a quiet queue reads 0 (nothing waits), so none fires on a quiet night.
  {
    name: 'OrderQueueStuck',
    severity: 'critical',
    summary: 'Order queue: the oldest runnable job has waited > 2 minutes, for 1 minute',
    description:
      'A job of the order queue has been runnable for over 3 minutes without a worker taking it: paid orders are not fanned out (no stock sync, no confirmation email) and expire-order jobs run late, so unpaid reservations hold stock back from the sale until the sweeper catches them.',
    expr: `${QUEUE_WAIT_AGE('order')} > 120`,
    forSeconds: 60,
    action: 'investigate',
    source: 'stuck-work',
  },
  {
    name: 'InventoryQueueStuck',
    severity: 'warning',
    summary: 'Inventory queue: the oldest runnable job has waited > 5 minutes, for 2 minutes',
    description:
      'A stock sync (update-stock) has been runnable for over 7 minutes without a worker taking it: the units sold since are not synced, so stock figures read from the synced side are stale.',
    expr: `${QUEUE_WAIT_AGE('inventory')} > 300`,
    forSeconds: 120,
    action: 'investigate',
    source: 'stuck-work',
  },
  {
    name: 'EmailQueueStuck',
    severity: 'warning',
    summary: 'Email queue: the oldest runnable job has waited > 10 minutes, for 5 minutes',
    description:
      'An email job has been runnable for over 15 minutes without a worker taking it: order confirmations, expiry and refund notices arrive late, and buyers write to support or pay twice.',
    expr: `${QUEUE_WAIT_AGE('email')} > 600`,
    forSeconds: 300,
    action: 'investigate',
    source: 'stuck-work',
  },
  {
    name: 'NotificationsQueueStuck',
    severity: 'warning',
    summary: 'Notifications queue: the oldest runnable job has waited > 15 minutes, for 5 minutes',
    description:
      'A notifications job has been runnable for over 20 minutes without a worker taking it: analytics roll-ups lag and degrade-mode notices reach the team late. No shopper impact.',
    expr: `${QUEUE_WAIT_AGE('notifications')} > 900`,
    forSeconds: 300,
    action: 'investigate',
    source: 'stuck-work',
  },

  {
    name: 'OutboxRelayStuck',
    severity: 'critical',
    summary: 'Outbox: the oldest unrelayed row is > 1 minute old, for 2 minutes',
    description:
      "Outbox rows committed with orders have waited over 3 minutes to be moved into BullMQ: the relay has stopped (queue Redis unreachable, relays crashed in live workers). Every order's follow-ups — payment-window expiry, fan-out after payment, emails — pile up in PostgreSQL, and no queue alert sees them.",
    // Every instance reads the same table: `max`.
    expr: 'max(outbox_oldest_unrelayed_age_seconds) > 60',
    forSeconds: 120,
    action: 'investigate',
    source: 'stuck-work',
  },
  {
    name: 'QueueDeadLetters',
    severity: 'warning',
    summary: 'Dead letters (jobs that exhausted their attempts) not retried, for 5 minutes',
    description:
      'Jobs of the {{ $labels.queue }} queue exhausted their attempts or failed for good and wait in dead_letters: none of them runs again until an operator retries them (`salescale queues retry-failed {{ $labels.queue }}`), however few they are and however long ago they failed.',
    // Every instance reads the same table: `max`. A level, not a rate: a dead letter stays until it is retried,
    // while HighJobFailureRate's 5-minute ratio forgets it (and a handful among many jobs never reaches its 1 %).
    expr: 'max by (queue) (queue_dead_letters) > 0',
    forSeconds: 300,
    action: 'investigate',
    source: 'stuck-work',
  },

  // WARNING
  {
    name: 'ElevatedCpuUsage',
    severity: 'warning',
    summary: 'CPU > 70% for 5 minutes',
    description:
      '{{ $labels.role }} instances have averaged over 70 % of their CPU limit for 5 minutes: little headroom is left before latency rises and load shedding starts.',
    expr: `${CPU_UTILIZATION} > 0.7`,
    forSeconds: 300,
    action: 'monitor',
    cloudwatch: { ...EC2_CPU, threshold: 70, periodSeconds: 60, evaluationPeriods: 5 },
  },
  {
    name: 'ElevatedMemoryUsage',
    severity: 'warning',
    summary: 'Memory > 70% for 5 minutes',
    description:
      '{{ $labels.role }} instance {{ $labels.instance_id }} has used over 70 % of its memory limit for 5 minutes: no shopper impact yet; growth from here ends in an OOM kill.',
    expr: `${MEMORY_UTILIZATION} > 0.7`,
    forSeconds: 300,
    action: 'monitor',
  },
  {
    name: 'ElevatedErrorRate',
    severity: 'warning',
    summary: 'Error rate > 2% for 5 minutes',
    description:
      'Over 2 % of responses to shoppers have been server errors for 5 minutes (probes left out; 503 refusals counted): some shoppers see failed pages, checkouts or payments.',
    expr: `${ERROR_RATIO('5m')} > 0.02`,
    forSeconds: 300,
    action: 'investigate',
  },
  {
    name: 'ElevatedResponseTimeP95',
    severity: 'warning',
    summary: 'Response time P95 > 1s for 5 minutes',
    description:
      'One shopper request in twenty has taken over 1 s for 5 minutes (probes and event streams left out), twice the 500 ms target: pages feel slow.',
    expr: `${LATENCY_QUANTILE(0.95, '5m')} > 1`,
    forSeconds: 300,
    action: 'monitor',
    cloudwatch: { ...ALB_RESPONSE_TIME, threshold: 1, periodSeconds: 60, evaluationPeriods: 5 },
  },
  {
    name: 'ElevatedQueueDepth',
    severity: 'warning',
    summary: 'Queue depth > 1000',
    description:
      'Over 1000 runnable jobs wait in the {{ $labels.queue }} queue: confirmation emails and other follow-ups are delayed. Checkout itself is not slowed.',
    expr: `${QUEUE_DEPTH} > 1000`,
    forSeconds: 0,
    action: 'monitor',
  },
  {
    name: 'HighResponseTimeP99',
    severity: 'warning',
    summary: 'Response time P99 > 1000ms for 5 minutes',
    description:
      'One shopper request in a hundred has taken over 1 s for 5 minutes (probes and event streams left out): the slowest shoppers wait noticeably, an early sign of saturation.',
    expr: `${LATENCY_QUANTILE(0.99, '5m')} > 1`,
    forSeconds: 300,
    action: 'monitor',
    source: 'critical-metrics',
  },
  {
    name: 'CheckoutResponseTimeP95',
    severity: 'warning',
    summary: 'Checkout response time P95 > 500ms for 5 minutes',
    description:
      "One checkout request in twenty (placing or paying an order) has taken over 500 ms for 5 minutes, the seed's p95 target: buyers wait at the step that takes their money, while fast catalog reads keep the cluster-wide figures calm.",
    expr: `${CHECKOUT_LATENCY_QUANTILE(0.95, '5m')} > 0.5 and on () ${CHECKOUT_BUSY('5m')}`,
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    // The seed's critical latency line (p95 > 2 s for 2 minutes, CRITICAL in ALERT_THRESHOLDS) on checkout alone: four
    // times its p95 target, where the cluster-wide rule stays quiet under a sale's catalog reads. 2 s is a bucket boundary.
    name: 'CheckoutResponseTimeP95Critical',
    severity: 'critical',
    summary: 'Checkout response time P95 > 2s for 2 minutes',
    description:
      'One checkout request in twenty (placing or paying an order) has taken over 2 s for 2 minutes, four times the p95 target: buyers retry and abandon at the step that takes their money, and clients and load balancers start timing out.',
    expr: `${CHECKOUT_LATENCY_QUANTILE(0.95, '1m')} > 2 and on () ${CHECKOUT_BUSY('1m')}`,
    forSeconds: 120,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'CheckoutResponseTimeP99',
    severity: 'warning',
    summary: 'Checkout response time P99 > 1000ms for 5 minutes',
    description:
      "One checkout request in a hundred (placing or paying an order) has taken over 1 s for 5 minutes, the seed's p99 target: the slowest buyers retry or abandon at checkout (a locked hot product, a slow PostgreSQL).",
    expr: `${CHECKOUT_LATENCY_QUANTILE(0.99, '5m')} > 1 and on () ${CHECKOUT_BUSY('5m')}`,
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'HighDiskUsage',
    severity: 'warning',
    summary: 'Disk usage > 85% for 5 minutes',
    description:
      'The filesystem holding DATA_DIR on {{ $labels.instance_id }} is over 85 % full: once full, what the instance writes there fails (emails saved as .eml files when SMTP_URL is unset, the local PostgreSQL and Redis of salescale up).',
    expr: 'max by (instance_id) (1 - data_dir_filesystem_available_bytes / data_dir_filesystem_size_bytes) > 0.85',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'SlowDatabaseQueries',
    severity: 'warning',
    summary: 'DB query time > 100ms average for 5 minutes',
    description:
      'PostgreSQL statements take over 100 ms on average: every request that touches the database is slower, and connections stay checked out longer until the pools run out (503 DATABASE_BUSY).',
    expr: 'sum(rate(db_query_duration_seconds_sum[5m])) / sum(rate(db_query_duration_seconds_count[5m])) > 0.1',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'FrequentSlowQueries',
    severity: 'warning',
    summary: 'DB slow queries > 5/min for 5 minutes',
    description:
      'More than 5 statements a minute take at least DB_SLOW_QUERY_MS: the requests that run them are slow. Each one is logged as a slow query with its SQL.',
    expr: 'sum(rate(db_slow_queries_total[5m])) * 60 > 5',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'SlowJobProcessing',
    severity: 'warning',
    summary: 'Queue processing time > 5000ms average for 5 minutes',
    description:
      'Jobs of the {{ $labels.queue }} queue take over 5 s on average: each worker gets through fewer, so the backlog and the delay of emails and follow-ups grow.',
    expr: 'sum by (queue) (rate(queue_job_duration_seconds_sum[5m])) / sum by (queue) (rate(queue_job_duration_seconds_count[5m])) > 5',
    forSeconds: 300,
    action: 'monitor',
    source: 'critical-metrics',
  },
  {
    name: 'HighJobFailureRate',
    severity: 'warning',
    summary: 'Failed jobs > 1% for 5 minutes',
    description:
      'Over 1 % of the jobs finished on the {{ $labels.queue }} queue failed for good (attempts exhausted or unrecoverable; an attempt retried is not a failed job): each is a dead letter, not done until someone retries it (a confirmation email not sent, a stock figure not synced).',
    expr: 'sum by (queue) (rate(queue_jobs_processed_total{status="failed"}[5m])) / sum by (queue) (rate(queue_jobs_processed_total{status=~"completed|failed"}[5m])) > 0.01',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'HighCheckoutRate',
    severity: 'warning',
    summary: 'Checkout rate > 50 per 5 minutes for 2 periods',
    description:
      'More than 50 orders per 5 minutes, for 10 minutes: demand is up and capacity should follow before latency does. No shopper impact by itself.',
    expr: 'sum(increase(salescale_orders_placed_total[5m])) > 50',
    forSeconds: 300,
    action: 'scale_up',
    source: 'cloudwatch-alarms',
    cloudwatch: {
      namespace: CLOUDWATCH_NAMESPACE,
      metricName: 'CheckoutRate',
      statistic: 'Sum',
      threshold: 50,
      comparison: 'GreaterThanThreshold',
      periodSeconds: 300,
      evaluationPeriods: 2,
      note: "orders placed, from Salescale's EMF log lines (dimension Role)",
    },
  },

  // The waiting room (src/modules/waiting-room)
  {
    name: 'WaitingRoomLongWait',
    severity: 'warning',
    summary: 'Waiting-room wait p95 > 10 minutes over 10 minutes, for 5 minutes',
    description:
      'Visitors admitted from the waiting room of sale event {{ $labels.sale_event }} waited over 10 minutes (p95) once the line started moving for them (from joining, or from the start for the pre-queue): shoppers give up in line.',
    expr: 'histogram_quantile(0.95, sum by (le, sale_event) (rate(salescale_waiting_room_wait_seconds_bucket[10m]))) > 600',
    forSeconds: 300,
    action: 'scale_up',
    source: 'waiting-room',
  },
  {
    name: 'WaitingRoomAdmissionStalled',
    severity: 'critical',
    summary: 'Waiting room not admitting for 2 minutes while visitors wait and stock is left',
    description:
      'Nobody has been admitted from the waiting room of sale event {{ $labels.sale_event }} for 2 minutes although visitors wait and stock is left: the line has stopped, and the sale sells only to visitors admitted before.',
    expr:
      'max by (sale_event) (salescale_waiting_room_queue_length) > 0 and on (sale_event) max by (sale_event) (salescale_waiting_room_admission_rate) > 0 and on (sale_event) max by (sale_event) (salescale_waiting_room_sold_out) == 0 and on (sale_event) (sum by (sale_event) (increase(salescale_waiting_room_admitted_total[2m])) or max by (sale_event) (salescale_waiting_room_queue_length) * 0) == 0',
    forSeconds: 120,
    action: 'investigate',
    source: 'waiting-room',
  },

  // Payments (src/modules/payments, src/modules/orders)
  {
    name: 'PaymentCapturesStalled',
    severity: 'critical',
    summary: 'No payment captured for 15 minutes while orders are placed and reservations wait, for 5 minutes',
    description:
      'Orders are placed but no payment has been captured for 15 minutes: the shop takes no money, and reservations expire and go back on sale while their buyers believe they paid or cannot pay.',
    expr:
      'max(salescale_reservations_held) >= 5 and on () sum(increase(salescale_orders_placed_total[15m])) >= 10 and on () (sum(increase(salescale_payment_provider_calls_total{action="capture",outcome="succeeded"}[15m])) or on () vector(0)) == 0',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentFailureRatioHigh',
    severity: 'warning',
    summary: 'Declined payments > 30% of payment attempts over 10 minutes (at least 20 attempts), for 5 minutes',
    description:
      'Over 30 % of payment attempts with {{ $labels.provider }} are declined: those buyers cannot complete their orders, and their reservations expire.',
    expr:
      'sum by (provider) (increase(salescale_payments_total{outcome="declined"}[10m])) / sum by (provider) (increase(salescale_payments_total[10m])) > 0.3 and sum by (provider) (increase(salescale_payments_total[10m])) >= 20',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentWebhookSignatureFailures',
    severity: 'warning',
    summary: 'Payment webhooks refused for a bad signature > 5 in 5 minutes, for 5 minutes',
    description:
      'Webhooks from {{ $labels.provider }} are refused (400 WEBHOOK_SIGNATURE_INVALID): payments that complete by webhook are not applied, so paid orders stay unpaid and may expire while the provider retries.',
    expr: 'sum by (provider) (increase(salescale_payment_webhooks_total{outcome="signature_invalid"}[5m])) > 5',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentWebhooksFailing',
    severity: 'critical',
    summary: 'Signed payment webhooks not applied (malformed or failing) > 5 in 5 minutes, for 5 minutes',
    description:
      'Webhooks {{ $labels.provider }} signed are not applied: refused as malformed (400, e.g. an API version the shop cannot read) or failing (5xx, e.g. PostgreSQL down). Payments that complete by webhook stay unapplied: paid orders stay unpaid and expire while their buyers paid.',
    expr: 'sum by (provider) (increase(salescale_payment_webhooks_total{outcome=~"malformed|failed"}[5m])) > 5',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentProviderCallsFailing',
    severity: 'warning',
    summary: 'Capture, void, refund or pay (create_intent) calls to the payment provider failing for 5 minutes',
    description:
      '{{ $labels.payment_action }} calls to {{ $labels.provider }} fail: a failing capture leaves paid orders uncharged (the authorization lapses after days); a failing void or refund leaves a late payer charged for an order they did not get; a failing create_intent keeps buyers from paying.',
    // The metric's `action` becomes `payment_action`: the rule's own `action` label (routing) would overwrite it.
    expr: 'sum by (provider, payment_action) (label_replace(increase(salescale_payment_provider_calls_total{outcome="failed"}[5m]), "payment_action", "$1", "action", "(.*)")) > 0',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentProviderMisconfigured',
    severity: 'critical',
    summary: "The shop's payment provider configuration is wrong: the provider refused a capture, void, refund or pay call as a configuration problem in the last 15 minutes",
    description:
      "{{ $labels.provider }} refused calls as a configuration problem of ours (a wrong, revoked or expired API key, a key of another account or of the other mode, missing permissions): it refuses every payment's capture, void and refund, and every pay call, until fixed. Buyers cannot pay (503), paid orders are not charged, and money owed back to buyers is not given back (retried once fixed).",
    // One refusal is enough: it is no passing incident but our key or account, and it hits every payment (series created at 0).
    expr: 'sum by (provider) (increase(salescale_payment_provider_calls_total{outcome="misconfigured"}[15m])) > 0',
    forSeconds: 0,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'ReservationsExpiringHigh',
    severity: 'warning',
    summary: 'Reservations expired > 50% of orders placed over 30 minutes (at least 20 orders), for 10 minutes',
    description:
      'More than half of the orders placed in 30 minutes expired unpaid: their buyers did not or could not pay within PAYMENT_WINDOW_S, and the reserved units went back on sale.',
    expr:
      'sum(increase(salescale_reservations_expired_total[30m])) / sum(increase(salescale_orders_placed_total[30m])) > 0.5 and on () sum(increase(salescale_orders_placed_total[30m])) >= 20',
    forSeconds: 600,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'LatePaymentsRefunded',
    severity: 'warning',
    summary: 'Late payments voided or refunded > 3 in 15 minutes',
    description:
      '{{ $labels.provider }} payments arrived for orders that could no longer take them and were {{ $labels.payment_action }} automatically: those buyers paid and got nothing (the money goes back; a refund costs fees).',
    expr: 'sum by (provider, payment_action) (label_replace(increase(salescale_late_payments_total[15m]), "payment_action", "$1", "action", "(.*)")) > 3',
    forSeconds: 0,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentRefundFailedOrDisputed',
    severity: 'warning',
    summary: 'Money owed to a buyer not given back, or a payment problem open (refund failed, disputed, dispute lost, hold lapsed)',
    description:
      '{{ $labels.provider }}: {{ $labels.problem }}. not_given_back: a late payment or an admin refund whose void or refund call keeps failing (the workers retry it); refund_failed: a refund the provider accepted could not be paid out, the buyer has not got the money (the order still reads refunded); disputed: the money is taken back unless answered at the provider; dispute_lost: the money went back to the buyer; hold_lapsed: a paid order\'s hold was released at the provider before it was captured, the shop was not paid (the order cannot ship). Holds while the payments are owed back or the problems open.',
    // The counter catches a problem the moment it is reported (once per payment, created at zero); the gauges, read from
    // PostgreSQL by every worker, hold the alert while money is still owed back (past the worker's first retry) or a
    // refund failure, dispute or lapsed hold is still open, however long that lasts.
    expr:
      '(sum by (provider, problem) (increase(salescale_payment_problems_total[1h])) > 0) or (max by (provider, problem) (salescale_payment_problems_open) > 0) or (max by (provider, problem) (label_replace(salescale_payments_owed_back, "problem", "not_given_back", "provider", ".*")) > 0)',
    forSeconds: 0,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'StockViewNoticesFailing',
    severity: 'warning',
    summary: 'Units given back not announced to the other instances (stock view notices failing to publish) for 15 minutes',
    description:
      '{{ $labels.role }} instances keep failing to tell the web instances that units came back (a cancellation, a refund, an expired reservation, a stock change): the other instances refuse those units from memory ("only N left", sold out) for up to STOCK_VIEW_REFRESH_MS after each, so shoppers are turned away from stock that is on sale.',
    // Publishing happens only when units come back: a Redis blip of a few minutes is left to the Redis and readiness
    // alerts; failures in every 5-minute window for 15 minutes are a publish path that stays broken (series created at 0).
    expr: 'sum by (role) (increase(salescale_stock_view_notices_total{outcome="publish_failed"}[5m])) > 0',
    forSeconds: 900,
    action: 'investigate',
    source: 'inventory',
  },

  // INFO
  {
    name: 'ScaleUpEvent',
    severity: 'info',
    summary: 'Scale up event',
    description:
      'More {{ $labels.role }} instances are live than 5 minutes ago (fires for 5 minutes after the change). Informational.',
    expr: 'max by (role) (salescale_live_instances) > max by (role) (salescale_live_instances offset 5m)',
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'ScaleDownEvent',
    severity: 'info',
    summary: 'Scale down event',
    description:
      'Fewer {{ $labels.role }} instances are live than 5 minutes ago (fires for 5 minutes after the change). Informational.',
    expr: 'max by (role) (salescale_live_instances) < max by (role) (salescale_live_instances offset 5m)',
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'HighTrafficDetected',
    severity: 'info',
    summary: 'High traffic detected',
    description:
      'Shopper requests/s (probes left out) over the last 5 minutes are at least twice those of the hour before (and above 1 request/s). Informational: watch latency and the autoscalers.',
    expr: `${REQUEST_RATE('5m')} > 2 * ${REQUEST_RATE('1h', ' offset 5m')} and ${REQUEST_RATE('5m')} > 1`,
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'SaleEventStarted',
    severity: 'info',
    summary: 'Sale event started',
    description:
      'A sale event is live; fires for the whole sale. Informational: the sale rate limit and, for queued sales, the waiting room now apply.',
    expr: 'max(salescale_sale_event_active) > 0',
    forSeconds: 0,
    action: 'notify_team',
  },
];

/** The rules of one severity, in table order. */
export function getAlertRules(severity?: AlertSeverity, rules: readonly AlertRule[] = ALERT_RULES): AlertRule[] {
  return rules.filter((rule) => severity === undefined || rule.severity === severity);
}
