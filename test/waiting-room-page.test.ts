import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { sharedBrowser } from './helpers/browser.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import {
  buyInAnotherTab,
  createAdmittingSale,
  joinAsPageVisitor,
  keptPass,
  leavesAdmitted,
  openAdmittedPage,
  placeGuestOrder,
  readRoomPage,
  readStoredPass,
  readTicket,
  suiteWaitingRoomApp,
} from './helpers/waiting-room.ts';

/**
 * The storefront's waiting-room page (`/sale/:id/queue`) in a browser, once the shopper is admitted: what it says as
 * the pass runs out, is spent, or the sale changes. Two apps in all: one whose passes run out within a test (10 s, the
 * shortest the configuration takes), one whose passes outlast every test. One Chromium for the file, a context of it
 * per test. The tests of a suite run at once: each creates its own product and sale and has its own browser context
 * (cookies, session storage), and the apps' rate limits are out of the way, so they share nothing that one could
 * change under another; most of their time is waiting on a clock (a pass running out, a stream's refresh).
 */

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

const browsers = sharedBrowser();

/** Admitted in a waiting-room tab (closed once its pass is kept), then the product added to the cart in another tab. */
async function admittedWithProductInCart(context: BrowserContext, url: string, saleId: number, productId: number): Promise<{ key: string; shop: Page }> {
  const room = await openAdmittedPage(context, url, saleId);
  const { key } = await keptPass(room, saleId);
  await room.close();
  const shop = await context.newPage();
  await shop.goto(`${url}/products/${productId}`);
  await shop.getByRole('button', { name: 'Add to cart' }).click();
  return { key, shop };
}

/** The waiting-room pass each order placed from `page` carries ('' for none), as the page sends them. */
function passesSentWithOrders(page: Page): string[] {
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/orders') sent.push(r.headers()['waiting-room-pass'] ?? '');
  });
  return sent;
}

