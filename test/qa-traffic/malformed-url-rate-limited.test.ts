import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * README "Rate limits and load shedding": every request but the probes, docs, webhooks and the admin API with its token
 * counts against `general`. A URL the router refuses (400 BAD_URL through `frameworkErrors`, before any hook) is one.
 */
describe('a request whose URL the router refuses, once the address has spent its general budget', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '3' });
  });
  after(async () => {
    await t.close();
  });

  it('spends the budget and is refused with 429 RATE_LIMITED like any other request', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz' })).statusCode);
    assert.deepEqual(statuses, [400, 400, 400, 429, 429], 'the fourth and fifth malformed URLs are over the budget of 3');
    const next = await t.app.inject({ method: 'GET', url: '/no-such-path' });
    assert.equal(next.statusCode, 429, 'the budget spent on malformed URLs is the address’s');
    assert.equal(next.json().error.code, 'RATE_LIMITED');
  });
});
