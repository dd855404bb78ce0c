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
 * - `waiting-room`: Salescale's own, for sale events queued in the waiting room (not in the seed).
 * - `payments`: Salescale's own, for checkout that takes money (reservations, payments, webhooks;
 *   not in the seed). Counters of the web role (payments, webhooks, provider calls, late payments,
 *   expiries by payment) and the worker (expiries by job and sweeper, reservations held).
 *
 * Metric names are Salescale's own (see README "Metrics, health and alerts"). Definitions used below:
 * - CPU utilization = rate(process_cpu_seconds_total) / process_cpu_limit_cores (cgroup quota, else
 *   one core: a Node.js instance saturates its event-loop thread first), averaged over a role.
 * - Memory utilization = process_resident_memory_bytes / process_memory_limit_bytes (cgroup limit,
 *   else physical memory), averaged over a role.
 * - Error rate = 5xx responses / all responses, cluster-wide.
 * - Queue depth = runnable backlog (waiting + prioritized) per queue; every instance reports the same
 *   shared numbers, so they are de-duplicated with `max` before summing the states.
 */

export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertAction = 'scale_up' | 'scale_up_workers' | 'investigate' | 'monitor' | 'log' | 'notify_team';

export type CloudWatchStatistic = 'Average' | 'Sum' | 'Maximum' | 'Minimum' | 'SampleCount';
export type CloudWatchComparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

/** Where a rule comes from in the seed strategy. */
export type AlertSource = 'alert-thresholds' | 'critical-metrics' | 'cloudwatch-alarms' | 'waiting-room' | 'payments';

export interface CloudWatchAlarmSpec {
  namespace: string;
  metricName: string;
  /** Used when `extendedStatistic` is not set. */
  statistic: CloudWatchStatistic;
  /** A percentile statistic (e.g. `p95`); when set, alarms use it instead of `statistic`. */
  extendedStatistic?: string;
  threshold: number;
  comparison: CloudWatchComparison;
  periodSeconds: number;
  evaluationPeriods: number;
  /** What the template must add (dimensions) or how the figure differs from the Prometheus rule. */
  note?: string;
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
  /** A longer explanation for the on-call engineer (Prometheus `description` annotation). */
  description?: string;
}

/** Namespace of Salescale's Embedded Metric Format lines (CLOUDWATCH_EMF_NAMESPACE in deployments). */
export const CLOUDWATCH_NAMESPACE = 'Salescale';

const CPU_UTILIZATION = 'avg by (role) (rate(process_cpu_seconds_total[1m]) / process_cpu_limit_cores)';
const MEMORY_UTILIZATION = 'avg by (role) (process_resident_memory_bytes / process_memory_limit_bytes)';
const ERROR_RATIO = (window: string) =>
  `sum(rate(http_request_duration_seconds_count{status_code=~"5.."}[${window}])) / sum(rate(http_request_duration_seconds_count[${window}]))`;
const LATENCY_QUANTILE = (q: number, window: string) => `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket[${window}])))`;
const DB_CONNECTIONS_IN_USE_RATIO =
  'sum by (role, pool) (db_pool_connections{state="total"} - ignoring(state) db_pool_connections{state="idle"}) / sum by (role, pool) (db_pool_connections{state="max"})';
