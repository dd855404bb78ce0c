import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import client from 'prom-client';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import { createRedis } from '../../platform/redis/redis.ts';
import { createStockGate, type StockGate } from './stock-gate.ts';
import { createStockView } from './stock-view.ts';
import { listenForStockViewNotices, publishingStockGate, stockViewNoticeCounterFor } from './stock-view-notices.ts';

/**
 * The stock view's notices over a real Redis: the gate below stands for the Redis gate (its figures are set by the
 * test), so only the view's memory and the pub/sub path are under test.
 */
describe('stock view notices', () => {
  const prefix = testPrefix();
  const logger = createLogger({ level: 'silent' });
  let publisher: Redis;
  let subscriber: Redis;
  const figures = new Map<number, number>();
  let peekGate: ((ids: readonly number[]) => Promise<Map<number, number>>) | undefined;
  const gate: StockGate = {
    reserve: async () => ({ ok: true, reserved: true }),
    confirm: async () => {},
    release: async () => {},
    invalidate: async () => {},
    peek: async (ids) => (peekGate ? peekGate(ids) : new Map(ids.filter((id) => figures.has(id)).map((id) => [id, figures.get(id)!]))),
    ensure: async () => true,
    forgetAll: async () => 0,
  };
  const registry = new client.Registry();
  const counter = stockViewNoticeCounterFor(registry);
  const view = createStockView({ gate, refreshMs: 60_000 });
  let stop: () => Promise<void>;
  // Another process's gate: what it published, all heard by `subscriber` (the only one on this prefix's channel).
  const otherCounter = stockViewNoticeCounterFor(new client.Registry());
  const published = async () => (await otherCounter.get()).values.find((v) => v.labels.outcome === 'published')?.value ?? 0;
  let other: StockGate;
  /** Products named in the notices heard. */
  const heard: number[] = [];
  const hear = (ids: readonly number[]) => {
    heard.push(...ids);
    view.forget(ids);
  };
  const received = async () => (await counter.get()).values.find((v) => v.labels.outcome === 'received')?.value ?? 0;
  const until = async (what: string, check: () => Promise<boolean> | boolean) => {
    // Notices arrive within milliseconds; 15 s leaves a loaded machine room (the wait ends when they are there).
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within 15 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  before(async () => {
    publisher = new Redis(TEST_REDIS_URL);
    subscriber = createRedis(TEST_REDIS_URL, { name: 'stock-view-notices-test-sub', role: 'subscriber' });
    const subscribed = new Promise((resolve) => subscriber.once('ready', resolve));
    stop = listenForStockViewNotices({ subscriber, prefix, view: { forget: hear, forgetMemory: view.forgetMemory }, logger, counter });
    await subscribed;
    other = publishingStockGate(gate, { redis: publisher, prefix, logger, counter: otherCounter });
    // Subscribed once a notice of the other process is heard; then every notice it sent is heard. Each probe's
    // PUBLISH is awaited (counted) before the next: a probe still in flight when the tests begin would be counted
    // in a test's own publishes.
    await until('the subscription', async () => {
      const publishedBefore = await published();
      await other.invalidate(999_999);
      await until('the probe published', async () => (await published()) > publishedBefore);
      return (await received()) > 0;
    });
  });
  after(async () => {
    await stop();
    subscriber.disconnect();
    publisher.disconnect();
  });

  it("forgets a product another process gave back, and does not remember a read that began before the notice", async () => {
    figures.set(1, 0);
    await view.peek([1]);
    assert.deepEqual(view.knownShortages([{ productId: 1, quantity: 1 }]), [{ productId: 1, requested: 1, available: 0 }]);

    // A read of the gate that answers the old figure after the notice arrived.
    let answer!: () => void;
    peekGate = (ids) => new Promise((resolve) => (answer = () => resolve(new Map(ids.map((id) => [id, 0])))));
    figures.set(1, 1);
    const publishedBefore = await published();
    heard.length = 0;
    const reading = view.peek([1, 2]);
    await Promise.all([other.invalidate(1), other.invalidate(2), other.invalidate(1)]);
    await until('the notice', () => heard.includes(1));
    answer();
    await reading;
    peekGate = undefined;
    await until('the publish counted', async () => (await published()) > publishedBefore);
    // (A late notice of the subscription's probe, 999 999, may come too.)
    assert.deepEqual(heard.filter((id) => id !== 999_999).sort(), [1, 2], 'the product given back twice named once, and the other');
    assert.equal((await published()) - publishedBefore, 1, 'the three invalidations of one turn went out in one message');
    assert.equal(view.knownShortages([{ productId: 1, quantity: 1 }]), undefined, 'the figure remembered before the notice is forgotten');
    assert.equal(view.knownShortages([{ productId: 2, quantity: 1 }]), undefined, 'the figure read before the notice is not remembered');
    assert.deepEqual([...(await view.peek([1]))], [[1, 1]]);
  });

  it('forgets everything when it subscribes again after its connection dropped (notices meanwhile are lost)', async () => {
    figures.set(3, 0);
    await view.peek([3]);
    assert.ok(view.knownShortages([{ productId: 3, quantity: 1 }]));
    const readyAgain = new Promise((resolve) => subscriber.once('ready', resolve));
    subscriber.disconnect(true);
    await readyAgain;
    await until('the memory forgotten', () => view.knownShortages([{ productId: 3, quantity: 1 }]) === undefined);
  });

  // The gate's `invalidate` that cannot reach Redis rejects and is sent again in the background. Announced at once
  // (it used to be, in a `finally`), the notice came while the gate still held the old figure: the other instances
  // forgot it, read it again and remembered it, and nothing was announced when the retry dropped it, so they kept
  // the stale figure for STOCK_VIEW_REFRESH_MS. The notice is sent when the gate's figure is dropped, retry included.
  it('announces an invalidation the gate could not send once its background retry dropped the figure, not before', async () => {
    const gateRedis = createRedis(TEST_REDIS_URL, { name: 'stock-view-notices-test-gate', role: 'state' });
    gateRedis.on('error', () => {});
    const real = createStockGate({ redis: gateRedis, prefix, snapshot: async () => ({ sellable: true, available: 3, committed: [] }), retryMs: 20 });
    const announcing = publishingStockGate(real, { redis: publisher, prefix, logger, counter: otherCounter });
    try {
      await until('the gate connected', async () => (await real.ensure(7).catch(() => false)) === true);
      assert.equal(await publisher.exists(`{${prefix}}:stock:7:a`), 1, 'the gate holds a figure');
      heard.length = 0;
      gateRedis.disconnect();
      await assert.rejects(announcing.invalidate(7));
      // A fence: a notice published after it on the same connection is heard after whatever it published.
      await other.invalidate(8);
      await until('the fence', () => heard.includes(8));
      assert.ok(!heard.includes(7), 'a failed invalidation is not announced while the gate still holds the old figure');
      await gateRedis.connect();
      await until("the retry's notice", () => heard.includes(7));
      assert.equal(await publisher.exists(`{${prefix}}:stock:7:a`), 0, 'announced once the figure was dropped');
    } finally {
      gateRedis.disconnect();
    }
  });

  // A reservation released (its order refused or failed) gives units back another instance may have read as sold out
  // while they were reserved; a release that found nothing to give back (never applied, released already) is no news.
  it('announces a release that gave a reservation back, not one that found nothing to give back', async () => {
    const gateRedis = createRedis(TEST_REDIS_URL, { name: 'stock-view-notices-test-release', role: 'state' });
    gateRedis.on('error', () => {});
    const real = createStockGate({ redis: gateRedis, prefix, snapshot: async () => ({ sellable: true, available: 3, committed: [] }) });
    const announcing = publishingStockGate(real, { redis: publisher, prefix, logger, counter: otherCounter });
    try {
      await until('the gate connected', async () => (await real.ensure(22).catch(() => false)) === true);
      heard.length = 0;
      await announcing.release('never-reserved', [21]);
      assert.deepEqual(await announcing.reserve('reserved', [{ productId: 22, quantity: 1 }]), { ok: true, reserved: true });
      assert.equal(await publisher.get(`{${prefix}}:stock:22:a`), '2');
      await announcing.release('reserved', [22]);
      // Published after the first release's turn on the same connection: heard after whatever that one published.
      await until('the release announced', () => heard.includes(22));
      assert.deepEqual(heard, [22], 'neither the reservation nor the release that gave nothing back announced');
      await announcing.release('reserved', [22]);
      await other.invalidate(23);
      await until('the fence', () => heard.includes(23));
      assert.deepEqual(heard, [22, 23], 'a release sent again after it gave its units back is not announced twice');
    } finally {
      gateRedis.disconnect();
    }
  });

  it('counts a publish that fails and does not fail the invalidation', async () => {
    const broken = createRedis('redis://127.0.0.1:1', { name: 'stock-view-notices-test-broken', role: 'fast-fail' });
    broken.on('error', () => {});
    const ownCounter = stockViewNoticeCounterFor(new client.Registry());
    const failing = publishingStockGate(gate, { redis: broken, prefix, logger, counter: ownCounter });
    await failing.invalidate(4);
    await until('the failure counted', async () => ((await ownCounter.get()).values.find((v) => v.labels.outcome === 'publish_failed')?.value ?? 0) === 1);
    broken.disconnect();
  });

  // At shutdown the process closes its Redis connection after the last invalidations: a notice batch still pending
  // then was published on the closing connection, failed, and was logged and counted as a publish failure
  // (StockViewNoticesFailing's input) although nothing failed.
  it('does not count (or warn about) a notice batch left behind by its own connection closing', async () => {
    const closing = new Redis(TEST_REDIS_URL);
    const ownCounter = stockViewNoticeCounterFor(new client.Registry());
    const announcing = publishingStockGate(gate, { redis: closing, prefix, logger, counter: ownCounter });
    await announcing.invalidate(12);
    // Shutdown closes the connection before the batch's turn of the event loop ends.
    await closing.quit();
    await until('the connection closed', () => closing.status === 'end');
    // Whatever the batch's publish became is settled once the connection ended; let its handlers run.
    await new Promise((resolve) => setImmediate(resolve));
    const outcome = async (name: string) => (await ownCounter.get()).values.find((v) => v.labels.outcome === name)?.value ?? 0;
    assert.equal(await outcome('publish_failed'), 0, 'no publish failure counted for a connection this process closed');
  });

  // StockViewNoticesFailing reads `increase()` of publish_failed: a series born at its first failure (at 1) shows no
  // increase for it, and a series no process has shows nothing to alert on.
  it('exposes every outcome at zero from the start, so the first publish failure is an increase', async () => {
    const fresh = await stockViewNoticeCounterFor(new client.Registry()).get();
    assert.deepEqual(
      fresh.values.map((v) => [v.labels.outcome, v.value]).sort(),
      [
        ['malformed', 0],
        ['publish_failed', 0],
        ['published', 0],
        ['received', 0],
      ],
    );
  });
});
