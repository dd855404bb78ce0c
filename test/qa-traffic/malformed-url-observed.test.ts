import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { parsePrometheusText, total } from '../helpers/prometheus-text.ts';

/**
 * A path the router refuses itself (a malformed percent-encoding: 400 BAD_URL through `frameworkErrors`) is a
 * request like any other to an operator: README "Metrics, health and alerts" — every request observed in
 * `http_request_duration_seconds` (routes as templates, `unmatched` otherwise) and one `request` log line per request.
 *
 * It also guards an assumption Fastify does not document: that its `logController.incomingRequest` is called for the
 * router's refusals too (true of 5.x's code, where `ReplyDoneLogController` is the only place that sees them). A
 * Fastify upgrade that stops calling it fails this test.
 */
describe('a request whose URL the router refuses (400 BAD_URL)', () => {
  let t: TestApp;
  const log = capturingLogger('info');

  before(async () => {
    t = await createTestApp({ LOG_LEVEL: 'info' }, undefined, { logger: log.logger });
  });
  after(async () => {
    await t.close();
  });

  it('is counted in http_request_duration_seconds and logged as a request line, as every other refusal is', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz' });
      assert.equal(reply.statusCode, 400);
      assert.equal(reply.json().error.code, 'BAD_URL');
    }
    // A 404 of an unknown path, for comparison, is observed.
    assert.equal((await t.app.inject({ method: 'GET', url: '/no-such-path' })).statusCode, 404);

    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    assert.equal(total(samples, 'http_request_duration_seconds_count', { status_code: '404' }), 1);
    assert.equal(total(samples, 'http_request_duration_seconds_count', { status_code: '400' }), 3, 'the three 400 BAD_URL replies in http_request_duration_seconds');
    const requestLines = log.lines.filter((line) => line.msg === 'request' && line.status === 400);
    assert.equal(requestLines.length, 3, 'one request log line per 400 BAD_URL reply');
  });

  it('is timed from its arrival: the rate limit check it waits on is in its duration, not 0 ms', async () => {
    const before = log.lines.length;
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz' })).statusCode, 400);
    const line = log.lines.slice(before).find((l) => l.msg === 'request' && l.status === 400);
    assert.ok(line, 'a request line for the refusal');
    assert.ok(Number(line.durationMs) > 0, `durationMs is ${String(line.durationMs)}`);
  });
});
