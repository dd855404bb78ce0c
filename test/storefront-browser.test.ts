import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { sharedBrowser } from './helpers/browser.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, 'artifacts');
const DOCS = path.resolve(import.meta.dirname, '../docs/images');

/**
 * A shopper in a real browser (headless Chromium, Debian's package) on a real `salescale serve`:
 * browses and searches the catalog, opens a product in a queued sale, waits in the waiting room with
 * a live position, is admitted, signs up, fills the cart and buys.
 */
describe('storefront in a browser', () => {
  let t: TestApp;
  let web: Instance;
  // One Chromium for the file, a fresh context of it (cookies, storage, cache) per test.
  const browsers = sharedBrowser();

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SALE_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000' });
    web = await startInstance({ env: { ...t.env, WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '500' } });
  });
  after(async () => {
    await web?.stop();
    await t.close();
  });

  it('lets a shopper browse, queue, be admitted and buy', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const admin = { headers: t.admin };
      const category = await request(`${web.url}/api/v1/admin/categories`, { method: 'POST', ...admin, body: { slug: 'sneakers', name: 'Sneakers' } });
      assert.equal(category.status, 201, JSON.stringify(category.body));
      const make = async (name: string, priceCents: number, available: number) => {
        const reply = await request(`${web.url}/api/v1/admin/products`, {
          method: 'POST',
          ...admin,
          body: { sku: `sf-${Math.random().toString(36).slice(2)}`, name, description: `${name}: limited edition.`, priceCents, available, categoryId: category.body.id },
        });
        assert.equal(reply.status, 201);
        return reply.body.id as number;
      };
      const drop = await make('Aurora Runner Limited', 14_900, 50);
      await make('Everyday Trainer', 7_900, 200);
      await make('Trail Blazer GTX', 12_900, 80);
      const now = Date.now();
      const sale = await request(`${web.url}/api/v1/admin/sale-events`, {
        method: 'POST',
        ...admin,
        body: { name: 'Aurora drop', startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), productIds: [drop], waitingRoom: { enabled: true, admissionPerSecond: 2 } },
      });
      assert.equal(sale.status, 201);
      const saleId = sale.body.id as number;
      // The instance re-reads waiting rooms every 200 ms (later on a loaded machine): wait until it serves this one.
      await waitFor('the instance to serve the sale\'s waiting room', async () => (await request(`${web.url}/api/v1/sale-events/${saleId}/queue`)).status === 200);
      // Twenty visitors ahead of our shopper (other addresses, through the trusted proxy).
      for (let i = 1; i <= 20; i++) {
        const reply = await request(`${web.url}/api/v1/sale-events/${saleId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': `10.9.0.${i}` } });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
      }

      browser.context.setDefaultTimeout(60_000);
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        // Expected refusals (401 before signing in) are logged by Chromium as failed loads; anything else counts.
        if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
      });

      // Browse: the catalog, a category, a search.
      await page.goto(`${web.url}/`);
      assert.equal(await page.title(), 'All products · Salescale shop');
      await page.getByRole('link', { name: 'Sneakers' }).click();
      await page.waitForURL(/category=sneakers/);
      await page.getByLabel('Search products').fill('aurora');
      await page.getByLabel('Search products').press('Enter');
      await page.waitForURL(/q=aurora/);
      assert.equal(await page.locator('.card').count(), 1);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.goto(`${web.url}/`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'storefront.png') });

      // The product: live availability, the sale, and no buying without the waiting room.
      await page.goto(`${web.url}/?q=aurora`);
      await page.getByRole('link', { name: 'Aurora Runner Limited' }).click();
      await page.waitForURL(/\/products\/\d+$/);
      await page.locator('[data-available]').filter({ hasText: '50 in stock' }).waitFor();
      assert.equal(await page.locator('[data-add-to-cart]').isHidden(), true, 'no add-to-cart before admission');
      await page.getByRole('link', { name: 'Join the waiting room' }).click();

      // The waiting room: a live position, then admission.
      await page.waitForURL(/\/sale\/\d+\/queue/);
      // 60 s: on a loaded machine the instance sheds load (503 with Retry-After) and the page asks again after it.
      await page.locator('[data-position]').filter({ hasText: /^\d+$/ }).waitFor({ timeout: 60_000 });
      const position = Number(await page.locator('[data-position]').textContent());
      assert.ok(position >= 1 && position <= 21, `a place in line (${position})`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'waiting-room.png') });
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 60_000 });
      await page.getByRole('link', { name: /your turn/ }).click();

      // Admitted: add to cart, sign up on the way, buy.
      await page.waitForURL(/\/products\/\d+$/);
      await page.getByLabel('Quantity').fill('1');
      // Anonymous: the unit goes into a guest cart; the cart offers guest checkout or signing in, and signing in
      // (here: signing up) joins the cart to the account.
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByRole('link', { name: 'Go to the cart' }).click();
      await page.waitForURL(/\/cart$/);
      await page.getByRole('button', { name: 'Place order as guest' }).waitFor();
      await page.getByRole('link', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(/\/account\?next=/);
      await page.getByLabel('Name').fill('Ada Shopper');
      await page.locator('#register-email').fill(`ada-${Date.now()}@example.com`);
      await page.getByLabel('Password (at least 8 characters)').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(/\/cart$/);
      await page.getByRole('button', { name: 'Place order', exact: true }).click();
      await page.waitForURL(/\/orders\/\d+$/);
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      await page.getByRole('button', { name: 'Pay with the test card' }).click();
      await page.locator('[data-order-status="paid"]').waitFor();
      const orderId = Number(new URL(page.url()).pathname.split('/').pop());
      assert.ok(orderId > 0);
      // Product replies overlay each instance's view of the stock gate, refreshed every STOCK_VIEW_REFRESH_MS.
      await waitFor('the unit to leave the stock', async () => {
        const stock = await request(`${web.url}/api/v1/products/${drop}`);
        return stock.body.available <= 49 ? true : null;
      }, 10_000);
      assert.deepEqual(problems, [], 'no script errors, no CSP violations');

      assert.ok(statSync(path.join(ARTIFACTS, 'waiting-room.png')).size > 10_000);
      if (process.env.UPDATE_DOCS_SCREENSHOTS) {
        mkdirSync(DOCS, { recursive: true });
        for (const name of ['waiting-room.png', 'storefront.png']) copyFileSync(path.join(ARTIFACTS, name), path.join(DOCS, name));
      }
    } finally {
      await browser.close();
    }
  });

  it('fits a phone: no sideways scrolling, the search button on screen, products in the first screen despite many categories', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      for (let i = 1; i <= 24; i++) {
        const reply = await request(`${web.url}/api/v1/admin/categories`, { method: 'POST', headers: t.admin, body: { slug: `phone-${i}`, name: `Premium Electronics ${i}` } });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
      }
      const product = await request(`${web.url}/api/v1/admin/products`, {
        method: 'POST',
        headers: t.admin,
        body: { sku: `phone-${Math.random().toString(36).slice(2)}`, name: 'Pocket Runner', description: 'Fits a phone screen.', priceCents: 5_900, available: 10 },
      });
      assert.equal(product.status, 201, JSON.stringify(product.body));
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${web.url}/`);
      const layout = await page.evaluate(() => ({
        pageWidth: document.documentElement.scrollWidth,
        screenWidth: window.innerWidth,
        search: document.querySelector('.search button')?.getBoundingClientRect().right,
        firstCard: document.querySelector('.card')?.getBoundingClientRect().top,
      }));
      assert.ok(layout.pageWidth <= layout.screenWidth, `the page is ${layout.pageWidth} px wide on a ${layout.screenWidth} px screen`);
      assert.ok(layout.search !== undefined && layout.search <= layout.screenWidth, `the search button ends at ${layout.search} px`);
      assert.ok(layout.firstCard !== undefined && layout.firstCard < 740, `the first product starts at ${layout.firstCard} px, below the first screen`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'storefront-phone.png') });
    } finally {
      await browser.close();
    }
  });

  it('places one order however often "Place order" is pressed while a slow checkout runs, also after a reload', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    let release = () => {};
    try {
      const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: `sf-click-${Date.now()}`, name: 'Clicked', priceCents: 500, available: 20 } });
      assert.equal(product.status, 201, JSON.stringify(product.body));
      const productId = product.body.id as number;
      const page = await browser.context.newPage();
      await page.goto(`${web.url}/`);
      const registered = await page.request.post(`${web.url}/api/v1/customers`, { data: { email: `clicker-${Date.now()}@example.com`, password: 'correct horse battery', name: 'Clicker' } });
      assert.equal(registered.status(), 201);
      const customerId = (await registered.json()).id as number;
      assert.equal((await page.request.put(`${web.url}/api/v1/cart/items/${productId}`, { data: { quantity: 1 } })).status(), 200);
      const ordersOf = async () => (await t.platform.db.primary.execute<{ id: number }>(sql`select id::int from orders where customer_id = ${customerId}`)).rows.map((row) => row.id);
      // Lock waits of this database's sessions only (other test files wait on their own rows meanwhile). Not by
      // pg_locks.database: a wait for a row lock is on the holder's transaction id, which has no database.
      const waiting = async () =>
        (await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from pg_locks where not granted and pid in (select pid from pg_stat_activity where datname = current_database())`)).rows[0]!.n;

      // The product's stock rows are held elsewhere: checkout waits in PostgreSQL, as behind a hot row at peak.
      let locked = () => {};
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      const holder = t.platform.db.primary.transaction(async (tx) => {
        await tx.execute(sql`select 1 from product_stock where product_id = ${productId} for update`);
        locked();
        await released;
      });
      await isLocked;

      await page.goto(`${web.url}/cart`);
      const press = () => page.evaluate(() => (document.querySelector('[data-checkout]') as HTMLButtonElement).click());
      await page.getByRole('button', { name: 'Place order' }).click();
      await waitFor('the first checkout to wait for the stock rows', async () => ((await waiting()) >= 1 ? true : null), 60_000);
      // Impatient presses on the same page, then a reload (the first request keeps running) and more presses.
      for (let i = 0; i < 2; i++) {
        await press();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      await page.reload();
      await page.getByRole('button', { name: 'Place order' }).waitFor();
      for (let i = 0; i < 2; i++) {
        await press();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      release();
      await holder;
      // 60 s: a lock wait past the statement timeout is a 503 with Retry-After (up to 30 s), after which the page asks again.
      await page.waitForURL(/\/orders\/\d+$/, { timeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // any second order's request has ended by now
      const placed = await ordersOf();
      assert.equal(placed.length, 1, `one order, not ${placed.length}`);
      assert.equal(Number(new URL(page.url()).pathname.split('/').pop()), placed[0]);
    } finally {
      release();
      await browser.close();
    }
  });

  it('sends security headers and answers CORS only for listed origins', async () => {
    const page = await fetch(`${web.url}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const preflight = await fetch(`${web.url}/api/v1/orders`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });

  // The CSP says frame-ancestors 'none'; a browser that honours X-Frame-Options and not CSP Level 2 (older embedded
  // WebViews, IE 11) would otherwise follow helmet's default SAMEORIGIN and let a page of the same origin frame the
  // account, cart and guest-order pages. The two headers say the same thing: DENY.
  for (const url of ['/', '/account', '/cart', '/orders/1', '/guest-orders/1.abc']) {
    it(`refuses every framing of ${url}, in X-Frame-Options as in the CSP`, async () => {
      const reply = await fetch(`${web.url}${url}`);
      assert.equal(reply.status, 200, await reply.text());
      assert.match(reply.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(reply.headers.get('x-frame-options'), 'DENY', `X-Frame-Options is ${reply.headers.get('x-frame-options')} while the CSP says frame-ancestors 'none'`);
    });
  }

  // Run at once: each test has its own product, cart (its own browser context) and routes.
  describe('Add to cart on a product page', { concurrency: true }, () => {
    /** A product of `available` units, and a browser (none when Chromium is missing: the test is then skipped). */
    const productAndBrowser = async (ctx: TestContext, sku: string, name: string, available: number) => {
      const created = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku, name, priceCents: 700, available } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return { productId: created.body.id as number, browser: await browsers.launch(ctx) };
    };
    const openProduct = async (page: Page, productId: number, quantity: number) => {
      await page.goto(`${web.url}/products/${productId}`);
      await page.locator('[data-add-to-cart]').waitFor({ state: 'visible' });
      await page.fill('#quantity', String(quantity));
    };
    const messageOf = async (page: Page) => {
      await page.waitForFunction(() => (document.querySelector('[data-message]')?.textContent ?? '') !== '');
      return (await page.locator('[data-message]').textContent()) ?? '';
    };
    const lineOf = async (page: Page, productId: number) =>
      ((await (await page.request.get(`${web.url}/api/v1/cart`)).json()).items.find((item: { productId: number }) => item.productId === productId)?.quantity ?? 0) as number;

    // "Add to cart" adds to the cart line (POST /cart/items) and says the new total: it once sent PUT /cart/items/:id
    // with the quantity typed, which *sets* the line (a shopper who added 2 and came back to add 1 more held 1).
    it('adds the quantity to what the cart already holds when a shopper adds a product twice from its page', async (ctx) => {
      const { productId, browser } = await productAndBrowser(ctx, 'ADD-TWICE-1', 'Add twice', 50);
      if (!browser) return;
      try {
        const page = await browser.context.newPage();
        const addFromPage = async (quantity: number, total: number) => {
          await openProduct(page, productId, quantity);
          await page.click('[data-add-to-cart] button[type=submit]');
          await page.locator('[data-message] a[href="/cart"]').waitFor({ state: 'visible' });
          assert.match((await page.locator('[data-message]').textContent()) ?? '', new RegExp(`^Added: ${total} in your cart\\.`));
        };
        await addFromPage(2, 2);
        await addFromPage(1, 3);
        const cart = await page.request.get(`${web.url}/api/v1/cart`);
        assert.equal(cart.status(), 200);
        const line = (await cart.json()).items.find((item: { productId: number }) => item.productId === productId);
        assert.equal(line?.quantity, 3, 'two adds of 2 and 1 leave the cart line at the last quantity typed');
      } finally {
        await browser.close();
      }
    });

    // When the sum is more than the stock, the API refuses it (409 OUT_OF_STOCK) and the line keeps what it held: the
    // page says what the cart already holds and how many more can be added, not "Added".
    it('refuses an add whose sum with the cart line is over the stock, saying what the cart holds and how many more it can take, and keeps the line', async (ctx) => {
      const { productId, browser } = await productAndBrowser(ctx, 'ADD-OVER-1', 'Add over', 4);
      if (!browser) return;
      try {
        const page = await browser.context.newPage();
        const addFromPage = async (quantity: number) => {
          await openProduct(page, productId, quantity);
          await page.click('[data-add-to-cart] button[type=submit]');
          return messageOf(page);
        };
        assert.match(await addFromPage(3), /^Added: 3 in your cart\./);
        assert.match(await addFromPage(2), /^Not added: only 4 left, and your cart already holds 3 of this product: you can add 1 more\./);
        assert.equal(await lineOf(page, productId), 3, 'the refused add leaves the line as it was');
        assert.match(await addFromPage(1), /^Added: 4 in your cart\./);
        assert.match(await addFromPage(1), /^Not added: only 4 left, and your cart already holds 4 of this product: none more can be added\./);
        assert.equal(await lineOf(page, productId), 4);
      } finally {
        await browser.close();
      }
    });

    // A shopper reads the product's name on its page, not its id: a product sold out (also while its page was open)
    // once answered "only 0 of product 12 available".
    it('says a product sold out while its page was open is sold out, without naming it by its id', async (ctx) => {
      const { productId, browser } = await productAndBrowser(ctx, 'ADD-SOLD-OUT-1', 'Sold out mug', 2);
      if (!browser) return;
      try {
        const page = await browser.context.newPage();
        await openProduct(page, productId, 1);
        const set = await request(`${web.url}/api/v1/admin/products/${productId}/stock`, { method: 'PUT', headers: t.admin, body: { available: 0 } });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        await page.click('[data-add-to-cart] button[type=submit]');
        const text = await messageOf(page);
        assert.match(text, /sold out/i);
        assert.doesNotMatch(text, /product \d+/, text);
        assert.equal(await lineOf(page, productId), 0);
      } finally {
        await browser.close();
      }
    });

    // A refusal whose details did not come (a proxy's rewrite, an older API) does not say how many are left: the page
    // does not guess that the product sold out.
    it('says an add was refused for want of stock, not that the product sold out, when the refusal names no units left', async (ctx) => {
      const { productId, browser } = await productAndBrowser(ctx, 'ADD-NO-DETAILS-1', 'Refused mug', 5);
      if (!browser) return;
      try {
        const page = await browser.context.newPage();
        await openProduct(page, productId, 1);
        await page.route('**/api/v1/cart/items', (route) =>
          route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'OUT_OF_STOCK', message: 'out of stock', requestId: 'r' } }) }),
        );
        await page.click('[data-add-to-cart] button[type=submit]');
        const text = await messageOf(page);
        assert.doesNotMatch(text, /sold out/i, text);
        assert.match(text, /^Not added: there is not enough of this product left\./, text);
      } finally {
        await browser.close();
      }
    });

    // An add is not idempotent: a double click adds once (the button is off while the add runs), an add that gets no
    // answer (the network failed) says to check the cart rather than click again, and past a line's 1,000 units (422
    // LINE_QUANTITY_TOO_LARGE) the page says the maximum and what the cart holds.
    it('adds once on a double click, says to check the cart when the network fails, and names a line maximum', async (ctx) => {
      const { productId, browser } = await productAndBrowser(ctx, 'ADD-OVER-2', 'Add twice', 5000);
      if (!browser) return;
      try {
        const page = await browser.context.newPage();
        await openProduct(page, productId, 1);
        await page.dblclick('[data-add-to-cart] button[type=submit]');
        assert.match(await messageOf(page), /^Added: 1 in your cart\./);
        assert.equal(await lineOf(page, productId), 1, 'a double click added twice');

        await openProduct(page, productId, 1);
        await page.route('**/api/v1/cart/items', (route) => route.abort('internetdisconnected'));
        await page.click('[data-add-to-cart] button[type=submit]');
        assert.match(await messageOf(page), /check your cart before adding again/);
        assert.equal(await page.locator('[data-add-to-cart] button[type=submit]').isEnabled(), true, 'the button is usable again');
        await page.unroute('**/api/v1/cart/items');

        const put = await page.request.put(`${web.url}/api/v1/cart/items/${productId}`, { data: { quantity: 999 } });
        assert.equal(put.status(), 200, await put.text());
        await openProduct(page, productId, 5);
        await page.click('[data-add-to-cart] button[type=submit]');
        assert.match(await messageOf(page), /^Not added: a cart line holds at most 1000 units and your cart already holds 999 of this product\./);
        assert.equal(await lineOf(page, productId), 999, 'the refused add leaves the line as it was');
      } finally {
        await browser.close();
      }
    });
  });
});
