import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { SEED_DEPLOYMENT_SPEC } from '../manifests/deployment-spec.ts';
import { HTTP_DURATION_BUCKETS } from '../../platform/metrics/metrics.ts';
import { ALERT_RULES, CHECKOUT_ROUTES, SHOPPER_ROUTES, getAlertRules } from './alert-rules.ts';
import { ALERT_FIXTURES } from './alert-rules.fixtures.ts';
import { buildGrafanaDashboard, getDashboardExpressions } from './grafana-dashboard.ts';
import { formatDuration, getAnnotations, renderPrometheusRules } from './prometheus-rules.ts';
import { expandLabelTemplates, renderPromtoolTests } from './promtool-tests.ts';
import { RECORDING_RULES, renderRecordingRules } from './recording-rules.ts';

const DEPLOY = path.resolve(import.meta.dirname, '../../../deploy/prometheus');
const RULES_FILE = path.join(DEPLOY, 'alert-rules.yml');
const TESTS_FILE = path.join(DEPLOY, 'alert-rules.test.yml');
const RECORDING_FILE = path.join(DEPLOY, 'recording-rules.yml');
const DASHBOARD_FILE = path.resolve(DEPLOY, '../grafana/salescale-dashboard.json');
const promtool = spawnSync('promtool', ['--version']).status === 0;
const NO_PROMTOOL = 'promtool not installed (apt-get install -y prometheus)';

/** The seed strategy's ALERT_THRESHOLDS, verbatim: condition → action. */
const SEED = {
  critical: {
    'CPU > 90% for 2 minutes': 'scale_up',
    'Memory > 85% for 2 minutes': 'scale_up',
    'Error rate > 5% for 1 minute': 'investigate',
    'Response time P95 > 2s for 2 minutes': 'scale_up',
    'DB connections > 80% for 1 minute': 'scale_up',
    'Queue depth > 5000': 'scale_up_workers',
  },
  warning: {
    'CPU > 70% for 5 minutes': 'monitor',
    'Memory > 70% for 5 minutes': 'monitor',
    'Error rate > 2% for 5 minutes': 'investigate',
    'Response time P95 > 1s for 5 minutes': 'monitor',
    'Queue depth > 1000': 'monitor',
  },
  info: { 'Scale up event': 'log', 'Scale down event': 'log', 'High traffic detected': 'log', 'Sale event started': 'notify_team' },
} as const;
/** Where the table's action departs from the seed's, and why. */
const DEPARTURES: Record<string, string> = {
  // Fires per instance: more instances do not cure one instance's leak; the runbook restarts it.
  'Memory > 85% for 2 minutes': 'investigate',
};

