import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { launchBrowser } from './helpers/browser.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/** The shopper's browser clock 15 min ahead (longer than the pass): the shop's clock decides a pass's expiry (QA). */
describe('waiting-room pass in a browser whose clock is ahead', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' }));
  });
  after(async () => {
    await t?.close();
  });

  it('keeps the pass good on the product page the continue link opens, whatever the browser clock', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-browser-clock' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      // The browser's clock 15 min ahead of the shop's (its Date.now: what the storefront reads).
      await browser.context.addInitScript(() => {
        const real = Date.now.bind(Date);
        Date.now = () => real() + 15 * 60_000;
      });
      const page = await browser.context.newPage();
      await page.goto(`${url}/sale/${saleId}/queue?product=${productId}`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: 'It’s your turn: continue shopping' }).click();
      await page.waitForURL(new RegExp(`/products/${productId}$`));
      const shown = await page.evaluate(() => ({
        addToCartVisible: !(document.querySelector('[data-add-to-cart]') as HTMLElement).hidden,
        passNote: (document.querySelector('[data-pass-status]') as HTMLElement).hidden ? null : document.querySelector('[data-pass-status]')?.textContent,
      }));
      assert.equal(shown.addToCartVisible, true, `the pass is good for 10 min on the shop's clock, the product page says: ${JSON.stringify(shown)}`);
    } finally {
      await browser.close();
    }
  });
});
