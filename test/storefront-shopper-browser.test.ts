import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * What a shopper meets off the happy path, in a real browser (headless Chromium, Debian's package) on a real
 * `salescale serve`: links from campaigns, prices in other currencies, a link that would send them elsewhere
 * after signing in, and a network that fails under them.
 */
describe('storefront in a browser, off the happy path', () => {
  let t: TestApp;
  let web: Instance;

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SALE_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000' });
    web = await startInstance({ env: { ...t.env, WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '500' } });
  });
  after(async () => {
    await web?.stop();
    await t.close();
  });

  const makeProduct = async (body: Record<string, unknown>) => {
    const reply = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: `sx-${Math.random().toString(36).slice(2)}`, available: 10, ...body } });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id as number;
  };

  it('opens pages from campaign links that carry tracking parameters', async () => {
    const id = await makeProduct({ name: 'Campaign Runner', priceCents: 4_900 });
    for (const url of [`/?utm_source=newsletter&utm_campaign=black-friday`, `/products/${id}?gclid=Cj0KCQ&fbclid=IwAR`, `/?q=runner&utm_medium=email`, `/cart?utm_source=x`]) {
      const reply = await fetch(`${web.url}${url}`);
      assert.equal(reply.status, 200, `${url}: ${reply.status} ${(await reply.text()).slice(0, 200)}`);
      assert.match(reply.headers.get('content-type') ?? '', /text\/html/);
    }
    // What the pages do read is still checked.
    assert.equal((await fetch(`${web.url}/?q=${'x'.repeat(101)}`)).status, 400);
  });
});
