import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { sharedBrowser } from './helpers/browser.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';

/**
 * What a shopper meets off the happy path, in a real browser (headless Chromium, Debian's package) on a real
 * `salescale serve`: links from campaigns, prices in other currencies, a link that would send them elsewhere
 * after signing in, and a network that fails under them.
 */
/** Records what a screen reader would read out on `page` (in `window.spoken`): each new text of a live region (polite or assertive, role status or alert). */
async function recordSpoken(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const spoken: string[] = [];
    (window as unknown as { spoken: string[] }).spoken = spoken;
    const last = new Map<Element, string>();
    new MutationObserver((records) => {
      for (const record of records) {
        const node = record.target instanceof Element ? record.target : record.target.parentElement;
        const region = node?.closest('[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"]');
        const text = region?.textContent?.trim();
        if (!region || !text || last.get(region) === text) continue;
        last.set(region, text);
        spoken.push(text);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

// The tests run three at a time: each has its own product (and sale, customer, browser context, routes), the
// instance's rate limits are out of the way, and most of their time is waiting on the page's clocks (a line admitting
// one a second, a stock poll every 2 s, a Retry-After).
describe('storefront in a browser, off the happy path', { concurrency: 3 }, () => {
  let t: TestApp;
  let web: Instance;
  const browsers = sharedBrowser();

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SALE_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000' });
    web = await startInstance({ env: { ...t.env, WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '500' } });
  });
  after(async () => {
    await web?.stop();
    await t.close();
  });

  const makeProduct = async (body: Record<string, unknown>) => {
    const reply = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: `sx-${Math.random().toString(36).slice(2)}`, available: 10, ...body } });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id as number;
  };

  it('opens pages from campaign links that carry tracking parameters', async () => {
    const id = await makeProduct({ name: 'Campaign Runner', priceCents: 4_900 });
    for (const url of [`/?utm_source=newsletter&utm_campaign=black-friday`, `/products/${id}?gclid=Cj0KCQ&fbclid=IwAR`, `/?q=runner&utm_medium=email`, `/cart?utm_source=x`]) {
      const reply = await fetch(`${web.url}${url}`);
      assert.equal(reply.status, 200, `${url}: ${reply.status} ${(await reply.text()).slice(0, 200)}`);
      assert.match(reply.headers.get('content-type') ?? '', /text\/html/);
    }
    // What the pages do read is still checked.
    assert.equal((await fetch(`${web.url}/?q=${'x'.repeat(101)}`)).status, 400);
  });

  it('keeps the shopper on the shop after signing in, whatever the link said to open next', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      const elsewhere: string[] = [];
      await page.route((url) => url.hostname === 'evil.example', (route) => {
        elsewhere.push(route.request().url());
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Phishing</title>' });
      });
      // A tab or a newline passes the "one leading slash" check, and the browser's URL parser drops it: `//evil.example`.
      for (const [i, next] of ['/%09/evil.example/login', '/%0A/evil.example/login'].entries()) {
        await page.context().clearCookies();
        await page.goto(`${web.url}/account?next=${next}`);
        await page.getByLabel('Name').fill('Nia Shopper');
        await page.locator('#register-email').fill(`nia-${i}-${Date.now()}@example.com`);
        await page.getByLabel('Password (at least 8 characters)').fill('correct horse battery');
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.waitForURL((url) => !url.pathname.startsWith('/account'));
        assert.equal(new URL(page.url()).origin, web.url, `after signing in through next=${next} the shopper is on ${page.url()}`);
      }
      assert.deepEqual(elsewhere, []);
    } finally {
      await browser.close();
    }
  });

  // A shared computer: the pass is bound to the browser's visitor cookie too, so one left in storage would still buy for
  // the next person. Signing out takes the browser's passes away, and nothing else the next shopper's pages use.
  it('signs the shopper out from the account page and takes the waiting-room passes out of the browser', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/account`);
      await page.getByLabel('Name').fill('Sam Shared');
      await page.locator('#register-email').fill(`sam-${Date.now()}@example.com`);
      await page.getByLabel('Password (at least 8 characters)').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL((url) => !url.pathname.startsWith('/account'));
      await page.goto(`${web.url}/account`);
      await page.evaluate(() => {
        const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
        localStorage.setItem('salescale-pass-1', JSON.stringify({ pass: 'p1', expiresAt }));
        localStorage.setItem('salescale-pass-2', JSON.stringify({ pass: 'p2', expiresAt }));
        localStorage.setItem('salescale-skew-ms', '120');
      });
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('[data-signed-in]').waitFor({ state: 'hidden', timeout: 10_000 });
      const me = await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status));
      assert.equal(me, 401, 'the session ended');
      const stored = await page.evaluate(() => Object.keys(localStorage).sort());
      assert.deepEqual(stored, ['salescale-skew-ms'], 'the passes are gone, the clock correction stays');
    } finally {
      await browser.close();
    }
  });

  it('never puts the password in the address when the sign-in form is sent before the script runs (or without it)', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      // The script is deferred: on a slow network (or with it blocked) the form is there before its handler.
      await page.route(`${web.url}/assets/storefront.js`, (route) => route.abort());
      await page.goto(`${web.url}/account`);
      const form = page.locator('form[data-sign-in]');
      if (await form.isVisible()) {
        await page.locator('#signin-email').fill('slow@example.com');
        await page.locator('#signin-password').fill('correct horse battery');
        await page.locator('#signin-password').press('Enter');
        await page.waitForLoadState('load');
      }
      assert.equal(page.url().includes('correct'), false, `the password is in the address: ${page.url()}`);
      // Said where the forms would be, for a browser with JavaScript off.
      assert.match(await page.content(), /<noscript>[\s\S]*?need JavaScript[\s\S]*?<\/noscript>/);
    } finally {
      await browser.close();
    }
  });

  // With the connection lost, signing in or registering threw in the page ("Failed to fetch", unhandled) and said
  // nothing: the shopper pressed a button that did nothing.
  it('says the shop could not be reached when signing in or creating an account meets a lost connection', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.route((url) => url.pathname === '/api/v1/sessions' || url.pathname === '/api/v1/customers', (route) => route.abort('internetdisconnected'));
      await page.goto(`${web.url}/account`);
      const message = page.locator('[data-message]');
      await page.locator('#signin-email').fill('lost@example.com');
      await page.locator('#signin-password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await message.filter({ hasText: 'Could not reach the shop: check your connection and try again.' }).waitFor({ timeout: 30_000 });
      await message.evaluate((el) => (el.textContent = ''));
      await page.getByLabel('Name').fill('Lost Shopper');
      await page.locator('#register-email').fill('lost@example.com');
      await page.getByLabel('Password (at least 8 characters)').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      await message.filter({ hasText: 'Could not reach the shop: check your connection and try again.' }).waitFor({ timeout: 30_000 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('shows prices in currencies without cents (or with three decimals) at their real amount', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      // priceCents is in the currency's minor unit, as the payment provider charges it: 1,500 JPY is ¥1,500.
      const yen = await makeProduct({ name: 'Tokyo Runner', priceCents: 1_500, currency: 'JPY' });
      const dinar = await makeProduct({ name: 'Kuwait Runner', priceCents: 12_340, currency: 'KWD' });
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/?q=tokyo`);
      assert.equal(await page.locator('.card .price').textContent(), '¥1,500');
      await page.goto(`${web.url}/products/${dinar}`);
      assert.equal(await page.locator('.product .price').textContent(), 'KWD\u00a012.340');
      await page.goto(`${web.url}/products/${yen}`);
      assert.equal(await page.locator('.product .price').textContent(), '¥1,500');
      await page.getByLabel('Quantity').fill('2');
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByRole('link', { name: 'Go to the cart' }).click();
      await page.locator('.total').waitFor();
      assert.equal(await page.locator('.total').textContent(), 'Total: ¥3,000');
      assert.equal(await page.locator('[data-cart] td').nth(1).textContent(), '¥1,500');
    } finally {
      await browser.close();
    }
  });

  /** A live queued sale of a fresh product, with `ahead` visitors already in line (other addresses). */
  const queuedSale = async (admissionPerSecond: number, ahead: number, { paused = false }: { paused?: boolean } = {}) => {
    const product = await makeProduct({ name: `Queued ${Math.random().toString(36).slice(2)}`, priceCents: 9_900 });
    const now = Date.now();
    const sale = await request(`${web.url}/api/v1/admin/sale-events`, {
      method: 'POST',
      headers: t.admin,
      body: { name: 'Door buster', startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), productIds: [product], waitingRoom: { enabled: true, admissionPerSecond, paused } },
    });
    assert.equal(sale.status, 201, JSON.stringify(sale.body));
    // The instance re-reads waiting rooms every 200 ms and its pages the sales every 2 s (a page an earlier case opened
    // may have read them just before this sale existed): wait until both the line and its page know the sale.
    const known = async () =>
      (await fetch(`${web.url}/api/v1/sale-events/${sale.body.id}/queue`)).status === 200 && (await fetch(`${web.url}/sale/${sale.body.id}/queue`)).status === 200;
    const deadline = Date.now() + 30_000;
    while (!(await known())) {
      assert.ok(Date.now() < deadline, 'the waiting-room page shows the new sale within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let i = 1; i <= ahead; i++) {
      const reply = await request(`${web.url}/api/v1/sale-events/${sale.body.id}/queue`, { method: 'POST', headers: { 'x-forwarded-for': `10.7.${Math.floor(Math.random() * 250)}.${i}` } });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
    }
    return { saleId: sale.body.id as number, product };
  };

  it('joins the line once the shop answers again when joining meets 503 or 429 with Retry-After, or a network error', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const { saleId, product } = await queuedSale(50, 0);
      const page = await browser.context.newPage();
      const answers: string[] = [];
      await page.route(`${web.url}/api/v1/sale-events/${saleId}/queue`, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        answers.push(['503', '429', 'network'][answers.length] ?? 'passed');
        if (answers.length === 1) return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'OVERLOADED', message: 'the service is overloaded, retry later', requestId: 'x' } }) });
        if (answers.length === 2) return route.fulfill({ status: 429, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'too many requests', requestId: 'y' } }) });
        if (answers.length === 3) return route.abort('connectionreset');
        return route.continue();
      });
      await page.goto(`${web.url}/sale/${saleId}/queue?product=${product}`);
      await page.locator('[data-state]').filter({ hasText: /busy|again/i }).waitFor({ timeout: 30_000 });
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      assert.deepEqual(answers, ['503', '429', 'network', 'passed']);
    } finally {
      await browser.close();
    }
  });

  it('offers to sign in when the address already holds its guest tickets (TICKET_LIMIT_REACHED), with a link that comes back to this line', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const { saleId, product } = await queuedSale(1, 0);
      const page = await browser.context.newPage();
      await page.route(`${web.url}/api/v1/sale-events/${saleId}/queue`, (route) =>
        route.request().method() === 'POST'
          ? route.fulfill({ status: 429, contentType: 'application/json', body: JSON.stringify({ error: { code: 'TICKET_LIMIT_REACHED', message: `this network address already holds 20 guest ticket(s) for sale event ${saleId}: sign in to join the line`, requestId: 'z', details: { saleEventId: saleId, limit: 20 } } }) })
          : route.continue(),
      );
      await page.goto(`${web.url}/sale/${saleId}/queue?product=${product}`);
      const signIn = page.getByRole('link', { name: 'Sign in to join the line' });
      await signIn.waitFor({ timeout: 30_000 });
      assert.equal(await signIn.getAttribute('href'), `/account?next=${encodeURIComponent(`/sale/${saleId}/queue?product=${product}`)}`);
    } finally {
      await browser.close();
    }
  });

  it('keeps following the line when the status stream is refused (503) and has to be opened again', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      // The line is paused until the page has met both refusals: at 1 a second, a loaded machine's Chromium could come to
      // the page after the line had moved past the shopper (admitted at once: no stream opened, no 'waiting' shown).
      const { saleId, product } = await queuedSale(1, 3, { paused: true });
      const page = await browser.context.newPage();
      let refused = 0;
      await page.route(/\/queue\/[^/]+\/events$/, async (route) => {
        if (refused < 2) {
          refused++;
          return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'OVERLOADED', message: 'the service is overloaded, retry later', requestId: 'z' } }) });
        }
        return route.continue();
      });
      await page.goto(`${web.url}/sale/${saleId}/queue?product=${product}`);
      await page.locator('body[data-state="waiting"]').waitFor({ timeout: 30_000 });
      await waitFor('the page met both refusals of the status stream', () => refused === 2);
      const resumed = await request(`${web.url}/api/v1/admin/sale-events/${saleId}`, { method: 'PATCH', headers: t.admin, body: { waitingRoom: { enabled: true, paused: false } } });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      assert.equal(refused, 2);
    } finally {
      await browser.close();
    }
  });

  it("does not spend the shopper's rate limit on live stock while refused (429) or while the tab is hidden", async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      // Every request counts against the address's limits (the sale limit: 100 a minute per address while a sale is
      // live, shared by every guest behind one carrier address); the stock poll must not keep them spent.
      const id = await makeProduct({ name: 'Polled Runner', priceCents: 2_500 });
      const page = await browser.context.newPage();
      await page.addInitScript(() => {
        Object.defineProperty(Document.prototype, 'visibilityState', { get: () => ((window as unknown as { hidden?: boolean }).hidden ? 'hidden' : 'visible') });
        // The stock polls the page has sent so far (a fetch of the product), to tell when every one has reached the route.
        const w = window as unknown as { productPolls: number };
        w.productPolls = 0;
        const sent = window.fetch.bind(window);
        window.fetch = (input, init) => {
          if (String(input instanceof Request ? input.url : input).includes('/api/v1/products/')) w.productPolls++;
          return sent(input, init);
        };
      });
      const polls: number[] = [];
      let refuse = false;
      await page.route(`${web.url}/api/v1/products/${id}`, (route) => {
        polls.push(Date.now());
        if (!refuse) return route.continue();
        return route.fulfill({ status: 429, headers: { 'retry-after': '30' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'too many requests', requestId: 'r' } }) });
      });
      await page.goto(`${web.url}/products/${id}`);
      const count = async (ms: number) => {
        const before = polls.length;
        await new Promise((resolve) => setTimeout(resolve, ms));
        return polls.length - before;
      };
      /** Whether a poll comes within `ms` (it returns as soon as one does). */
      const pollWithin = async (ms: number) => {
        const before = polls.length;
        for (const deadline = Date.now() + ms; polls.length === before && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
        return polls.length > before;
      };
      // Polls come every 2 s: waited for generously (a loaded machine's Chromium may be late), a poll counts as soon as it comes.
      assert.ok(await pollWithin(30_000), 'the page polls while it is seen');
      refuse = true;
      assert.ok(await pollWithin(30_000), 'the poll that meets the 429');
      assert.equal(await count(6_000), 0, 'no poll within the Retry-After of a 429');
      const routedAtReload = polls.length;
      await page.reload();
      refuse = false;
      // Hidden from now on: a poll the page sent before it read the tab as hidden may still be on its way to the
      // route (a loaded machine); those are waited for (the page's own count of those it sent), then none may come.
      const sentBeforeHidden = await page.evaluate(() => {
        const w = window as unknown as { hidden?: boolean; productPolls: number };
        w.hidden = true;
        return w.productPolls;
      });
      await waitFor('the polls sent before the tab was hidden to reach the route', () => polls.length - routedAtReload >= sentBeforeHidden);
      assert.equal(await count(6_000), 0, 'no poll while the tab is hidden');
      await page.evaluate(() => ((window as unknown as { hidden?: boolean }).hidden = false));
      assert.ok(await pollWithin(30_000), 'polling again once the tab is seen again');
    } finally {
      await browser.close();
    }
  });

  it('announces the place in line politely, not at every update of the status', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      // One admitted a second, eight ahead: the place and the estimated wait change at every update (each 500 ms here).
      // Paused until the page shows the shopper waiting: a loaded machine's Chromium could come to the page after the line
      // had moved most of the way, leaving no four places to go down by.
      const { saleId, product } = await queuedSale(1, 8, { paused: true });
      const page = await browser.context.newPage();
      await recordSpoken(page);
      await page.goto(`${web.url}/sale/${saleId}/queue?product=${product}`);
      await page.locator('body[data-state="waiting"]').waitFor({ timeout: 30_000 });
      const resumed = await request(`${web.url}/api/v1/admin/sale-events/${saleId}`, { method: 'PATCH', headers: t.admin, body: { waitingRoom: { enabled: true, paused: false } } });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      const first = Number(await page.locator('[data-position]').textContent());
      await page.waitForFunction((start) => Number(document.querySelector('[data-position]')?.textContent) <= start - 4, first, { timeout: 20_000 });
      // The pause this test holds the line with is announced once, as it should be; the budget is for the place.
      const spoken = (await page.evaluate(() => (window as unknown as { spoken: string[] }).spoken)).filter((line) => !line.startsWith('The line is paused'));
      assert.ok(spoken.length <= 3, `${spoken.length} announcements while the place went from ${first} down by 4: ${JSON.stringify(spoken)}`);
      // The turn itself is announced when it comes.
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const last = await page.evaluate(() => (window as unknown as { spoken: string[] }).spoken.at(-1));
      assert.match(last ?? '', /It is your turn/);
    } finally {
      await browser.close();
    }
  });

  it('says a product taken off sale while its page was open is no longer for sale, not that it does not exist', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Pulled Runner', priceCents: 2_000 });
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/products/${id}`);
      const archived = await request(`${web.url}/api/v1/admin/products/${id}/archive`, { method: 'POST', headers: t.admin });
      assert.equal(archived.status, 200, JSON.stringify(archived.body));
      await page.getByRole('button', { name: 'Add to cart' }).click();
      const message = page.locator('[data-message]').filter({ hasText: /./ });
      await message.waitFor({ timeout: 30_000 });
      const text = (await message.textContent()) ?? '';
      assert.match(text, /no longer for sale/i);
      assert.doesNotMatch(text, /does not exist|product \d+/i, text);
    } finally {
      await browser.close();
    }
  });

  it('reads out the stock on a product page only when it sells out, not at every change of the count', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Counted Runner', priceCents: 2_000, available: 9 });
      const page = await browser.context.newPage();
      await recordSpoken(page);
      await page.goto(`${web.url}/products/${id}`);
      // A sale's buyers take units: the count on the page follows (polled every 2 s).
      for (const available of [7, 4, 0]) {
        const set = await request(`${web.url}/api/v1/admin/products/${id}/stock`, { method: 'PUT', headers: t.admin, body: { available } });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        await page.locator('[data-available]').filter({ hasText: available > 0 ? `${available} in stock` : 'Sold out' }).waitFor({ timeout: 30_000 });
      }
      const spoken = await page.evaluate(() => (window as unknown as { spoken: string[] }).spoken.filter((text) => /stock|sold out/i.test(text)));
      assert.deepEqual(spoken.filter((text) => /in stock/.test(text)), [], `the count was read out: ${JSON.stringify(spoken)}`);
      assert.ok(spoken.some((text) => /sold out/i.test(text)), `selling out was not read out: ${JSON.stringify(spoken)}`);
    } finally {
      await browser.close();
    }
  });

  it('tells the shopper when the connection drops while placing the order, and the next press places one order', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Dropped Runner', priceCents: 3_500 });
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/`);
      const registered = await page.request.post(`${web.url}/api/v1/customers`, { data: { email: `drop-${Date.now()}@example.com`, password: 'correct horse battery', name: 'Dropped' } });
      assert.equal(registered.status(), 201);
      assert.equal((await page.request.put(`${web.url}/api/v1/cart/items/${id}`, { data: { quantity: 1 } })).status(), 200);
      let dropped = 0;
      await page.route(`${web.url}/api/v1/orders`, (route) => (route.request().method() === 'POST' && dropped++ === 0 ? route.abort('connectionreset') : route.continue()));
      await page.goto(`${web.url}/cart`);
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.locator('[data-message]').filter({ hasText: /connection/i }).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.waitForURL(/\/orders\/\d+$/);
      assert.equal(dropped, 2);
    } finally {
      await browser.close();
    }
  });

  it("keeps the shop's header and its messages on the order page, and says the payment went through", async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Header Runner', priceCents: 4_200 });
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/`);
      const registered = await page.request.post(`${web.url}/api/v1/customers`, { data: { email: `hdr-${Date.now()}@example.com`, password: 'correct horse battery', name: 'Header' } });
      assert.equal(registered.status(), 201);
      const order = await page.request.post(`${web.url}/api/v1/orders`, { headers: { 'idempotency-key': `k-hdr-${Date.now()}` }, data: { items: [{ productId: id, quantity: 1 }] } });
      assert.equal(order.status(), 201);
      const orderId = (await order.json()).id as number;
      await page.goto(`${web.url}/orders/${orderId}`);
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Cart' }).isVisible(), true, 'the header (search, cart, account) is still on the page');
      assert.equal(await page.getByRole('heading', { name: `Order ${orderId}` }).isVisible(), true);
      await page.getByRole('button', { name: 'Pay with the test card' }).click();
      await page.locator('[data-order-status="paid"]').waitFor();
      assert.match((await page.locator('[data-message]').textContent()) ?? '', /^Paid\./);
    } finally {
      await browser.close();
    }
  });

  it('counts the payment window down on the order page, then says it ran out and takes Pay away, reading out the end only', async (ctx) => {
    // A window short enough to run out during the test, on an instance of its own (the others keep the default).
    const short = await startInstance({ env: { ...t.env, PAYMENT_WINDOW_S: '15' } });
    const browser = await browsers.launch(ctx);
    try {
      if (!browser) return;
      const id = await makeProduct({ name: 'Hurried Runner', priceCents: 4_200 });
      const page = await browser.context.newPage();
      await recordSpoken(page);
      await page.goto(`${short.url}/`);
      const registered = await page.request.post(`${short.url}/api/v1/customers`, { data: { email: `win-${Date.now()}@example.com`, password: 'correct horse battery', name: 'Hurried' } });
      assert.equal(registered.status(), 201);
      const order = await page.request.post(`${short.url}/api/v1/orders`, { headers: { 'idempotency-key': `k-win-${Date.now()}` }, data: { items: [{ productId: id, quantity: 1 }] } });
      assert.equal(order.status(), 201);
      await page.goto(`${short.url}/orders/${(await order.json()).id}`);
      const left = page.locator('[data-payment-left]');
      await left.filter({ hasText: /^Time left to pay: \d+ s\.$/ }).waitFor({ timeout: 30_000 });
      const first = await left.textContent();
      await left.filter({ hasText: /^Time left to pay: \d+ s\.$/ }).filter({ hasNotText: first ?? '' }).waitFor({ timeout: 30_000 });
      await page.locator('[data-message]').filter({ hasText: /time to pay .* has run out/i }).waitFor({ timeout: 30_000 });
      const pay = page.getByRole('button', { name: 'Pay with the test card' });
      assert.equal((await pay.count()) === 0 || (await pay.isDisabled()), true, 'Pay is still offered after the window ran out');
      // The server's word wins: its read says the order expired.
      await page.locator('[data-order-status="expired"]').waitFor({ timeout: 10_000 });
      const spoken = await page.evaluate(() => (window as unknown as { spoken: string[] }).spoken);
      assert.deepEqual(spoken.filter((text) => /left to pay/i.test(text)), [], `the countdown was read out: ${JSON.stringify(spoken)}`);
      assert.ok(spoken.some((text) => /has run out/i.test(text)), `the end of the window was not read out: ${JSON.stringify(spoken)}`);
    } finally {
      await browser?.close();
      await short.stop();
    }
  });

  it('gives the pay button back when the reply to paying is lost, and the next press shows the order paid (charged once)', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Unpaid Runner', priceCents: 4_200 });
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/`);
      const registered = await page.request.post(`${web.url}/api/v1/customers`, { data: { email: `pay-${Date.now()}@example.com`, password: 'correct horse battery', name: 'Payer' } });
      assert.equal(registered.status(), 201);
      const order = await page.request.post(`${web.url}/api/v1/orders`, { headers: { 'idempotency-key': `k-pay-${Date.now()}` }, data: { items: [{ productId: id, quantity: 1 }] } });
      assert.equal(order.status(), 201);
      const orderId = (await order.json()).id as number;
      let dropped = 0;
      // The first press reaches the shop and pays; only its reply is lost (a timeout on the way back).
      await page.route(`${web.url}/api/v1/orders/${orderId}/pay`, async (route) => {
        if (dropped++ > 0) return route.continue();
        await route.fetch();
        return route.abort('connectionreset');
      });
      await page.goto(`${web.url}/orders/${orderId}`);
      await page.getByRole('button', { name: 'Pay with the test card' }).click();
      await page.locator('[data-message]').filter({ hasText: /connection/i }).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Pay with the test card' }).click({ timeout: 5_000 });
      await page.locator('[data-order-status="paid"]').waitFor({ timeout: 30_000 });
      assert.match((await page.locator('[data-message]').textContent()) ?? '', /^Paid\./);
      assert.equal(dropped, 2);
    } finally {
      await browser.close();
    }
  });
});
