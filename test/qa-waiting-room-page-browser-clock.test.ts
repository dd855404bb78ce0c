import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withBrowser } from './helpers/browser.ts';
import { createAdmittingSale, openAdmittedPage, suiteWaitingRoomApp } from './helpers/waiting-room.ts';

/** The shopper's browser clock 15 min ahead (longer than the pass): the shop's clock decides a pass's expiry (QA). */
describe('waiting-room pass in a browser whose clock is ahead', () => {
  const app = suiteWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' });

  it('keeps the pass good on the product page the continue link opens, whatever the browser clock', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'qa-page-browser-clock' });
    await withBrowser(ctx, async (context) => {
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
