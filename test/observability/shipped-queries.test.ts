/**
 * Every query Salescale ships reads metrics that a real Salescale emits. promtool checks syntax only: a query on a
 * misspelled or never-emitted metric, or matching a label value the app never writes (`state="wait"` for
 * `state="waiting"`), returns nothing — an alert that can never fire, a dashboard panel that stays empty, a runbook
 * step that shows "no data" in the middle of an incident.
 *
 * A real web instance and a real worker (their own database and Redis prefix) get traffic down the paths the
 * queries watch — browsing, sign-ups, a cart, orders (a guest's too), an order refused, payments approved and declined, webhooks
 * forged, late and failing, a job completed and one failing for good, a queued sale admitting a visitor — and both
 * `/metrics` are scraped. Then the queries are parsed with Prometheus' own grammar (test/helpers/promql-references.ts)
 * and every metric name and every `label="value"` matcher (and each word of a `label=~"a|b"` alternation) is looked
 * up in the scrape:
 * - the alert rules, the recording rules (whose own names count as existing), the Grafana dashboard;
 * - docs/runbook.md: each inline code span that parses as PromQL and is plainly a query (see getRunbookQueries);
 * - the README's "Metrics, health and alerts" section: its queries as the runbook's, each `metric{label,label}` it
 *   lists (every label carried), and, the other way round, every metric the two processes declare is named there;
 * - what deploy/ renders from them: the PrometheusRule of deploy/k8s, the Cloud Monitoring PromQL conditions of
 *   deploy/gcp/main.tf, and the CloudWatch alarms of deploy/aws on Salescale's own namespace, checked against the
 *   Embedded Metric Format lines the web instance writes. (The KEDA and HPA triggers name no app metric: the HPA and
 *   KEDA's cpu/memory triggers read the metrics API, the worker ScaledObject BullMQ's Redis lists; Azure's autoscale
 *   reads its VMs' `Percentage CPU`.)
 * A metric name counts as emitted when the scrape declares it (`# TYPE`, so a labelled counter that has not counted
 * yet is known by name; a histogram brings `_bucket`, `_sum`, `_count`); a label value counts only when a sample
 * carries it. An aggregation's `by (…)` labels are checked too, on the metrics it aggregates that have series: a label
 * no series carries folds every series into one with an empty value (a blank `{{queue}}` legend or alert label).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseHcl } from '@cdktf/hcl2json';
import client from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from '../../src/modules/payments/index.ts';
import { ALERT_RULES, CLOUDWATCH_NAMESPACE } from '../../src/scaling/alerts/alert-rules.ts';
import { getDashboardExpressions } from '../../src/scaling/alerts/grafana-dashboard.ts';
import { RECORDING_RULES } from '../../src/scaling/alerts/recording-rules.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { ADMIN_TOKEN, testEnv } from '../helpers/app.ts';
import { deleteRedisKeys } from '../helpers/db.ts';
import { request, type JsonReply } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.ts';
import { getQueryReferences, getRunbookQueries, replaceGrafanaVariables } from '../helpers/promql-references.ts';
import { createQueueFixture, type QueueFixture } from '../helpers/queues.ts';
import { createQueuedProduct, createQueuedSale } from '../helpers/waiting-room.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/**
 * Metrics a shipped query may read that a Salescale process does not emit, each with its reason. Add only metrics that come from elsewhere (kube-state-metrics, node exporter,
 * cAdvisor, Prometheus' own `up`), or that a test run cannot produce, saying why — never a misspelling.
 */
const NOT_FROM_SALESCALE: Record<string, string> = {
  up: "Prometheus' own, one per scrape target: 0 when the scrape failed (SalescaleTargetDown)",
};

/** `label="value"` pairs a test run cannot produce, `metric{label="value"}` → why (same rule as above). */
const VALUES_NOT_PRODUCED: Record<string, string> = {};

