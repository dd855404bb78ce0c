import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import client from 'prom-client';
import { Redis } from 'ioredis';
import { createStockGate } from '../src/modules/inventory/stock-gate.ts';
import { publishingStockGate, stockViewChannel, stockViewNoticeCounterFor } from '../src/modules/inventory/stock-view-notices.ts';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createRedis } from '../src/platform/redis/redis.ts';
import { TEST_REDIS_URL, testPrefix } from './helpers/db.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

/**
 * A release that Redis applied but whose reply was lost with the connection gave a reservation's units back: the
 * product's figure rose. That is news to the other instances' stock views exactly as a release whose reply arrived
 * (StockGate.onGivenBack: "a release that gave a reservation's units back, ... sent again in the background after a
 * failure included"). The release sent again (by ioredis on reconnect, or by the gate's retry) finds nothing left to
 * give back, returns no product, and nobody announces: other instances keep refusing the unit for STOCK_VIEW_REFRESH_MS.
 */
describe('stock view notices: a release whose reply was lost', () => {
  const prefix = testPrefix();
  const logger = createLogger({ level: 'silent' });
  let proxy: TcpProxy;
  let gateRedis: Redis;
  let publisher: Redis;
  let subscriber: Redis;
  const heard: number[] = [];

  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  before(async () => {
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    gateRedis = createRedis(proxy.url, { name: 'lost-release-reply-gate', role: 'state' });
    gateRedis.on('error', () => {});
    publisher = new Redis(TEST_REDIS_URL);
    subscriber = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === stockViewChannel(prefix)) heard.push(...message.split(',').map(Number));
    });
    await subscriber.subscribe(stockViewChannel(prefix));
  });
  after(async () => {
    await proxy?.restore();
    gateRedis?.disconnect();
    publisher?.disconnect();
    subscriber?.disconnect();
    await proxy?.close();
  });

  it('announces the product whose units came back even when the release\'s reply was lost', async () => {
    const productId = 7_000 + Math.floor(Math.random() * 1000);
    const real = createStockGate({ redis: gateRedis, prefix, snapshot: async () => ({ sellable: true, available: 1, committed: [] }) });
    const gate = publishingStockGate(real, { redis: publisher, prefix, logger, counter: stockViewNoticeCounterFor(new client.Registry()) });
    await until('the gate connected', async () => (await real.ensure(productId).catch(() => false)) === true);
    assert.deepEqual(await gate.reserve('lost-reply', [{ productId, quantity: 1 }]), { ok: true, reserved: true });
    assert.equal(await publisher.get(`{${prefix}}:stock:${productId}:a`), '0', 'sold out while reserved');

    const held = proxy.holdOn(`:stock:${productId}:a`, 'reply');
    const releasing = gate.release('lost-reply', [productId]).then(
      () => 'resolved',
      () => 'rejected',
    );
    await held; // Redis gave the unit back; its reply is held
    proxy.dropHeld(); // and the connection drops before the reply arrives
    const settled = await releasing;
    assert.ok(settled === 'resolved' || settled === 'rejected');
    await until('the unit back in the gate', async () => (await publisher.get(`{${prefix}}:stock:${productId}:a`)) === '1');
    await until('the gate\'s connection back', () => gateRedis.status === 'ready');

    // A fence: a notice published after the release's turn is heard after anything the release announced.
    const fence = productId + 1;
    await gate.invalidate(fence);
    await until('the fence', () => heard.includes(fence));
    // Whatever the gate's retry does, it has had time to send the release again by now.
    await until('the release announced', () => heard.includes(productId), 10_000).catch(() => undefined);
    assert.ok(heard.includes(productId), `the unit the release gave back was never announced (heard: ${JSON.stringify(heard)})`);
  });
});
