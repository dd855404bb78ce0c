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
  /**
   * More firing cases (each branch of an `or` on its own, another label set): firing with `labels` at `firingMinute`
   * and, when `resolvedMinute` is given, no longer firing then (the condition gone: a gauge back at 0).
   */
  cases?: Array<{ name: string; series: Array<{ series: string; values: string }>; firingMinute: number; labels: Record<string, string>; resolvedMinute?: number }>;
}

const web = 'role="web",instance_id="web-1"';
const web2 = 'role="web",instance_id="web-2"';

/** The three series PaymentRefundFailedOrDisputed reads, 0 for 60 minutes unless `values` says otherwise. */
const paymentProblemSeries = (problem: string, values: { total?: string; open?: string; owed?: string }): AlertFixture['series'] => [
  { series: `salescale_payment_problems_total{provider="stripe",problem="${problem}",${web}}`, values: values.total ?? '0x90' },
  { series: `salescale_payment_problems_open{provider="stripe",problem="${problem}",role="worker",instance_id="worker-1"}`, values: values.open ?? '0x90' },
  { series: 'salescale_payments_owed_back{provider="stripe",role="worker",instance_id="worker-1"}', values: values.owed ?? '0x90' },
];

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

/**
 * Checkout latency (`POST /api/v1/orders`): `perMinute` checkouts a minute, all ≤ 0.25 s before `start`, then spread
 * over the buckets as `after` says (cumulative counts out of `perMinute` per bucket).
 */