/**
 * `promtool check metrics` findings left as they are, each with its reason. prom-client's default collectors name three
 * gauges `_total` (counts of what is open now, not counters); renaming them would mean dropping prom-client's
 * defaults for our own copies and break the Node.js dashboards built on those names, for a lint finding only.
 */
const LINT_ACCEPTED: Record<string, string> = {
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix': "prom-client's default",
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix': "prom-client's default",
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix': "prom-client's default",
};

const promtool = spawnSync('promtool', ['--version']).status === 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `by (…)` labels of metrics without series in this run: their labels cannot be read from the scrape. */
const unjudged = new Set<string>();

/** What the scrapes hold: names declared or sampled, and each label's values per metric. */
interface Emitted {
  names: Set<string>;
  samples: Sample[];
}

function readScrape(texts: string[]): Emitted {
  const names = new Set<string>();
  const samples: Sample[] = [];
  for (const text of texts) {
    for (const [, name, type] of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
    }
    for (const sample of parsePrometheusText(text)) {
      names.add(sample.name);
      samples.push(sample);
    }
  }
  return { names, samples };
}

interface Source {
  where: string;
  expr: string;
}

/**
 * The problems of `sources` against what was emitted: metric names no process declares, and label values no sample
 * carries (for a matcher without a metric name, on any metric). Recording rules' names count as existing.
 */
function findProblems(sources: readonly Source[], emitted: Emitted): string[] {
  const recorded = new Set(RECORDING_RULES.map((r) => r.record));
  const problems: string[] = [];
  for (const { where, expr } of sources) {
    let refs: ReturnType<typeof getQueryReferences>;
    try {
      refs = getQueryReferences(expr);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
      continue;
    }
    for (const metric of refs.metrics) {
      if (emitted.names.has(metric) || recorded.has(metric) || metric in NOT_FROM_SALESCALE) continue;
      problems.push(`${where}: metric ${metric} is not emitted (in: ${expr})`);
    }
    for (const { metric, label, value } of refs.matchers) {
      if (metric !== undefined && (recorded.has(metric) || metric in NOT_FROM_SALESCALE)) continue;
      const key = `${metric ?? ''}{${label}="${value}"}`;
      if (key in VALUES_NOT_PRODUCED) continue;
      const carried = samplesOf(emitted, metric).some((s) => s.labels[label] === value);
      if (!carried) {
        const seen = [...new Set(samplesOf(emitted, metric).map((s) => s.labels[label]).filter((v) => v !== undefined))];
        problems.push(`${where}: no ${key} in the scrape (values seen: ${seen.join(', ') || 'none'}; in: ${expr})`);
      }
    }
    for (const { labels, metrics, created } of refs.groupings) {
      const known = metrics.filter((m) => !recorded.has(m) && !(m in NOT_FROM_SALESCALE));
      // Only metrics with series tell their labels (a labelled counter that has not counted yet shows none).
      if (known.length === 0 || known.length < metrics.length) continue;
      const silent = known.filter((m) => samplesOf(emitted, m).length === 0);
      if (silent.length > 0) {
        for (const label of labels) unjudged.add(`${silent.join(', ')} by (${label})`);
        continue;
      }
      for (const label of labels.filter((l) => !created.includes(l))) {
        if (known.some((m) => samplesOf(emitted, m).some((s) => s.labels[label] !== undefined))) continue;
        problems.push(`${where}: by (${label}) but no series of ${known.join(', ')} carries ${label} (in: ${expr})`);
      }
    }
  }
  return problems;
}

/** The samples of `metric` (a histogram's or summary's name: of its series); of every metric when undefined. */
function samplesOf(emitted: Emitted, metric: string | undefined): Sample[] {
  if (metric === undefined) return emitted.samples;
  const names = new Set([metric, `${metric}_bucket`, `${metric}_sum`, `${metric}_count`]);
  return emitted.samples.filter((s) => names.has(s.name));
}

