import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createPlatform, type Platform } from '../../src/platform/platform.ts';
import { composeWeb } from '../../src/web/compose.ts';
import { buildServer, type App } from '../../src/web/server.ts';
import { createTestApp, testEnv, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { request } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

describe('/metrics exposure', () => {
  let t: TestApp;
  let web: Instance;
  let worker: Instance;
  let metricsPort: number;
  before(async () => {
    t = await createTestApp({ METRICS_TOKEN: TOKEN });
    // One after the other, so that a failed start leaves no process behind (the machine may be busy). Their ports are
    // found by startInstance, which starts one again on others if another process took one before the child bound it.
    web = await startInstance({ env: t.env, metricsPort: true, timeoutMs: 60_000 });
    metricsPort = web.metricsPort!;
    worker = await startInstance({ env: t.env, command: 'worker', timeoutMs: 60_000 });
  });
  after(async () => {
    await Promise.all([web?.stop(), worker?.stop()]);
    await t?.close();
  });

  it('requires the bearer token when METRICS_TOKEN is set, with the request id in the error', async () => {
    const denied = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['www-authenticate'], 'Bearer');
    assert.equal(denied.json().error.code, 'UNAUTHORIZED');
    assert.equal(denied.json().error.requestId, denied.headers['x-request-id']);
    const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    const allowed = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.statusCode, 200);
    assert.match(allowed.body, /^# HELP http_request_duration_seconds /m);
  });

  it('serves /metrics only on METRICS_PORT when it is set', async () => {
    const publicPort = await request(`${web.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(publicPort.status, 404);
    assert.equal(publicPort.body.error.code, 'ROUTE_NOT_FOUND');
    const own = `http://127.0.0.1:${metricsPort}/metrics`;
    assert.equal((await fetch(own)).status, 401);
    const scraped = await fetch(own, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /process_cpu_seconds_total\{role="web"/);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status, 404);
  });

  it('asks for the token on the worker too', async () => {
    assert.equal((await fetch(`${worker.url}/metrics`)).status, 401);
    const scraped = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /process_cpu_seconds_total\{role="worker"/);
  });
});

describe('/metrics in production settings', () => {
  it('refuses anonymous requests on the public port unless METRICS_PUBLIC=true says otherwise', async () => {
    const closed = await createTestApp({ NODE_ENV: 'production' });
    try {
      const anonymous = await closed.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(anonymous.statusCode, 403);
      assert.equal(anonymous.json().error.code, 'METRICS_NOT_PUBLIC');
      assert.doesNotMatch(anonymous.body, /http_request_duration_seconds/);
      assert.equal(anonymous.json().error.requestId, anonymous.headers['x-request-id']);
      // Health and readiness stay public.
      assert.equal((await closed.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    } finally {
      await closed.close();
    }
    const open = await createTestApp({ NODE_ENV: 'production', METRICS_PUBLIC: 'true' });
    try {
      const anonymous = await open.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(anonymous.statusCode, 200);
      assert.match(anonymous.body, /^# HELP http_request_duration_seconds /m);
    } finally {
      await open.close();
    }
  });

  it('defaults to closed in production only, and refuses a malformed METRICS_PUBLIC', () => {
    assert.equal(loadConfig({ NODE_ENV: 'production', ADMIN_API_TOKEN: 'x'.repeat(16), SESSION_SECRET: 'y'.repeat(32) }).observability.metricsPublic, false);
    assert.equal(loadConfig({ NODE_ENV: 'development' }).observability.metricsPublic, true);
    assert.equal(loadConfig({ NODE_ENV: 'test', METRICS_PUBLIC: 'false' }).observability.metricsPublic, false);
    assert.throws(() => loadConfig({ NODE_ENV: 'test', METRICS_PUBLIC: 'yes please' }), /METRICS_PUBLIC/);
  });
});

describe('request logs', () => {
  let database: TestDatabase;
  let platform: Platform;
  let app: App;
  const lines: Record<string, unknown>[] = [];
  before(async () => {
    database = await createTestDatabase();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = loadConfig(testEnv(database.url, { LOG_LEVEL: 'info' }));
    platform = createPlatform(config, 'web', pino({ level: 'info' }, sink));
    app = await buildServer(await composeWeb(platform));
    app.get('/test/boom', async () => {
      throw new Error('deliberate');
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await platform?.close();
    await database?.drop();
  });

  it('are pino JSON lines with request id, route template, status and duration; errors carry the same id', async () => {
    const ok = await app.inject({ method: 'GET', url: '/api/v1/products/123456?x=1', headers: { 'x-request-id': 'trace-abc.1' } });
    assert.equal(ok.headers['x-request-id'], 'trace-abc.1');
    const boom = await app.inject({ method: 'GET', url: '/test/boom' });
    assert.equal(boom.statusCode, 500);
    const id = boom.json().error.requestId;
    assert.equal(boom.headers['x-request-id'], id);
    await new Promise((resolve) => setImmediate(resolve));

    const okLine = lines.find((l) => l.msg === 'request' && l.reqId === 'trace-abc.1');
    assert.ok(okLine, JSON.stringify(lines));
    assert.equal(okLine.route, '/api/v1/products/:id');
    assert.equal(okLine.status, ok.statusCode);
    assert.equal(typeof okLine.durationMs, 'number');
    assert.equal(typeof okLine.level, 'number');
    const errorLine = lines.find((l) => l.msg === 'unhandled error');
    assert.equal(errorLine?.reqId, id);
    assert.ok(lines.some((l) => l.msg === 'request' && l.reqId === id && l.status === 500));
  });

  it('keep a guest order\'s access token out: the link is the only key to the order, and logs are read by many', async () => {
    const token = '42.c2VjcmV0LWd1ZXN0LWxpbmstc2lnbmF0dXJl';
    for (const url of [`/api/v1/guest-orders/${token}`, `/api/v1/guest-orders/${token}/cancel`, `/api/v1/guest-orders/${token}/pay`]) {
      const response = await app.inject({ method: url.endsWith(token) ? 'GET' : 'POST', url, headers: { 'x-request-id': `guest-link-${url.length}` }, payload: url.endsWith(token) ? undefined : {} });
      assert.notEqual(response.statusCode, 500);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.msg === 'request' && String(l.reqId).startsWith('guest-link-'));
    assert.equal(logged.length, 3);
    assert.deepEqual(
      logged.map((l) => l.url),
      ['/api/v1/guest-orders/[redacted]', '/api/v1/guest-orders/[redacted]/cancel', '/api/v1/guest-orders/[redacted]/pay'],
    );
    assert.ok(!JSON.stringify(lines).includes(token.split('.')[1]!), 'the token appears on no log line');
  });
});
