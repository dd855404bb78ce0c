import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { launchBrowser } from './helpers/browser.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/** Two queued sales listing one product: an order spends one pass (QA of the waiting room). */
describe('waiting-room pages of two sales listing one product', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' }));
  });
  after(async () => {
    await t?.close();
  });

  it('keeps the page of the sale whose pass the order did not spend admitted', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-two-sales' });
    const saleA = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const saleB = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const pages = [];
      const stored: [string, string][] = [];
      for (const saleId of [saleA, saleB]) {
        const page = await browser.context.newPage();
        await page.goto(`${url}/sale/${saleId}/queue`);
        await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
        const key = `salescale-pass-${saleId}`;
        const value = await page.evaluate((k) => sessionStorage.getItem(k), key);
        assert.ok(value, 'the page kept the pass');
        stored.push([key, value]);
        pages.push(page);
      }
      // The shopper's shop tab holds both passes and buys the product: checkout spends one of them (a product listed by
      // several live queued sales needs a pass of any one of them).
      const shop = await browser.context.newPage();
      await shop.goto(`${url}/`);
      await shop.evaluate((entries) => {
        for (const [k, v] of entries) sessionStorage.setItem(k, v);
      }, stored);
      await shop.goto(`${url}/products/${productId}`);
      await shop.getByRole('button', { name: 'Add to cart' }).click();
      await shop.getByRole('link', { name: 'Go to the cart' }).click();
      await shop.waitForURL(/\/cart$/);
      await shop.getByLabel('Email (for your order confirmation)').fill(`qa-two-sales-${Date.now()}@example.com`);
      await shop.getByRole('button', { name: 'Place order as guest' }).click();
      await shop.waitForURL(/\/guest-orders\//);
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
    } finally {
      await browser.close();
    }
  });
});
