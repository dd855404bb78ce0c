/**
 * Synthetic series for each alert rule, from which `renderPromtoolTests` builds the
 * `promtool test rules` file (deploy/prometheus/alert-rules.test.yml). Series are sampled once a
 * minute; `startMinute` is when the synthetic condition begins (before it, the rule's condition is
 * false); `windowMinutes` is the longest range the expression looks back over (its condition may
 * take that long to become true). Each rule is then checked twice:
 * - not firing at `startMinute + for − 1m` (the condition cannot have held for its duration yet), and
 *   for rules without a duration, not firing at `startMinute − 1m`;
 * - firing, with its labels and annotations, at `startMinute + windowMinutes + for`;
 * - and, for each `quiet` case, not firing at that same minute on the case's series instead: traffic the rule
 *   must leave out (probe 5xx bursts, slow scrapes, retried job attempts) however long it lasts.
 */
export interface AlertFixture {
  startMinute: number;
  windowMinutes: number;
  /** promtool expanding notation: `a+bxN` = a, a+b, … (N+1 samples); `axN` = a repeated N+1 times. */
  series: Array<{ series: string; values: string }>;
  /** Labels the firing alert carries besides alertname, severity and action (from the rule's `by`). */
  labels?: Record<string, string>;
  /** Series the rule must not fire on, each named by what it shows. */
  quiet?: Array<{ name: string; series: Array<{ series: string; values: string }> }>;
}

const web = 'role="web",instance_id="web-1"';
const web2 = 'role="web",instance_id="web-2"';

/** Latency histogram of `route`: 100 requests a minute, all ≤ 0.25 s before `start`, then those of `after`. */
function latency(start: number, after: { le: string; fast: number }[], route: string): AlertFixture['series'] {
  return after.map(({ le, fast }) => ({
    series: `http_request_duration_seconds_bucket{route="${route}",method="GET",status_code="200",le="${le}",${web}}`,
    values: `0+100x${start - 1} ${100 * start}+${fast}x40`,
  }));
}
/** From `start`, 96 of `route`'s 100 requests a minute take between 2 s and 5 s. */
const slowHistogram = (start: number, route = '/api/v1/products') =>
  latency(
    start,
    [
      { le: '0.25', fast: 4 },
      { le: '0.5', fast: 4 },
      { le: '1', fast: 4 },
      { le: '2', fast: 4 },
      { le: '5', fast: 100 },
      { le: '+Inf', fast: 100 },
    ],
    route,
  );
/** Fast shopper traffic, while `/metrics` scrapes turn slow from `start` (a busy registry): no shopper waits. */
const slowScrapesOnly = (start: number) => [
  ...latency(start, ['0.25', '0.5', '1', '2', '5', '+Inf'].map((le) => ({ le, fast: 100 })), '/api/v1/products'),
  ...slowHistogram(start, '/metrics'),
];

const cpu = (start: number, coresAfter: number) => [
  { series: `process_cpu_seconds_total{${web}}`, values: `0+30x${start - 1} ${30 * (start - 1) + 60 * coresAfter}+${60 * coresAfter}x30` },
  { series: `process_cpu_limit_cores{${web}}`, values: '1x60' },
];
const memory = (start: number, ratioAfter: number) => [
  { series: `process_resident_memory_bytes{${web}}`, values: `500000000x${start - 1} ${ratioAfter * 1e9}x30` },
  { series: `process_memory_limit_bytes{${web}}`, values: '1000000000x60' },
];
/** 100 good shopper requests a minute, and from `start` `errorsPerMinute` 5xx replies of `failing` (`route`, `method`, `status_code`). */
const errors = (start: number, errorsPerMinute: number, failing = 'route="/api/v1/orders",method="POST",status_code="500"') => [
  { series: `http_request_duration_seconds_count{route="/api/v1/products",method="GET",status_code="200",${web}}`, values: '0+100x60' },
  { series: `http_request_duration_seconds_count{${failing},${web}}`, values: `0x${start - 1} ${errorsPerMinute}+${errorsPerMinute}x40` },
];
/** `/ready` answering 503 while an instance drains or sheds: for the load balancer, not a shopper's error. */
const READY_503 = 'route="/ready",method="GET",status_code="503"';
/** A shopper's GET refused by load shedding (503 OVERLOADED): shoppers see it, so it counts. */
const SHED_503 = 'route="/api/v1/products",method="GET",status_code="503"';
/** Both web instances report the same shared queue figures: a rule that double-counted them would fire early. */
const queue = (start: number, waitingBefore: number, waitingAfter: number, prioritizedAfter: number) =>
  [web, web2].flatMap((instance) => [
    { series: `queue_jobs{queue="email",state="waiting",${instance}}`, values: `${waitingBefore}x${start - 1} ${waitingAfter}x30` },
    { series: `queue_jobs{queue="email",state="prioritized",${instance}}`, values: `0x${start - 1} ${prioritizedAfter}x30` },
    { series: `queue_jobs{queue="email",state="delayed",${instance}}`, values: '9000x60' },
  ]);
const liveInstances = (before: number, after: number) => [{ series: 'salescale_live_instances{role="web",instance_id="web-1"}', values: `${before}x9 ${after}x20` }];

