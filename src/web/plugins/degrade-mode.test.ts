import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { waitFor } from '../../../test/helpers/queues.ts';

describe('degrade-mode signal: who counts as a distinct client (in-process, real Redis)', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ CLUSTER_HEARTBEAT_MS: '100', RATE_LIMIT_GENERAL_MAX: '1000000' });
  });
  after(() => t.close());

  /** Counted requests (every one this test makes: none is an operational path) sent so far. */
  let sent = 0;
  const inject = async (options: InjectOptions) => {
    sent++;
    return t.app.inject(options);
  };

  const clientsNow = async (): Promise<number> => {
    // The figures below must be those of a heartbeat taken after every request before: wait (polling the figures
    // the heartbeats write to Redis) until one reported all of them, however slow the machine. A client counted
    // twice is then in the same figures as the rest.
    const expected = sent;
    await waitFor(`a heartbeat reporting all ${expected} requests`, async () => (await t.platform.cluster.figures()).sampleRequests >= expected);
    const reply = await inject({ method: 'GET', url: '/api/v1/admin/mode', headers: t.admin, remoteAddress: '192.0.2.250' });
    assert.equal(reply.statusCode, 200);
    assert.equal(reply.json().figures.sampleRequests, expected);
    return reply.json().figures.clients;
  };

  it('counts one IPv6 subscriber (its /64) once, however many of its addresses it uses, as the rate limits do', async () => {
    await clientsNow(); // the reading admin's own request is in the next figures
    const before = await clientsNow();
    for (let i = 1; i <= 20; i++) {
      const reply = await inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: `2001:db8:77:1::${i.toString(16)}` });
      assert.equal(reply.statusCode, 200);
    }
    // The same address, once as IPv4 and once IPv4-mapped, is one client too.
    await inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.77' });
    await inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '::ffff:198.51.100.77' });
    assert.equal((await clientsNow()) - before, 2);
  });
});

describe('degrade-mode signal: requests the rate limits refused (in-process, real Redis)', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ CLUSTER_HEARTBEAT_MS: '100', RATE_LIMIT_GENERAL_MAX: '3' });
  });
  after(() => t.close());

  it('leaves a 429 out of the request figures: one client past its limit cannot raise the cluster request rate', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.20' })).statusCode);
    assert.deepEqual(statuses, [...Array<number>(3).fill(200), ...Array<number>(10).fill(429)]);
    // A second client after them all: a heartbeat that counts it counts every request before it.
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.21' })).statusCode, 200);
    await waitFor('a heartbeat counting the second client', async () => ((await t.platform.cluster.figures()).clients ?? 0) >= 2);
    // The three served requests and the second client's; the ten refusals cost a Redis round trip, not a degrade mode.
    assert.equal((await t.platform.cluster.figures()).sampleRequests, 4);
  });
});

describe('degrade-mode signal: requests refused only by a degrade mode\'s cut (in-process, real Redis)', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ CLUSTER_HEARTBEAT_MS: '100', RATE_LIMIT_GENERAL_MAX: '4' });
  });
  after(() => t.close());

  it('counts a 429 the normal limit would have admitted, never one past it: the mode\'s own cut hides no demand', async () => {
    await t.platform.cluster.force('critical', 'test: limits at 50 %');
    await waitFor('the critical mode\'s limits', async () => t.platform.cluster.settings().rateLimitPercent === 50);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.30' })).statusCode);
    // 2 of a normal 4 admitted; the 3rd and 4th were refused only by the cut, the rest past the normal limit too.
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429, 429, 429]);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.31' })).statusCode, 200);
    await waitFor('a heartbeat counting the second client', async () => ((await t.platform.cluster.figures()).clients ?? 0) >= 2);
    // The first client's 4 requests within its normal budget (2 served, 2 cut) and the second client's one.
    assert.equal((await t.platform.cluster.figures()).sampleRequests, 5);
  });
});
