import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { sharedBrowser } from './helpers/browser.ts';
import { sessionCookieOf } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * Guest checkout in a real browser (headless Chromium, Debian's package) on a real `salescale serve`: a shopper
 * who never signs in fills a cart, orders it with an email, and pays or cancels it on the guest order page, which
 * its access token opens. Waits for what the page says are 30 s: each returns as soon as it is met, and on a CI
 * machine at load 12 (the browser files at once) a reply and the page's render of it can take seconds.
 */
describe('storefront guest checkout in a browser', () => {
  let t: TestApp;
  let web: Instance;
  const browsers = sharedBrowser();

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SALE_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000' });
    // LOG_LEVEL info: the request log is read for access tokens.
    web = await startInstance({ env: { ...t.env, LOG_LEVEL: 'info', WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '500' } });
  });
  after(async () => {
    await web?.stop();
    await t.close();
  });

  const makeProduct = async (body: Record<string, unknown>) => {
    const reply = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: `gx-${Math.random().toString(36).slice(2)}`, available: 10, ...body } });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id as number;
  };
  /** Units left, as the admin API reads them (uncached, unlike the public product read). */
  const unitsLeft = async (id: number) => (await request(`${web.url}/api/v1/admin/products/${id}`, { headers: t.admin })).body.available as number;
  /** The orders holding a product (admin list, newest first). */
  const ordersOf = async (id: number) => {
    const reply = await request(`${web.url}/api/v1/admin/orders?limit=100`, { headers: t.admin });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return (reply.body.items as { id: number; status: string; items: { productId: number }[] }[]).filter((order) => order.items.some((item) => item.productId === id));
  };
  const addToCart = async (page: Page, productId: number, quantity: number) => {
    await page.goto(`${web.url}/products/${productId}`);
    await page.getByLabel('Quantity').fill(String(quantity));
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('link', { name: 'Go to the cart' }).click();
    await page.waitForURL(/\/cart$/);
  };

  it('lets a guest order the cart with an email, see the order, and pay it', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Guest Runner', priceCents: 4_900 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      const email = page.getByLabel('Email (for your order confirmation)');
      assert.equal(await email.getAttribute('type'), 'email');
      assert.equal(await email.getAttribute('autocomplete'), 'email');
      assert.equal(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href'), '/account?next=/cart');
      assert.equal(await page.getByRole('button', { name: 'Place order', exact: true }).count(), 0, 'no signed-in checkout button for a guest');
      await email.fill(`guest-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.waitForURL(/\/guest-orders\/\d+\.[A-Za-z0-9_-]+$/);
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      const [order] = await ordersOf(id);
      assert.ok(order);
      assert.equal(await page.getByRole('heading', { name: `Order ${order.id}` }).isVisible(), true);
      assert.match((await page.locator('[data-order-status]').textContent()) ?? '', /Total \$98\.00/);
      assert.equal(await page.locator('main [data-order] li').textContent(), '2 × Guest Runner at $49.00');
      await page.getByRole('button', { name: 'Pay with the test card' }).click();
      await page.locator('[data-order-status="paid"]').waitFor();
      assert.match((await page.locator('[data-message]').textContent()) ?? '', /^Paid\./);
      assert.equal(await page.getByRole('button', { name: 'Cancel order' }).count(), 0, 'a paid order cannot be cancelled here');
      // The cart's lines were ordered: it is empty now.
      await page.goto(`${web.url}/cart`);
      await page.getByText('Your cart is empty.').waitFor();
      // The access token is in no log line (the request log redacts the `:token` segment of page and API routes).
      const token = new URL(page.url()).pathname.split('/').pop();
      assert.ok(token);
      assert.equal(web.output().includes(token.split('.')[1]!), false, 'the access token appears in the server log');
      assert.match(web.output(), /"url":"\/guest-orders\/\[redacted\]"/);
    } finally {
      await browser.close();
    }
  });

  it('lets a guest cancel an unpaid order, which gives its units back', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Cancelled Runner', priceCents: 2_000 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 1);
      await page.getByLabel('Email (for your order confirmation)').fill(`cancel-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      assert.equal(await unitsLeft(id), 9);
      await page.getByRole('button', { name: 'Cancel order' }).click();
      await page.locator('[data-order-status="cancelled"]').waitFor();
      assert.equal(await unitsLeft(id), 10);
    } finally {
      await browser.close();
    }
  });

  // The account of the guest order's email bought the cap's units signed in (an account's checkout does not count its
  // buyer's unpaid guest orders): paying the guest order is refused ORDER_NOT_PAYABLE, for the cap. The page said only
  // "cannot be paid any more", of an order it showed reserved and payable.
  it("tells a guest why their order cannot be paid when its buyer's account bought the product's cap meanwhile", async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Capped Runner', priceCents: 3_000, maxPerCustomer: 2 });
      const address = `capped-${Date.now()}@example.com`;
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      await page.getByLabel('Email (for your order confirmation)').fill(address);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: address, password: 'a long password', name: 'Capped' } });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
      const own = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': `capped-${id}` }, body: { items: [{ productId: id, quantity: 2 }] } });
      assert.equal(own.status, 201, JSON.stringify(own.body));
      const paid = await request(`${web.url}/api/v1/orders/${own.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
      assert.equal(paid.status, 200, JSON.stringify(paid.body));

      await page.getByRole('button', { name: 'Pay with the test card' }).click();
      const message = page.locator('[data-message]');
      await message.filter({ hasText: /cannot be paid/ }).waitFor();
      assert.equal(await message.textContent(), 'You already have the most of Capped Runner one customer may buy (2): this order cannot be paid. Cancel it to release its units.');
      assert.equal(await page.locator('[data-order-status="pending_payment"]').count(), 1);
    } finally {
      await browser.close();
    }
  });

  it('places one order when the reply is lost and the shopper presses again', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Lost Reply Runner', priceCents: 3_500 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 1);
      // The first request reaches the shop and places the order; its reply is lost on the way back.
      const keys: string[] = [];
      await page.route(`${web.url}/api/v1/orders`, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        keys.push(route.request().headers()['idempotency-key'] ?? '');
        if (keys.length > 1) return route.continue();
        const placed = await route.fetch();
        assert.equal(placed.status(), 201);
        return route.abort('connectionreset');
      });
      const email = `lost-${Date.now()}@example.com`;
      await page.getByLabel('Email (for your order confirmation)').fill(email);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-message]').filter({ hasText: /connection/i }).waitFor({ timeout: 30_000 });
      // The retry goes under the same email and key: the field keeps the email of the attempt.
      const field = page.getByLabel('Email (for your order confirmation)');
      assert.equal(await field.inputValue(), email);
      assert.equal(await field.isEditable(), false);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.waitForURL(/\/guest-orders\//);
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1], 'the retry reuses the Idempotency-Key');
      assert.equal((await ordersOf(id)).length, 1, 'one order');
      assert.equal(await unitsLeft(id), 9);
    } finally {
      await browser.close();
    }
  });

  it('tells the guest why the order was refused: an invalid email, sold out, a purchase cap, rate limited, busy', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Refused Runner', priceCents: 1_000, available: 3 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      const email = page.getByLabel('Email (for your order confirmation)');
      const button = page.getByRole('button', { name: 'Place order as guest' });
      const message = page.locator('[data-message]');
      // The browser lets `a@b` through its own check (a host name may have no dot); the API's email format does not.
      await email.fill('a@b');
      assert.equal(await email.evaluate((input: HTMLInputElement) => input.checkValidity()), true);
      await button.click();
      await message.filter({ hasText: 'Enter a valid email address' }).waitFor({ timeout: 30_000 });
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      // Answers the shop gives under load or at a sale's end, replayed by the network layer.
      const refusals = [
        { status: 409, body: { code: 'OUT_OF_STOCK', message: 'product is sold out', details: { productId: id, requested: 2, available: 0, shortages: [{ productId: id, requested: 2, available: 0 }] } }, expect: 'Sorry, Refused Runner is sold out.' },
        { status: 409, body: { code: 'PURCHASE_LIMIT_EXCEEDED', message: 'at most 1', details: { productId: id, limit: 1, alreadyPurchased: 0, requested: 2, saleEventId: null } }, expect: 'Refused Runner is limited to 1 per customer: lower the quantity to order.' },
        { status: 429, body: { code: 'RATE_LIMITED', message: 'too many requests' }, retryAfter: '1', expect: 'Too many attempts from your connection. Try again in 1 s.' },
        { status: 503, body: { code: 'OVERLOADED', message: 'the service is overloaded' }, retryAfter: '1', expect: 'The shop is very busy right now. Try again in 1 s: your order will not be placed twice.' },
      ];
      const keys: string[] = [];
      let next = 0;
      await page.route(`${web.url}/api/v1/orders`, (route) => {
        keys.push(route.request().headers()['idempotency-key'] ?? '');
        const refusal = refusals[next];
        if (!refusal) return route.continue();
        return route.fulfill({ status: refusal.status, headers: refusal.retryAfter ? { 'retry-after': refusal.retryAfter } : {}, contentType: 'application/json', body: JSON.stringify({ error: { ...refusal.body, requestId: 'r' } }) });
      });
      await email.fill(`refused-${Date.now()}@example.com`);
      for (const refusal of refusals) {
        await button.click({ timeout: 30_000 });
        await message.filter({ hasText: refusal.expect }).waitFor({ timeout: 30_000 });
        next++;
      }
      assert.equal(await email.isEditable(), false, 'after a 503 the next press goes out under the same email');
      // Still disabled within the 503's Retry-After, then the order goes through under the 503's key (its outcome was unknown).
      await button.click({ timeout: 30_000 });
      await page.waitForURL(/\/guest-orders\//);
      assert.equal(keys.at(-1), keys.at(-2), 'the retry after a 503 reuses its key');
      assert.equal((await ordersOf(id)).length, 1);
    } finally {
      await browser.close();
    }
  });

  it('says which line was archived since it went into the cart, offers only to remove it, and names it when the order is refused', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const kept = await makeProduct({ name: 'Kept Runner', priceCents: 2_000 });
      const gone = await makeProduct({ name: 'Retired Runner', priceCents: 3_000 });
      const page = await browser.context.newPage();
      await addToCart(page, kept, 1);
      await addToCart(page, gone, 2);
      const archived = await request(`${web.url}/api/v1/admin/products/${gone}/archive`, { method: 'POST', headers: t.admin });
      assert.equal(archived.status, 200, JSON.stringify(archived.body));
      await page.reload();
      const row = page.locator('[data-cart] tr', { hasText: 'Retired Runner' });
      await row.waitFor();
      assert.match((await row.locator('.line-note').textContent()) ?? '', /No longer sold: remove it to order the rest\./);
      // Its quantity cannot be ordered whatever it is: a change was answered 404 "product … does not exist".
      const quantity = row.getByLabel('Quantity of Retired Runner');
      assert.equal(await quantity.isEditable(), false, 'the archived line offers an editable quantity');
      assert.equal(await row.getByRole('button', { name: 'Remove Retired Runner' }).isEnabled(), true);
      // The kept line stays editable.
      assert.equal(await page.getByLabel('Quantity of Kept Runner').isEditable(), true);
      await page.getByLabel('Email (for your order confirmation)').fill(`archived-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-message]').filter({ hasText: 'Can no longer be ordered: Retired Runner. Remove it from your cart to order the rest.' }).waitFor({ timeout: 30_000 });
      // A keyboard or screen-reader user is taken to the answer, not left on the button.
      assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-message')), true, 'focus is not on the message after the refused order');
      assert.equal((await ordersOf(kept)).length, 0);
      await row.getByRole('button', { name: 'Remove Retired Runner' }).click();
      await row.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.waitForURL(/\/guest-orders\//);
      assert.equal((await ordersOf(kept)).length, 1);
    } finally {
      await browser.close();
    }
  });

  it('does not place an order at a price the cart page did not show: says the new price, and the next press orders at it', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Repriced Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      await page.getByLabel('Quantity of Repriced Runner').waitFor();
      assert.match((await page.locator('[data-cart] .total').textContent()) ?? '', /\$20\.00/);
      // The shop raises the price while the cart page is open.
      const repriced = await request(`${web.url}/api/v1/admin/products/${id}`, { method: 'PATCH', headers: t.admin, body: { priceCents: 1_500 } });
      assert.equal(repriced.status, 200, JSON.stringify(repriced.body));
      await page.getByLabel('Email (for your order confirmation)').fill(`repriced-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-message]').filter({ hasText: /price of Repriced Runner has changed.*\$15\.00/ }).waitFor({ timeout: 30_000 });
      assert.equal((await ordersOf(id)).length, 0, 'an order was placed at a price the page did not show');
      assert.match((await page.locator('[data-cart] .total').textContent()) ?? '', /\$30\.00/);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.waitForURL(/\/guest-orders\//);
      assert.equal((await ordersOf(id)).length, 1);
    } finally {
      await browser.close();
    }
  });

  it('places no order when the price changes between its last read of the cart and the order: says the new price, and the next press orders at it', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Last Instant Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      await page.getByLabel('Quantity of Last Instant Runner').waitFor();
      // The shop raises the price after the page read the cart again, just as the order leaves the browser.
      let repriced = false;
      await page.route('**/api/v1/orders', async (route) => {
        if (route.request().method() === 'POST' && !repriced) {
          repriced = true;
          const patch = await request(`${web.url}/api/v1/admin/products/${id}`, { method: 'PATCH', headers: t.admin, body: { priceCents: 1_500 } });
          assert.equal(patch.status, 200, JSON.stringify(patch.body));
        }
        await route.continue();
      });
      await page.getByLabel('Email (for your order confirmation)').fill(`instant-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-message]').filter({ hasText: /price of Last Instant Runner has changed.*\$15\.00.*nothing was ordered/ }).waitFor({ timeout: 30_000 });
      assert.ok(repriced);
      assert.equal((await ordersOf(id)).length, 0, 'an order was placed at a price the page did not show');
      assert.equal(await unitsLeft(id), 10);
      assert.match((await page.locator('[data-cart] .total').textContent()) ?? '', /\$30\.00/);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.waitForURL(/\/guest-orders\//);
      const orders = await ordersOf(id);
      assert.equal(orders.length, 1);
    } finally {
      await browser.close();
    }
  });

  // The cart page showed the API's message as it is, written for developers: "at most 2 of product 53 per customer",
  // "request body is invalid", or any new code's wording. It words each refusal a shopper can meet, with the line's name.
  it('words a refused change of a cart line for the shopper, never with the API\'s developer message', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Capped Runner', priceCents: 1_000, maxPerCustomer: 2 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 1);
      const quantity = page.getByLabel('Quantity of Capped Runner');
      const message = page.locator('[data-message]');
      const change = async (value: string, expect: string) => {
        await quantity.fill(value);
        await quantity.press('Tab');
        await message.filter({ hasText: expect }).waitFor({ timeout: 30_000 });
        assert.doesNotMatch((await message.textContent()) ?? '', /product \d|request body|\/quantity|developer/, `for ${value}`);
      };
      // The shop's own refusals: the product's cap (409 PURCHASE_LIMIT_EXCEEDED), a quantity past what a line takes (400).
      await change('3', 'Capped Runner is limited to 2 per customer: lower the quantity.');
      await change('5000', 'Enter a quantity from 1 to 1000.');
      // Refusals replayed by the network layer: units left, and a code this page does not know.
      const replies = [
        { status: 409, error: { code: 'OUT_OF_STOCK', message: `only 1 of product ${id} available`, details: { productId: id, requested: 2, available: 1 } } },
        { status: 422, error: { code: 'SOMETHING_NEW', message: `developer wording about product ${id}` } },
      ];
      await page.route(`${web.url}/api/v1/cart/items/${id}`, (route) => {
        const reply = replies.shift();
        return reply ? route.fulfill({ status: reply.status, contentType: 'application/json', body: JSON.stringify({ error: { ...reply.error, requestId: 'r' } }) }) : route.continue();
      });
      await change('2', 'Only 1 of Capped Runner left: lower the quantity.');
      // The refused 2 was put back to the 1 the cart holds: asking 2 again is a change.
      await change('2', 'Could not change the quantity of Capped Runner. Try again, or reload the page.');
    } finally {
      await browser.close();
    }
  });

  // A refused change left the refused number in the field (0, or more than the cap or the stock) while the cart, and the
  // order placed from it, still held the old quantity: the shopper saw 0 and ordered the line anyway.
  it('puts a refused quantity back to what the cart holds, so the page never shows a quantity the order will not have', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Held Runner', priceCents: 1_000, available: 5, maxPerCustomer: 3 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 2);
      const quantity = page.getByLabel('Quantity of Held Runner');
      const message = page.locator('[data-message]');
      for (const [value, refusal] of [['0', 'Enter a quantity from 1 to'], ['4', 'limited to 3 per customer'], ['7', 'Only 5 of Held Runner left']]) {
        await quantity.fill(value);
        await quantity.press('Tab');
        await message.filter({ hasText: refusal }).waitFor({ timeout: 30_000 });
        await message.filter({ hasText: 'Your cart still holds 2.' }).waitFor({ timeout: 30_000 });
        assert.equal(await quantity.inputValue(), '2', `after ${value} was refused the field shows ${await quantity.inputValue()}`);
        await message.evaluate((el) => (el.textContent = ''));
      }
      assert.equal(await page.locator('.total').textContent(), 'Total: $20.00');
    } finally {
      await browser.close();
    }
  });

  // With the connection lost, a change or a removal of a line threw in the page (an unhandled "Failed to fetch"): no
  // word to the shopper, who was left believing the change was made.
  it('says the connection was lost when a line cannot be changed or removed, without a page error', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Offline Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await addToCart(page, id, 2);
      await page.route(`${web.url}/api/v1/cart/items/${id}`, (route) => route.abort('internetdisconnected'));
      const quantity = page.getByLabel('Quantity of Offline Runner');
      const message = page.locator('[data-message]');
      await quantity.fill('3');
      await quantity.press('Tab');
      await message.filter({ hasText: 'Could not reach the shop to change the quantity of Offline Runner: reload the page to see what your cart holds.' }).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Remove Offline Runner' }).click();
      await message.filter({ hasText: 'Could not reach the shop to remove Offline Runner: reload the page to see what your cart holds.' }).waitFor({ timeout: 30_000 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('loads the cart by itself once the shop answers again when its first load meets 503 or 429 with Retry-After, saying it is retrying', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const id = await makeProduct({ name: 'Peak Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      await addToCart(page, id, 1);
      const answers: string[] = [];
      await page.route(`${web.url}/api/v1/cart`, (route) => {
        if (route.request().method() !== 'GET') return route.continue();
        answers.push(['503', '429'][answers.length] ?? 'passed');
        if (answers.length === 1) return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'OVERLOADED', message: 'the service is overloaded, retry later', requestId: 'x' } }) });
        if (answers.length === 2) return route.fulfill({ status: 429, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'too many requests', requestId: 'y' } }) });
        return route.continue();
      });
      await page.reload();
      const message = page.locator('[data-message]');
      await message.filter({ hasText: /busy.*trying again/i }).waitFor({ timeout: 30_000 });
      assert.equal(await page.getByText('Loading your cart…').count(), 0, 'the stale "Loading your cart…" stays under the message');
      await page.getByLabel('Quantity of Peak Runner').waitFor({ timeout: 30_000 });
      assert.deepEqual(answers, ['503', '429', 'passed']);
      assert.equal(await message.textContent(), '', 'the retrying message stays once the cart is shown');
    } finally {
      await browser.close();
    }
  });

  it('keeps the email the guest typed when a line of the cart is changed or removed', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const one = await makeProduct({ name: 'Typed Runner', priceCents: 1_000 });
      const two = await makeProduct({ name: 'Second Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      await addToCart(page, one, 1);
      await addToCart(page, two, 1);
      const email = page.getByLabel('Email (for your order confirmation)');
      await email.fill('kept@example.com');
      await page.getByLabel('Quantity of Typed Runner').fill('3');
      await page.getByLabel('Quantity of Typed Runner').press('Tab');
      await page.locator('.total').filter({ hasText: '$40.00' }).waitFor({ timeout: 30_000 });
      assert.equal(await email.inputValue(), 'kept@example.com', 'changing a quantity emptied the email field');
      await page.getByRole('button', { name: 'Remove Second Runner' }).click();
      await page.locator('.total').filter({ hasText: '$30.00' }).waitFor({ timeout: 30_000 });
      assert.equal(await email.inputValue(), 'kept@example.com', 'removing a line emptied the email field');
    } finally {
      await browser.close();
    }
  });

  it('keeps the keyboard where it was when a line is changed, and takes it to the message when a line is removed', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const one = await makeProduct({ name: 'Focus Runner', priceCents: 1_000 });
      const two = await makeProduct({ name: 'Other Runner', priceCents: 1_000 });
      const page = await browser.context.newPage();
      await addToCart(page, one, 1);
      await addToCart(page, two, 1);
      const quantity = page.getByLabel('Quantity of Focus Runner');
      await quantity.fill('2');
      await quantity.press('Enter');
      await page.locator('.total').filter({ hasText: '$30.00' }).waitFor({ timeout: 30_000 });
      const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('aria-label') || document.activeElement?.tagName);
      assert.equal(await focused(), `qty-${one}`, 'the focus left the quantity just changed');
      assert.equal(await page.locator('[data-message]').textContent(), 'Focus Runner: quantity 2. Total: $30.00.');
      await page.getByRole('button', { name: 'Remove Other Runner' }).press('Enter');
      await page.locator('.total').filter({ hasText: '$20.00' }).waitFor({ timeout: 30_000 });
      assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-message')), true, `after removing a line the focus is on ${await focused()}`);
      assert.equal(await page.locator('[data-message]').textContent(), 'Removed Other Runner from your cart.');
    } finally {
      await browser.close();
    }
  });

  it('checks a guest out of a queued sale with the waiting-room pass', async (ctx) => {
    const browser = await browsers.launch(ctx);
    if (!browser) return;
    try {
      const product = await makeProduct({ name: `Queued Guest ${Math.random().toString(36).slice(2)}`, priceCents: 9_900 });
      const now = Date.now();
      const sale = await request(`${web.url}/api/v1/admin/sale-events`, {
        method: 'POST',
        headers: t.admin,
        body: { name: 'Guest door buster', startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), productIds: [product], waitingRoom: { enabled: true, admissionPerSecond: 50 } },
      });
      assert.equal(sale.status, 201, JSON.stringify(sale.body));
      // Joined as soon as the instance serves the room (it re-reads the rooms every 200 ms): its page opens then too.
      for (const deadline = Date.now() + 30_000; (await request(`${web.url}/api/v1/sale-events/${sale.body.id}/queue`)).status !== 200; ) {
        assert.ok(Date.now() < deadline, 'the instance never served the waiting room');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const page = await browser.context.newPage();
      const passes: string[] = [];
      page.on('request', (sent) => {
        if (sent.method() === 'POST' && sent.url().endsWith('/api/v1/orders')) passes.push(sent.headers()['waiting-room-pass'] ?? '');
      });
      await page.goto(`${web.url}/sale/${sale.body.id}/queue?product=${product}`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: /your turn/ }).click();
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByRole('link', { name: 'Go to the cart' }).click();
      await page.getByLabel('Email (for your order confirmation)').fill(`queued-${Date.now()}@example.com`);
      await page.getByRole('button', { name: 'Place order as guest' }).click();
      await page.locator('[data-order-status="pending_payment"]').waitFor();
      assert.equal(passes.length, 1);
      assert.notEqual(passes[0], '', 'the order carried the pass');
    } finally {
      await browser.close();
    }
  });

  it('serves the guest order page uncached and without a Referer for its links', async () => {
    const id = await makeProduct({ name: 'Header Guest Runner', priceCents: 1_500 });
    const order = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { 'idempotency-key': `k-${Date.now()}` }, body: { email: `hdr-${Date.now()}@example.com`, items: [{ productId: id, quantity: 1 }] } });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const token = order.body.accessToken as string;
    const reply = await fetch(`${web.url}/guest-orders/${token}`);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(reply.headers.get('referrer-policy'), 'no-referrer');
    const page = await reply.text();
    assert.match(page, new RegExp(`<h1 id="order-title">Order ${order.body.id}</h1>`));
    assert.equal(page.includes(token), false, 'the page does not repeat its token');
    // An address that holds no token is the shop's 404 page (not the API's JSON).
    assert.equal((await fetch(`${web.url}/guest-orders/not-a-token`)).status, 404);
  });
});
