import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every browser test runs Chromium with (Debian's package; no network beyond loopback). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A fresh headless Chromium profile, or undefined when Chromium is not installed: then the test is
 * skipped with the reason, except on CI (CI=true), where a missing browser fails the test.
 */
export async function launchBrowser(t: TestContext): Promise<{ context: BrowserContext; close(): Promise<void> } | undefined> {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`;
    if (process.env.CI === 'true') throw new Error(`${reason} — CI must run the browser tests`);
    t.skip(reason);
    return undefined;
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'salescale-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 800 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * `use` with a fresh `launchBrowser` profile, closed after it however it ends; nothing (the test skipped) when Chromium
 * is not installed, except on CI.
 */
export async function withBrowser(t: TestContext, use: (context: BrowserContext) => Promise<void>): Promise<void> {
  const browser = await launchBrowser(t);
  if (!browser) return;
  try {
    await use(browser.context);
  } finally {
    await browser.close();
  }
}

/**
 * One headless Chromium for the tests of a suite, started at the first `launch` and closed after the suite (call it in
 * the `describe` body): each `launch` opens a fresh browser context of it (its own cookies, storage and cache, as a
 * fresh profile has), without a Chromium start-up per test. Like `launchBrowser`, undefined (the test skipped) when
 * Chromium is not installed, except on CI. A start that fails fails its test only: the next `launch` starts again.
 */
export function sharedBrowser(options: {
  /** Starts the browser (a test of this helper gives its own). @defaultValue Chromium at CHROMIUM */
  start?: () => Promise<Browser>;
} = {}): {
  launch(t: TestContext): Promise<{ context: BrowserContext; close(): Promise<void> } | undefined>;
  /** `use` with a fresh context of the shared browser, closed after it however it ends (`withBrowser`'s contract). */
  withContext(t: TestContext, use: (context: BrowserContext) => Promise<void>): Promise<void>;
} {
  const start = options.start ?? (() => chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 }));
  let browser: Promise<Browser> | undefined;
  after(async () => {
    await (await browser?.catch(() => undefined))?.close();
  });
  const shared = {
    async launch(t: TestContext) {
      if (!options.start && !existsSync(CHROMIUM)) return launchBrowser(t);
      if (!browser) {
        const starting = start();
        browser = starting;
        // A start that failed (a slow machine's launch timeout) is not kept: the next test starts it again, instead
        // of every later test of the file failing with the first one's error.
        starting.catch(() => {
          if (browser === starting) browser = undefined;
        });
      }
      const context = await (await browser).newContext({ viewport: { width: 1200, height: 800 } });
      return {
        context,
        async close() {
          await context.close().catch(() => {});
        },
      };
    },
    async withContext(t: TestContext, use: (context: BrowserContext) => Promise<void>) {
      const browser = await shared.launch(t);
      if (!browser) return;
      try {
        await use(browser.context);
      } finally {
        await browser.close();
      }
    },
  };
  return shared;
}
