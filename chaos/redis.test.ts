/**
 * Redis killed (SIGKILL) mid-sale and started again 2 s later, with its append-only file (the data
 * comes back) and without persistence (everything in Redis is gone: sessions, idempotency records,
 * the stock gate, queued jobs). Two instances behind nginx, a worker, shoppers at a steady rate.
 * Acceptance: 0 oversold units, 0 replies of 500, and after recovery the stock gate equals PostgreSQL
 * (committed stock; no reservation is in flight once the load has stopped).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { printFigures, type CaseFigures } from './lib/accounting.ts';
import { nginxBinary } from './lib/nginx.ts';
import { sleep } from './lib/processes.ts';
import { runSale, startSaleStack, type SaleStack } from './lib/sale.ts';
import { FULL_RUN_ONLY, writeResults } from './lib/settings.ts';

const results: CaseFigures[] = [];
after(() => writeResults('redis', results));

for (const persistence of ['with AOF', 'without persistence'] as const) {
  const skip = !nginxBinary() ? 'nginx is not installed (apt-get install nginx-light)' : persistence === 'with AOF' ? FULL_RUN_ONLY : false;
  describe(`Redis killed mid-sale, ${persistence}`, { skip }, () => {
    let stack: SaleStack;
    before(async () => {
      stack = await startSaleStack({ tag: `redis-${persistence === 'with AOF' ? 'aof' : 'none'}`, redisArgs: persistence === 'with AOF' ? ['--appendonly', 'yes'] : [] });
    });
    after(() => stack?.close());

    let gate: Record<string, { gate: number | null; postgres: number; wasPresent: boolean }> = {};
    it('oversells nothing and answers no 500', async () => {
      const { figures, productIds } = await runSale({
        name: `redis killed (SIGKILL), ${persistence}`,
        shop: stack.shop,
        url: stack.lb.url,
        buyers: stack.buyers,
        fault: async () => {
          await stack.shop.redis.stop('SIGKILL');
          await sleep(2000);
          await stack.shop.redis.start();
        },
      });
      // The gate after recovery: present (AOF) or rebuilt from PostgreSQL at first use (no persistence).
      gate = {};
      for (const [label, id] of [['deep', productIds[0]!], ['scarce', productIds[1]!]] as const) {
        const present = await stack.shop.gateOf(id);
        if (present === undefined) await stack.shop.ensureGate(id);
        gate[label] = { gate: (await stack.shop.gateOf(id)) ?? null, postgres: await stack.shop.stockOf(id), wasPresent: present !== undefined };
      }
      figures.notes.gateAfterRecovery = gate;
      results.push(figures);
      printFigures(figures);

      assert.equal(figures.oversoldUnits, 0, 'nothing oversold');
      assert.equal(figures.replies500, 0, 'no reply of 500');
      assert.equal(figures.unitsGoneFromStock, figures.unitsInPlacedOrders, 'units gone from stock = units in placed orders');
      assert.equal(figures.unitsIn201Replies, figures.unitsInPlacedOrders, 'units in 201 replies = units in placed orders');
      assert.equal([...stack.webs, ...stack.workers].filter((p) => p.process.exitCode !== null).length, 0, 'no instance or worker died');
    });

    // With AOF (appendfsync everysec, the deployed setting) a SIGKILL can lose the last reservations'
    // writes; the instances see the server's run_id change on reconnect and drop every gate figure, so
    // each is rebuilt exactly from PostgreSQL (before that fix the restored gate stayed too generous
    // until STOCK_GATE_TTL_S).
    it('the stock gate equals PostgreSQL after recovery', () => {
      assert.ok(Object.keys(gate).length > 0, 'the sale ran');
      for (const [label, g] of Object.entries(gate)) assert.equal(g.gate, g.postgres, `the ${label} product's gate equals PostgreSQL`);
    });
  });
}