const QUEUE_DEPTH = 'sum by (queue) (max by (queue, state) (queue_jobs{state=~"waiting|prioritized"}))';
const REQUEST_RATE = (window: string, offset = '') => `sum(rate(http_request_duration_seconds_count[${window}]${offset}))`;

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
    expr: `${CPU_UTILIZATION} > 0.9`,
    forSeconds: 120,
    action: 'scale_up',
    cloudwatch: { ...EC2_CPU, threshold: 90, periodSeconds: 60, evaluationPeriods: 2 },
  },
  {
    name: 'HighMemoryUsage',
    severity: 'critical',
    summary: 'Memory > 85% for 2 minutes',
    expr: `${MEMORY_UTILIZATION} > 0.85`,
    forSeconds: 120,
    action: 'scale_up',
  },
  {
    name: 'HighErrorRate',
    severity: 'critical',
    summary: 'Error rate > 5% for 1 minute',
    expr: `${ERROR_RATIO('1m')} > 0.05`,
    forSeconds: 60,
    action: 'investigate',
  },
  {
    name: 'HighResponseTimeP95',
    severity: 'critical',
    summary: 'Response time P95 > 2s for 2 minutes',
    expr: `${LATENCY_QUANTILE(0.95, '1m')} > 2`,
    forSeconds: 120,
    action: 'scale_up',
    cloudwatch: { ...ALB_RESPONSE_TIME, threshold: 2, periodSeconds: 60, evaluationPeriods: 2 },
  },
  {
    name: 'HighDbConnections',
    severity: 'critical',
    summary: 'DB connections > 80% for 1 minute',
    description: 'Connections in use (checked out of the pool) over the pool ceiling, per role and pool.',
    expr: `${DB_CONNECTIONS_IN_USE_RATIO} > 0.8`,
    forSeconds: 60,
    action: 'scale_up',
    cloudwatch: {
      namespace: CLOUDWATCH_NAMESPACE,
      metricName: 'DatabaseConnections',
      statistic: 'Average',
      threshold: 150,
      comparison: 'GreaterThanThreshold',
      periodSeconds: 300,
      evaluationPeriods: 2,
      note: "the seed's HighDBConnections alarm: connections each instance holds open, from Salescale's EMF log lines (dimension Role)",
    },
  },
  {
    name: 'HighQueueDepth',
    severity: 'critical',
    summary: 'Queue depth > 5000',
    expr: `${QUEUE_DEPTH} > 5000`,
    forSeconds: 0,
    action: 'scale_up_workers',
  },

  // WARNING
  {
    name: 'ElevatedCpuUsage',
    severity: 'warning',
    summary: 'CPU > 70% for 5 minutes',
    expr: `${CPU_UTILIZATION} > 0.7`,
    forSeconds: 300,
    action: 'monitor',
    cloudwatch: { ...EC2_CPU, threshold: 70, periodSeconds: 60, evaluationPeriods: 5 },
  },
  {
    name: 'ElevatedMemoryUsage',
    severity: 'warning',
    summary: 'Memory > 70% for 5 minutes',
    expr: `${MEMORY_UTILIZATION} > 0.7`,
    forSeconds: 300,
    action: 'monitor',
  },
  {
    name: 'ElevatedErrorRate',
    severity: 'warning',
    summary: 'Error rate > 2% for 5 minutes',
    expr: `${ERROR_RATIO('5m')} > 0.02`,
    forSeconds: 300,
    action: 'investigate',
  },
  {
    name: 'ElevatedResponseTimeP95',
    severity: 'warning',
    summary: 'Response time P95 > 1s for 5 minutes',
    expr: `${LATENCY_QUANTILE(0.95, '5m')} > 1`,
    forSeconds: 300,
    action: 'monitor',
    cloudwatch: { ...ALB_RESPONSE_TIME, threshold: 1, periodSeconds: 60, evaluationPeriods: 5 },
  },
  {
    name: 'ElevatedQueueDepth',
    severity: 'warning',
    summary: 'Queue depth > 1000',
    expr: `${QUEUE_DEPTH} > 1000`,
    forSeconds: 0,
    action: 'monitor',
  },
  {
    name: 'HighResponseTimeP99',
    severity: 'warning',
    summary: 'Response time P99 > 1000ms for 5 minutes',
    expr: `${LATENCY_QUANTILE(0.99, '5m')} > 1`,
    forSeconds: 300,
    action: 'monitor',
    source: 'critical-metrics',
  },
  {
    name: 'HighDiskUsage',
    severity: 'warning',
    summary: 'Disk usage > 85% for 5 minutes',
    description: 'Filesystem holding DATA_DIR, on instances that have one.',
    expr: 'max by (instance_id) (1 - data_dir_filesystem_available_bytes / data_dir_filesystem_size_bytes) > 0.85',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'SlowDatabaseQueries',
    severity: 'warning',
    summary: 'DB query time > 100ms average for 5 minutes',
    expr: 'sum(rate(db_query_duration_seconds_sum[5m])) / sum(rate(db_query_duration_seconds_count[5m])) > 0.1',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'FrequentSlowQueries',
    severity: 'warning',
    summary: 'DB slow queries > 5/min for 5 minutes',
    expr: 'sum(rate(db_slow_queries_total[5m])) * 60 > 5',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'SlowJobProcessing',
    severity: 'warning',
    summary: 'Queue processing time > 5000ms average for 5 minutes',
    expr: 'sum by (queue) (rate(queue_job_duration_seconds_sum[5m])) / sum by (queue) (rate(queue_job_duration_seconds_count[5m])) > 5',
    forSeconds: 300,
    action: 'monitor',
    source: 'critical-metrics',
  },
  {
    name: 'HighJobFailureRate',
    severity: 'warning',
    summary: 'Failed jobs > 1% for 5 minutes',
    expr: 'sum by (queue) (rate(queue_jobs_processed_total{status="failed"}[5m])) / sum by (queue) (rate(queue_jobs_processed_total[5m])) > 0.01',
    forSeconds: 300,
    action: 'investigate',
    source: 'critical-metrics',
  },
  {
    name: 'HighCheckoutRate',
    severity: 'warning',
    summary: 'Checkout rate > 50 per 5 minutes for 2 periods',
    description: "The seed's HighCheckoutRate CloudWatch alarm: orders placed cluster-wide.",
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
      'Visitors of a queued sale wait long for admission. With a derived rate, more web instances raise it (live instances × capacity); with a configured rate, consider raising waitingRoom.admissionPerSecond.',
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
      'A live queued sale has visitors in line and units in the stock gate, yet no instance admitted anyone for 2 minutes: check Redis and the web instances’ logs (waiting room: admission step failed).',
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
      'Buyers reserve (at least 10 orders placed and 5 reservations held) but no capture succeeded for 15 minutes: the provider is failing captures (salescale_payment_provider_calls_total{outcome="failed"}), webhooks do not arrive (Stripe endpoint or STRIPE_WEBHOOK_SECRET), or the pay route fails. Reserved units go back on sale at expiry, but nothing is sold.',
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
      "Buyers' payments are declined at an unusual rate, per provider: a provider incident or fraud rule, a broken payment page, or card testing (many small declined attempts from few accounts). Check the decline codes in the provider's dashboard and the logs.",
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
      "Provider webhooks fail verification (400 WEBHOOK_SIGNATURE_INVALID): a webhook secret rotated at the provider but not deployed (STRIPE_WEBHOOK_SECRET), a proxy that alters request bodies, or forged deliveries. While it lasts, payments that complete by webhook are not applied; the provider retries for days.",
    expr: 'sum by (provider) (increase(salescale_payment_webhooks_total{outcome="signature_invalid"}[5m])) > 5',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'PaymentProviderCallsFailing',
    severity: 'warning',
    summary: 'Capture, void or refund calls to the payment provider failing for 5 minutes',
    description:
      'Calls after a payment decision fail at the provider, per provider and `payment_action` (capture, void, refund): paid orders stay uncaptured (an authorization lapses after days), late payments are not given back. The webhook answers 503 so the provider redelivers, and the same keyed call is retried; check the provider status and credentials.',
    // The metric's `action` becomes `payment_action`: the rule's own `action` label (routing) would overwrite it.
    expr: 'sum by (provider, payment_action) (label_replace(increase(salescale_payment_provider_calls_total{outcome="failed"}[5m]), "payment_action", "$1", "action", "(.*)")) > 0',
    forSeconds: 300,
    action: 'investigate',
    source: 'payments',
  },
  {
    name: 'ReservationsExpiringHigh',
    severity: 'warning',
    summary: 'Reservations expired > 50% of orders placed over 30 minutes (at least 20 orders), for 10 minutes',
    description:
      'Most reservations are not paid within PAYMENT_WINDOW_S and their units go back on sale: a broken payment page, a window too short for the payment flow (3-D Secure), or bots reserving stock without paying (check the per-sale caps and the waiting room).',
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
      'Payments arrived for orders that could no longer take them (expired, cancelled or already paid) and were given back automatically, per provider and `payment_action` (`refunded` costs fees, `voided` does not). A few happen at the end of a window; more mean buyers pay after PAYMENT_WINDOW_S (too short?), the expiry runs early, or a second payment path double-charges.',
    expr: 'sum by (provider, payment_action) (label_replace(increase(salescale_late_payments_total[15m]), "payment_action", "$1", "action", "(.*)")) > 3',
    forSeconds: 0,
    action: 'investigate',
    source: 'payments',
  },

  // INFO
  {
    name: 'ScaleUpEvent',
    severity: 'info',
    summary: 'Scale up event',
    description: 'More live instances than 5 minutes ago (fires for 5 minutes after the change).',
    expr: 'max by (role) (salescale_live_instances) > max by (role) (salescale_live_instances offset 5m)',
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'ScaleDownEvent',
    severity: 'info',
    summary: 'Scale down event',
    description: 'Fewer live instances than 5 minutes ago (fires for 5 minutes after the change).',
    expr: 'max by (role) (salescale_live_instances) < max by (role) (salescale_live_instances offset 5m)',
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'HighTrafficDetected',
    severity: 'info',
    summary: 'High traffic detected',
    description: 'Requests/s over the last 5 minutes at least twice the hour before (and above 1 request/s).',
    expr: `${REQUEST_RATE('5m')} > 2 * ${REQUEST_RATE('1h', ' offset 5m')} and ${REQUEST_RATE('5m')} > 1`,
    forSeconds: 0,
    action: 'log',
  },
  {
    name: 'SaleEventStarted',
    severity: 'info',
    summary: 'Sale event started',
    description: 'A sale event is live (salescale_sale_event_active); fires for the duration of the sale.',
    expr: 'max(salescale_sale_event_active) > 0',
    forSeconds: 0,
    action: 'notify_team',
  },
];

/** The rules of one severity, in table order. */
export function getAlertRules(severity?: AlertSeverity, rules: readonly AlertRule[] = ALERT_RULES): AlertRule[] {
  return rules.filter((rule) => severity === undefined || rule.severity === severity);
}
