/**
 * Workers SIGKILLed and SIGSTOPped during an order burst: two workers process the follow-ups of a
 * steady checkout stream; one is SIGKILLed (and a replacement started, as an orchestrator would),
 * the other is frozen with SIGSTOP for longer than its job locks (WORKER_LOCK_DURATION_MS = 3 s), then
 * resumed. Figures: missing and duplicate confirmation emails (the SMTP sink counts them per order),
 * seconds until the last one arrived. Acceptance: every placed order gets its email.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { printFigures, type CaseFigures } from './lib/accounting.ts';
import { nginxBinary } from './lib/nginx.ts';
import { sleep } from './lib/processes.ts';
import { runSale, startSaleStack, type SaleStack } from './lib/sale.ts';
import { FULL_RUN_ONLY, writeResults } from './lib/settings.ts';

const results: CaseFigures[] = [];
after(() => writeResults('workers', results));

describe('workers killed and frozen during an order burst', { skip: nginxBinary() ? FULL_RUN_ONLY : 'nginx is not installed (apt-get install nginx-light)' }, () => {
  let stack: SaleStack;
  before(async () => {
    stack = await startSaleStack({ tag: 'workers' });
    stack.workers.push(await stack.shop.startWorker());
  });
  after(() => stack?.close());

  it('SIGKILL one worker, SIGSTOP the other for 5 s: no confirmation email missing', async () => {
    const [killed, frozen] = stack.workers as [NonNullable<(typeof stack.workers)[0]>, NonNullable<(typeof stack.workers)[0]>];
    const { figures } = await runSale({
      name: 'workers: SIGKILL one, SIGSTOP the other 5 s',
      shop: stack.shop,
      url: stack.lb.url,
      buyers: stack.buyers,
      ratePerSecond: 60,
      fault: async () => {
        killed.process.kill('SIGKILL');
        const replacement = stack.shop.startWorker();
        await sleep(500);
        frozen.process.kill('SIGSTOP');
        await sleep(5000);
        frozen.process.kill('SIGCONT');
        stack.workers.push(await replacement);
        return { killedExit: await killed.exited };
      },
      emailWaitMs: 60_000,
    });
    const lastEmail = stack.shop.smtp.accepted.length;
    figures.notes.emailsAccepted = lastEmail;
    results.push(figures);
    printFigures(figures);
    assert.equal(figures.missingEmails, 0, 'every placed order got its confirmation email');
    assert.equal(figures.replies500, 0, 'no reply of 500');
    assert.equal(figures.unitsIn201Replies, figures.unitsInPlacedOrders, 'units in 201 replies = units in placed orders');
    assert.equal(frozen.process.exitCode, null, 'the frozen worker carries on after SIGCONT');
  });
});
