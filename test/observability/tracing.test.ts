import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { sessionCookieOf } from '../helpers/commerce.ts';
import { request } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const SERVER = 2;
const CONSUMER = 5;

/**
 * Tracing through real processes: `salescale serve` and `salescale worker` with the standard OTEL_*
 * variables pointing at a real OTLP/HTTP receiver, one checkout, and its spans read back.
 */
describe('OpenTelemetry tracing', () => {
  let receiver: OtlpReceiver;
  let sink: SmtpSink;
  let f: QueueFixture;
  let web: Instance;
  let worker: Instance;

  before(async () => {
    receiver = await startOtlpReceiver();
    sink = await startSmtpSink();
    f = await createQueueFixture({
      PASSWORD_HASH_MEMORY_KIB: '1024',
      PASSWORD_HASH_PASSES: '1',
      SMTP_URL: sink.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    // The request log lines are read too.
    web = await startInstance({ env: { ...f.env, LOG_LEVEL: 'info' }, timeoutMs: 60_000 });
    worker = await f.startWorker({ LOG_LEVEL: 'warn' });
  });
  after(async () => {
    await web?.stop();
    await f?.close();
    await sink?.close();
    await receiver?.close();
  });

  it('shows one checkout as one trace (web → Redis → PostgreSQL → outbox → worker) and its payment as another, down to the email', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'ada@example.com', password: 'a long password', name: 'Ada' } });
    assert.equal(registered.status, 201);
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const product = await request(`${web.url}/api/v1/admin/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` },
      body: { sku: 'trace-1', name: 'Kettle', priceCents: 3100, available: 5 },
    });
    const placed = await request(`${web.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': 'traced-order-1' },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const orderId = placed.body.id as number;
    const paid = await request(`${web.url}/api/v1/orders/${orderId}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    await sink.waitForAccepted(2); // welcome + confirmation

    const inTrace = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
    // The order's attributes are on the request's span (no span of its own), with the idempotency steps as its events.
    const place = await waitFor('the checkout request span', () => receiver.spans.find((s) => s.service === 'salescale-web' && s.kind === SERVER && s.attributes['salescale.order.id'] === orderId));
    assert.equal(place.attributes['salescale.order.idempotency_key'], 'traced-order-1');
    assert.deepEqual(place.events.map((e) => e.name).filter((name) => name.startsWith('redis ')), ['redis idempotency-begin', 'redis idempotency-settle']);
    assert.equal(typeof place.events[0]!.attributes['salescale.duration_ms'], 'number');

    const email = await waitFor('the confirmation email span', () =>
      receiver.spans.find((s: ReceivedSpan) => s.name === 'email.send' && s.attributes['salescale.email.template'] === 'order-confirmation'),
    );
    assert.equal(email.service, 'salescale-worker');
    // The expiry job (written by the order statement) runs in the checkout's trace.
    await waitFor('the expire-order job in the checkout trace', () =>
      inTrace(place.traceId).find((s) => s.service === 'salescale-worker' && s.kind === CONSUMER && s.attributes['bullmq.job.name'] === 'expire-order'),
    );

    const spans = inTrace(place.traceId);
    const describeTrace = () => spans.map((s) => `${s.service} ${s.kind} ${s.name}`).join('\n');
    // web: the HTTP request, the stock gate in Redis, the order statement in PostgreSQL.
    const root = spans.find((s) => s.parentSpanId === '');
    assert.ok(root, `one root span:\n${describeTrace()}`);
    assert.equal(root.kind, SERVER);
    assert.equal(root.service, 'salescale-web');
    assert.equal(spans.filter((s) => s.parentSpanId === '').length, 1, `exactly one root:\n${describeTrace()}`);
    assert.ok(spans.some((s) => s.service === 'salescale-web' && (s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis')), `a Redis span from the web role:\n${describeTrace()}`);
    assert.ok(
      spans.some((s) => s.service === 'salescale-web' && /place_order/.test(String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? ''))),
      `the order statement in PostgreSQL:\n${describeTrace()}`,
    );
    const consumers = spans.filter((s) => s.service === 'salescale-worker' && s.kind === CONSUMER);
    assert.ok(consumers.some((s) => s.attributes['salescale.order.id'] === orderId), 'the worker span carries the order id');
    // The payment's trace: the pay request, then the order-paid job (from its outbox row) and the email job.
    const payTrace = inTrace(email.traceId);
    const describePay = () => payTrace.map((s) => `${s.service} ${s.kind} ${s.name}`).join('\n');
    const payRoot = payTrace.find((s) => s.parentSpanId === '');
    assert.equal(payRoot?.service, 'salescale-web', `the payment trace starts at the pay request:\n${describePay()}`);
    const payConsumers = payTrace.filter((s) => s.service === 'salescale-worker' && s.kind === CONSUMER);
    assert.ok(payConsumers.some((s) => s.attributes['bullmq.job.name'] === 'order-paid'), `the order-paid job:\n${describePay()}`);
    assert.ok(payConsumers.some((s) => s.attributes['bullmq.job.name'] === 'send-order-confirmation'), `the email job:\n${describePay()}`);
    // Every span's parent is in its trace: connected trees, not fragments sharing an id.
    for (const trace of [spans, payTrace]) {
      const ids = new Set(trace.map((s) => s.spanId));
      const orphans = trace.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId));
      assert.deepEqual(orphans.map((s) => `${s.service} ${s.name}`), [], `every parent is in the trace:\n${describeTrace()}\n--\n${describePay()}`);
    }
  });

  it('keeps a guest order\'s access token out of the request span', async () => {
    const token = '42.dHJhY2VkLWd1ZXN0LWxpbmstc2lnbmF0dXJl';
    assert.equal((await request(`${web.url}/api/v1/guest-orders/${token}`)).status, 404);
    const span = await waitFor('the guest order request\'s span', () => receiver.spans.find((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/guest-orders/:token'), 10_000);
    assert.equal(span.attributes['url.path'], '/api/v1/guest-orders/[redacted]');
    assert.ok(!JSON.stringify(receiver.spans).includes(token.split('.')[1]!), 'the token is in no span');
  });

  it('keeps a guest order\'s access token out of the span and the log line of a request no route answers (a 405, a 404)', async () => {
    const token = '43.dHJhY2VkLXdyb25nLW1ldGhvZC1saW5r';
    // A link prefetcher or a crawler GETs the pay link; a stray slash or a typo misses every route.
    assert.equal((await request(`${web.url}/api/v1/guest-orders/${token}/pay`)).status, 405);
    assert.equal((await request(`${web.url}/api/v1/guest-orders/${token}/receipt`)).status, 404);
    assert.equal((await request(`${web.url}/guest-orders/${token}/x`)).status, 404);
    const missed = /guest-orders\/[^/"]+\/(pay|receipt|x)\b/;
    await waitFor('the three requests\' spans', () => (receiver.spans.filter((s) => s.kind === SERVER && missed.test(String(s.attributes['url.path']))).length >= 3 ? true : undefined), 10_000);
    await waitFor('their request log lines', () => (web.output().split('\n').filter((line) => line.includes('"msg":"request"') && missed.test(line)).length >= 3 ? true : undefined), 10_000);
    const secret = token.split('.')[1]!;
    const leaking = receiver.spans.filter((s) => JSON.stringify(s).includes(secret)).map((s) => String(s.attributes['url.path']));
    assert.deepEqual(leaking, [], 'the token is in no span');
    assert.deepEqual(web.output().split('\n').filter((line) => line.includes(secret)), [], 'the token is in no log line');
  });

  it('keeps the parameters of a failed statement (an email, a password hash) out of the request span and its exception', async () => {
    // A statement that fails for one address only: the sign-up's INSERT carries the email and the password hash.
    await f.db.primary.execute(sql.raw(`
      CREATE FUNCTION refuse_traced_signup() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.email LIKE 'traced.private%' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_traced_signup BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION refuse_traced_signup();`));
    const email = 'traced.private@example.com';
    const reply = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email, password: 'correct horse battery staple', name: 'Traced' } });
    assert.equal(reply.status, 500, JSON.stringify(reply.body));
    const span = await waitFor('the failed sign-up\'s span', () => receiver.spans.find((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/customers' && s.status.code === 2), 10_000);
    assert.match(JSON.stringify(span), /Failed query: insert into .*params: \[3 redacted\]/i, 'the statement itself stays to read');
    assert.ok(!JSON.stringify(receiver.spans).includes(email), `the email is in no span: ${JSON.stringify(span)}`);
    assert.ok(!JSON.stringify(receiver.spans).includes('$argon2'), 'no password hash in any span');
    // The error's log line leads to its trace.
    const logged = web.output().split('\n').filter((line) => line.includes('"msg":"unhandled error"')).map((line) => JSON.parse(line));
    assert.deepEqual(logged.map((line) => line.traceId), [span.traceId], 'the unhandled error line carries the trace id');
  });

  it('puts the trace id on every log line of a traced request, its request line included', async () => {
    assert.equal((await request(`${web.url}/api/v1/categories`)).status, 200);
    const span = await waitFor('the request span', () => receiver.spans.find((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/categories'), 10_000);
    const line = await waitFor('its request line', () =>
      web.output().split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('"route":"/api/v1/categories"')).map((l) => JSON.parse(l))[0],
    10_000);
    assert.equal(line.traceId, span.traceId, JSON.stringify(line));
    assert.equal(line.spanId, span.spanId);
  });

  it('puts the trace id of the work that queued a job on the line that logs its failed attempt', async () => {
    sink.refuse({ code: 550, text: '5.7.1 refused for the test' });
    try {
      // The caller's trace (a `traceparent` the request span takes), so the sign-up's trace id is known.
      const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
      const registered = await request(`${web.url}/api/v1/customers`, {
        method: 'POST',
        headers: { traceparent: `00-${traceId}-1122334455667788-01` },
        body: { email: 'refused.welcome@example.com', password: 'a long password', name: 'Refused' },
      });
      assert.equal(registered.status, 201);
      const line = await waitFor('the failed attempt\'s log line', () =>
        worker.output().split('\n').filter((l) => l.includes('"msg":"job attempt failed"') && l.includes('send-welcome-email')).map((l) => JSON.parse(l))[0],
      );
      assert.equal(line.traceId, traceId, JSON.stringify(line));
    } finally {
      sink.refuse(undefined);
    }
  });

  it('leaves probes untraced', async () => {
    await request(`${web.url}/health`);
    await request(`${web.url}/ready`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(receiver.spans.filter((s) => s.kind === SERVER && /\/(health|ready)\b/.test(String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? s.name))).length, 0);
  });
});
