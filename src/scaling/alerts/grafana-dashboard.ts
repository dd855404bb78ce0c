/**
 * The Grafana dashboard (deploy/grafana/salescale-dashboard.json) as code, over the same metric
 * names as the alert rules: latency percentiles, error rate, throughput, DB pool and query time,
 * queue depth, checkout rate and cart abandonment, active users, degrade mode, instances, process,
 * payments, the waiting room, the stock view's notices.
 */

import { SHOPPER_ROUTES } from './alert-rules.ts';

// Grafana's variable syntax, not a template literal.
const DS = { type: 'prometheus', uid: ['$', '{datasource}'].join('') };
const RATE = '$__rate_interval';
/** Probes and scrapes are fast and frequent (they would flatter latency) and a `/ready` 503 is not a shopper's error. */
const APP_ROUTES = SHOPPER_ROUTES;

interface Target {
  expr: string;
  legend: string;
}
interface PanelSpec {
  title: string;
  unit: string;
  targets: Target[];
  /** Threshold lines (the seed strategy's targets), in the panel's unit. */
  thresholds?: number[];
  type?: 'timeseries' | 'stat' | 'state-timeline';
  description?: string;
}

const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: 'Requests',
    panels: [
      {
        title: 'Response time percentiles',
        unit: 's',
        thresholds: [0.5, 1],
        description: 'Seed targets: p95 < 500 ms, p99 < 1000 ms',
        targets: [0.5, 0.95, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${APP_ROUTES}}[${RATE}])))`,
          legend: `p${q * 100}`,
        })),
      },
      {
        title: 'Error rate (5xx)',
        unit: 'percentunit',
        thresholds: [0.01, 0.05],
        description: 'Responses to shoppers (probes left out, 503 refusals counted). Seed target: < 1 %; WARNING > 2 % for 5 min, CRITICAL > 5 % for 1 min',
        targets: [
          {
            expr: `sum(rate(http_request_duration_seconds_count{${APP_ROUTES},status_code=~"5.."}[${RATE}])) / sum(rate(http_request_duration_seconds_count{${APP_ROUTES}}[${RATE}]))`,
            legend: 'error ratio',
          },
        ],
      },
      {
        title: 'Throughput',
        unit: 'reqps',
        targets: [
          { expr: `sum(rate(http_request_duration_seconds_count{${APP_ROUTES}}[${RATE}]))`, legend: 'total' },
          { expr: `topk(8, sum by (route, method) (rate(http_request_duration_seconds_count{${APP_ROUTES}}[${RATE}])))`, legend: '{{method}} {{route}}' },
        ],
      },
      {
        title: 'Refused requests',
        unit: 'reqps',
        targets: [
          { expr: `sum by (limiter) (rate(rate_limit_rejections_total[${RATE}]))`, legend: 'rate limited: {{limiter}}' },
          { expr: `sum by (class) (rate(load_shed_total[${RATE}]))`, legend: 'shed: {{class}}' },
        ],
      },
    ],
  },
  {
    title: 'Business',
    panels: [
      {
        title: 'Checkout rate (per minute)',
        unit: 'short',
        targets: [
          { expr: 'sum(rate(salescale_orders_placed_total[5m])) * 60', legend: 'orders placed' },
          { expr: 'sum by (outcome) (rate(salescale_checkout_attempts_total[5m])) * 60', legend: 'attempts: {{outcome}}' },
        ],
      },
      {
        title: 'Carts and abandonment',
        unit: 'short',
        targets: [
          { expr: 'max(salescale_carts_active)', legend: 'active carts' },
          { expr: 'max(salescale_carts_abandoned)', legend: 'abandoned carts' },
        ],
      },
      {
        title: 'Cart abandonment',
        unit: 'percentunit',
        type: 'stat',
        targets: [{ expr: 'max(salescale_carts_abandoned) / (max(salescale_carts_abandoned) + max(salescale_carts_active))', legend: 'abandoned share' }],
      },
      {
        title: 'Active users (5 min, cluster-wide)',
        unit: 'short',
        targets: [{ expr: 'max(salescale_active_users)', legend: 'distinct sessions' }],
      },
      {
        title: 'Sale event live',
        unit: 'bool_yes_no',
        type: 'stat',
        targets: [{ expr: 'max(salescale_sale_event_active)', legend: 'sale' }],
      },
    ],
  },
  {
    title: 'Capacity',
    panels: [
      {
        title: 'Live instances',
        unit: 'short',
        targets: [
          { expr: 'max by (role) (salescale_live_instances)', legend: '{{role}} (heartbeats)' },
          { expr: 'count by (role) (process_cpu_limit_cores)', legend: '{{role}} (scraped)' },
        ],
      },
      {
        title: 'Degrade mode',
        unit: 'short',
        type: 'state-timeline',
        targets: [{ expr: 'max by (mode) (salescale_degrade_mode)', legend: '{{mode}}' }],
      },
      {
        title: 'CPU utilization',
        unit: 'percentunit',
        thresholds: [0.7, 0.9],
        targets: [{ expr: `rate(process_cpu_seconds_total[${RATE}]) / process_cpu_limit_cores`, legend: '{{instance_id}}' }],
      },
      {
        title: 'Memory utilization',
        unit: 'percentunit',
        thresholds: [0.7, 0.85],
        targets: [{ expr: 'process_resident_memory_bytes / process_memory_limit_bytes', legend: '{{instance_id}}' }],
      },
      {
        title: 'Event loop delay (p99)',
        unit: 's',
        targets: [{ expr: 'nodejs_eventloop_lag_p99_seconds', legend: '{{instance_id}}' }],
      },
      {
        title: 'Data directory disk usage',
        unit: 'percentunit',
        thresholds: [0.85],
        targets: [{ expr: '1 - data_dir_filesystem_available_bytes / data_dir_filesystem_size_bytes', legend: '{{instance_id}}' }],
      },
    ],
  },
  {
    title: 'Database',
    panels: [
      {
        title: 'DB pool connections',
        unit: 'short',
        targets: [{ expr: 'sum by (pool, state) (db_pool_connections{state=~"total|idle|waiting|max"})', legend: '{{pool}} {{state}}' }],
      },
      {
        title: 'DB query time',
        unit: 's',
        thresholds: [0.1],
        description: 'Seed target: < 100 ms average',
        targets: [
          { expr: `sum(rate(db_query_duration_seconds_sum[${RATE}])) / sum(rate(db_query_duration_seconds_count[${RATE}]))`, legend: 'average' },
          { expr: `histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket[${RATE}])))`, legend: 'p95' },
        ],
      },
      {
        title: 'Slow queries (per minute)',
        unit: 'short',
        thresholds: [5],
        targets: [{ expr: 'sum by (operation) (rate(db_slow_queries_total[5m])) * 60', legend: '{{operation}}' }],
      },
    ],
  },
  {
    title: 'Queues',
    panels: [
      {
        title: 'Queue depth (waiting + prioritized)',
        unit: 'short',
        thresholds: [1000, 5000],
        targets: [{ expr: 'sum by (queue) (max by (queue, state) (queue_jobs{state=~"waiting|prioritized"}))', legend: '{{queue}}' }],
      },
      {
        title: 'Job processing time (average)',
        unit: 's',
        thresholds: [5],
        targets: [{ expr: `sum by (queue) (rate(queue_job_duration_seconds_sum[${RATE}])) / sum by (queue) (rate(queue_job_duration_seconds_count[${RATE}]))`, legend: '{{queue}}' }],
      },
      {
        title: 'Failed jobs (share of jobs finished), retried attempts (share of attempts)',
        unit: 'percentunit',
        thresholds: [0.01],
        description: 'HighJobFailureRate fires above 1 % of jobs failed for good (dead letters); a retried attempt is not a failed job',
        targets: [
          {
            expr: `sum by (queue) (rate(queue_jobs_processed_total{status="failed"}[${RATE}])) / sum by (queue) (rate(queue_jobs_processed_total{status=~"completed|failed"}[${RATE}]))`,
            legend: 'failed {{queue}}',
          },
          {
            expr: `sum by (queue) (rate(queue_jobs_processed_total{status="retried"}[${RATE}])) / sum by (queue) (rate(queue_jobs_processed_total[${RATE}]))`,
            legend: 'retried {{queue}}',
          },
        ],
      },
      {
        title: 'Outbox backlog',
        unit: 'short',
        targets: [{ expr: 'max(outbox_unrelayed_rows)', legend: 'unrelayed rows' }],
      },
    ],
  },
  {
    title: 'Payments',
    panels: [
      {
        title: 'Reservations held, expired (per minute)',
        unit: 'short',
        description: 'Orders waiting for payment (cluster-wide, from PostgreSQL) and reservations expired by the job, the sweeper or a late payment',
        targets: [
          { expr: 'max(salescale_reservations_held)', legend: 'held' },
          { expr: 'sum by (via) (rate(salescale_reservations_expired_total[5m])) * 60', legend: 'expired via {{via}}' },
        ],
      },
      {
        title: 'Payment success rate',
        unit: 'percentunit',
        description: 'Succeeded / (succeeded + declined); PaymentFailureRatioHigh fires above 30 % declined',
        targets: [
          {
            expr: `sum by (provider) (rate(salescale_payments_total{outcome="succeeded"}[${RATE}])) / sum by (provider) (rate(salescale_payments_total[${RATE}]))`,
            legend: '{{provider}}',
          },
        ],
      },
      {
        title: 'Time to pay (p50, p95)',
        unit: 's',
        targets: [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(salescale_order_time_to_pay_seconds_bucket[5m])))`,
          legend: `p${q * 100}`,
        })),
      },
      {
        title: 'Late payments given back, provider calls failing or refused (per minute)',
        unit: 'short',
        description: 'refused: a capture the provider refused for good because the hold was released first (nothing taken; no alert reads it)',
        targets: [
          { expr: 'sum by (provider, action) (rate(salescale_late_payments_total[5m])) * 60', legend: 'late {{action}} ({{provider}})' },
          { expr: 'sum by (provider, action, outcome) (rate(salescale_payment_provider_calls_total{outcome=~"failed|misconfigured|refused"}[5m])) * 60', legend: '{{action}} {{outcome}} ({{provider}})' },
        ],
      },
      {
        title: 'Webhooks (per minute)',
        unit: 'short',
        description: 'signature_invalid and malformed are refused with 400',
        targets: [{ expr: 'sum by (provider, outcome) (rate(salescale_payment_webhooks_total[5m])) * 60', legend: '{{outcome}} ({{provider}})' }],
      },
    ],
  },
  {
    title: 'Waiting room',
    panels: [
      {
        title: 'Visitors in line',
        unit: 'short',
        description: 'Cluster-wide; every instance reports the same figure',
        targets: [{ expr: 'max by (sale_event) (salescale_waiting_room_queue_length)', legend: 'sale {{sale_event}}' }],
      },
      {
        title: 'Admissions per second (achieved vs set)',
        unit: 'short',
        targets: [
          { expr: `sum by (sale_event) (rate(salescale_waiting_room_admitted_total[${RATE}]))`, legend: 'admitted, sale {{sale_event}}' },
          { expr: 'max by (sale_event) (salescale_waiting_room_admission_rate)', legend: 'set, sale {{sale_event}}' },
        ],
      },
      {
        title: 'Wait before admission (p50, p95)',
        unit: 's',
        thresholds: [600],
        description: 'WaitingRoomLongWait fires above 10 minutes (p95)',
        targets: [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(salescale_waiting_room_wait_seconds_bucket[${RATE}])))`,
          legend: `p${q * 100}`,
        })),
      },
      {
        title: 'Passes used, checkouts refused (per minute)',
        unit: 'short',
        targets: [
          { expr: 'sum(rate(salescale_waiting_room_passes_used_total[5m])) * 60', legend: 'passes used' },
          { expr: 'sum by (code) (rate(salescale_waiting_room_checkouts_refused_total[5m])) * 60', legend: 'refused {{code}}' },
        ],
      },
      {
        title: 'Event streams open',
        unit: 'short',
        description: 'Server-Sent-Events streams of waiting visitors, per instance: each holds a connection for the whole wait (not in the request latency figures)',
        targets: [{ expr: 'sum by (instance_id) (salescale_waiting_room_streams_open)', legend: '{{instance_id}}' }],
      },
    ],
  },
  {
    title: 'Inventory',
    panels: [
      {
        title: 'Stock view notices: units given back, announced to every web instance (per minute)',
        unit: 'short',
        description:
          'Published by the web instances and the worker, received by every web instance; StockViewNoticesFailing fires while publishes keep failing (the other instances then refuse returned units for up to STOCK_VIEW_REFRESH_MS)',
        targets: [
          { expr: 'sum by (role, outcome) (rate(salescale_stock_view_notices_total{outcome=~"published|publish_failed"}[5m])) * 60', legend: '{{outcome}} ({{role}})' },
          { expr: 'sum by (outcome) (rate(salescale_stock_view_notices_total{outcome=~"received|malformed"}[5m])) * 60', legend: '{{outcome}}' },
        ],
      },
    ],
  },
];

function panel(spec: PanelSpec, id: number, x: number, y: number) {
  const steps = [{ color: 'green', value: null as number | null }, ...(spec.thresholds ?? []).map((value, i) => ({ color: i === 0 ? 'orange' : 'red', value }))];
  return {
    id,
    type: spec.type ?? 'timeseries',
    title: spec.title,
    ...(spec.description ? { description: spec.description } : {}),
    datasource: DS,
    gridPos: { h: 8, w: 8, x, y },
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        thresholds: { mode: 'absolute', steps },
        ...(spec.thresholds && (spec.type ?? 'timeseries') === 'timeseries' ? { custom: { thresholdsStyle: { mode: 'line' } } } : {}),
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: spec.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, expr: t.expr, legendFormat: t.legend })),
  };
}

/** Grafana dashboard JSON (schemaVersion 39), importable as is; the data source is a variable. */
export function buildGrafanaDashboard(): Record<string, unknown> {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((spec, i) => {
      panels.push(panel(spec, id++, (i % 3) * 8, y + Math.floor(i / 3) * 8));
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  return {
    uid: 'salescale-overview',
    title: 'Salescale overview',
    tags: ['salescale'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} }] },
    annotations: { list: [] },
    panels,
  };
}

/** Every PromQL expression in the dashboard (tests check them against the metric names). */
export function getDashboardExpressions(): string[] {
  return ROWS.flatMap((row) => row.panels.flatMap((p) => p.targets.map((t) => t.expr)));
}