describe('waiting-room page with a pass that runs out (10 s)', { concurrency: true }, () => {
  const app = suiteWaitingRoomApp({ WAITING_ROOM_PASS_S: '10' });

  it('stops telling a shopper "It is your turn!" once their pass has expired unused', async (ctx) => {
    const { saleId } = await createAdmittingSale(app, { skuPrefix: 'page' });
    await browsers.withContext(ctx, async (context) => {
      const page = await openAdmittedPage(context, app.url, saleId);
      const stored = await keptPass(page, saleId);
      // It says how long the pass is valid (a countdown of the shop's time).
      await page.locator('[data-pass-left]').filter({ hasText: /valid for \d+ s more/ }).waitFor({ timeout: 5_000 });
      // The API tells this visitor's ticket `expired` once the pass has run out (the page's cookie is the holder).
      const joined = await joinAsPageVisitor(context, app.url, saleId);
      await waitFor('the pass to expire', async () => (Date.now() > Date.parse(stored.expiresAt) + 1000 ? true : null), 30_000);
      const status = await readTicket(app.url, saleId, joined.ticket, joined.cookie);
      assert.equal(status.state, 'expired', JSON.stringify(status));
      // A page that knows the expiry (it has passExpiresAt) changes what it says by then; 5 s more for a slow machine.
      const changed = await leavesAdmitted(page, 5_000);
      const shown = await readRoomPage(page);
      assert.ok(changed, `the API says the ticket is expired, the page still says: ${JSON.stringify(shown)}`);
      assert.deepEqual(shown, { state: 'expired', text: 'This ticket has expired.', continueLinkVisible: false });
    });
  });

  it('offers a shopper whose pass expired to join the line again, with a new ticket at the back', async (ctx) => {
    const { saleId } = await createAdmittingSale(app, { skuPrefix: 'page-rejoin' });
    await browsers.withContext(ctx, async (context) => {
      const tickets: string[] = [];
      const page = await openAdmittedPage(context, app.url, saleId, {
        prepare: (p) => {
          p.on('response', (r) => {
            if (r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/sale-events/${saleId}/queue`) {
              void r.json().then((b: { ticket?: string }) => b.ticket && tickets.push(b.ticket), () => undefined);
            }
          });
        },
      });
      const firstPass = await readStoredPass(page, saleId);
      // The pass runs out unused (10 s).
      await page.locator('body[data-state="expired"]').waitFor({ timeout: 30_000 });
      const again = page.getByRole('button', { name: 'Join the line again' });
      const offered = await again.waitFor({ timeout: 5_000 }).then(() => true, () => false);
      const text = await page.evaluate(() => document.querySelector('.room')?.textContent?.replace(/\s+/g, ' ').trim());
      assert.ok(offered, `the pass expired, the page offers no way back into the line: ${JSON.stringify(text)}`);
      await again.click();
      // A new ticket (a fresh join at the back of the line, not the old place), admitted again here (the line is empty).
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      // Each join's ticket is read from its reply's body, which the page can have used before this listener has it.
      await waitFor('the second join\'s ticket', () => tickets.length >= 2, 30_000).catch(() => undefined);
      assert.equal(tickets.length, 2, JSON.stringify(tickets));
      assert.notEqual(tickets[1], tickets[0]);
      const secondPass = await readStoredPass(page, saleId);
      assert.notEqual(secondPass, firstPass);
      assert.equal(await again.isVisible(), false);
    });
  });

  // The page of a shopper whose pass bought an order, seen again after the pass's time.
  it('does not offer "Join the line again" to a shopper whose pass bought an order (the room keeps them out)', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-spent' });
    await browsers.withContext(ctx, async (context) => {
      // The cart is ready in another tab before the shopper is admitted: the pass lasts 10 s, and on a loaded machine
      // filling a cart in a new tab after the admission took longer than that (the order refused PASS_EXPIRED, in CI).
      // The product page offers "Add to cart" only with a pass, so the product goes in through the API, with the
      // browser's cookies (the cart takes it without a pass: only an order needs one).
      const added = await context.request.post(`${app.url}/api/v1/cart/items`, { data: { productId, quantity: 1 } });
      assert.equal(added.status(), 200, await added.text());
      const shop = await context.newPage();
      await shop.goto(`${app.url}/cart`);
      await shop.getByLabel('Email (for your order confirmation)').fill(`page-spent-${Date.now()}@example.com`);
      const room = await openAdmittedPage(context, app.url, saleId);
      const { expiresAt } = await keptPass(room, saleId);
      // The shopper buys with the pass in the other tab (which holds the browser's passes).
      await placeGuestOrder(shop);
      await room.locator('body[data-state="used"]').waitFor({ timeout: 10_000 });
      // The pass's time runs out; the shopper comes back to the waiting-room page (a reload, a bookmark).
      await waitFor('the pass to expire', async () => (Date.now() > Date.parse(expiresAt) + 1000 ? true : null), 30_000);
      await room.reload();
      await room.locator('body[data-state="expired"]').waitFor({ timeout: 30_000 });
      const again = room.getByRole('button', { name: 'Join the line again' });
      const text = await room.evaluate(() => document.querySelector('.room')?.textContent?.replace(/\s+/g, ' ').trim());
      // The room does not take a visitor whose pass bought an order back into the line: a join answers the same expired
      // ticket (the service's join: "A pass that bought its order does not"), so the button can do nothing.
      const offered = await again.isVisible();
      if (offered) {
        const joined = room.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/sale-events/${saleId}/queue`);
        await again.click();
        await joined;
        await room.locator('[data-join-again]:not([hidden])').waitFor({ timeout: 10_000 }).catch(() => undefined);
      }
      const afterClick = await room.evaluate(() => ({ state: document.body.dataset.state, joinAgainVisible: !(document.querySelector('[data-join-again]') as HTMLElement).hidden }));
      assert.equal(offered, false, `the pass bought an order, the page offers a join the room refuses: ${JSON.stringify(text)}; after a click: ${JSON.stringify(afterClick)}`);
    });
  });

  /**
   * The admitted page served by an instance whose clock is 30 s behind Redis's (a VM whose NTP stopped): the room
   * decides a pass's expiry on Redis's clock, so the page's countdown must too, not on the instance's `Date`.
   */
  describe('served by an instance whose clock is behind', () => {
    let behind: Instance;

    before(async () => {
      if (!existsSync(LIBFAKETIME)) return;
      const limits = { RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000', WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_PASS_S: '10' };
      behind = await startInstance({ env: { ...app.t.env, ...limits, DB_POOL_MAX: '4', LOG_LEVEL: 'silent', LD_PRELOAD: LIBFAKETIME, FAKETIME: '-30s' } });
    });
    after(async () => {
      await behind?.stop();
    });

    it('stops showing the continue link once the room says the pass expired, whatever the instance clock', async (ctx) => {
      if (!existsSync(LIBFAKETIME)) return ctx.skip('libfaketime not installed');
      const url = behind.url;
      const { saleId } = await createAdmittingSale({ url, admin: app.admin }, { skuPrefix: 'page-skew', startsInMs: -1000 });
      await browsers.withContext(ctx, async (context) => {
        const page = await openAdmittedPage(context, url, saleId);
        await keptPass(page, saleId);
        const joined = await joinAsPageVisitor(context, url, saleId);
        // The room (on Redis's clock) reads the ticket expired.
        await waitFor('the room to read the ticket expired', async () => ((await readTicket(url, saleId, joined.ticket, joined.cookie)).state === 'expired' ? true : null), 30_000);
        // 5 s more for a slow machine, as for the page on time.
        const changed = await leavesAdmitted(page, 5_000);
        const shown = await page.evaluate(() => ({
          state: document.body.dataset.state,
          continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
          passLeft: document.querySelector('[data-pass-left]')?.textContent,
        }));
        assert.ok(changed, `the room says the ticket is expired, the page on the instance 30 s behind still says: ${JSON.stringify(shown)}`);
        assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
      });
    });
  });
});

/** The admitted page while the pass is still good: what happens to the sale, or to its pass elsewhere, reaches it. */
describe('waiting-room page with a pass that outlasts the test', { concurrency: 4 }, () => {
  const app = suiteWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' });

  // A shopper admitted in one tab opens the product in a new tab (a middle-click from the catalog): the admission is
  // the browser's (as Queue-it's and Cloudflare's cookie), not the tab's, so the new tab buys with the pass.
  it('lets a new tab of the admitted browser buy with the pass, as the waiting-room tab would', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-new-tab' });
    await browsers.withContext(ctx, async (context) => {
      await openAdmittedPage(context, app.url, saleId);
      const tab = await context.newPage();
      const sent = passesSentWithOrders(tab);
      await tab.goto(`${app.url}/products/${productId}`);
      const admitted = await tab.locator('[data-pass-status]').filter({ hasText: /You have been admitted/ }).waitFor({ timeout: 10_000 }).then(() => true, () => false);
      assert.ok(admitted, `the new tab says: ${JSON.stringify(await tab.evaluate(() => document.querySelector('main')?.textContent?.replace(/\s+/g, ' ').trim()))}`);
      await tab.getByRole('button', { name: 'Add to cart' }).click();
      await tab.getByRole('link', { name: 'Go to the cart' }).click();
      await tab.waitForURL(/\/cart$/);
      await tab.getByLabel('Email (for your order confirmation)').fill(`page-new-tab-${Date.now()}@example.com`);
      await tab.getByRole('button', { name: 'Place order as guest' }).click();
      await tab.waitForURL(/\/guest-orders\//);
      assert.equal(sent.length, 1);
      assert.notEqual(sent[0], '', 'the order carried the pass');
    });
  });

  // The clock correction is the browser's too: a tab opened while an old correction (+3 min) was stored reads the
  // latest one when it judges the pass, and a pass that merely looks expired to it is kept for the other tabs.
  it('sends the pass from a cart tab opened under a stale clock correction, and deletes it for no tab', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-stale-skew' });
    await browsers.withContext(ctx, async (context) => {
      const { key, shop } = await admittedWithProductInCart(context, app.url, saleId, productId);
      // A stale correction of +3 min is stored when the cart tab opens.
      await shop.evaluate(() => localStorage.setItem('salescale-skew-ms', String(3 * 60_000)));
      const cart = await context.newPage();
      const sent = passesSentWithOrders(cart);
      await cart.goto(`${app.url}/cart`);
      // Then a waiting-room tab stores a fresh correction (~0), and the pass has 2 min left (minute 8 of 10).
      await shop.evaluate((k) => {
        localStorage.setItem('salescale-skew-ms', '0');
        const stored = JSON.parse(localStorage.getItem(k) ?? 'null') as { pass: string };
        localStorage.setItem(k, JSON.stringify({ pass: stored.pass, expiresAt: new Date(Date.now() + 2 * 60_000).toISOString() }));
      }, key);
      await cart.getByLabel('Email (for your order confirmation)').fill(`page-stale-skew-${Date.now()}@example.com`);
      await cart.getByRole('button', { name: 'Place order as guest' }).click();
      await waitFor('the order request', () => sent.length === 1);
      assert.notEqual(sent[0], '', 'the order carried the pass');
      await cart.waitForURL(/\/guest-orders\//);
      assert.notEqual(await readStoredPass(cart, saleId), null, 'no tab deleted the pass');
    });
  });

  // A correction learned while the device clock was 10 min off, the OS clock fixed since: the shop's replies (their
  // Date) replace it, and it alone never deletes a pass the server still takes, nor keeps it from checkout.
  it('replaces a stale clock correction from the shop\'s replies, and keeps and sends a valid pass', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-old-skew' });
    await browsers.withContext(ctx, async (context) => {
      const { key, shop } = await admittedWithProductInCart(context, app.url, saleId, productId);
      // The stale correction (+10 min), and the pass has 5 min left (as the server still takes it): on that clock alone,
      // 5 min past its expiry.
      await shop.evaluate((k) => {
        localStorage.setItem('salescale-skew-ms', String(10 * 60_000));
        const stored = JSON.parse(localStorage.getItem(k) ?? 'null') as { pass: string };
        localStorage.setItem(k, JSON.stringify({ pass: stored.pass, expiresAt: new Date(Date.now() + 5 * 60_000).toISOString() }));
      }, key);
      await shop.close();
      const cart = await context.newPage();
      const sent = passesSentWithOrders(cart);
      await cart.goto(`${app.url}/cart`);
      assert.notEqual(await readStoredPass(cart, saleId), null, 'the stale correction alone deleted the pass');
      // The cart page's API reply replaces the correction (this machine's clock is the server's: about 0).
      await cart.getByLabel('Email (for your order confirmation)').waitFor();
      await waitFor('the correction replaced', () => cart.evaluate(() => Math.abs(Number(localStorage.getItem('salescale-skew-ms'))) < 5_000), 10_000);
      await cart.getByLabel('Email (for your order confirmation)').fill(`page-old-skew-${Date.now()}@example.com`);
      await cart.getByRole('button', { name: 'Place order as guest' }).click();
      await waitFor('the order request', () => sent.length === 1);
      assert.notEqual(sent[0], '', 'the order carried the pass');
      await cart.waitForURL(/\/guest-orders\//);
    });
  });

  it('keeps a pass that looks expired by less than a minute, and skips it at checkout', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-near-expiry' });
    await browsers.withContext(ctx, async (context) => {
      const { key, shop } = await admittedWithProductInCart(context, app.url, saleId, productId);
      // The pass ran out 30 s ago on the stored correction: not sent, but not deleted either.
      await shop.evaluate((k) => {
        localStorage.setItem('salescale-skew-ms', '0');
        const stored = JSON.parse(localStorage.getItem(k) ?? 'null') as { pass: string };
        localStorage.setItem(k, JSON.stringify({ pass: stored.pass, expiresAt: new Date(Date.now() - 30_000).toISOString() }));
      }, key);
      const cart = await context.newPage();
      const sent = passesSentWithOrders(cart);
      await cart.goto(`${app.url}/cart`);
      await cart.getByLabel('Email (for your order confirmation)').fill(`page-near-expiry-${Date.now()}@example.com`);
      await cart.getByRole('button', { name: 'Place order as guest' }).click();
      await waitFor('the order request', () => sent.length === 1);
      assert.equal(sent[0], '', 'the expired-looking pass was not sent');
      assert.notEqual(await readStoredPass(cart, saleId), null, 'the pass is still stored for the other tabs');
      // Past a minute on the shop's clock, it goes.
      await cart.evaluate((k) => {
        const stored = JSON.parse(localStorage.getItem(k) ?? 'null') as { pass: string };
        localStorage.setItem(k, JSON.stringify({ pass: stored.pass, expiresAt: new Date(Date.now() - 61_000).toISOString() }));
      }, key);
      await cart.goto(`${app.url}/cart`);
      assert.equal(await readStoredPass(cart, saleId), null, 'a pass expired by over a minute is deleted');
    });
  });

  it('shows an already-open product tab the pass admitted in another tab, without a reload', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-open-tab' });
    await browsers.withContext(ctx, async (context) => {
      const shop = await context.newPage();
      await shop.goto(`${app.url}/products/${productId}`);
      assert.equal(await shop.locator('[data-add-to-cart]').isHidden(), true, 'no pass yet: no add to cart');
      await openAdmittedPage(context, app.url, saleId);
      const shown = await shop.locator('[data-pass-status]').filter({ hasText: /You have been admitted/ }).waitFor({ timeout: 10_000 }).then(() => true, () => false);
      assert.ok(shown, 'the open product tab tells of the pass');
      assert.equal(await shop.locator('[data-add-to-cart]').isVisible(), true);
    });
  });

  // Signing out in another tab removes the browser's passes: an open product tab goes back to the waiting room's offer.
  it('takes "Add to cart" away from an already-open product tab once another tab removes the pass', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-pass-gone' });
    await browsers.withContext(ctx, async (context) => {
      const room = await openAdmittedPage(context, app.url, saleId);
      const { key } = await keptPass(room, saleId);
      const shop = await context.newPage();
      await shop.goto(`${app.url}/products/${productId}`);
      await shop.locator('[data-add-to-cart]').waitFor({ state: 'visible', timeout: 10_000 });
      await room.evaluate((k) => localStorage.removeItem(k), key);
      const back = await shop.locator('[data-join]').waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
      const shown = await shop.evaluate(() => ({
        addToCartHidden: (document.querySelector('[data-add-to-cart]') as HTMLElement).hidden,
        passNoteHidden: (document.querySelector('[data-pass-status]') as HTMLElement).hidden,
      }));
      assert.ok(back, `the open product tab offers the waiting room again: ${JSON.stringify(shown)}`);
      assert.deepEqual(shown, { addToCartHidden: true, passNoteHidden: true });
    });
  });

  /** The admin sells the product out (its stock to 0). */
  async function sellOut(productId: number): Promise<void> {
    const stock = await request(`${app.url}/api/v1/admin/products/${productId}/stock`, { method: 'PUT', headers: app.admin, body: { available: 0 } });
    assert.equal(stock.status, 200, JSON.stringify(stock.body));
  }

  /** Until the page's status line says the sale is sold out (30 s is slack for a slow machine). */
  function soldOutShown(page: Page): Promise<unknown> {
    return page.waitForFunction(() => /^Sold out/.test(document.querySelector('.room [data-state]')?.textContent ?? ''), undefined, { timeout: 30_000 });
  }

  /**
   * The shopper admitted to a new sale buys with the pass in another tab; what the waiting-room page says then (and
   * whether it stopped saying "admitted" within 5 s).
   */
  async function buyWithThePassElsewhere(
    context: BrowserContext,
    sale: { productId: number; saleId: number },
    o: { emailPrefix: string; withoutBroadcastChannel?: boolean },
  ): Promise<{ changed: boolean; shown: Awaited<ReturnType<typeof readRoomPage>> }> {
    const room = await openAdmittedPage(context, app.url, sale.saleId);
    await keptPass(room, sale.saleId);
    await buyInAnotherTab(context, app.url, { productId: sale.productId, emailPrefix: o.emailPrefix, withoutBroadcastChannel: o.withoutBroadcastChannel });
    const changed = await leavesAdmitted(room, 5_000);
    return { changed, shown: await readRoomPage(room) };
  }

  it('tells an admitted shopper of a sell-out over the ticket stream, without polling the room', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-sold' });
    await browsers.withContext(ctx, async (context) => {
      // Every request the page makes once admitted (a poll spends the shopper's rate-limit budget that checkout needs).
      const asked: string[] = [];
      let admitted = false;
      const page = await openAdmittedPage(context, app.url, saleId, {
        prepare: (p) => {
          p.on('request', (r) => {
            if (admitted) asked.push(`${r.method()} ${new URL(r.url()).pathname}`);
          });
        },
      });
      admitted = true;
      await sellOut(productId);
      const told = await soldOutShown(page).then(() => true, () => false);
      const shown = await readRoomPage(page);
      assert.ok(told, `sold out after admission, the page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
      const polls = asked.filter((a) => !a.endsWith('/events'));
      assert.deepEqual(polls, [], `the admitted page asked the shop while the stream could tell it: ${JSON.stringify(polls)}`);
    });
  });

  it('marks a sell-out after admission apart from the waiting visitors\' and keeps focus off the hidden continue link', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-sold-focus' });
    await browsers.withContext(ctx, async (context) => {
      const page = await openAdmittedPage(context, app.url, saleId);
      // A keyboard shopper on the continue link when the sale sells out.
      await page.locator('[data-admitted] a').focus();
      await sellOut(productId);
      await soldOutShown(page);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
        focused: document.activeElement === document.querySelector('.room [data-state]') ? 'the status line' : (document.activeElement?.outerHTML ?? null)?.slice(0, 80),
      }));
      assert.deepEqual(shown, { state: 'admitted_sold_out', continueLinkVisible: false, focused: 'the status line' });
    });
  });

  it('stops saying "It is your turn!" once the pass has bought an order in another tab', async (ctx) => {
    const sale = await createAdmittingSale(app, { skuPrefix: 'page-used' });
    await browsers.withContext(ctx, async (context) => {
      // Another tab of the same shopper (a tab opened from this one starts with a copy of its session storage).
      const { changed, shown } = await buyWithThePassElsewhere(context, sale, { emailPrefix: 'page-used' });
      assert.ok(changed, `the pass bought an order in another tab, the waiting-room page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'used', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    });
  });

  it('stops saying "It is your turn!" once the pass has bought an order where no message reaches the page', async (ctx) => {
    const sale = await createAdmittingSale(app, { skuPrefix: 'page-used-srv' });
    await browsers.withContext(ctx, async (context) => {
      // The shopper's other tab, in a browser without BroadcastChannel (as another device of theirs would be): only the
      // shop knows that the pass was spent.
      const { changed, shown } = await buyWithThePassElsewhere(context, sale, { emailPrefix: 'page-used-srv', withoutBroadcastChannel: true });
      assert.ok(changed, `the pass bought an order the page heard nothing of, the waiting-room page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'used', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    });
  });

  it('counts the pass and the sale down again at once when the tab is shown, its timers having been held', async (ctx) => {
    const { saleId } = await createAdmittingSale(app, { skuPrefix: 'page-visible' });
    await browsers.withContext(ctx, async (context) => {
      // The page's timers on a clock the test holds: a hidden tab's timers are throttled (once a minute in Chrome).
      const page = await openAdmittedPage(context, app.url, saleId, { prepare: (p) => p.clock.install() });
      await page.locator('[data-pass-left]').filter({ hasText: /valid for \d+ min \d+ s more/ }).waitFor({ timeout: 5_000 });
      // Held a minute ahead of the page's own clock (which runs on from when it was installed, not the test's Date): the
      // clock cannot be held at a time it has passed, and a loaded machine may take seconds between the read and the hold.
      const pausedAt = (await page.evaluate(() => Date.now())) + 60_000;
      await page.clock.pauseAt(pausedAt);
      const read = () =>
        page.evaluate(() => ({ passLeft: document.querySelector('[data-pass-left]')?.textContent, countdown: document.querySelector('.countdown')?.textContent }));
      const before = await read();
      // Four minutes go by while no timer of the page runs (the tab hidden), then the tab is shown.
      await page.clock.setSystemTime(pausedAt + 240_000);
      await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      const after = await read();
      const minutes = (text: string | undefined) => Number(/(\d+) min/.exec(text ?? '')?.[1]);
      assert.ok(minutes(after.passLeft) <= minutes(before.passLeft) - 3, `the tab is shown 4 min later, the page still says: ${JSON.stringify({ before, after })}`);
      assert.ok(minutes(after.countdown) <= minutes(before.countdown) - 3, `the tab is shown 4 min later, the page still says: ${JSON.stringify({ before, after })}`);
    });
  });

  it('tells an admitted shopper that the sale has ended when the admin ends it early', async (ctx) => {
    const { saleId } = await createAdmittingSale(app, { skuPrefix: 'page-end' });
    await browsers.withContext(ctx, async (context) => {
      const page = await openAdmittedPage(context, app.url, saleId);
      const end = await request(`${app.url}/api/v1/admin/sale-events/${saleId}`, { method: 'PATCH', headers: app.admin, body: { endsAt: new Date(Date.now() + 500).toISOString() } });
      assert.equal(end.status, 200, JSON.stringify(end.body));
      // No polling: the admitted page keeps the ticket's stream open, and the end reaches it there (`closed`, at the
      // stream's next refresh once the instance has read the moved end); 30 s is slack for a slow machine.
      const changed = await leavesAdmitted(page, 30_000);
      const shown = { ...(await readRoomPage(page)), countdown: await page.evaluate(() => document.querySelector('.countdown')?.textContent) };
      assert.ok(changed, `the sale was ended early, the page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'closed', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
      assert.equal(shown.countdown, 'has ended', JSON.stringify(shown));
    });
  });

  // Two queued sales listing one product: an order spends one pass.
  it('keeps the page of the sale, of two listing one product, whose pass the order did not spend admitted', async (ctx) => {
    const { productId, saleId: saleA } = await createAdmittingSale(app, { skuPrefix: 'page-two-sales' });
    const { saleId: saleB } = await createAdmittingSale(app, { productId });
    await browsers.withContext(ctx, async (context) => {
      const pages = [];
      for (const saleId of [saleA, saleB]) {
        const page = await openAdmittedPage(context, app.url, saleId);
        await keptPass(page, saleId);
        pages.push(page);
      }
      // The shopper's shop tab holds both passes and buys the product: checkout spends one of them (a product listed by
      // several live queued sales needs a pass of any one of them).
      await buyInAnotherTab(context, app.url, { productId, emailPrefix: 'page-two-sales' });
      // One page learns its pass was used (the checkout's notice, or the tab's message).
      await Promise.any(pages.map((page) => page.locator('body[data-state="used"]').waitFor({ timeout: 10_000 })));
      // What the shop says of each pass: the one it spent is refused (PASS_USED), the other still buys.
      const shown = [];
      for (const page of pages) {
        shown.push(await page.evaluate(() => ({ state: document.body.dataset.state, continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden })));
      }
      assert.deepEqual(
        shown.map((s) => s.state).sort(),
        ['admitted', 'used'],
        `the order spent one pass of the two, the pages of sales ${saleA} and ${saleB} say: ${JSON.stringify(shown)}`,
      );
    });
  });

  // The shopper's browser clock 15 min ahead (longer than the pass): the shop's clock decides a pass's expiry.
  it('keeps the pass good on the product page the continue link opens, whatever the browser clock', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'page-browser-clock' });
    await browsers.withContext(ctx, async (context) => {
      // The browser's clock 15 min ahead of the shop's (its Date.now: what the storefront reads).
      await context.addInitScript(() => {
        const real = Date.now.bind(Date);
        Date.now = () => real() + 15 * 60_000;
      });
      const page = await openAdmittedPage(context, app.url, saleId, { query: `?product=${productId}` });
      await page.getByRole('link', { name: 'It’s your turn: continue shopping' }).click();
      await page.waitForURL(new RegExp(`/products/${productId}$`));
      const shown = await page.evaluate(() => ({
        addToCartVisible: !(document.querySelector('[data-add-to-cart]') as HTMLElement).hidden,
        passNote: (document.querySelector('[data-pass-status]') as HTMLElement).hidden ? null : document.querySelector('[data-pass-status]')?.textContent,
      }));
      assert.equal(shown.addToCartVisible, true, `the pass is good for 10 min on the shop's clock, the product page says: ${JSON.stringify(shown)}`);
    });
  });
});