/**
 * `label=~"a|b|c"` (or `!~`) of plain words (`waiting|prioritized`, `/health|/ready|/metrics`): each word is a value
 * the query expects, so each is checked like `label="a"`. A real pattern (`5..`) is left alone.
 */
function withAlternations(sources: readonly Source[]): Source[] {
  return sources.map(({ where, expr }) => ({
    where,
    expr: expr.replaceAll(/\b([a-z_]+)(=~|!~)"([\w/:-]+(?:\|[\w/:-]+)+)"/g, (_, label: string, op: string, words: string) =>
      words
        .split('|')
        .map((w) => `${label}${op === '=~' ? '=' : '!='}"${w}"`)
        .join(','),
    ),
  }));
}

// The fixture's database, Redis prefix and data folder; no in-process app (its waiting-room ticks would admit
// visitors and count them in a registry no scrape sees).
let f: QueueFixture;
let env: Record<string, string>;
let web: Instance;
let worker: Instance;
let emitted: Emitted;
/** Each role's `/metrics` text after the traffic, as Prometheus reads it. */
let scrapes: { role: string; text: string }[];
let metricPrefixes: Set<string>;

/** A "mail server" that greets in another protocol: every send fails (not an outage, which is put back for later). */
let notSmtp: net.Server;

before(async () => {
  f = await createQueueFixture();
  notSmtp = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((resolve) => notSmtp.listen(0, '127.0.0.1', resolve));
  env = {
    ...testEnv(f.database.url),
    ...f.env,
    // Every email attempt fails on the greeting (EPROTOCOL), so email jobs are retried once and then fail for good.
    // (A server that cannot be reached is an outage: the job is put back for later, `deferred`, not retried.)
    SMTP_URL: `smtp://127.0.0.1:${(notSmtp.address() as net.AddressInfo).port}`,
    QUEUE_ATTEMPTS: 'email=2',
    QUEUE_BACKOFF_MS: 'email=10',
    OUTBOX_POLL_INTERVAL_MS: '50',
    // Two refused checkouts per client, then 429 from the `checkout` limiter.
    RATE_LIMIT_CHECKOUT_MAX: '2',
    // Every statement is a slow query, so the slow-query counter has series.
    DB_SLOW_QUERY_MS: '1',
    // Load shedding on (its gauges are what the runbook reads), with thresholds a busy machine cannot reach.
    LOAD_SHED_ENABLED: 'true',
    LOAD_SHED_BROWSE_DELAY_MS: '600000',
    LOAD_SHED_WRITE_DELAY_MS: '600000',
    LOAD_SHED_BROWSE_UTILIZATION_PERCENT: '100',
    LOAD_SHED_BROWSE_HEAP_PERCENT: '100',
    LOAD_SHED_WRITE_HEAP_PERCENT: '100',
    CLOUDWATCH_EMF_NAMESPACE: CLOUDWATCH_NAMESPACE,
    CLOUDWATCH_EMF_INTERVAL_MS: '1000',
    CLUSTER_HEARTBEAT_MS: '500',
    WAITING_ROOM_EVENTS_REFRESH_MS: '100',
    WAITING_ROOM_TICK_MS: '20',
  };
  // One after the other, so that a failed start leaves no process behind (the machine may be busy).
  web = await startInstance({ env: { ...env, INSTANCE_ID: 'web-1' }, timeoutMs: 60_000 });
  worker = await f.startWorker({ ...env, INSTANCE_ID: 'worker-1' });
  await driveTraffic();
  scrapes = await Promise.all([{ role: 'web', instance: web }, { role: 'worker', instance: worker }].map(async ({ role, instance }) => ({ role, text: await (await fetch(`${instance.url}/metrics`)).text() })));
  emitted = readScrape(scrapes.map((s) => s.text));
  metricPrefixes = new Set([...emitted.names].map((name) => name.split('_')[0]!));
});

after(async () => {
  await web?.stop();
  await f?.close();
  await new Promise((resolve) => notSmtp?.close(resolve));
  // The web role's own keys (sessions, carts, limits, the waiting room) sit under `<prefix>:`, the queues' under `{<prefix>}`.
  if (env) await deleteRedisKeys(`${env.REDIS_PREFIX}:*`).catch(() => {});
});

