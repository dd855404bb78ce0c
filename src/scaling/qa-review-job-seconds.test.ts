/**
 * QA review: f39a590 made `simulate --jobs-per-order` / `--orders-per-request` ≤ 0 refuse with the flag named
 * (error [INVALID_OPTION]: --jobs-per-order …), "as --concurrency 0 is". Its neighbour `--job-seconds` is still
 * read with toNumber: 0 or -1 is refused only deep in the model, as `error [NEGATIVE_CAPACITY]: jobSeconds …`,
 * naming an internal field instead of the option the user typed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

describe('QA review: simulate --workers --job-seconds ≤ 0', () => {
  for (const v of ['0', '-1']) {
    it(`--job-seconds ${v} is refused naming --job-seconds, as --jobs-per-order ${v} is`, async () => {
      const sibling = await runScalingCli(['simulate', '--workers', '--no-progress', '--jobs-per-order', v]);
      assert.match(sibling.err, /^error \[INVALID_OPTION\]: --jobs-per-order/m);
      const r = await runScalingCli(['simulate', '--workers', '--no-progress', '--job-seconds', v]);
      assert.equal(r.exitCode, 2);
      assert.match(r.err, /^error \[INVALID_OPTION\]: --job-seconds/m, r.err);
    });
  }
});
