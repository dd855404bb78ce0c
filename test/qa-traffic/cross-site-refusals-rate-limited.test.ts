import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * README "Rate limits and load shedding": every request but the probes, docs, webhooks and the admin API with its token
 * counts against `general`, its refusals included. A state-changing request a browser says comes from another site is
 * refused 403 `CROSS_SITE_REQUEST`; answered before the rate-limit hook, an address over its budget could send such
 * requests without end (each counted in the cluster's requests/min, which the degrade signal trusts no single client to
 * push past its rate limit).
 */
describe('cross-site state-changing requests and the general rate limit', () => {
  let t: TestApp;
  /** A form a page on another site posts to sign the shopper out (text/plain, no custom header). */
  const crossSite = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' };

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '3', RATE_LIMIT_LOGIN_MAX: '1' });
  });
  after(async () => {
    await t?.close();
  });

  const get = (remoteAddress: string) => t.app.inject({ url: '/api/v1/no-such-path', remoteAddress });
  const post = (remoteAddress: string) => t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', remoteAddress, headers: crossSite, payload: 'x=1' });

  it('are refused with 429 RATE_LIMITED once the address has spent its budget', async () => {
    const address = '198.51.100.10';
    for (let i = 0; i < 3; i++) assert.equal((await get(address)).statusCode, 404, 'within the budget of 3');
    assert.equal((await get(address)).statusCode, 429, 'the budget is spent');

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(address)).statusCode);
    assert.deepEqual(statuses, [429, 429, 429], 'cross-site POSTs from an address over its budget');
  });

  it('are refused with 403 CROSS_SITE_REQUEST under the budget, and each spends one unit', async () => {
    const address = '198.51.100.11';
    const refused = await post(address);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().error.code, 'CROSS_SITE_REQUEST');
    assert.match(String(refused.headers.ratelimit), /^"general";r=2;t=\d+$/, 'one unit of 3 spent');
    assert.equal((await post(address)).statusCode, 403);
    assert.equal((await post(address)).statusCode, 403);
    assert.equal((await get(address)).statusCode, 429, 'three cross-site refusals spent the budget of 3');
  });

  it('are no failed sign-in attempts: a page of another site cannot lock a shopper\'s address out of signing in', async () => {
    const address = '198.51.100.12';
    const signIn = (headers: Record<string, string>, payload: string) => t.app.inject({ method: 'POST', url: '/api/v1/sessions', remoteAddress: address, headers, payload });
    const forged = await signIn(crossSite, 'email=victim@example.com&password=x');
    assert.equal(forged.statusCode, 403, forged.body);
    const credentials = JSON.stringify({ email: 'nobody@example.com', password: 'a wrong password' });
    const own = await signIn({ 'content-type': 'application/json' }, credentials);
    assert.equal(own.statusCode, 401, `the login budget of 1 is still whole: ${own.body}`);
    assert.equal((await signIn({ 'content-type': 'application/json' }, credentials)).statusCode, 429, 'the failed attempt spent it');
  });
});
