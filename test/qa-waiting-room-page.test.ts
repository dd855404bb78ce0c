import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { launchBrowser } from './helpers/browser.ts';
import { request } from './helpers/http.ts';
import { waitFor } from './helpers/queues.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/** The storefront's waiting-room page as a shopper sees it once admitted (QA of the waiting room). */
describe('waiting-room page after admission', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    // The shortest pass the configuration takes: the shopper's pass runs out while the page is open.
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_PASS_S: '10' }));
  });
  after(async () => {
    await t?.close();
  });

  it('stops telling a shopper "It is your turn!" once their pass has expired unused', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const stored = await page.evaluate((id) => JSON.parse(sessionStorage.getItem(`salescale-pass-${id}`) ?? 'null') as { expiresAt: string } | null, saleId);
      assert.ok(stored, 'the page kept the pass');
      // It says how long the pass is valid (a countdown of the shop's time).
      await page.locator('[data-pass-left]').filter({ hasText: /valid for \d+ s more/ }).waitFor({ timeout: 5_000 });
      // The API tells this visitor's ticket `expired` once the pass has run out (the page's cookie is the holder).
      const cookie = (await browser.context.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
      const joined = await request(`${url}/api/v1/sale-events/${saleId}/queue`, { method: 'POST', headers: { cookie } });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      await waitFor('the pass to expire', async () => (Date.now() > Date.parse(stored.expiresAt) + 1000 ? true : null), 30_000);
      const status = await request(`${url}/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } });
      assert.equal(status.body.state, 'expired', JSON.stringify(status.body));
      // A page that knows the expiry (it has passExpiresAt) changes what it says by then; 5 s more for a slow machine.
      const changed = await page
        .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: 5_000 })
        .then(() => true, () => false);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        text: document.querySelector('.room [data-state]')?.textContent,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
      }));
      assert.ok(changed, `the API says the ticket is expired, the page still says: ${JSON.stringify(shown)}`);
      assert.deepEqual(shown, { state: 'expired', text: 'This ticket has expired.', continueLinkVisible: false });
    } finally {
      await browser.close();
    }
  });
  it('offers a shopper whose pass expired to join the line again, with a new ticket at the back', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-rejoin' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      const tickets: string[] = [];
      page.on('response', (r) => {
        if (r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/sale-events/${saleId}/queue`) {
          void r.json().then((b: { ticket?: string }) => b.ticket && tickets.push(b.ticket), () => undefined);
        }
      });
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const firstPass = await page.evaluate((id) => sessionStorage.getItem(`salescale-pass-${id}`), saleId);
      // The pass runs out unused (10 s).
      await page.locator('body[data-state="expired"]').waitFor({ timeout: 30_000 });
      const again = page.getByRole('button', { name: 'Join the line again' });
      const offered = await again.waitFor({ timeout: 5_000 }).then(() => true, () => false);
      const text = await page.evaluate(() => document.querySelector('.room')?.textContent?.replace(/\s+/g, ' ').trim());
      assert.ok(offered, `the pass expired, the page offers no way back into the line: ${JSON.stringify(text)}`);
      await again.click();
      // A new ticket (a fresh join at the back of the line, not the old place), admitted again here (the line is empty).
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      assert.equal(tickets.length, 2, JSON.stringify(tickets));
      assert.notEqual(tickets[1], tickets[0]);
      const secondPass = await page.evaluate((id) => sessionStorage.getItem(`salescale-pass-${id}`), saleId);
      assert.notEqual(secondPass, firstPass);
      assert.equal(await again.isVisible(), false);
    } finally {
      await browser.close();
    }
  });
});

