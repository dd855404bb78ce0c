/** The window every toolkit command works on: its default sale, its limits, how it is named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const at = (iso: string) => ({ now: () => new Date(iso) });

describe('the default window', () => {
  it('is the next Black Friday that has not ended, in forecast, plan, simulate and cost alike (after 27 Nov 2026: 2027)', async () => {
    const december = at('2026-12-04T12:00:00Z');
    const forecast = await runScalingCli(['forecast', '--json', '--no-db'], december);
    assert.equal(forecast.exitCode, 0, forecast.err);
    assert.equal((JSON.parse(forecast.out) as { from: string }).from, '2027-11-25T21:00:00.000Z');
    const plan = await runScalingCli(['plan', '--json', '--no-db'], december);
    assert.equal(plan.exitCode, 0, plan.err);
    assert.equal((JSON.parse(plan.out) as { plan: { hours: { hour: string }[] } }).plan.hours[0].hour, '2027-11-25T21:00:00.000Z');
    const simulate = await runScalingCli(['simulate', '--json', '--no-db', '--policies', 'hpa'], december);
    assert.equal(simulate.exitCode, 0, simulate.err);
    assert.equal((JSON.parse(simulate.out) as { from: string }).from, '2027-11-25T21:00:00.000Z');
    const cost = await runScalingCli(['cost', '--json', '--no-db', '--policies', 'hpa'], december);
    assert.equal(cost.exitCode, 0, cost.err);
    assert.equal((JSON.parse(cost.out) as { assumptions: { month: { from: string } } }).assumptions.month.from, '2027-11-10T00:00:00.000Z');
    // Before it ends, this year's.
    const during = await runScalingCli(['forecast', '--json', '--no-db'], at('2026-11-27T20:00:00Z'));
    assert.equal((JSON.parse(during.out) as { from: string }).from, '2026-11-26T21:00:00.000Z');
  });
});
