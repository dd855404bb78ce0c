import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/queues.ts';
import { buyInAnotherTab, createAdmittingSale, keptPass, openAdmittedPage, suiteWaitingRoomApp } from './helpers/waiting-room.ts';

/** The waiting-room page of a shopper whose pass bought an order, seen again after the pass's time (QA of the waiting room). */
describe('waiting-room page after the pass bought an order', () => {
  // The shortest pass the configuration takes: it runs out within the test.
  const app = suiteWaitingRoomApp({ WAITING_ROOM_PASS_S: '10' });

  it('does not offer "Join the line again" to a shopper whose pass bought an order (the room keeps them out)', async (ctx) => {
    const { productId, saleId } = await createAdmittingSale(app, { skuPrefix: 'qa-page-spent' });
    await withBrowser(ctx, async (context) => {
      const room = await openAdmittedPage(context, app.url, saleId);
      const { key, value, expiresAt } = await keptPass(room, saleId);
      // The shopper buys with the pass in another tab.
      await buyInAnotherTab(context, app.url, { productId, passes: [[key, value]], emailPrefix: 'qa-spent' });
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
});