const checkoutLatency = (start: number, perMinute: number, after: Record<string, number>): AlertFixture['series'] => {
  const values = (n: number) => `0+${perMinute}x${start - 1} ${perMinute * (start - 1) + n}+${n}x40`;
  const checkout = 'route="/api/v1/orders",method="POST",status_code="201"';
  return [
    ...Object.entries(after).map(([le, n]) => ({ series: `http_request_duration_seconds_bucket{${checkout},le="${le}",${web}}`, values: values(n) })),
    { series: `http_request_duration_seconds_count{${checkout},${web}}`, values: values(after['+Inf']!) },
  ];
};
/** From `start`, 10 of 100 checkouts a minute take 0.5–1 s (p95 ≈ 0.75 s, p99 < 1 s). */
const slowCheckoutP95 = (start: number) => checkoutLatency(start, 100, { '0.25': 80, '0.5': 90, '1': 100, '2': 100, '+Inf': 100 });
/** From `start`, 3 of 100 checkouts a minute take 1–2 s (p99 ≈ 1.7 s, p95 < 0.5 s). */
const slowCheckoutP99 = (start: number) => checkoutLatency(start, 100, { '0.25': 90, '0.5': 96, '1': 97, '2': 100, '+Inf': 100 });
/** From `start`, 10 of 100 checkouts a minute take 2–5 s (p95 ≈ 3.5 s). */
const verySlowCheckoutP95 = (start: number) => checkoutLatency(start, 100, { '0.25': 80, '0.5': 85, '1': 88, '2': 90, '5': 100, '+Inf': 100 });
/** What the checkout latency rules must leave alone. */
const checkoutQuiet = (start: number): AlertFixture['quiet'] => [
  { name: 'a quiet night (no checkout at all)', series: checkoutLatency(start, 0, { '0.25': 0, '0.5': 0, '1': 0, '2': 0, '+Inf': 0 }) },
  // One checkout a minute, every one slow: too few for a quantile to mean anything.
  { name: 'one slow checkout a minute at night', series: checkoutLatency(start, 1, { '0.25': 0, '0.5': 0, '1': 0, '2': 1, '+Inf': 1 }) },
  // Slow catalog reads (HighResponseTimeP95's business) while checkout stays fast.
  { name: 'slow catalog reads, fast checkouts', series: [...slowHistogram(start), ...checkoutLatency(start, 100, { '0.25': 100, '0.5': 100, '1': 100, '2': 100, '+Inf': 100 })] },
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
/** Values of a once-a-minute series, one per minute from 0 (for shapes the expanding notation cannot write). */
const perMinute = (minutes: number, at: (minute: number) => number) => Array.from({ length: minutes }, (_, m) => at(m)).join(' ');
/**
 * An age gauge (`metric{labels}`) as web and worker report it (the same shared figure): work moving (a few seconds
 * old) until it stops, then growing a minute a minute so that it first passes `threshold` at minute `start`.
 */
const stuckAge = (metric: string, labels: string, threshold: number, start: number) => {
  const stuckFrom = start - Math.floor(threshold / 60) - 1;
  return ['role="web",instance_id="web-1"', 'role="worker",instance_id="worker-1"'].map((instance) => ({
    series: `${metric}{${labels}${labels ? ',' : ''}${instance}}`,
    values: perMinute(60, (m) => (m < stuckFrom ? (m % 2) * 5 : (m - stuckFrom) * 60)),
  }));
};
/** The same gauge on a quiet night (nothing waits: 0) and on a busy sale that keeps moving (just under `threshold`). */
const movingAge = (metric: string, labels: string, threshold: number) => [
  { name: 'a quiet night (nothing waits)', series: [{ series: `${metric}{${labels}${labels ? ',' : ''}${web}}`, values: '0x60' }] },
  {
    name: `work that keeps moving, its oldest just under ${threshold} s at times`,
    series: [{ series: `${metric}{${labels}${labels ? ',' : ''}${web}}`, values: perMinute(60, (m) => (m % 3 === 2 ? threshold - 1 : (m % 3) * 20)) }],
  },
];
/** A stuck-queue fixture: `queue` stuck from minute `start`; quiet on a quiet night, a moving queue, another queue stuck. */
const stuckQueue = (queue: string, threshold: number, other: string): AlertFixture => ({
  startMinute: 20,
  windowMinutes: 0,
  series: [
    ...stuckAge('queue_oldest_waiting_job_age_seconds', `queue="${queue}"`, threshold, 20),
    // Far below the depth alerts: a handful of jobs wait.
    { series: `queue_jobs{queue="${queue}",state="waiting",${web}}`, values: '0x15 3+1x40' },
  ],
  labels: { queue },
  quiet: [
    ...movingAge('queue_oldest_waiting_job_age_seconds', `queue="${queue}"`, threshold),
    {
      // Delayed jobs (expire-order waiting out the payment window, deferred emails) are not waiting: their age is
      // not counted, however many wait and however long.
      name: 'thousands of delayed jobs, none runnable',
      series: [
        { series: `queue_jobs{queue="${queue}",state="delayed",${web}}`, values: '5000x60' },
        { series: `queue_oldest_waiting_job_age_seconds{queue="${queue}",${web}}`, values: '0x60' },
      ],
    },
    { name: `the ${other} queue stuck, not this one`, series: stuckAge('queue_oldest_waiting_job_age_seconds', `queue="${other}"`, 900, 20) },
  ],
});
const liveInstances = (before: number, after: number) => [{ series: 'salescale_live_instances{role="web",instance_id="web-1"}', values: `${before}x9 ${after}x20` }];

export const ALERT_FIXTURES: Record<string, AlertFixture> = {
  HighCpuUsage: { startMinute: 4, windowMinutes: 1, series: cpu(4, 0.95), labels: { role: 'web' } },
  HighMemoryUsage: { startMinute: 4, windowMinutes: 0, series: memory(4, 0.9), labels: { role: 'web', instance_id: 'web-1' } },
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
    labels: { role: 'web', pool: 'primary', instance_id: 'web-1' },
  },
  HighQueueDepth: { startMinute: 4, windowMinutes: 0, series: queue(4, 4000, 4000, 2000), labels: { queue: 'email' } },

  // Web instances die at minute 10: their series end, and the worker sees no web heartbeat.
  WebInstancesDown: {
    startMinute: 10,
    windowMinutes: 0,
    series: [
      { series: `process_cpu_seconds_total{${web}}`, values: '0+30x9 stale' },
      { series: `process_cpu_seconds_total{${web2}}`, values: '0+30x9 stale' },
      { series: 'salescale_live_instances{role="web",instance_id="worker-1"}', values: '2x9 0x20' },
    ],
    labels: { role: 'web' },
    quiet: [
      {
        name: 'one of two web instances gone',
        series: [
          { series: `process_cpu_seconds_total{${web}}`, values: '0+30x9 stale' },
          { series: `process_cpu_seconds_total{${web2}}`, values: '0+30x30' },
          { series: 'salescale_live_instances{role="web",instance_id="worker-1"}', values: '2x9 1x20' },
        ],
      },
    ],
  },
  // The only worker dies at minute 10: the web instances see no worker heartbeat, and its series end.
  WorkerInstancesDown: {
    startMinute: 10,
    windowMinutes: 0,
    series: [
      { series: 'salescale_live_instances{role="worker",instance_id="web-1"}', values: '1x9 0x20' },
      { series: 'process_cpu_seconds_total{role="worker",instance_id="worker-1"}', values: '0+10x9 stale' },
    ],
    labels: { role: 'worker' },
    quiet: [
      {
        name: 'a worker restarting while another runs',
        series: [
          { series: 'salescale_live_instances{role="worker",instance_id="web-1"}', values: '2x9 1x20' },
          { series: 'process_cpu_seconds_total{role="worker",instance_id="worker-1"}', values: '0+10x9 stale' },
          { series: 'process_cpu_seconds_total{role="worker",instance_id="worker-2"}', values: '0+10x30' },
        ],
      },
    ],
    cases: [
      {
        // Prometheus stops reading the worker at minute 10 (a METRICS_TOKEN it was not given); its heartbeat goes on.
        name: 'workers live but none scraped',
        series: [
          { series: 'salescale_live_instances{role="worker",instance_id="web-1"}', values: '1x30' },
          { series: 'process_cpu_seconds_total{role="worker",instance_id="worker-1"}', values: '0+10x9 stale' },
        ],
        firingMinute: 17,
        labels: { role: 'worker' },
      },
    ],
  },

  // From minute 10 Prometheus cannot scrape web-2 (`up` 0) while web-1 and the worker are read as before.
  SalescaleTargetDown: {
    startMinute: 10,
    windowMinutes: 0,
    series: [
      { series: 'up{job="salescale-web",instance="web-1:9464"}', values: '1x30' },
      { series: 'up{job="salescale-web",instance="web-2:9464"}', values: '1x9 0x20' },
      { series: 'up{job="salescale-worker",instance="worker:3031"}', values: '1x30' },
    ],
    labels: { job: 'salescale-web', instance: 'web-2:9464' },
    quiet: [
      {
        // Scrapes that fail for less than 5 minutes at a time: a pod starting, a slow scrape timing out now and then.
        name: 'a target failing a few scrapes at a time',
        series: [
          { series: 'up{job="salescale-pods",instance="10.1.2.3:9464"}', values: '1x9 0x3 1 0x3 1x11' },
          { series: 'up{job="salescale-pods",instance="10.1.2.4:3031"}', values: '1x30' },
        ],
      },
      {
        // Not a Salescale job: node exporter, Redis or PostgreSQL exporters have their own alerts.
        name: "another job's target down",
        series: [
          { series: 'up{job="node-exporter",instance="10.1.0.5:9100"}', values: '1x9 0x20' },
          { series: 'up{job="salescale-web",instance="web-1:9464"}', values: '1x30' },
        ],
      },
    ],
    cases: [
      {
        // Kubernetes: one pod's metrics port refused (the job the pod discovery of prometheus.kubernetes.yml names).
        name: 'one pod of salescale-pods unreachable, then back',
        series: [
          { series: 'up{job="salescale-pods",instance="10.1.2.3:9464"}', values: '1x4 0x10 1x10' },
          { series: 'up{job="salescale-pods",instance="10.1.2.4:9464"}', values: '1x25' },
        ],
        firingMinute: 10,
        labels: { job: 'salescale-pods', instance: '10.1.2.3:9464' },
        resolvedMinute: 16,
      },
    ],
  },

  // Workers alive, queues short: only the age of the oldest runnable job shows the line has stopped.
  OrderQueueStuck: stuckQueue('order', 120, 'email'),
  InventoryQueueStuck: stuckQueue('inventory', 300, 'email'),
  EmailQueueStuck: stuckQueue('email', 600, 'notifications'),
  NotificationsQueueStuck: stuckQueue('notifications', 900, 'email'),
  // The relay stops: rows committed with orders age in PostgreSQL.
  OutboxRelayStuck: {
    startMinute: 10,
    windowMinutes: 0,
    series: stuckAge('outbox_oldest_unrelayed_age_seconds', '', 60, 10),
    quiet: movingAge('outbox_oldest_unrelayed_age_seconds', '', 60),
  },
  QueueDeadLetters: {
    startMinute: 10,
    windowMinutes: 0,
    // Two email jobs dead-lettered at minute 10, reported alike by two instances.
    series: [web, web2].map((instance) => ({ series: `queue_dead_letters{queue="email",${instance}}`, values: '0x9 2x30' })),
    labels: { queue: 'email' },
    quiet: [{ name: 'dead letters retried within 5 minutes', series: [web, web2].map((instance) => ({ series: `queue_dead_letters{queue="email",${instance}}`, values: '0x9 2x3 0x30' })) }],
  },

  ElevatedCpuUsage: { startMinute: 4, windowMinutes: 1, series: cpu(4, 0.75), labels: { role: 'web' } },
  ElevatedMemoryUsage: { startMinute: 4, windowMinutes: 0, series: memory(4, 0.75), labels: { role: 'web', instance_id: 'web-1' } },
  ElevatedErrorRate: {
    startMinute: 10,
    windowMinutes: 5,
    series: errors(10, 4, SHED_503),
    quiet: [{ name: 'a burst of /ready 503s only', series: errors(10, 20, READY_503) }],
  },
  ElevatedResponseTimeP95: { startMinute: 10, windowMinutes: 5, series: slowHistogram(10), quiet: [{ name: 'slow /metrics scrapes only', series: slowScrapesOnly(10) }] },
  ElevatedQueueDepth: { startMinute: 4, windowMinutes: 0, series: queue(4, 800, 1200, 0), labels: { queue: 'email' } },
  HighResponseTimeP99: { startMinute: 10, windowMinutes: 5, series: slowHistogram(10), quiet: [{ name: 'slow /metrics scrapes only', series: slowScrapesOnly(10) }] },
  CheckoutResponseTimeP95: { startMinute: 10, windowMinutes: 5, series: slowCheckoutP95(10), quiet: [...checkoutQuiet(10)!, { name: 'a slow p99 only', series: slowCheckoutP99(10) }] },
  CheckoutResponseTimeP95Critical: {
    startMinute: 10,
    windowMinutes: 1,
    series: verySlowCheckoutP95(10),
    quiet: [...checkoutQuiet(10)!, { name: 'a slow p95 under 2 s', series: slowCheckoutP95(10) }, { name: 'a slow p99 only', series: slowCheckoutP99(10) }],
  },
  CheckoutResponseTimeP99: { startMinute: 10, windowMinutes: 5, series: slowCheckoutP99(10), quiet: [...checkoutQuiet(10)!, { name: 'a slow p95 under 1 s', series: slowCheckoutP95(10) }] },
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
      { series: 'queue_job_duration_seconds_sum{queue="email",name="send-order-confirmation",role="worker",instance_id="worker-1"}', values: '0+1x9 19+10x30' },
      { series: 'queue_job_duration_seconds_count{queue="email",name="send-order-confirmation",role="worker",instance_id="worker-1"}', values: '0+1x40' },
    ],
    labels: { queue: 'email' },
  },
  HighJobFailureRate: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: 'queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="completed",role="worker",instance_id="worker-1"}', values: '0+100x40' },
      { series: 'queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="failed",role="worker",instance_id="worker-1"}', values: '0x9 5+5x30' },
    ],
    labels: { queue: 'email' },
    // A blip: half the attempts fail and are retried, and every job completes in the end.
    quiet: [
      {
        name: 'retried attempts whose jobs complete',
        series: [
          { series: 'queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="completed",role="worker",instance_id="worker-1"}', values: '0+100x40' },
          { series: 'queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="retried",role="worker",instance_id="worker-1"}', values: '0x9 50+50x30' },
          { series: 'queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="failed",role="worker",instance_id="worker-1"}', values: '0x40' },
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
  PaymentWebhooksFailing: {
    startMinute: 10,
    windowMinutes: 5,
    series: [
      { series: `salescale_payment_webhooks_total{provider="stripe",outcome="processed",${web}}`, values: '0+20x9 200x30' },
      { series: `salescale_payment_webhooks_total{provider="stripe",outcome="malformed",${web}}`, values: '0x9 2+2x30' },
      { series: `salescale_payment_webhooks_total{provider="stripe",outcome="failed",${web}}`, values: '0x9 2+2x30' },
    ],
    labels: { provider: 'stripe' },
    // Forgeries and a deploy that forgot the secret are PaymentWebhookSignatureFailures, not this.
    quiet: [
      {
        name: 'signature failures only',
        series: [
          { series: `salescale_payment_webhooks_total{provider="stripe",outcome="processed",${web}}`, values: '0+20x40' },
          { series: `salescale_payment_webhooks_total{provider="stripe",outcome="signature_invalid",${web}}`, values: '0x9 10+10x30' },
        ],
      },
    ],
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
  PaymentProviderMisconfigured: {
    startMinute: 10,
    windowMinutes: 15,
    series: [
      { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="succeeded",${web}}`, values: '0+5x9 45x30' },
      { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="misconfigured",${web}}`, values: '0x9 1+1x30' },
    ],
    labels: { provider: 'stripe' },
    // A provider outage (5xx, timeouts) is PaymentProviderCallsFailing, not this.
    quiet: [
      {
        name: 'calls failing for other reasons only',
        series: [
          { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="failed",${web}}`, values: '0x9 1+1x30' },
          { series: `salescale_payment_provider_calls_total{provider="stripe",action="capture",outcome="misconfigured",${web}}`, values: '0x40' },
        ],
      },
    ],
    cases: [
      {
        name: 'one refund refused as misconfigured (the series at zero before), then the key fixed',
        series: [{ series: `salescale_payment_provider_calls_total{provider="stripe",action="refund",outcome="misconfigured",role="worker",instance_id="worker-1"}`, values: '0x9 1x40' }],
        firingMinute: 11,
        labels: { provider: 'stripe' },
        resolvedMinute: 30,
      },
      {
        name: "buyers' pay calls refused as misconfigured (create_intent, no capture to refuse yet)",
        series: [{ series: `salescale_payment_provider_calls_total{provider="stripe",action="create_intent",outcome="misconfigured",${web}}`, values: '0x9 1+2x30' }],
        firingMinute: 11,
        labels: { provider: 'stripe' },
      },
    ],
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
  PaymentRefundFailedOrDisputed: {
    startMinute: 10,
    // Checked two hours after the void began failing: the counter has nothing in the hour, the gauge still holds it.
    windowMinutes: 120,
    series: [
      { series: `salescale_payment_problems_total{provider="stripe",problem="refund_failed",${web}}`, values: '0x140' },
      { series: 'salescale_payment_problems_open{provider="stripe",problem="refund_failed",role="worker",instance_id="worker-1"}', values: '0x140' },
      { series: 'salescale_payments_owed_back{provider="stripe",role="worker",instance_id="worker-1"}', values: '0x9 1x140' },
    ],
    labels: { provider: 'stripe', problem: 'not_given_back' },
    // Each branch of the `or` alone (the other series present at 0), and the alert resolving once its condition is gone.
    cases: [
      {
        name: 'a problem reported (the counter alone), gone from the hour',
        series: paymentProblemSeries('disputed', { total: '0x9 1x80' }),
        firingMinute: 11,
        labels: { provider: 'stripe', problem: 'disputed' },
        resolvedMinute: 75,
      },
      {
        name: 'a problem open (the open gauge alone, the counter never moved), then resolved by an admin',
        series: paymentProblemSeries('refund_failed', { open: '0x9 1x20 0x30' }),
        firingMinute: 15,
        labels: { provider: 'stripe', problem: 'refund_failed' },
        resolvedMinute: 35,
      },
      {
        name: 'a hold lapsed before capture (counted, then held open by the gauge past the hour), then resolved by an admin',
        series: paymentProblemSeries('hold_lapsed', { total: '0x9 1x80', open: '0x9 1x70 0x10' }),
        firingMinute: 11,
        labels: { provider: 'stripe', problem: 'hold_lapsed' },
        resolvedMinute: 85,
      },
      {
        name: 'money owed back (the owed-back gauge alone), then given back',
        series: paymentProblemSeries('refund_failed', { owed: '0x9 1x20 0x30' }),
        firingMinute: 15,
        labels: { provider: 'stripe', problem: 'not_given_back' },
        resolvedMinute: 35,
      },
    ],
  },

  StockViewNoticesFailing: {
    startMinute: 10,
    windowMinutes: 5,
    // From minute 10 one publish a minute fails on web-1 while others still go out; web-2 publishes fine.
    series: [
      { series: `salescale_stock_view_notices_total{outcome="publish_failed",${web}}`, values: '0x9 1+1x30' },
      { series: `salescale_stock_view_notices_total{outcome="published",${web}}`, values: '0+3x40' },
      { series: `salescale_stock_view_notices_total{outcome="publish_failed",${web2}}`, values: '0x40' },
      { series: `salescale_stock_view_notices_total{outcome="published",${web2}}`, values: '0+3x40' },
    ],
    labels: { role: 'web' },
    quiet: [
      {
        name: 'a Redis blip: publishes failing for 3 minutes, then going out again',
        series: [
          { series: `salescale_stock_view_notices_total{outcome="publish_failed",${web}}`, values: '0x9 1+1x2 3x30' },
          { series: `salescale_stock_view_notices_total{outcome="published",${web}}`, values: '0+3x40' },
        ],
      },
      {
        name: 'notices received and malformed ones dropped, none failing to publish',
        series: [
          { series: `salescale_stock_view_notices_total{outcome="publish_failed",${web}}`, values: '0x40' },
          { series: `salescale_stock_view_notices_total{outcome="received",${web}}`, values: '0+10x40' },
          { series: `salescale_stock_view_notices_total{outcome="malformed",${web}}`, values: '0+1x40' },
        ],
      },
    ],
    cases: [
      {
        name: "the worker's expiries failing to publish for half an hour, then publishing again",
        series: [{ series: 'salescale_stock_view_notices_total{outcome="publish_failed",role="worker",instance_id="worker-1"}', values: '0x9 1+1x30 31x30' }],
        firingMinute: 30,
        labels: { role: 'worker' },
        resolvedMinute: 47,
      },
    ],
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
