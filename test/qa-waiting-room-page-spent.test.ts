import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { launchBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/queues.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/** The waiting-room page of a shopper whose pass bought an order, seen again after the pass's time (QA of the waiting room). */
describe('waiting-room page after the pass bought an order', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    // The shortest pass the configuration takes: it runs out within the test.
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_PASS_S: '10' }));
  });
  after(async () => {
    await t?.close();
  });

  it('does not offer "Join the line again" to a shopper whose pass bought an order (the room keeps them out)', async (ctx) => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-spent' });
    const saleId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const room = await browser.context.newPage();
      await room.goto(`${url}/sale/${saleId}/queue`);
      await room.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const key = `salescale-pass-${saleId}`;
      const stored = await room.evaluate((k) => sessionStorage.getItem(k), key);
      assert.ok(stored, 'the page kept the pass');
      const { expiresAt } = JSON.parse(stored) as { expiresAt: string };
      // The shopper buys with the pass in another tab.
      const shop = await browser.context.newPage();
      await shop.goto(`${url}/`);
      await shop.evaluate(([k, v]) => sessionStorage.setItem(k!, v!), [key, stored]);
      await shop.goto(`${url}/products/${productId}`);
      await shop.getByRole('button', { name: 'Add to cart' }).click();
      await shop.getByRole('link', { name: 'Go to the cart' }).click();
      await shop.waitForURL(/\/cart$/);
      await shop.getByLabel('Email (for your order confirmation)').fill(`qa-spent-${Date.now()}@example.com`);
      await shop.getByRole('button', { name: 'Place order as guest' }).click();
      await shop.waitForURL(/\/guest-orders\//);
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
    } finally {
      await browser.close();
    }
  });
});
