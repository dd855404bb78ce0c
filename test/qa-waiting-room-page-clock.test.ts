import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { launchBrowser } from './helpers/browser.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/**
 * The admitted page served by an instance whose clock is 30 s behind Redis's (a VM whose NTP stopped): the room
 * decides a pass's expiry on Redis's clock, so the page's countdown must too, not on the instance's `Date`.
 */
describe('waiting-room page on an instance whose clock is behind', () => {
  let t: TestApp;
  let behind: Instance;

  before(async () => {
    if (!existsSync(LIBFAKETIME)) return;
    const limits = { RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000', WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_PASS_S: '10' };
    t = await createTestApp(limits);
    behind = await startInstance({ env: { ...t.env, ...limits, DB_POOL_MAX: '4', LOG_LEVEL: 'silent', LD_PRELOAD: LIBFAKETIME, FAKETIME: '-30s' } });
  });
  after(async () => {
    await behind?.stop();
    await t?.close();
  });

  it('stops showing the continue link once the room says the pass expired, whatever the instance clock', async (ctx) => {
    if (!existsSync(LIBFAKETIME)) return ctx.skip('libfaketime not installed');
    const url = behind.url;
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'qa-page-skew' });
    const saleId = await createQueuedSale(url, t.admin, [behind], { productIds: [productId], startsInMs: -1000, admissionPerSecond: 1000 });
    const browser = await launchBrowser(ctx);
    if (!browser) return;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/sale/${saleId}/queue`);
      await page.locator('body[data-state="admitted"]').waitFor({ timeout: 30_000 });
      const stored = await page.evaluate((id) => JSON.parse(sessionStorage.getItem(`salescale-pass-${id}`) ?? 'null') as { expiresAt: string } | null, saleId);
      assert.ok(stored, 'the page kept the pass');
      const cookie = (await browser.context.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
      const joined = await request(`${url}/api/v1/sale-events/${saleId}/queue`, { method: 'POST', headers: { cookie } });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      // The room (on Redis's clock) reads the ticket expired.
      await waitFor(
        'the room to read the ticket expired',
        async () => {
          const status = await request(`${url}/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } });
          return status.body.state === 'expired' ? true : null;
        },
        30_000,
      );
      // 5 s more for a slow machine, as for the page on time.
      const changed = await page
        .waitForFunction(() => document.body.dataset.state !== 'admitted', undefined, { timeout: 5_000 })
        .then(() => true, () => false);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
        passLeft: document.querySelector('[data-pass-left]')?.textContent,
      }));
      assert.ok(changed, `the room says the ticket is expired, the page on the instance 30 s behind still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    } finally {
      await browser.close();
    }
  });
});
