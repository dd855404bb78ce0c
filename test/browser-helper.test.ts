import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { sharedBrowser } from './helpers/browser.ts';

/**
 * The suite's shared browser kept the promise of its first start: one that failed (a launch timeout on a loaded
 * machine) failed every later test of the file with the same error. A failed start is tried again by the next test.
 */
describe('sharedBrowser', () => {
  let starts = 0;
  // Stands for Chromium: the first start fails, the next ones give a browser whose contexts close.
  const shared = sharedBrowser({
    start: async () => {
      starts++;
      if (starts === 1) throw new Error('browserType.launch: Timeout 60000ms exceeded');
      return { newContext: async () => ({ close: async () => {} }), close: async () => {} } as unknown as Browser;
    },
  });

  it('fails the test whose start failed', async (t) => {
    await assert.rejects(shared.launch(t), /Timeout 60000ms exceeded/);
  });

  it('starts the browser again for the next test', async (t) => {
    const browser = await shared.launch(t);
    assert.ok(browser, 'a browser context, not the first start\'s error');
    await browser.close();
    assert.equal(starts, 2);
  });
});
