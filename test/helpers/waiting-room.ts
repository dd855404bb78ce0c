/** Queued sales for the waiting-room tests, on in-process apps or real `salescale serve` processes. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestApp, type TestApp } from './app.ts';
import { request } from './http.ts';
import type { WebServices } from '../../src/web/compose.ts';
import { capturingLogger, type LogLine } from './log-lines.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `createQueuedSale` waits for every instance to serve the new room. */
const SEE_ROOM_TIMEOUT_MS = 60_000;

/**
 * An in-process test app listening on a free port, for waiting-room tests: rate limits out of the way, the rooms
 * re-read every 100 ms and ticked every 20 ms (`extraEnv` adds or overrides). With `logged`, its log lines at that
 * level and above are kept in `logged`. `services` sees (and may wrap) the composed services before the server is built.
 */
export async function listeningWaitingRoomApp(
  extraEnv: Record<string, string> = {},
  options: { logged?: 'info' | 'warn'; services?: (web: WebServices) => void } = {},
): Promise<{ t: TestApp; url: string; logged: LogLine[] }> {
  const log = options.logged ? capturingLogger(options.logged) : undefined;
  const t = await createTestApp(
    {
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_CUSTOMER_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      WAITING_ROOM_EVENTS_REFRESH_MS: '100',
      WAITING_ROOM_TICK_MS: '20',
      ...extraEnv,
    },
    undefined,
    { ...(log ? { logger: log.logger } : {}), ...(options.services ? { services: options.services } : {}) },
  );
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await t.close();
    throw error;
  }
  return { t, url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, logged: log?.lines ?? [] };
}

