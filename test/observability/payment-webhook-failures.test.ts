/**
 * A payment webhook the provider signed but Salescale could not apply — PostgreSQL unreachable (a real outage
 * through a TCP proxy), so the 503 sends the provider into its retries — is counted in
 * `salescale_payment_webhooks_total{outcome="failed"}`, which the PaymentWebhooksFailing alert reads. Before, such a
 * delivery was counted nowhere: its 5xx was a drop in the whole shop's error ratio, and no payment alert saw paid
 * orders left unpaid.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TEST_SIGNATURE_HEADER, createTestProvider, testWebhookSecret } from '../../src/modules/payments/index.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { parsePrometheusText } from '../helpers/prometheus-text.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let proxy: TcpProxy;
let t: TestApp;

before(async () => {
  const pgPort = Number(new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres').port || 5432);
  proxy = await startTcpProxy(pgPort, 'postgres');
  t = await createTestApp({}, undefined, {
    databaseUrl: (url) => {
      const through = new URL(url);
      through.port = String(proxy.port);
      return through.toString();
    },
  });
});
after(async () => {
  await proxy?.restore();
  await t?.close();
  await proxy?.close();
});

async function webhookOutcomes(): Promise<Record<string, number>> {
  const scrape = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(scrape.statusCode, 200, scrape.body);
  const outcomes: Record<string, number> = {};
  for (const sample of parsePrometheusText(scrape.body)) {
    if (sample.name === 'salescale_payment_webhooks_total' && sample.labels.provider === 'test') outcomes[sample.labels.outcome!] = sample.value;
  }
  return outcomes;
}

describe('payment webhooks that cannot be applied', () => {
  it('counts a signed webhook refused with a 5xx (PostgreSQL down) as outcome="failed"', async () => {
    const provider = createTestProvider({ db: t.platform.db, webhookSecret: testWebhookSecret(t.config.secrets.sessionSecret) });
    const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'payment.authorized', data: { intentId: `tpi_${randomUUID()}`, orderId: 1, amountCents: 100, currency: 'EUR' } });
    await proxy.cut();
    try {
      const reply = await t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/webhooks/test',
        headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: provider.signWebhook(body) },
        payload: body,
      });
      assert.ok(reply.statusCode >= 500, `the provider must retry: ${reply.statusCode} ${reply.body}`);
    } finally {
      await proxy.restore();
    }
    const outcomes = await webhookOutcomes();
    assert.equal(outcomes.failed, 1, `a webhook the shop could not apply is counted: ${JSON.stringify(outcomes)}`);
  });
});
