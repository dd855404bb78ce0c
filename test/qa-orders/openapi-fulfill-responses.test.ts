import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import type { Json } from '../helpers/http.ts';

/**
 * Fulfilling an order never calls the payment provider: /docs/json must not list the provider's 502
 * (`PAYMENT_PROVIDER_ERROR`) for it, as it does for refund. 503 stays (the database unavailable), as do its refusals.
 */
describe('OpenAPI: POST /admin/orders/:id/fulfill lists only what it answers', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('documents no 502', async () => {
    const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const responses = Object.keys(doc.paths['/api/v1/admin/orders/{id}/fulfill'].post.responses);
    for (const status of ['200', '404', '409', '503']) assert.ok(responses.includes(status), `fulfill documents ${status}`);
    assert.ok(!responses.includes('502'), `fulfill never calls the payment provider, yet documents 502: ${responses.join(', ')}`);
    // Refund does call it: its 502 stays.
    assert.ok(Object.keys(doc.paths['/api/v1/admin/orders/{id}/refund'].post.responses).includes('502'));
  });
});