/** A product through the admin API of the instance at `url`; its id. */
export async function createQueuedProduct(url: string, admin: Record<string, string>, o: { available: number; priceCents?: number; skuPrefix?: string }): Promise<number> {
  const reply = await request(`${url}/api/v1/admin/products`, {
    method: 'POST',
    headers: admin,
    body: { sku: `${o.skuPrefix ?? 'wr'}-${Math.random().toString(36).slice(2)}`, name: 'Queued item', priceCents: o.priceCents ?? 1999, available: o.available },
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.id;
}

/**
 * A sale event with a waiting room, starting `startsInMs` from now and ending an hour after its start (or
 * `endsInMs` from now), created through `url`; returns its id once every instance in `instances` serves its
 * room (each re-reads the rooms every WAITING_ROOM_EVENTS_REFRESH_MS; waited for up to 60 s in all).
 */
export async function createQueuedSale(
  url: string,
  admin: Record<string, string>,
  instances: readonly { url: string }[],
  o: { productIds: number[]; startsInMs: number; admissionPerSecond: number; endsInMs?: number },
): Promise<number> {
  const now = Date.now();
  const reply = await request(`${url}/api/v1/admin/sale-events`, {
    method: 'POST',
    headers: admin,
    body: {
      name: 'Drop',
      startsAt: new Date(now + o.startsInMs).toISOString(),
      endsAt: new Date(now + (o.endsInMs ?? o.startsInMs + 3_600_000)).toISOString(),
      productIds: o.productIds,
      waitingRoom: { enabled: true, admissionPerSecond: o.admissionPerSecond },
    },
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  assert.deepEqual(reply.body.waitingRoom, { enabled: true, admissionPerSecond: o.admissionPerSecond, paused: false });
  // A generous deadline, polled: a loaded CI machine may take seconds to re-read the rooms.
  const deadline = Date.now() + SEE_ROOM_TIMEOUT_MS;
  for (const instance of instances) {
    for (;;) {
      const info = await request(`${instance.url}/api/v1/sale-events/${reply.body.id}/queue`);
      if (info.status === 200) break;
      assert.ok(Date.now() < deadline, `instance ${instance.url} never saw the waiting room within ${SEE_ROOM_TIMEOUT_MS} ms: ${JSON.stringify(info.body)}`);
      await sleep(50);
    }
  }
  return reply.body.id;
}

/**
 * In a `describe` body: one `listeningWaitingRoomApp(extraEnv)` for the suite's tests, started before them and closed
 * after them. Its `t`, `url` and `admin` are read inside the tests (they are set once the suite's `before` has run).
 */
export function suiteWaitingRoomApp(extraEnv: Record<string, string> = {}): { readonly t: TestApp; readonly url: string; readonly admin: Record<string, string> } {
  let started: { t: TestApp; url: string } | undefined;
  before(async () => {
    started = await listeningWaitingRoomApp(extraEnv);
  });
  after(async () => {
    await started?.t.close();
  });
  const get = () => {
    if (!started) throw new Error('the waiting-room app is read before the suite started it');
    return started;
  };
  return {
    get t() {
      return get().t;
    },
    get url() {
      return get().url;
    },
    get admin() {
      return get().t.admin;
    },
  };
}

/**
 * A sale open now (or `startsInMs` from now) whose room admits at once (1000 a second), listing a product of 5 units
 * (a new one, or `productId`), created through the instance at `app.url`; its ids once `app` serves the room, and its
 * product page offers the waiting room. The storefront reads the current sales at most every 2 s (`salesCacheMs`):
 * a product page served just after the sale was created could still show a plain "Add to cart" (a test of another
 * sale had just had the list read), which a test of the page's pass handling took for the pass's (CI).
 */
export async function createAdmittingSale(
  app: { url: string; admin: Record<string, string> },
  o: { skuPrefix?: string; productId?: number; startsInMs?: number },
): Promise<{ productId: number; saleId: number }> {
  const productId = o.productId ?? (await createQueuedProduct(app.url, app.admin, { available: 5, skuPrefix: o.skuPrefix }));
  const saleId = await createQueuedSale(app.url, app.admin, [{ url: app.url }], { productIds: [productId], startsInMs: o.startsInMs ?? 0, admissionPerSecond: 1000 });
  const deadline = Date.now() + SEE_ROOM_TIMEOUT_MS;
  for (;;) {
    const page = await request(`${app.url}/products/${productId}`, { headers: { accept: 'text/html' } });
    if (page.status === 200 && String(page.body).includes('data-queued-sale=')) break;
    assert.ok(Date.now() < deadline, `the product page of ${app.url} never offered the waiting room within ${SEE_ROOM_TIMEOUT_MS} ms (${page.status})`);
    await sleep(50);
  }
  return { productId, saleId };
}

/**
 * A new tab of `context` on the waiting-room page of `saleId` (with `query`, e.g. `?product=1`), once it says the visitor
 * is admitted; `prepare` runs on the tab before it opens the page (listeners, a held clock).
 */
export async function openAdmittedPage(
  context: BrowserContext,
  url: string,
  saleId: number,
  o: { query?: string; prepare?: (page: Page) => Promise<void> | void } = {},
): Promise<Page> {
  const page = await context.newPage();
  await o.prepare?.(page);
  await page.goto(`${url}/sale/${saleId}/queue${o.query ?? ''}`);
  await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
  return page;
}

/** The pass the waiting-room page of `saleId` keeps for the browser, in its local storage (null when none). */
export function readStoredPass(page: Page, saleId: number): Promise<string | null> {
  return page.evaluate((key) => localStorage.getItem(key), passKey(saleId));
}

/** The pass the admitted page of `saleId` kept (asserted there): its storage key, stored value and expiry. */
export async function keptPass(page: Page, saleId: number): Promise<{ key: string; value: string; expiresAt: string }> {
  const value = await readStoredPass(page, saleId);
  assert.ok(value, 'the page kept the pass');
  return { key: passKey(saleId), value, expiresAt: (JSON.parse(value) as { expiresAt: string }).expiresAt };
}

function passKey(saleId: number): string {
  return `salescale-pass-${saleId}`;
}

/**
 * The shopper's shop tab: a new tab of `context` (which holds the browser's passes, as every tab of it does) with
 * `productId` in the cart, on the cart page with a guest's email (starting with `emailPrefix`) filled in, ready to
 * order (see `placeGuestOrder`). No pass is needed for that: the page sends the browser's passes with the order.
 * `withoutBroadcastChannel`: the tab has no BroadcastChannel (as another device of the shopper's would not).
 */
async function cartInAnotherTab(
  context: BrowserContext,
  url: string,
  o: { productId: number; emailPrefix: string; withoutBroadcastChannel?: boolean },
): Promise<Page> {
  const shop = await context.newPage();
  if (o.withoutBroadcastChannel) {
    await shop.addInitScript(() => {
      Reflect.deleteProperty(window, 'BroadcastChannel');
    });
  }
  await shop.goto(`${url}/products/${o.productId}`);
  await shop.getByRole('button', { name: 'Add to cart' }).click();
  await shop.getByRole('link', { name: 'Go to the cart' }).click();
  await shop.waitForURL(/\/cart$/);
  await shop.getByLabel('Email (for your order confirmation)').fill(`${o.emailPrefix}-${Date.now()}@example.com`);
  return shop;
}

/**
 * Places the guest order of a tab on the cart page with a guest's email filled in; the tab, on the order's page. A refusal "later" (503, 429) is
 * asked again by the page after its Retry-After, so this waits up to a minute; a page that stays on the cart fails
 * with what it says (a refused pass: PASS_EXPIRED…).
 */
export async function placeGuestOrder(shop: Page): Promise<Page> {
  await shop.getByRole('button', { name: 'Place order as guest' }).click();
  try {
    await shop.waitForURL(/\/guest-orders\//, { timeout: 60_000 });
  } catch (error) {
    const said = await shop.evaluate(() => document.querySelector('main')?.textContent?.replace(/\s+/g, ' ').trim()).catch(() => undefined);
    throw new Error(`the guest order was not placed; the cart page says: ${JSON.stringify(said)}`, { cause: error });
  }
  return shop;
}

/** `cartInAnotherTab`, then `placeGuestOrder`: the shopper buys `productId` as a guest in another tab. */
export async function buyInAnotherTab(
  context: BrowserContext,
  url: string,
  o: { productId: number; emailPrefix: string; withoutBroadcastChannel?: boolean },
): Promise<Page> {
  return placeGuestOrder(await cartInAnotherTab(context, url, o));
}

/** Whether the admitted page stops saying the visitor is admitted within `timeoutMs`. */
export function leavesAdmitted(page: Page, timeoutMs: number): Promise<boolean> {
  return page
    .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: timeoutMs })
    .then(() => true, () => false);
}

/** What the waiting-room page shows: its state, its status line, whether the continue link is shown. */
export function readRoomPage(page: Page): Promise<{ state: string | undefined; text: string | null | undefined; continueLinkVisible: boolean }> {
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    text: document.querySelector('.room [data-state]')?.textContent,
    continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
  }));
}

/**
 * Joins the room of `saleId` as the visitor whose cookies `context` holds for `url` (the page's ticket); the ticket
 * and the cookie header, to read its status as that visitor.
 */
export async function joinAsPageVisitor(context: BrowserContext, url: string, saleId: number): Promise<{ ticket: string; cookie: string }> {
  const cookie = (await context.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
  const joined = await request(`${url}/api/v1/sale-events/${saleId}/queue`, { method: 'POST', headers: { cookie } });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));
  return { ticket: joined.body.ticket, cookie };
}

/** The status of `ticket` in the room of `saleId` (its `state`, …), asked as the visitor whose `cookie` holds it. */
export async function readTicket(url: string, saleId: number, ticket: string, cookie: string): Promise<{ state: string }> {
  const status = await request(`${url}/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
  return status.body;
}