async function scrapeUntil(instance: Instance, what: string, done: (samples: Sample[]) => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done(parsePrometheusText(await (await fetch(`${instance.url}/metrics`)).text()))) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${instance.output()}\n${await (await fetch(`${instance.url}/metrics`)).text()}`);
    await sleep(200);
  }
}

/** The traffic the shipped queries watch; each step asserts its reply, so a broken path fails here, not later. */
async function driveTraffic(): Promise<void> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const url = web.url;
  const products: number[] = [];
  for (let i = 0; i < 2; i++) {
    const created = await request(`${url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: `Q-${i}-${randomUUID()}`, name: `Queried ${i}`, priceCents: 1500, available: 20 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    products.push(created.body.id);
  }
  // Browsing, a miss, and the probes (left out of the shopper figures, but scraped).
  assert.equal((await request(`${url}/api/v1/products`)).status, 200);
  for (const id of products) assert.equal((await request(`${url}/api/v1/products/${id}`)).status, 200);
  assert.equal((await request(`${url}/api/v1/products/999999`)).status, 404);
  assert.equal((await request(`${url}/health`)).status, 200);

  // Two customers sign up (each a welcome email: a job that fails for good here).
  const cookies: string[] = [];
  for (let i = 0; i < 2; i++) {
    const response = await fetch(`${url}/api/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `q-${i}-${randomUUID()}@example.com`, password: 'correct horse battery', name: `Buyer ${i}` }),
    });
    assert.equal(response.status, 201, await response.text());
    cookies.push(response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '));
  }
  const [alice, bob] = cookies as [string, string];

  // A cart, then three orders placed.
  assert.equal((await request(`${url}/api/v1/cart/items/${products[0]}`, { method: 'PUT', headers: { cookie: alice }, body: { quantity: 2 } })).status, 200);
  assert.equal((await request(`${url}/api/v1/cart`, { headers: { cookie: alice } })).status, 200);
  const order = (cookie: string, productId: number, quantity: number): Promise<JsonReply> =>
    request(`${url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': randomUUID() }, body: { items: [{ productId, quantity }] } });
  const placed: { id: number; totalCents: number; currency: string }[] = [];
  for (const cookie of [alice, bob, alice]) {
    const reply = await order(cookie, products[placed.length % 2]!, 1);
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    placed.push(reply.body);
  }
  // Payments with the test provider: one approved (authorized, then captured), one declined.
  const pay = (cookie: string, orderId: number, token: string) =>
    request(`${url}/api/v1/orders/${orderId}/pay`, { method: 'POST', headers: { cookie, 'idempotency-key': randomUUID() }, body: { token } });
  const paid = await pay(alice, placed[0]!.id, 'tok_ok');
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  const declined = await pay(bob, placed[1]!.id, 'tok_declined');
  assert.equal(declined.status, 402, JSON.stringify(declined.body));
  // A guest checkout, paid by its access token: the third checkout route the checkout latency alerts read.
  const guest = await request(`${url}/api/v1/orders`, {
    method: 'POST',
    headers: { 'idempotency-key': randomUUID() },
    body: { email: `guest-${randomUUID()}@example.com`, items: [{ productId: products[0]!, quantity: 1 }] },
  });
  assert.equal(guest.status, 201, JSON.stringify(guest.body));
  const guestPaid = await request(`${url}/api/v1/guest-orders/${guest.body.accessToken}/pay`, { method: 'POST', headers: { 'idempotency-key': randomUUID() }, body: { token: 'tok_ok' } });
  assert.equal(guestPaid.status, 200, JSON.stringify(guestPaid.body));

  // A queued sale: one visitor joins before the start and is admitted after it.
  const queued = await createQueuedProduct(url, admin, { available: 5 });
  const saleId = await createQueuedSale(url, admin, [{ url }], { productIds: [queued], startsInMs: 1500, admissionPerSecond: 5 });
  const joined = await request(`${url}/api/v1/sale-events/${saleId}/queue`, { method: 'POST' });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));
  const visitor = joined.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
  for (let i = 0; ; i++) {
    const state = await request(`${url}/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie: visitor } });
    assert.equal(state.status, 200, JSON.stringify(state.body));
    if (state.body.state === 'admitted') break;
    assert.ok(i < 300, 'the visitor was admitted');
    await sleep(50);
  }
  const passless = await order(alice, queued, 1);
  assert.equal(passless.status, 403, JSON.stringify(passless.body));

  // A sold-out refusal (409: the shop's state, not counted by the checkout limiter), then failed checkouts (an
  // unknown product) until the checkout limiter steps in: it counts failed checkouts and payments per client.
  const soldOut = await order(bob, products[1]!, 1000);
  assert.equal(soldOut.status, 409, JSON.stringify(soldOut.body));
  let limited = false;
  for (let i = 0; i < 5 && !limited; i++) {
    const refused = await order(bob, 999_999, 1);
    assert.ok(refused.status === 422 || refused.status === 429, JSON.stringify(refused.body));
    limited = refused.status === 429;
  }
  assert.ok(limited, 'the checkout limiter refused a client after its failed checkouts');

  // Webhooks: a forged one; a second payment for the order already paid (late: voided); a payment whose capture the
  // provider refuses (it never authorized that intent).
  const provider = createTestProvider({ db: f.db, webhookSecret: testWebhookSecret(loadConfig(env).secrets.sessionSecret) });
  const webhook = async (body: object, signature?: string) => {
    const text = JSON.stringify(body);
    return request(`${url}/api/v1/payments/webhooks/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signature ?? provider.signWebhook(text) },
      body: text,
    });
  };
  const event = (kind: string, o: { id: number; totalCents: number; currency: string }, intentId: string) => ({
    id: `evt_${randomUUID()}`,
    type: kind,
    data: { orderId: o.id, intentId, amountCents: o.totalCents, currency: o.currency },
  });
  const forged = await webhook(event('payment.authorized', placed[2]!, 'tpi_forged'), `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`);
  assert.equal(forged.status, 400, JSON.stringify(forged.body));
  const late = await webhook(event('payment.authorized', placed[0]!, `tpi_late_${randomUUID()}`));
  assert.ok(late.status < 300, JSON.stringify(late.body));
  const uncapturable = await webhook(event('payment.authorized', placed[2]!, `tpi_unknown_${randomUUID()}`));
  assert.ok(uncapturable.status >= 500, `the capture is refused: ${JSON.stringify(uncapturable.body)}`);
  // Signed, but no event the shop can read (a provider API version it does not know).
  const malformed = await webhook({ id: `evt_${randomUUID()}`, type: 'payment.authorized' });
  assert.equal(malformed.status, 400, JSON.stringify(malformed.body));

  // The worker: follow-ups completed, emails retried and then failed for good; live instances known to the web role.
  await scrapeUntil(worker, 'a job completed, one retried and one failed', (samples) =>
    ['completed', 'retried', 'failed'].every((status) => samples.some((s) => s.name === 'queue_jobs_processed_total' && s.labels.status === status && s.value > 0)),
  );
  await scrapeUntil(web, 'the worker heartbeat and the admission', (samples) =>
    samples.some((s) => s.name === 'salescale_live_instances' && s.labels.role === 'worker' && s.value === 1) &&
    samples.some((s) => s.name === 'salescale_waiting_room_admitted_total' && s.value > 0),
  );
}