/** The admitted page while the pass is still good: what happens to the sale reaches it. */
describe('waiting-room page while admitted', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    // A pass that outlasts the test: the page must learn of the end while still admitted.
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' }));
  });
  after(async () => {
    await t?.close();
  });

  it('tells an admitted shopper of a sell-out over the ticket stream, without polling the room', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-sold' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      // Every request the page makes once admitted (a poll spends the shopper's rate-limit budget that checkout needs).
      const asked: string[] = [];
      let admitted = false;
      page.on('request', (r) => {
        if (admitted) asked.push(`${r.method()} ${new URL(r.url()).pathname}`);
      });
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      admitted = true;
      const stock = await request(`${url}/api/v1/admin/products/${productId}/stock`, { method: 'PUT', headers: t.admin, body: { available: 0 } });
      assert.equal(stock.status, 200, JSON.stringify(stock.body));
      const told = await page
        .waitForFunction(() => /^Sold out/.test(document.querySelector('.room [data-state]')?.textContent ?? ''), undefined, { timeout: 30_000 })
        .then(() => true, () => false);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        text: document.querySelector('.room [data-state]')?.textContent,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
      }));
      assert.ok(told, `sold out after admission, the page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
      const polls = asked.filter((a) => !a.endsWith('/events'));
      assert.deepEqual(polls, [], `the admitted page asked the shop while the stream could tell it: ${JSON.stringify(polls)}`);
    } finally {
      await browser.close();
    }
  });

  it('marks a sell-out after admission apart from the waiting visitors\' and keeps focus off the hidden continue link', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-sold-focus' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      // A keyboard shopper on the continue link when the sale sells out.
      await page.locator('[data-admitted] a').focus();
      const stock = await request(`${url}/api/v1/admin/products/${productId}/stock`, { method: 'PUT', headers: t.admin, body: { available: 0 } });
      assert.equal(stock.status, 200, JSON.stringify(stock.body));
      await page.waitForFunction(() => /^Sold out/.test(document.querySelector('.room [data-state]')?.textContent ?? ''), undefined, { timeout: 30_000 });
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
        focused: document.activeElement === document.querySelector('.room [data-state]') ? 'the status line' : (document.activeElement?.outerHTML ?? null)?.slice(0, 80),
      }));
      assert.deepEqual(shown, { state: 'admitted_sold_out', continueLinkVisible: false, focused: 'the status line' });
    } finally {
      await browser.close();
    }
  });

  it('stops saying "It is your turn!" once the pass has bought an order in another tab', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-used' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const room = await browser.context.newPage();
      await room.goto(`${url}/sale/${saleId}/queue`);
      await room.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const key = `salescale-pass-${saleId}`;
      const pass = await room.evaluate((k) => sessionStorage.getItem(k), key);
      assert.ok(pass, 'the page kept the pass');
      // Another tab of the same shopper (a tab opened from this one starts with a copy of its session storage).
      const shop = await browser.context.newPage();
      await shop.goto(`${url}/`);
      await shop.evaluate(([k, v]) => sessionStorage.setItem(k!, v!), [key, pass]);
      await shop.goto(`${url}/products/${productId}`);
      await shop.getByRole('button', { name: 'Add to cart' }).click();
      await shop.getByRole('link', { name: 'Go to the cart' }).click();
      await shop.waitForURL(/\/cart$/);
      await shop.getByLabel('Email (for your order confirmation)').fill(`qa-used-${Date.now()}@example.com`);
      await shop.getByRole('button', { name: 'Place order as guest' }).click();
      await shop.waitForURL(/\/guest-orders\//);
      const changed = await room
        .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: 5_000 })
        .then(() => true, () => false);
      const shown = await room.evaluate(() => ({
        state: document.body.dataset.state,
        text: document.querySelector('.room [data-state]')?.textContent,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
      }));
      assert.ok(changed, `the pass bought an order in another tab, the waiting-room page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'used', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    } finally {
      await browser.close();
    }
  });

  it('stops saying "It is your turn!" once the pass has bought an order where no message reaches the page', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-used-srv' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const room = await browser.context.newPage();
      await room.goto(`${url}/sale/${saleId}/queue`);
      await room.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const key = `salescale-pass-${saleId}`;
      const pass = await room.evaluate((k) => sessionStorage.getItem(k), key);
      assert.ok(pass, 'the page kept the pass');
      // The shopper's other tab, in a browser without BroadcastChannel (as another device of theirs would be): only the
      // shop knows that the pass was spent.
      const shop = await browser.context.newPage();
      await shop.addInitScript(() => {
        Reflect.deleteProperty(window, 'BroadcastChannel');
      });
      await shop.goto(`${url}/`);
      await shop.evaluate(([k, v]) => sessionStorage.setItem(k!, v!), [key, pass]);
      await shop.goto(`${url}/products/${productId}`);
      await shop.getByRole('button', { name: 'Add to cart' }).click();
      await shop.getByRole('link', { name: 'Go to the cart' }).click();
      await shop.waitForURL(/\/cart$/);
      await shop.getByLabel('Email (for your order confirmation)').fill(`qa-used-srv-${Date.now()}@example.com`);
      await shop.getByRole('button', { name: 'Place order as guest' }).click();
      await shop.waitForURL(/\/guest-orders\//);
      const changed = await room
        .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: 5_000 })
        .then(() => true, () => false);
      const shown = await room.evaluate(() => ({
        state: document.body.dataset.state,
        text: document.querySelector('.room [data-state]')?.textContent,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
      }));
      assert.ok(changed, `the pass bought an order the page heard nothing of, the waiting-room page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'used', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    } finally {
      await browser.close();
    }
  });

  it('counts the pass and the sale down again at once when the tab is shown, its timers having been held', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-visible' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      // The page's timers on a clock the test holds: a hidden tab's timers are throttled (once a minute in Chrome).
      await page.clock.install();
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      await page.locator('[data-pass-left]').filter({ hasText: /valid for \d+ min \d+ s more/ }).waitFor({ timeout: 5_000 });
      // Held a second ahead of the page's own clock (which runs on from when it was installed, not the test's Date).
      const pausedAt = (await page.evaluate(() => Date.now())) + 1000;
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
    } finally {
      await browser.close();
    }
  });

  it('tells an admitted shopper that the sale has ended when the admin ends it early', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-end' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const end = await request(`${url}/api/v1/admin/sale-events/${saleId}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 500).toISOString() } });
      assert.equal(end.status, 200, JSON.stringify(end.body));
      // No polling: the admitted page keeps the ticket's stream open, and the end reaches it there (`closed`, at the
      // stream's next refresh once the instance has read the moved end); 30 s is slack for a slow machine.
      const changed = await page
        .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: 30_000 })
        .then(() => true, () => false);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        text: document.querySelector('.room [data-state]')?.textContent,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
        countdown: document.querySelector('.countdown')?.textContent,
      }));
      assert.ok(changed, `the sale was ended early, the page still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.state, 'closed', JSON.stringify(shown));
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
      assert.equal(shown.countdown, 'has ended', JSON.stringify(shown));
    } finally {
      await browser.close();
    }
  });
});
