import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { withBrowser } from './helpers/browser.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { createAdmittingSale, joinAsPageVisitor, keptPass, leavesAdmitted, openAdmittedPage, readTicket } from './helpers/waiting-room.ts';

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
    const { saleId } = await createAdmittingSale({ url, admin: t.admin }, { skuPrefix: 'qa-page-skew', startsInMs: -1000 });
    await withBrowser(ctx, async (context) => {
      const page = await openAdmittedPage(context, url, saleId);
      await keptPass(page, saleId);
      const joined = await joinAsPageVisitor(context, url, saleId);
      // The room (on Redis's clock) reads the ticket expired.
      await waitFor('the room to read the ticket expired', async () => ((await readTicket(url, saleId, joined.ticket, joined.cookie)).state === 'expired' ? true : null), 30_000);
      // 5 s more for a slow machine, as for the page on time.
      const changed = await leavesAdmitted(page, 5_000);
      const shown = await page.evaluate(() => ({
        state: document.body.dataset.state,
        continueLinkVisible: !(document.querySelector('[data-admitted]') as HTMLElement).hidden,
        passLeft: document.querySelector('[data-pass-left]')?.textContent,
      }));
      assert.ok(changed, `the room says the ticket is expired, the page on the instance 30 s behind still says: ${JSON.stringify(shown)}`);
      assert.equal(shown.continueLinkVisible, false, JSON.stringify(shown));
    });
  });
});
