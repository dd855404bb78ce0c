import client from 'prom-client';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StockGate } from './stock-gate.ts';

/**
 * Units given back (or stock changed outside checkout) in one process are news to every web instance's stock view
 * (`createStockView`), which otherwise refuses them from memory ("only N left", sold out) for up to
 * STOCK_VIEW_REFRESH_MS. Each `StockGate.invalidate` that reached Redis, at once or by the gate's retry (a cancellation, a refund, an expired
 * reservation in the worker, an admin's stock change, a gate rebuilt after PostgreSQL refused units), and each
 * `StockGate.release` that gave a reservation's units back (an order refused or failed after its reservation; one whose
 * call failed, when the gate's retry reaches Redis, whatever that finds: the failed call may have given them back) publishes the
 * product's id on a channel under the deployment's Redis prefix; every web instance forgets those products on
 * receipt, through the same path as its own invalidations (a gate read begun before the message does not remember
 * its older figure). Reservations and confirmations never publish: the hot checkout path costs nothing more.
 *
 * Redis pub/sub is at most once (a message sent while a subscriber is reconnecting, or a Redis restart, is lost):
 * the view's refresh interval stays the safety net, so a lost message costs at most STOCK_VIEW_REFRESH_MS, as
 * before. A subscriber that (re)subscribes forgets its whole memory, since it may have missed messages meanwhile.
 */
export const stockViewChannel = (prefix: string): string => `${prefix}:stock-view:given-back`;

export type StockViewNoticeCounter = client.Counter<'outcome'>;
const counters = new WeakMap<client.Registry, StockViewNoticeCounter>();
const OUTCOMES = ['published', 'publish_failed', 'received', 'malformed'] as const;

/**
 * `outcome`: published | publish_failed (logged; the refresh interval catches up) | received | malformed. Every
 * outcome is created at zero, so the first publish failure is an `increase()` (StockViewNoticesFailing).
 */
export function stockViewNoticeCounterFor(registry: client.Registry): StockViewNoticeCounter {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new client.Counter({
      name: 'salescale_stock_view_notices_total',
      help: 'Cross-instance stock view invalidations (units given back) by outcome: published, publish_failed, received, malformed',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of OUTCOMES) counter.inc({ outcome }, 0);
    counters.set(registry, counter);
  }
  return counter;
}

/**
 * The gate, whose invalidations and releases also tell every web instance's view, once each reached Redis: when
 * `invalidate` succeeds, or a `release` gives a reservation's units back (an order PostgreSQL refused or that failed
 * after its units were reserved: another instance may have read "sold out" while they were reserved), or, for one
 * that failed and was handed to the gate's background retry, when that retry succeeds (all its products, whatever the
 * retry found: the failed call may have run and given them back, its reply lost), or a rebuild forgets expired
 * reservations of a process that died holding them (`StockGate.onGivenBack`).
 * Not when it failed: the gate still holds the old figure then, and a view that forgot it would read and remember
 * that same figure again, with nothing telling it when the retry dropped it (it kept the stale figure for
 * STOCK_VIEW_REFRESH_MS). A release that succeeded at once and found nothing to give back publishes nothing. A gate without `onGivenBack`
 * (a test's) announces each `invalidate` and `release` that succeeded. Reservations and confirmations (the checkout's
 * hot path) never publish; releases happen only on failure paths. Ids asked in one turn of the event loop share one
 * PUBLISH (an expiry sweep of many orders, a failed batch of orders, sends one message). A publish that fails is logged and counted, never thrown: no order, cancellation or
 * expiry fails for it. A batch left pending when the process closes the connection (shutdown) is dropped quietly.
 */
export function publishingStockGate(gate: StockGate, deps: { redis: Redis; prefix: string; logger: Logger; counter: StockViewNoticeCounter }): StockGate {
  const channel = stockViewChannel(deps.prefix);
  let pending: Set<number> | undefined;
  const flush = () => {
    const ids = [...(pending ?? [])];
    pending = undefined;
    // The process closed its connection (shutdown) with a batch still pending: nothing failed, nothing to tell.
    if (ids.length === 0 || deps.redis.status === 'end') return;
    deps.redis.publish(channel, ids.join(',')).then(
      () => deps.counter.inc({ outcome: 'published' }),
      (error: unknown) => {
        // Sent while this process was closing the connection (a quit already on its way): not a failure either.
        if (deps.redis.status === 'end') return;
        deps.counter.inc({ outcome: 'publish_failed' });
        deps.logger.warn({ err: error, productIds: ids }, 'could not tell other instances that units came back (their stock view follows within STOCK_VIEW_REFRESH_MS)');
      },
    );
  };
  const announce = (productId: number) => {
    if (!pending) {
      pending = new Set();
      setImmediate(flush);
    }
    pending.add(productId);
  };
  if (gate.onGivenBack) {
    gate.onGivenBack(announce);
    return { ...gate };
  }
  return {
    ...gate,
    async invalidate(productId) {
      await gate.invalidate(productId);
      announce(productId);
    },
    async release(token, productIds) {
      await gate.release(token, productIds);
      for (const productId of productIds) announce(productId);
    },
  };
}

/**
 * Hears the notices on a pub/sub connection (the process's, shared by channel; subscribed on every 'ready'), and has the view forget the
 * products named; on a (re)subscription it forgets everything, since messages sent meanwhile are lost. Returns
 * the function that stops listening (the owner closes the connection).
 */
export function listenForStockViewNotices(deps: {
  subscriber: Redis;
  prefix: string;
  view: { forget(productIds: readonly number[]): void; forgetMemory(): void };
  logger: Logger;
  counter: StockViewNoticeCounter;
}): () => Promise<void> {
  const channel = stockViewChannel(deps.prefix);
  const { subscriber } = deps;
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    const ids = message.split(',').map(Number);
    if (ids.some((id) => !Number.isSafeInteger(id))) {
      deps.counter.inc({ outcome: 'malformed' });
      return;
    }
    deps.counter.inc({ outcome: 'received' });
    deps.view.forget(ids);
  };
  const subscribe = () => {
    subscriber.subscribe(channel).then(
      // Whatever was remembered may predate a message sent while this connection was away.
      () => deps.view.forgetMemory(),
      (error: unknown) => deps.logger.warn({ err: error }, 'could not subscribe to stock view notices; the view follows within STOCK_VIEW_REFRESH_MS'),
    );
  };
  subscriber.on('message', onMessage);
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();
  return async () => {
    subscriber.off('ready', subscribe);
    subscriber.off('message', onMessage);
    if (subscriber.status === 'ready') await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