export const ALERT_FIXTURES: Record<string, AlertFixture> = {
  HighCpuUsage: { startMinute: 4, windowMinutes: 1, series: cpu(4, 0.95), labels: { role: 'web' } },
  HighMemoryUsage: { startMinute: 4, windowMinutes: 0, series: memory(4, 0.9), labels: { role: 'web' } },
  HighErrorRate: { startMinute: 4, windowMinutes: 1, series: errors(4, 10), quiet: [{ name: 'a burst of /ready 503s only', series: errors(4, 50, READY_503) }] },
  HighResponseTimeP95: { startMinute: 4, windowMinutes: 1, series: slowHistogram(4), quiet: [{ name: 'slow /metrics scrapes only', series: slowScrapesOnly(4) }] },
  HighDbConnections: {
    startMinute: 4,
    windowMinutes: 0,
    series: [
      { series: `db_pool_connections{pool="primary",state="total",${web}}`, values: '2x3 10x20' },
      { series: `db_pool_connections{pool="primary",state="idle",${web}}`, values: '2x3 1x20' },
      { series: `db_pool_connections{pool="primary",state="waiting",${web}}`, values: '0x3 7x20' },
      { series: `db_pool_connections{pool="primary",state="max",${web}}`, values: '10x23' },
    ],
    labels: { role: 'web', pool: 'primary' },
  },
  HighQueueDepth: { startMinute: 4, windowMinutes: 0, series: queue(4, 4000, 4000, 2000), labels: { queue: 'email' } },

  ElevatedCpuUsage: { startMinute: 4, windowMinutes: 1, series: cpu(4, 0.75), labels: { role: 'web' } },
  ElevatedMemoryUsage: { startMinute: 4, windowMinutes: 0, series: memory(4, 0.75), labels: { role: 'web' } },
  ElevatedErrorRate: {
    startMinute: 10,
    windowMinutes: 5,
    series: errors(10, 4, SHED_503),
    quiet: [{ name: 'a burst of /ready 503s only', series: errors(10, 20, READY_503) }],
  },
  ElevatedResponseTimeP95: { startMinute: 10, windowMinutes: 5, series: slowHistogram(10), quiet: [{ name: 'slow /metrics scrapes only', series: slowScrapesOnly(10) }] },
  ElevatedQueueDepth: { startMinute: 4, windowMinutes: 0, series: queue(4, 800, 1200, 0), labels: { queue: 'email' } },
  HighResponseTimeP99: { startMinute: 10, windowMinutes: 5, series: slowHistogram(10), quiet: [{ name: 'slow /metrics scrapes only', series: slowScrapesOnly(10) }] },
  HighDiskUsage: {
    startMinute: 4,
    windowMinutes: 0,
    series: [
      { series: `data_dir_filesystem_size_bytes{path=".salescale",${web}}`, values: '1000000x30' },
      { series: `data_dir_filesystem_available_bytes{path=".salescale",${web}}`, values: '500000x3 100000x20' },
    ],
    labels: { instance_id: 'web-1' },
  },
  SlowDatabaseQueries: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: `db_query_duration_seconds_sum{pool="primary",operation="select",${web}}`, values: '0+1x9 39+30x30' },
      { series: `db_query_duration_seconds_count{pool="primary",operation="select",${web}}`, values: '0+100x40' },
    ],
  },
  FrequentSlowQueries: {
    startMinute: 10,
    windowMinutes: 5,
    series: [{ series: `db_slow_queries_total{pool="primary",operation="select",${web}}`, values: '0x9 10+10x30' }],
  },
  SlowJobProcessing: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: 'queue_job_duration_seconds_sum{queue="email",name="order-confirmation",role="worker",instance_id="worker-1"}', values: '0+1x9 19+10x30' },
      { series: 'queue_job_duration_seconds_count{queue="email",name="order-confirmation",role="worker",instance_id="worker-1"}', values: '0+1x40' },
    ],
    labels: { queue: 'email' },
  },
  HighJobFailureRate: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: 'queue_jobs_processed_total{queue="email",name="order-confirmation",status="completed",role="worker",instance_id="worker-1"}', values: '0+100x40' },
      { series: 'queue_jobs_processed_total{queue="email",name="order-confirmation",status="failed",role="worker",instance_id="worker-1"}', values: '0x9 5+5x30' },
    ],
    labels: { queue: 'email' },
    // A blip: half the attempts fail and are retried, and every job completes in the end.
    quiet: [
      {
        name: 'retried attempts whose jobs complete',
        series: [
          { series: 'queue_jobs_processed_total{queue="email",name="order-confirmation",status="completed",role="worker",instance_id="worker-1"}', values: '0+100x40' },
          { series: 'queue_jobs_processed_total{queue="email",name="order-confirmation",status="retried",role="worker",instance_id="worker-1"}', values: '0x9 50+50x30' },
          { series: 'queue_jobs_processed_total{queue="email",name="order-confirmation",status="failed",role="worker",instance_id="worker-1"}', values: '0x40' },
        ],
      },
    ],
  },
  HighCheckoutRate: {
    startMinute: 10,
    windowMinutes: 5,
    series: [{ series: `salescale_orders_placed_total{${web}}`, values: '0+1x9 29+20x30' }],
  },

  WaitingRoomLongWait: {
    startMinute: 10,
    windowMinutes: 10,
    // 10 admissions a minute, waits under a minute before the start, then between 10 and 20 minutes.
    series: [
      ...['60', '600'].map((le) => ({ series: `salescale_waiting_room_wait_seconds_bucket{sale_event="1",le="${le}",${web}}`, values: '0+10x9 90x40' })),
      ...['1200', '+Inf'].map((le) => ({ series: `salescale_waiting_room_wait_seconds_bucket{sale_event="1",le="${le}",${web}}`, values: '0+10x50' })),
    ],
    labels: { sale_event: '1' },
  },
  WaitingRoomAdmissionStalled: {
    startMinute: 10,
    windowMinutes: 2,
    // Two instances report the same line; admissions stop at minute 10 (on both).
    series: [web, web2].flatMap((instance) => [
      { series: `salescale_waiting_room_queue_length{sale_event="1",${instance}}`, values: '500x30' },
      { series: `salescale_waiting_room_admission_rate{sale_event="1",${instance}}`, values: '100x30' },
      { series: `salescale_waiting_room_sold_out{sale_event="1",${instance}}`, values: '0x30' },
      { series: `salescale_waiting_room_admitted_total{sale_event="1",${instance}}`, values: '0+3000x9 27000x20' },
    ]),
    labels: { sale_event: '1' },
  },

  PaymentCapturesStalled: {
    startMinute: 10,
    windowMinutes: 15,
    // Orders keep coming and reservations wait; the last capture succeeds at minute 9.
    series: [
      { series: `salescale_orders_placed_total{${web}}`, values: '0+10x40' },
      { series: 'salescale_reservations_held{role="worker",instance_id="worker-1"}', values: '30x40' },
      { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="succeeded",${web}}`, values: '0+5x9 45x31' },
    ],
  },
  PaymentFailureRatioHigh: {
    startMinute: 10,
    windowMinutes: 10,
    // 10 payments a minute succeed throughout; from minute 10, 8 a minute are declined (44 %).
    series: [
      { series: `salescale_payments_total{provider="stripe",outcome="succeeded",${web}}`, values: '0+10x40' },
      { series: `salescale_payments_total{provider="stripe",outcome="declined",${web}}`, values: '0x9 8+8x30' },
    ],
    labels: { provider: 'stripe' },
  },
  PaymentWebhookSignatureFailures: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: `salescale_payment_webhooks_total{provider="stripe",outcome="processed",${web}}`, values: '0+20x30' },
      { series: `salescale_payment_webhooks_total{provider="stripe",outcome="signature_invalid",${web}}`, values: '0x9 3+3x20' },
    ],
    labels: { provider: 'stripe' },
  },
  PaymentProviderCallsFailing: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="succeeded",${web}}`, values: '0+5x9 50x20' },
      { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="failed",${web}}`, values: '0x9 1+1x20' },
    ],
    labels: { provider: 'stripe', payment_action: 'capture' },
  },
  ReservationsExpiringHigh: {
    startMinute: 20,
    windowMinutes: 30,
    // 10 orders a minute; 2 a minute expire (20 %) until minute 20, then 8 a minute (80 %).
    series: [
      { series: `salescale_orders_placed_total{${web}}`, values: '0+10x80' },
      { series: 'salescale_reservations_expired_total{via="job",role="worker",instance_id="worker-1"}', values: '0+2x19 46+8x60' },
    ],
  },
  LatePaymentsRefunded: {
    startMinute: 10,
    windowMinutes: 15,
    series: [{ series: `salescale_late_payments_total{provider="stripe",action="refunded",${web}}`, values: '0x9 2+2x30' }],
    labels: { provider: 'stripe', payment_action: 'refunded' },
  },

  ScaleUpEvent: { startMinute: 10, windowMinutes: 0, series: liveInstances(2, 4), labels: { role: 'web' } },
  ScaleDownEvent: { startMinute: 10, windowMinutes: 0, series: liveInstances(4, 2), labels: { role: 'web' } },
  HighTrafficDetected: {
    startMinute: 71,
    windowMinutes: 5,
    series: [{ series: `http_request_duration_seconds_count{route="/api/v1/products",method="GET",status_code="200",${web}}`, values: '0+120x70 9000+600x20' }],
    // Twice the instances, twice the health checks: not a surge of shoppers.
    quiet: [
      {
        name: 'probe traffic doubling only',
        series: [
          { series: `http_request_duration_seconds_count{route="/api/v1/products",method="GET",status_code="200",${web}}`, values: '0+120x90' },
          { series: `http_request_duration_seconds_count{route="/ready",method="GET",status_code="200",${web}}`, values: '0+120x70 9000+600x20' },
        ],
      },
    ],
  },
  SaleEventStarted: { startMinute: 10, windowMinutes: 0, series: [{ series: `salescale_sale_event_active{${web}}`, values: '0x9 1x10' }] },
};
