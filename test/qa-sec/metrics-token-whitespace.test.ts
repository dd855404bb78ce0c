import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createTestApp, testEnv, type TestApp } from '../helpers/app.ts';

/**
 * METRICS_TOKEN is kept as given, while `/metrics` reads the bearer token as `\S+`. A token that ends in a newline (a
 * secret file written with `echo`) is accepted at boot and can never be presented: Prometheus gets 401 with the
 * right token, and the instance's metrics (and the autoscaler fed by them) go dark. Either the value should be
 * refused at boot, or the token as a client can send it should be admitted.
 */
describe('a METRICS_TOKEN with whitespace around it', () => {
  const token = 'qa-metrics-token-0123456789abcdef';
  let t: TestApp | undefined;
  after(() => t?.close());

  it('is refused at boot, or admits Authorization: Bearer <the token> on /metrics', async () => {
    const extra = { METRICS_TOKEN: `${token}\n` };
    let refusedAtBoot = false;
    try {
      loadConfig(testEnv('postgres://unused@127.0.0.1:1/unused', extra));
    } catch {
      refusedAtBoot = true;
    }
    if (refusedAtBoot) return;
    t = await createTestApp(extra);
    const reply = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    assert.equal(reply.statusCode, 200, `the configured metrics token was started with, then refused: ${reply.statusCode} ${reply.body.slice(0, 200)}`);
  });
});
