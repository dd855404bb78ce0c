/**
 * QA: `plan --year 2037` works, but `cost --year 2037 --policies hpa` and `simulate --year 2037` (default
 * policies; the user wrote no schedule) exit 2 with
 * `error [INVALID_OPTION]: scaling schedule "50 23 26 11 * 2037": "2037" is outside 2000–2036`: the
 * toolkit builds a one-off GCE cron with the year in it for its cross-provider comparison and then
 * refuses its own schedule. A year `plan` accepts should price and simulate too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const now = () => new Date('2026-12-06T12:00:00Z');

describe('QA: cost and simulate for a sale after 2036', () => {
  it('plan --year 2037 succeeds (the baseline)', async () => {
    const r = await runScalingCli(['plan', '--year', '2037', '--no-db', '--json'], { now });
    assert.equal(r.exitCode, 0, r.err);
  });

  it('cost --year 2037 succeeds like plan --year 2037 does', async () => {
    const r = await runScalingCli(['cost', '--year', '2037', '--no-db', '--json', '--policies', 'hpa'], { now });
    assert.equal(r.exitCode, 0, `exit ${r.exitCode}: ${r.err.trim()}`);
  });

  it('simulate --year 2037 (default policies) succeeds like plan --year 2037 does', async () => {
    const r = await runScalingCli(['simulate', '--year', '2037', '--no-db', '--json', '--no-progress'], { now });
    assert.equal(r.exitCode, 0, `exit ${r.exitCode}: ${r.err.trim()}`);
  });
});
