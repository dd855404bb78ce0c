import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('degrade-mode signal: who counts as a distinct client (in-process, real Redis)', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ CLUSTER_HEARTBEAT_MS: '100', RATE_LIMIT_GENERAL_MAX: '1000000' });
  });
  after(() => t.close());

  const clientsNow = async (): Promise<number> => {
    // Ten heartbeats: the figures below are the ones this instance reported after every request before, however slow
    // the machine (three, as it was, a loaded machine's pause can cover). A wait rather than a poll: a client counted
    // twice must have had time to show.
    await sleep(1000);
    const reply = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mode', headers: t.admin, remoteAddress: '192.0.2.250' });
    assert.equal(reply.statusCode, 200);
    return reply.json().figures.clients;
  };

  it('counts one IPv6 subscriber (its /64) once, however many of its addresses it uses, as the rate limits do', async () => {
    await clientsNow(); // the reading admin's own request is in the next figures
    const before = await clientsNow();
    for (let i = 1; i <= 20; i++) {
      const reply = await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: `2001:db8:77:1::${i.toString(16)}` });
      assert.equal(reply.statusCode, 200);
    }
    // The same address, once as IPv4 and once IPv4-mapped, is one client too.
    await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '198.51.100.77' });
    await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '::ffff:198.51.100.77' });
    assert.equal((await clientsNow()) - before, 2);
  });
});
