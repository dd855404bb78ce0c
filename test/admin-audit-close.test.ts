import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestApp } from './helpers/app.ts';

describe('the admin audit trail when the app closes', () => {
  it('waits for the audit writes in flight once, though the admin API and the queue dashboard both audit', async () => {
    let settles = 0;
    const t = await createTestApp({}, undefined, {
      services: (web) => {
        const settle = web.audit.settle.bind(web.audit);
        web.audit.settle = async () => {
          settles++;
          await settle();
        };
      },
    });
    try {
      await t.app.close();
      assert.equal(settles, 1, 'the audit trail is registered in two scopes, each settling the audit service on close');
    } finally {
      await t.close();
    }
  });
});
