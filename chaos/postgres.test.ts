/**
 * PostgreSQL faults under checkout load on two instances behind nginx: a restart (fast shutdown and
 * start), a crash (immediate stop, down for 5 s, crash recovery at start) and every backend of the
 * application terminated (pg_terminate_backend, three times a second apart). Acceptance: 0 replies of
 * 500, no request over 5 s, every 503 with Retry-After, checkout recovers without restarting
 * anything, and units in 201 replies = units gone from stock = units in placed orders (unknown
 * checkouts reconciled from the database and retried with their key).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Instance } from '../test/helpers/instances.ts';
import { printFigures, type CaseFigures } from './lib/accounting.ts';
import { signIn, type Buyer } from './lib/load.ts';
import { nginxBinary, startLoadBalancer, type LoadBalancer } from './lib/nginx.ts';
import { sleep } from './lib/processes.ts';
import { runSale } from './lib/sale.ts';
import { writeResults } from './lib/settings.ts';
import { startShop, type Shop } from './lib/shop.ts';

describe('PostgreSQL faults under checkout load', { skip: nginxBinary() ? false : 'nginx is not installed (apt-get install nginx-light)' }, () => {
  let shop: Shop;
  let lb: LoadBalancer;
  let buyers: Buyer[];
  const webs: Instance[] = [];
  const results: CaseFigures[] = [];

  before(async () => {
    shop = await startShop();
    webs.push(await shop.startWeb(), await shop.startWeb());
    await shop.startWorker();
    lb = await startLoadBalancer({ backends: webs.map((w) => w.port), upstreamIdleTimeoutMs: 30_000 });
    buyers = await shop.createBuyers(200, 'pg');
    for (const buyer of buyers) await signIn(lb.url, buyer);
    assert.equal(buyers.filter((b) => b.cookie).length, buyers.length, 'every buyer signed in');
  });
  after(async () => {
    await writeResults('postgres', results).catch(() => {});
    await lb?.stop();
    await shop?.close();
  });

  function assertAcceptance(f: CaseFigures): void {
    assert.equal(f.replies500, 0, 'no reply of 500');
    assert.equal(f.requestsOver5s, 0, `no request over 5 s (max ${f.maxLatencyMs} ms)`);
    assert.equal(f.unavailableWithoutRetryAfter, 0, 'every 503 carries Retry-After');
    assert.ok(f.secondsToRecover !== null && Number.isFinite(f.secondsToRecover), 'checkout recovered without a restart');
    assert.equal(f.unitsIn201Replies, f.unitsGoneFromStock, 'units in 201 replies = units gone from stock');
    assert.equal(f.unitsGoneFromStock, f.unitsInPlacedOrders, 'units gone from stock = units in placed orders');
    assert.equal(f.oversoldUnits, 0, 'nothing oversold');
    assert.equal(f.missingEmails, 0, 'every placed order got its confirmation email');
    assert.equal(webs.filter((w) => w.process.exitCode !== null).length, 0, 'no instance died');
  }

  const cases: [string, () => Promise<unknown>][] = [
    ['postgres restarted', () => shop.postgres.restart()],
    [
      'postgres crashed for 5 s',
      async () => {
        await shop.postgres.crash();
        await sleep(5000);
        await shop.postgres.start();
      },
    ],
    [
      'postgres backends terminated',
      async () => {
        const terminated: number[] = [];
        for (let i = 0; i < 3; i++) {
          terminated.push(await shop.postgres.terminateBackends());
          await sleep(1000);
        }
        return { terminatedPerRound: terminated.join(',') };
      },
    ],
  ];
  for (const [name, fault] of cases) {
    it(name, async () => {
      const { figures } = await runSale({ name, shop, url: lb.url, buyers, fault });
      figures.notes.lbErrorLog = (await lb.errorLog()).split('\n').filter((l) => /upstream|connect\(\)/.test(l)).length;
      results.push(figures);
      printFigures(figures);
      assertAcceptance(figures);
    });
  }
});
