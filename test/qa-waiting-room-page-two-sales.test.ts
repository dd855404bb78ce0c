import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withBrowser } from './helpers/browser.ts';
import { buyInAnotherTab, createAdmittingSale, keptPass, openAdmittedPage, suiteWaitingRoomApp } from './helpers/waiting-room.ts';

/** Two queued sales listing one product: an order spends one pass (QA of the waiting room). */
describe('waiting-room pages of two sales listing one product', () => {
  const app = suiteWaitingRoomApp({ WAITING_ROOM_PASS_S: '600' });

  it('keeps the page of the sale whose pass the order did not spend admitted', async (ctx) => {
    const { productId, saleId: saleA } = await createAdmittingSale(app, { skuPrefix: 'qa-page-two-sales' });
    const { saleId: saleB } = await createAdmittingSale(app, { productId });
    await withBrowser(ctx, async (context) => {
      const pages = [];
      const stored: [string, string][] = [];
      for (const saleId of [saleA, saleB]) {
        const page = await openAdmittedPage(context, app.url, saleId);
        const { key, value } = await keptPass(page, saleId);
        stored.push([key, value]);
        pages.push(page);
      }
      // The shopper's shop tab holds both passes and buys the product: checkout spends one of them (a product listed by
      // several live queued sales needs a pass of any one of them).
      await buyInAnotherTab(context, app.url, { productId, passes: stored, emailPrefix: 'qa-two-sales' });
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
});
