/**
 * simulate --workers refuses --concurrency 0 (a queue nobody drains), but took --jobs-per-order 0 and
 * --orders-per-request 0 (a queue nobody fills, or negative ones) and simulated workers with nothing to do.
 * Each is refused the same way: one `error [INVALID_OPTION]` line, exit 2. So is --job-seconds 0 or -1, which was
 * refused only deep in the model as `error [NEGATIVE_CAPACITY]: jobSeconds …`, naming an internal field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const window = ['--year', '2026', '--no-db', '--no-progress', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];

describe('simulate --workers: a rate of zero', () => {
  for (const [flag, value] of [
    ['--concurrency', '0'],
    ['--jobs-per-order', '0'],
    ['--jobs-per-order', '-1'],
    ['--orders-per-request', '0'],
    ['--orders-per-request', '-0.5'],
    ['--job-seconds', '0'],
    ['--job-seconds', '-1'],
  ] as const) {
    it(`refuses ${flag} ${value} with one error line, exit 2`, async () => {
      const r = await runScalingCli(['simulate', ...window, '--workers', flag, value]);
      assert.equal(r.exitCode, 2, `${flag} ${value}: exit ${r.exitCode}`);
      assert.equal(r.out, '');
      assert.match(r.err, new RegExp(`^error \\[INVALID_OPTION\\]: ${flag} must be a (whole )?number (≥ 1|> 0) \\(got "${value.replace('.', '\\.')}"\\)\\n$`));
    });
  }
});

describe('--orders-per-request above 1: requests per order given instead', () => {
  // `cost --orders-per-request 500` (500 requests per order) priced 42 billion orders at "$0.00 per 1000 orders" and
  // sized 10 workers where 857,143 were needed; an order takes at least its checkout request, so above 1 is no rate.
  for (const command of [['cost', '--policies', 'hpa'], ['simulate', '--workers', '--policies', 'hpa']]) {
    it(`${command[0]} refuses --orders-per-request 500, naming the inverse it may have meant`, async () => {
      const r = await runScalingCli([...command, ...window, '--orders-per-request', '500']);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[INVALID_OPTION\]: --orders-per-request[^\n]*at most 1[^\n]*500[^\n]*0\.002[^\n]*\n$/);
    });
  }

  it('cost --orders-per-request 1 (the bound: every request an order) is accepted', async () => {
    const r = await runScalingCli(['cost', '--policies', 'hpa', ...window, '--orders-per-request', '1', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const cost = JSON.parse(r.out) as { policies: { orders: number }[] };
    assert.ok(cost.policies[0].orders > 0);
  });
});
