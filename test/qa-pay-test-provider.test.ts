import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { TEST_SIGNATURE_HEADER, testWebhookSecret } from '../src/modules/payments/test-provider.ts';

describe('QA payments: the test provider', () => {
  let t: TestApp;
  let secret: string;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '10000' });
    secret = testWebhookSecret(t.config.secrets.sessionSecret);
  });
  after(() => t?.close());

  const hmac = (key: string, ts: number, body: string) => createHmac('sha256', key).update(`${ts}.${body}`).digest('hex');
  function webhook(body: unknown, signature?: string) {
    const payload = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    return t.app.inject({ method: 'POST', url: '/api/v1/payments/webhooks/test', headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signature ?? `t=${ts},v1=${hmac(secret, ts, payload)}` }, payload });
  }

  it('accepts a delivery signed during a secret rotation (several v1 signatures, the valid one first), as Stripe\'s scheme does', async () => {
    // Stripe's scheme: the header may carry several v1 signatures (one per active secret); any one that matches verifies.
    // An event type we only acknowledge, so that nothing but the signature decides the answer.
    const body = { id: `evt_qa_rot_${Math.random()}`, type: 'payment.qa_noted', data: {} };
    const payload = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    const validLast = await webhook(body, `t=${ts},v1=${hmac('a-retired-secret', ts, payload)},v1=${hmac(secret, ts, payload)}`);
    assert.equal(validLast.statusCode, 200, validLast.body);
    const validFirst = await webhook({ ...body, id: `${body.id}-2` }, undefined);
    assert.equal(validFirst.statusCode, 200, validFirst.body);
    const rotated = { ...body, id: `${body.id}-3` };
    const rotatedPayload = JSON.stringify(rotated);
    const reply = await webhook(rotated, `t=${ts},v1=${hmac(secret, ts, rotatedPayload)},v1=${hmac('a-retired-secret', ts, rotatedPayload)}`);
    assert.equal(reply.statusCode, 200, `a correctly signed delivery with its valid v1 first was refused: ${reply.body}`);
  });
});
