/**
 * QA review: since c8f4200 `simulate`/`cost --year 2037` rate gce-predictive-scheduled on a year-less cron, a
 * schedule `manifests --target gcp` refuses to write (cron year past 2036) — without a word. The rating stands,
 * with one warning line saying no deployable GCE schedule matches it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const now = () => new Date('2026-12-06T12:00:00Z');
const WARNING = /^warning: [^\n]*gce-predictive-scheduled[^\n]*2036[^\n]*manifests[^\n]*$/m;

describe('QA review: GCE schedule rated past 2036', () => {
  it('simulate --year 2037 --policies gce-predictive-scheduled warns that manifests will not write its schedule', async () => {
    const r = await runScalingCli(['simulate', '--year', '2037', '--no-db', '--json', '--no-progress', '--policies', 'gce-predictive-scheduled'], { now });
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.err, WARNING);
  });
  it('cost --year 2037 (which rates the gcp provider) warns likewise', async () => {
    const r = await runScalingCli(['cost', '--year', '2037', '--no-db', '--json', '--policies', 'hpa'], { now });
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.err, WARNING);
  });
  it('simulate --year 2036 does not (baseline)', async () => {
    const r = await runScalingCli(['simulate', '--year', '2036', '--no-db', '--json', '--no-progress', '--policies', 'gce-predictive-scheduled'], { now });
    assert.equal(r.exitCode, 0, r.err);
    assert.doesNotMatch(r.err, WARNING);
  });
});