describe('alert rules table', () => {
  it("holds every rule of the seed's ALERT_THRESHOLDS with its severity, action and duration", () => {
    for (const [severity, entries] of Object.entries(SEED)) {
      for (const [summary, action] of Object.entries(entries)) {
        const rule = ALERT_RULES.find((r) => r.summary === summary);
        assert.ok(rule, `missing: ${summary}`);
        assert.equal(rule.severity, severity, summary);
        assert.equal(rule.action, DEPARTURES[summary] ?? action, summary);
        const minutes = /for (\d+) minutes?/.exec(summary)?.[1];
        assert.equal(rule.forSeconds, minutes ? Number(minutes) * 60 : 0, summary);
      }
    }
    assert.equal(getAlertRules('info').length, 4);
  });

  it('has unique PascalCase names and a threshold in every expression', () => {
    assert.equal(new Set(ALERT_RULES.map((r) => r.name)).size, ALERT_RULES.length);
    for (const rule of ALERT_RULES) {
      assert.match(rule.name, /^[A-Z][A-Za-z0-9]*$/);
      assert.match(rule.expr, /[<>]/, rule.name);
    }
  });

  it('leaves the probe routes out of every alert and cluster-wide recording rule over the request metrics, with a promtool case showing it', () => {
    const selectors = (expr: string) => [...expr.matchAll(/http_request_duration_seconds_(?:count|bucket|sum)(\{[^}]*\})?/g)].map((m) => m[1] ?? '');
    const http = ALERT_RULES.filter((rule) => rule.expr.includes('http_request_duration_seconds'));
    assert.deepEqual(
      http.map((rule) => rule.name),
      ['HighErrorRate', 'HighResponseTimeP95', 'ElevatedErrorRate', 'ElevatedResponseTimeP95', 'HighResponseTimeP99', 'CheckoutResponseTimeP95', 'CheckoutResponseTimeP95Critical', 'CheckoutResponseTimeP99', 'HighTrafficDetected'],
    );
    // The checkout rules name their routes (none a probe); the others take every route but the probes.
    for (const rule of http) {
      const routes = rule.name.startsWith('Checkout') ? CHECKOUT_ROUTES : SHOPPER_ROUTES;
      for (const selector of selectors(rule.expr)) assert.ok(selector.includes(routes), `${rule.name}: ${selector || 'no selector'}`);
      assert.ok((ALERT_FIXTURES[rule.name]!.quiet ?? []).length > 0, `${rule.name}: a promtool case where only probes misbehave`);
    }
    for (const rule of RECORDING_RULES.filter((r) => /^(cluster|role):http/.test(r.record))) {
      for (const selector of selectors(rule.expr)) assert.ok(selector.includes(SHOPPER_ROUTES), `${rule.record}: ${selector || 'no selector'}`);
    }
    // Shoppers' 503s (load shed OVERLOADED) are errors: only the route, never the status, is filtered.
    for (const rule of http.filter((r) => /ErrorRate/.test(r.name))) assert.doesNotMatch(rule.expr, /status_code!|503/, rule.name);
  });

  it('watches checkout latency on its own routes, at thresholds the request histogram has as bucket boundaries', () => {
    // Cluster-wide, a slow POST /api/v1/orders is diluted by fast catalog reads: checkout needs rules of its own.
    const checkout = ALERT_RULES.filter((rule) => rule.expr.includes('http_request_duration_seconds_bucket') && rule.expr.includes('/api/v1/orders'));
    assert.deepEqual(
      checkout.map((rule) => [rule.name, /histogram_quantile\((0\.\d+)/.exec(rule.expr)?.[1], /\) > ([\d.]+) and/.exec(rule.expr)?.[1]]),
      [
        ['CheckoutResponseTimeP95', '0.95', '0.5'],
        ['CheckoutResponseTimeP95Critical', '0.95', '2'],
        ['CheckoutResponseTimeP99', '0.99', '1'],
      ],
      'checkout p95 > 500 ms and p99 > 1000 ms (the seed targets), p95 > 2 s (the seed\'s critical latency)',
    );
    // A threshold between two boundaries is interpolated inside a bucket: only a boundary says exactly "over 500 ms".
    for (const threshold of [0.5, 1, 2]) assert.ok(HTTP_DURATION_BUCKETS.includes(threshold), `no bucket boundary at ${threshold} s`);
  });

  it('asks to scale up on no per-instance memory alert: more instances do not cure one instance near its limit', () => {
    const memory = ALERT_RULES.filter((rule) => rule.expr.includes('process_resident_memory_bytes'));
    assert.deepEqual(
      memory.map((rule) => rule.name),
      ['HighMemoryUsage', 'ElevatedMemoryUsage'],
    );
    for (const rule of memory) {
      assert.match(rule.expr, /by \(role, instance_id\)/, `${rule.name} fires per instance`);
      assert.ok(!rule.action.startsWith('scale_up'), `${rule.name}: action ${rule.action} on one instance's memory`);
    }
  });

  it('never groups by a raw URL or an unbounded label', () => {
    for (const rule of ALERT_RULES) assert.doesNotMatch(rule.expr, /\burl\b|request_id|session/i, rule.name);
  });

  it('formats durations the way Prometheus reads them', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(120), '2m');
    assert.equal(formatDuration(90), '90s');
    assert.equal(formatDuration(3600), '1h');
    assert.throws(() => formatDuration(-1), RangeError);
  });

  it('renders one group per severity with severity and action labels', () => {
    const doc = parse(renderPrometheusRules(ALERT_RULES));
    assert.deepEqual(
      doc.groups.map((g: { name: string }) => g.name),
      ['salescale-critical', 'salescale-warning', 'salescale-info'],
    );
    const cpu = doc.groups[0].rules[0];
    assert.deepEqual(cpu, {
      alert: 'HighCpuUsage',
      expr: ALERT_RULES[0]!.expr,
      for: '2m',
      labels: { severity: 'critical', action: 'scale_up' },
      annotations: {
        summary: 'CPU > 90% for 2 minutes',
        description: ALERT_RULES[0]!.description,
        runbook_url: 'docs/runbook.md#highcpuusage',
        source: 'seed strategy, alert-thresholds',
      },
    });
  });

  it('refuses to render a rule without a promtool fixture', () => {
    assert.throws(() => renderPromtoolTests([{ ...ALERT_RULES[0]!, name: 'Untested' }], ALERT_FIXTURES, 'x.yml'), /Untested/);
  });

  it('matches the committed deploy/prometheus files (run `salescale alerts --out … --tests …` after changing the table)', () => {
    const regenerate = 'npx salescale alerts --out deploy/prometheus/alert-rules.yml --tests deploy/prometheus/alert-rules.test.yml';
    // `salescale alerts` links the runbook where the deployment spec says, as the rendered manifests do.
    const { runbookUrl } = SEED_DEPLOYMENT_SPEC.alerts;
    assert.equal(readFileSync(RULES_FILE, 'utf8'), renderPrometheusRules(ALERT_RULES, { runbookUrl }), `stale alert-rules.yml: ${regenerate}`);
    assert.equal(readFileSync(TESTS_FILE, 'utf8'), renderPromtoolTests(ALERT_RULES, ALERT_FIXTURES, 'alert-rules.yml', { runbookUrl }), `stale alert-rules.test.yml: ${regenerate}`);
    assert.equal(readFileSync(RECORDING_FILE, 'utf8'), renderRecordingRules(), `stale recording-rules.yml: ${regenerate} --recording deploy/prometheus/recording-rules.yml`);
    assert.deepEqual(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')), buildGrafanaDashboard(), `stale dashboard: ${regenerate} --dashboard deploy/grafana/salescale-dashboard.json`);
  });

  it('passes promtool check config on the scrape configuration', { skip: promtool ? false : NO_PROMTOOL }, () => {
    const out = execFileSync('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus.yml')], { encoding: 'utf8' });
    assert.match(out, /SUCCESS/);
  });

  it('has valid PromQL in every dashboard panel', { skip: promtool ? false : NO_PROMTOOL }, () => {
    // promtool has no query checker: the expressions are checked as recording rules.
    const dir = mkdtempSync(path.join(tmpdir(), 'salescale-dashboard-'));
    try {
      const rules = getDashboardExpressions().map((expr, i) => `      - record: dashboard:panel_${i}\n        expr: ${JSON.stringify(expr.replaceAll('$__rate_interval', '1m'))}`);
      const file = path.join(dir, 'dashboard-rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes promtool check rules (alerting and recording)', { skip: promtool ? false : NO_PROMTOOL }, () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    assert.match(out, new RegExp(`SUCCESS: ${ALERT_RULES.length} rules found`));
    assert.match(execFileSync('promtool', ['check', 'rules', RECORDING_FILE], { encoding: 'utf8' }), /SUCCESS/);
  });

  it('passes promtool test rules: each rule fires after its duration and not before', { skip: promtool ? false : NO_PROMTOOL }, () => {
    const tests = parse(readFileSync(TESTS_FILE, 'utf8')).tests as { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    for (const rule of ALERT_RULES) {
      const cases = tests.flatMap((t) => t.alert_rule_test).filter((c) => c.alertname === rule.name);
      assert.ok(cases.some((c) => c.exp_alerts.length === 0) && cases.some((c) => c.exp_alerts.length > 0), `${rule.name} needs a firing and a not-firing case`);
    }
    const result = spawnSync('promtool', ['test', 'rules', TESTS_FILE], { encoding: 'utf8', cwd: DEPLOY });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('has a promtool case for each branch of PaymentRefundFailedOrDisputed firing alone, and its resolution', () => {
    type Case = { input_series: { series: string; values: string }[]; alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] };
    const tests = (parse(readFileSync(TESTS_FILE, 'utf8')).tests as Case[]).filter((t) => t.alert_rule_test.some((c) => c.alertname === 'PaymentRefundFailedOrDisputed'));
    // A series is "at work" when any of its samples is not 0 (the expanding notation's start and step both 0 otherwise).
    const atWork = (values: string) => !/^(0(\+0)?x\d+\s*)+$/.test(values.trim());
    const minute = (t: string) => Number(t.replace(/m$/, ''));
    const branches = { salescale_payment_problems_total: 'disputed', salescale_payment_problems_open: 'refund_failed', salescale_payments_owed_back: 'not_given_back' } as const;
    for (const [metric, problem] of Object.entries(branches)) {
      const alone = tests.filter((t) => t.input_series.filter((s) => atWork(s.values)).every((s) => s.series.startsWith(`${metric}{`)) && t.input_series.some((s) => atWork(s.values)));
      const firing = alone.find((t) => t.alert_rule_test.some((c) => c.exp_alerts.some((a) => a.exp_labels.problem === problem && a.exp_labels.provider === 'stripe')));
      assert.ok(firing, `${metric} alone: a case where it fires with problem=${problem}, provider=stripe`);
      if (metric === 'salescale_payment_problems_total') continue;
      // A gauge back at 0: the alert resolves (an empty expectation after the firing one, in the same case).
      const resolves = alone.some((t) => {
        const fired = t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => minute(c.eval_time));
        return fired.length > 0 && t.alert_rule_test.some((c) => c.exp_alerts.length === 0 && minute(c.eval_time) > Math.min(...fired));
      });
      assert.ok(resolves, `${metric}: a case where the alert resolves once the gauge is back at 0`);
    }
  });
});

/**
 * Whole failures, each as the series a real Prometheus would hold, run by `promtool test rules` against the rules
 * rendered from the table: the alert named must page. A failure that makes the metrics disappear (every web instance
 * gone, so no request is counted at all) leaves ratios and quantiles empty rather than high: without a rule that
 * looks at what is missing, nothing fires while the shop is down.
 */
describe('failures that must page', { skip: promtool ? false : NO_PROMTOOL }, () => {
  const worker = 'role="worker",instance_id="worker-1"';
  const webInstance = 'role="web",instance_id="web-1"';

  function assertPages(alertname: string, evalMinute: number, series: { series: string; values: string }[], labels: Record<string, string>, what: string) {
    const rule = ALERT_RULES.find((r) => r.name === alertname);
    assert.ok(rule, `no alert pages when ${what} (expected a rule ${alertname})`);
    assert.notEqual(rule.severity, 'info', alertname);
    const dir = mkdtempSync(path.join(tmpdir(), 'salescale-failure-'));
    try {
      writeFileSync(path.join(dir, 'alert-rules.yml'), renderPrometheusRules(ALERT_RULES));
      const expLabels = { severity: rule.severity, action: rule.action, ...labels };
      const annotations = Object.fromEntries(Object.entries(getAnnotations(rule)).map(([name, text]) => [name, expandLabelTemplates(text, expLabels, name)]));
      const test = {
        rule_files: ['alert-rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: series,
            alert_rule_test: [{ eval_time: `${evalMinute}m`, alertname, exp_alerts: [{ exp_labels: expLabels, exp_annotations: annotations }] }],
          },
        ],
      };
      writeFileSync(path.join(dir, 'test.yml'), stringify(test));
      const result = spawnSync('promtool', ['test', 'rules', 'test.yml'], { encoding: 'utf8', cwd: dir });
      assert.equal(result.status, 0, `no alert pages when ${what}:\n${result.stdout}${result.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('pages when every web instance is gone (the shop answers nobody, so no request is counted)', () => {
    // Shoppers and scrapes until minute 10; then every web instance dies: its series end, and the worker's view of
    // the cluster says no web instance is live. The error ratio and the latency quantiles have nothing to divide.
    assertPages(
      'WebInstancesDown',
      15,
      [
        { series: `process_cpu_seconds_total{${webInstance}}`, values: '0+30x10 stale' },
        { series: `http_request_duration_seconds_count{route="/api/v1/products",method="GET",status_code="200",${webInstance}}`, values: '0+100x10 stale' },
        { series: `process_cpu_seconds_total{${worker}}`, values: '0+10x30' },
        { series: `salescale_live_instances{role="web",instance_id="worker-1"}`, values: '2x10 0x20' },
        { series: `salescale_live_instances{role="worker",instance_id="worker-1"}`, values: '1x30' },
      ],
      { role: 'web' },
      'every web instance is down',
    );
  });

  it('alerts when one Salescale target cannot be scraped while the others can (its per-instance alerts go silent)', () => {
    // From minute 5 Prometheus cannot scrape web-3 (hung, its metrics port closed, a network policy): `up` is 0 for it
    // and its series end, while web-1, web-2 and the worker are read as before. The role-wide availability rules see
    // live, scraped instances; web-3's memory, pool and event-loop alerts have nothing left to read.
    const up = (job: string, instance: string, values: string) => ({ series: `up{job="${job}",instance="${instance}"}`, values });
    assertPages(
      'SalescaleTargetDown',
      11,
      [
        up('salescale-web', 'web-1:9464', '1x20'),
        up('salescale-web', 'web-2:9464', '1x20'),
        up('salescale-web', 'web-3:9464', '1x4 0x16'),
        up('salescale-worker', '10.0.0.7:3031', '1x20'),
        { series: 'process_cpu_seconds_total{role="web",instance_id="web-3"}', values: '0+30x4 stale' },
        { series: `process_cpu_seconds_total{${webInstance}}`, values: '0+30x20' },
        { series: `process_cpu_seconds_total{${worker}}`, values: '0+10x20' },
        { series: 'salescale_live_instances{role="web",instance_id="worker-1"}', values: '3x20' },
        { series: 'salescale_live_instances{role="worker",instance_id="web-1"}', values: '1x20' },
      ],
      { job: 'salescale-web', instance: 'web-3:9464' },
      'one web instance of three cannot be scraped',
    );
  });

  it('pages when one of three web instances nears its memory limit while the others are at 40 % (a leak, not load)', () => {
    // From minute 5 web-3 holds 95 % of its limit; the role's average is 58 %. The leaking instance is OOM-killed with
    // the requests it holds, whatever the others use.
    const instances = ['web-1', 'web-2', 'web-3'];
    assertPages(
      'HighMemoryUsage',
      10,
      instances.flatMap((id) => [
        { series: `process_resident_memory_bytes{role="web",instance_id="${id}"}`, values: id === 'web-3' ? '400000000x4 950000000x20' : '400000000x25' },
        { series: `process_memory_limit_bytes{role="web",instance_id="${id}"}`, values: '1000000000x25' },
      ]),
      { role: 'web', instance_id: 'web-3' },
      'one web instance of three is at 95 % of its memory limit',
    );
  });

  it('pages when one web instance has its primary pool exhausted while the others are idle', () => {
    // From minute 5 web-1 has all 10 connections checked out and requests waiting for one (503 DATABASE_BUSY after
    // 5 s); web-2 and web-3 use none: 10 of the role's 30, a third.
    const pool = (id: string, inUse: number, waiting: number) => [
      { series: `db_pool_connections{pool="primary",state="total",role="web",instance_id="${id}"}`, values: `2x4 ${Math.max(2, inUse)}x20` },
      { series: `db_pool_connections{pool="primary",state="idle",role="web",instance_id="${id}"}`, values: `2x4 ${Math.max(2, inUse) - inUse}x20` },
      { series: `db_pool_connections{pool="primary",state="waiting",role="web",instance_id="${id}"}`, values: `0x4 ${waiting}x20` },
      { series: `db_pool_connections{pool="primary",state="max",role="web",instance_id="${id}"}`, values: '10x25' },
    ];
    assertPages(
      'HighDbConnections',
      8,
      [...pool('web-1', 10, 12), ...pool('web-2', 0, 0), ...pool('web-3', 0, 0)],
      { role: 'web', pool: 'primary', instance_id: 'web-1' },
      "one web instance's primary pool is exhausted",
    );
  });

  it('pages when no worker is live while the web instances take orders', () => {
    // The worker dies at minute 10: web instances see no worker heartbeat; emails and stock syncs pile up far below
    // the queue-depth thresholds, reservations are no longer expired, the outbox is no longer relayed.
    assertPages(
      'WorkerInstancesDown',
      15,
      [
        { series: `process_cpu_seconds_total{${worker}}`, values: '0+10x10 stale' },
        { series: `salescale_live_instances{role="worker",instance_id="web-1"}`, values: '1x10 0x20' },
        { series: `salescale_live_instances{role="web",instance_id="web-1"}`, values: '2x30' },
        { series: `queue_jobs{queue="email",state="waiting",${webInstance}}`, values: '0x10 20+20x20' },
        { series: `salescale_orders_placed_total{${webInstance}}`, values: '0+20x30' },
      ],
      { role: 'worker' },
      'the worker is down',
    );
  });

  it('pages when the workers run but none is scraped (their heartbeats go on, every worker-only series ends)', () => {
    // From minute 10 Prometheus reads no worker (a METRICS_TOKEN only the web role was given, a wrong WORKER_PORT, a
    // network policy): the web instances still see a live worker, but every series only the worker reports ends —
    // reservations held, dead letters, payment problems open, money owed back — and the alerts on them go silent.
    assertPages(
      'WorkerInstancesDown',
      15,
      [
        { series: `process_cpu_seconds_total{${worker}}`, values: '0+10x10 stale' },
        { series: `salescale_reservations_held{${worker}}`, values: '3x10 stale' },
        { series: `salescale_live_instances{role="worker",instance_id="web-1"}`, values: '1x30' },
        { series: `process_cpu_seconds_total{${webInstance}}`, values: '0+30x30' },
      ],
      { role: 'worker' },
      'no worker is scraped',
    );
  });

  it('pages when the order queue stops moving while its workers are live and it holds a handful of jobs', () => {
    // From minute 10 no worker takes an order job (a worker wedged on a lock, a queue paused by hand): workers still
    // send heartbeats, three jobs wait (far below HighQueueDepth), and the head of the line keeps ageing.
    assertPages(
      'OrderQueueStuck',
      16,
      [
        { series: `salescale_live_instances{role="worker",instance_id="web-1"}`, values: '1x30' },
        { series: `queue_jobs{queue="order",state="waiting",${webInstance}}`, values: '0x9 3x20' },
        { series: `queue_jobs{queue="order",state="delayed",${webInstance}}`, values: '400x30' },
        { series: `queue_oldest_waiting_job_age_seconds{queue="order",${webInstance}}`, values: '0x9 0+60x20' },
        { series: `queue_oldest_waiting_job_age_seconds{queue="order",${worker}}`, values: '0x9 0+60x20' },
      ],
      { queue: 'order' },
      'the order queue is stuck',
    );
  });

  it('pages when the outbox relay stops while the workers are live', () => {
    // From minute 10 the relay moves nothing (the queue Redis unreachable from the workers, or the relay loop dead in a
    // live worker): orders keep committing their outbox rows, the queues stay empty, the workers keep beating.
    assertPages(
      'OutboxRelayStuck',
      16,
      [
        { series: `salescale_live_instances{role="worker",instance_id="web-1"}`, values: '1x30' },
        { series: `salescale_orders_placed_total{${webInstance}}`, values: '0+20x30' },
        { series: `queue_jobs{queue="order",state="waiting",${webInstance}}`, values: '0x30' },
        { series: `outbox_unrelayed_rows{${webInstance}}`, values: '0x9 40+40x20' },
        { series: `outbox_oldest_unrelayed_age_seconds{${webInstance}}`, values: '0x9 0+60x20' },
        { series: `outbox_oldest_unrelayed_age_seconds{${worker}}`, values: '0x9 0+60x20' },
      ],
      {},
      'the outbox relay is stuck',
    );
  });

  it('alerts when jobs are dead letters nobody has retried (attempts exhausted), however few, on any queue', () => {
    // From minute 10 two email jobs have exhausted their attempts (a mail server refusing them): each instance reports the
    // same dead_letters count. A rate of failures over 5 minutes (HighJobFailureRate) forgets them once the window
    // passes, and a handful among many completed jobs never reaches its 1 %; the letters wait for `queues retry-failed`.
    assertPages(
      'QueueDeadLetters',
      20,
      [
        { series: `queue_jobs_processed_total{queue="email",name="send-order-confirmation",status="completed",${worker}}`, values: '0+1000x30' },
        { series: `queue_dead_letters{queue="email",${webInstance}}`, values: '0x9 2x20' },
        { series: `queue_dead_letters{queue="email",${worker}}`, values: '0x9 2x20' },
      ],
      { queue: 'email' },
      'jobs are dead letters',
    );
  });

  it('pages when signed payment webhooks cannot be applied (refused as malformed, or failing with a 5xx)', () => {
    // From minute 10 every signed Stripe event fails: a PostgreSQL outage (5xx, outcome "failed") or an API version
    // the shop cannot read (400, outcome "malformed"). Paid orders stay unpaid and expire while the buyers paid.
    const stripe = (outcome: string) => `salescale_payment_webhooks_total{provider="stripe",outcome="${outcome}",${webInstance}}`;
    assertPages(
      'PaymentWebhooksFailing',
      20,
      [
        { series: stripe('processed'), values: '0+20x9 200x30' },
        { series: stripe('failed'), values: '0x9 10+10x30' },
        { series: stripe('signature_invalid'), values: '0x40' },
      ],
      { provider: 'stripe' },
      'webhooks fail',
    );
  });
});