describe('every shipped query reads what a real Salescale emits', () => {
  it('the check itself: a misspelled metric, a label value never written and a label never carried are each found', () => {
    const problems = findProblems(
      withAlternations([
        { where: 'misspelled', expr: 'sum(rate(salescale_order_placed_total[5m]))' },
        { where: 'value', expr: 'sum by (queue) (queue_jobs{state=~"wait|prioritized"})' },
        { where: 'grouping', expr: 'sum by (queue) (rate(http_request_duration_seconds_count[5m]))' },
        { where: 'fine', expr: 'sum by (queue) (queue_jobs{state=~"waiting|prioritized"}) / on () group_left cluster:http_errors:ratio_rate5m' },
      ]),
      emitted,
    );
    assert.deepEqual(
      problems.map((p) => p.replace(/ \((in|values seen): .*$/, '')),
      ['misspelled: metric salescale_order_placed_total is not emitted', 'value: no queue_jobs{state="wait"} in the scrape', 'grouping: by (queue) but no series of http_request_duration_seconds_count carries queue'],
    );
  });

  it('the alert rules', () => {
    const problems = findProblems(withAlternations(ALERT_RULES.map((r) => ({ where: `alert ${r.name}`, expr: r.expr }))), emitted);
    assert.deepEqual(problems, []);
  });

  it('the recording rules', () => {
    const problems = findProblems(withAlternations(RECORDING_RULES.map((r) => ({ where: `record ${r.record}`, expr: r.expr }))), emitted);
    assert.deepEqual(problems, []);
  });

  it('the Grafana dashboard, as committed', () => {
    const dashboard = JSON.parse(read('deploy/grafana/salescale-dashboard.json')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const sources = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ where: `panel "${p.title}"`, expr: replaceGrafanaVariables(target.expr) })));
    assert.equal(sources.length, getDashboardExpressions().length, 'every target of the dashboard is read');
    assert.deepEqual(findProblems(withAlternations(sources), emitted), []);
  });

  it("the runbook's queries", () => {
    const { queries, unparsed } = getRunbookQueries(read('docs/runbook.md'), metricPrefixes);
    assert.deepEqual(unparsed, [], 'spans that look like queries but are not PromQL');
    // About 45 full queries and 55 metric names in the text: fewer means the extraction broke, not that the runbook shrank.
    assert.ok(queries.length >= 90, `only ${queries.length} queries found in docs/runbook.md`);
    const problems = findProblems(withAlternations(queries.map((q) => ({ where: `docs/runbook.md:${q.line}`, expr: q.query }))), emitted);
    assert.deepEqual(problems, []);
  });

  it(`the README's "Metrics, health and alerts": each metric it names, with the labels it lists, and each metric declared`, async () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Metrics, health and alerts\n');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    assert.ok(start >= 0 && section.length > 10_000, 'the section is found');
    // `metric{label,label}` lists a metric's labels (not PromQL): checked as `sum by (label, label) (metric)`.
    const listings = [...section.matchAll(/`([a-z_][a-z0-9_]*)\{([a-z_]+(?:,[a-z_]+)*)\}`/g)];
    const listed = listings.map(([, metric, labels]) => ({ where: `README ${metric}{${labels}}`, expr: `sum by (${labels}) (${metric})` }));
    const { queries, unparsed } = getRunbookQueries(
      listings.reduce((text, [span, metric]) => text.replace(span, `\`${metric}\``), section),
      metricPrefixes,
    );
    assert.deepEqual(unparsed, [], 'spans that look like queries but are not PromQL');
    // About 32 label lists and 77 queries and metric names: fewer means the extraction broke, not that the section shrank.
    assert.ok(listed.length >= 20 && queries.length >= 45, `only ${listed.length} label lists and ${queries.length} queries found`);
    const readmeQueries = queries.map((q) => ({ where: `README (section line ${q.line})`, expr: q.query }));
    assert.deepEqual(findProblems(withAlternations([...listed, ...readmeQueries]), emitted), []);
    // prom-client's defaults are named as such ("and the other prom-client defaults"), not one by one.
    const defaults = new client.Registry();
    client.collectDefaultMetrics({ register: defaults });
    const defaultNames = new Set((await defaults.getMetricsAsJSON()).map((m) => m.name));
    const named = new Set([...section.matchAll(/[a-z_][a-z0-9_]*/g)].map(([word]) => word));
    const declared = [...emitted.names].filter((name) => !/_(bucket|sum|count)$/.test(name) || !emitted.names.has(name.replace(/_(bucket|sum|count)$/, '')));
    assert.deepEqual(
      declared.filter((name) => !defaultNames.has(name) && !named.has(name)).sort(),
      [],
      'metrics the processes declare that the section does not name',
    );
  });

  it('the PrometheusRule and the Cloud Monitoring alert policies rendered under deploy/', async () => {
    const rule = parseAllDocuments(read('deploy/k8s/base/prometheus-rule.yaml')).map((d) => d.toJS()).find((d) => d?.kind === 'PrometheusRule');
    const k8s: Source[] = rule.spec.groups.flatMap((g: { rules: { alert?: string; record?: string; expr: string }[] }) =>
      g.rules.map((r) => ({ where: `k8s ${r.alert ?? r.record}`, expr: r.expr })),
    );
    assert.equal(k8s.length, ALERT_RULES.length + RECORDING_RULES.length);
    const tf = (await parseHcl('main.tf', read('deploy/gcp/main.tf'))) as Record<string, unknown>;
    // hcl2json gives blocks as arrays: resource.<type>.<name>[0].conditions[0].condition_prometheus_query_language[0].query
    const gcp: Source[] = [];
    const visit = (value: unknown, where: string): void => {
      if (Array.isArray(value)) {
        for (const v of value) visit(v, where);
      } else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (key === 'condition_prometheus_query_language') for (const c of v as { query: string }[]) gcp.push({ where: `gcp ${where}`, expr: c.query });
          else visit(v, key === 'conditions' ? where : key);
        }
      }
    };
    visit(tf, '');
    assert.ok(gcp.length > 0, 'the Cloud Monitoring policies hold PromQL conditions');
    assert.deepEqual(findProblems(withAlternations([...k8s, ...gcp]), emitted), []);
  });

  it('each role\'s /metrics passes promtool check metrics (counters end in _total, base units, HELP on every metric)', { skip: promtool ? false : 'promtool not installed (apt-get install -y prometheus)' }, () => {
    for (const { role, text } of scrapes) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.ok(lint.status === 0 || lint.status === 3, `${role}: promtool check metrics failed to run (${lint.status}): ${lint.stderr}`);
      const findings = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() !== '' && !(line in LINT_ACCEPTED));
      assert.deepEqual(findings, [], `${role}: promtool check metrics`);
    }
  });

  it('names the by-labels it could not judge (metrics without series in this run)', (t) => {
    t.diagnostic(`by-labels of metrics that had no series: ${[...unjudged].sort().join('; ') || 'none'}`);
  });

  it("the CloudWatch alarms on Salescale's namespace, against the web instance's EMF lines", () => {
    const lines = web
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>);
    assert.ok(lines.length > 0, 'the web instance wrote EMF lines');
    const emf = lines.flatMap((line) => line._aws.CloudWatchMetrics.map((m) => ({ ...m, line })));
    const template = parseAllDocuments(read('deploy/aws/salescale.yaml'))[0]!.toJS() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === CLOUDWATCH_NAMESPACE);
    assert.ok(alarms.length > 0);
    for (const [name, { Properties: p }] of alarms) {
      const dimensions = (p.Dimensions as { Name: string; Value: string }[] | undefined) ?? [];
      const match = emf.find(
        (m) =>
          m.Namespace === p.Namespace &&
          m.Metrics.some((metric) => metric.Name === p.MetricName) &&
          m.Dimensions.some((set) => set.length === dimensions.length && dimensions.every((d) => set.includes(d.Name) && m.line[d.Name] === d.Value)),
      );
      assert.ok(match, `${name}: no EMF metric ${p.Namespace}/${p.MetricName} with dimensions ${JSON.stringify(dimensions)}`);
    }
  });
});
