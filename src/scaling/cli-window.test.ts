/** The window every toolkit command works on: its default sale, its limits, how it is named. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('the month cost prices', () => {
  // The window as forecast reads the same options (cost's --json does not repeat it).
  const month = async (args: string[]) => {
    const common = ['--json', '--no-db', '--year', '2026', ...args];
    const forecast = await runScalingCli(['forecast', ...common]);
    assert.equal(forecast.exitCode, 0, forecast.err);
    const w = JSON.parse(forecast.out) as { from: string; to: string };
    const cost = await runScalingCli(['cost', ...common, '--policies', 'hpa']);
    assert.equal(cost.exitCode, 0, cost.err);
    return { window: { from: Date.parse(w.from), to: Date.parse(w.to) }, month: (JSON.parse(cost.out) as { assumptions: { month: { from: string; to: string } } }).assumptions.month };
  };
  const contains = (m: { from: string; to: string }, w: { from: number; to: number }) => Date.parse(m.from) <= w.from && w.to <= Date.parse(m.to);

  it('is 4 whole weeks holding the window: the Christmas sale and a mid-December window were priced with 10 Nov + 4 weeks, Black Friday\'s month, which ends before them', async () => {
    for (const args of [['--event', 'christmas-sale'], ['--from', '2026-12-14T00:00Z', '--to', '2026-12-21T00:00Z']]) {
      const { window, month: m } = await month(args);
      assert.ok(contains(m, window), `${args.join(' ')}: month ${m.from} → ${m.to} holds the window ${new Date(window.from).toISOString()} → ${new Date(window.to).toISOString()}`);
      assert.equal(Date.parse(m.to) - Date.parse(m.from), 28 * 86_400_000, args.join(' '));
    }
  });

  it('stays 10 November + 4 weeks for the default Black Friday window, which it holds', async () => {
    const { window, month: m } = await month([]);
    assert.deepEqual(m, { from: '2026-11-10T00:00:00.000Z', to: '2026-12-08T00:00:00.000Z' });
    assert.ok(contains(m, window));
  });
});

describe('a plan during its sale', () => {
  it('warns that the scheduled actions already past would be refused by AWS (the default window is the sale still under way)', async () => {
    const plan = await runScalingCli(['plan', '--json', '--no-db'], at('2026-11-27T12:00:00Z'));
    assert.equal(plan.exitCode, 0, plan.err);
    const json = JSON.parse(plan.out) as { findings: { id: string; level: string; message: string }[]; schedule: { awsScheduledActions: { properties: { StartTime: string } }[] } };
    const past = json.schedule.awsScheduledActions.filter((a) => Date.parse(a.properties.StartTime) < Date.parse('2026-11-27T12:00:00Z')).length;
    assert.ok(past > 0, 'the sale is under way');
    const finding = json.findings.find((f) => f.id === 'prescale-start');
    assert.equal(finding?.level, 'warning', JSON.stringify(json.findings.map((f) => f.id)));
  });
});

describe('the window\'s limits', () => {
  it('says which window is over 45 days and that --to defaulted to the sale (forecast --history atl.csv --from 2001-07-02 said only "limited to 45 days")', async () => {
    const atl = join(import.meta.dirname, 'test-data/real/us-flights-2001-atl.csv');
    const r = await runScalingCli(['forecast', '--history', atl, '--from', '2001-07-02T00:00Z', '--no-db']);
    assert.equal(r.exitCode, 2);
    assert.equal(r.err, 'error [INVALID_OPTION]: the window 2001-07-02T00:00Z → 2001-11-24T00:00Z spans 145 days; it is limited to 45: --to was not given and defaults to the end of Black Friday 2001 (2001-11-24T00:00Z); give a --to at most 2001-08-16T00:00Z\n');
    const given = await runScalingCli(['plan', '--from', '2026-10-01T00:00Z', '--to', '2026-12-01T00:00Z', '--no-db']);
    assert.equal(given.err, 'error [INVALID_OPTION]: the window 2026-10-01T00:00Z → 2026-12-01T00:00Z spans 61 days; it is limited to 45: give a --to at most 2026-11-15T00:00Z\n');
    const before = await runScalingCli(['forecast', '--from', '2026-12-01T00:00Z', '--no-db']);
    assert.equal(before.err, 'error [INVALID_DATE]: the window 2026-12-01T00:00Z → 2026-11-28T00:00Z ends before it starts: --to was not given and defaults to the end of Black Friday 2026 (2026-11-28T00:00Z); give a --to after --from\n');
    // --to alone: --from defaults to 3 h before the next Black Friday (2027 here), which the message left unsaid.
    const toAlone = await runScalingCli(['forecast', '--to', '2026-11-30T00:00Z', '--event', 'black-friday', '--no-db'], { now: () => new Date('2026-12-06T09:00:00Z') });
    assert.equal(toAlone.err, 'error [INVALID_DATE]: the window 2027-11-25T21:00Z → 2026-11-30T00:00Z ends before it starts: --from was not given and defaults to 3 h before Black Friday 2027 (2027-11-25T21:00Z); give a --from (or --year) before --to\n');
    const farTo = await runScalingCli(['forecast', '--to', '2029-11-30T00:00Z', '--no-db'], { now: () => new Date('2026-12-06T09:00:00Z') });
    assert.equal(farTo.err, 'error [INVALID_OPTION]: the window 2027-11-25T21:00Z → 2029-11-30T00:00Z spans 735.1 days; it is limited to 45: --from was not given and defaults to 3 h before Black Friday 2027 (2027-11-25T21:00Z); give a --from (or --year), or a --to at most 2028-01-09T21:00Z\n');
    const ok = await runScalingCli(['forecast', '--history', atl, '--from', '2001-07-02T00:00Z', '--to', '2001-08-16T00:00Z', '--no-db', '--json']);
    assert.equal(ok.exitCode, 0, ok.err);
  });
});

describe('--year beside a window', () => {
  it('refuses a --year that is not the window\'s: its calendar held no sale of the window (Black Friday 2026 was forecast at ×1 with --year 2030)', async () => {
    const r = await runScalingCli(['forecast', '--year', '2030', '--from', '2026-11-27T10:00Z', '--to', '2026-11-27T12:00Z', '--no-db']);
    assert.equal(r.exitCode, 2, r.out);
    assert.match(r.err, /^error \[INVALID_OPTION\]: --year 2030 is not a year of the window 2026-11-27T10:00Z → 2026-11-27T12:00Z[^\n]*\n$/);
    // The window's own year, or either year of a window across New Year, is accepted.
    const same = await runScalingCli(['forecast', '--year', '2026', '--from', '2026-11-27T10:00Z', '--to', '2026-11-27T12:00Z', '--no-db', '--json']);
    assert.equal(same.exitCode, 0, same.err);
    assert.equal((JSON.parse(same.out) as { hours: { eventMultiplier: number }[] }).hours[0].eventMultiplier, 10);
    const newYear = await runScalingCli(['forecast', '--year', '2027', '--from', '2026-12-28T00:00Z', '--to', '2027-01-03T00:00Z', '--no-db', '--json']);
    assert.equal(newYear.exitCode, 0, newYear.err);
  });

  // The refusal's ground is the built-in calendar of --year; an events file replaces that calendar, and its events are
  // the window's sales whatever --year says: refusing "its calendar would hold none of the window's sales" is not so.
  it('does not refuse a --year beside a window whose sales come from an events file, which --year does not choose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'year-events-'));
    try {
      const file = join(dir, 'events.json');
      writeFileSync(file, JSON.stringify([{ name: 'Black Friday', startsAt: '2026-11-27T00:00:00Z', endsAt: '2026-11-28T00:00:00Z', trafficMultiplier: 7 }]));
      const r = await runScalingCli(['forecast', '--events-file', file, '--year', '2030', '--from', '2026-11-27T10:00Z', '--to', '2026-11-27T12:00Z', '--no-db', '--json']);
      assert.equal(r.exitCode, 0, r.err);
      assert.equal((JSON.parse(r.out) as { hours: { eventMultiplier: number }[] }).hours[0].eventMultiplier, 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what a window is called', () => {
  it('simulate and cost name the sale events in the window, or the window by its dates when it holds none (a 28 Aug 2000 window was "Black Friday")', async () => {
    const august = ['--from', '2000-08-28T00:00:00Z', '--to', '2000-08-28T06:00:00Z', '--no-db', '--policies', 'hpa'];
    const sim = await runScalingCli(['simulate', ...august]);
    assert.equal(sim.exitCode, 0, sim.err);
    assert.equal(sim.out.split('\n')[0], 'Demand vs capacity vs replicas, 2000-08-28T00:00 → 2000-08-28T06:00 UTC (no sale event in the window)');
    const cost = await runScalingCli(['cost', ...august]);
    assert.equal(cost.exitCode, 0, cost.err);
    assert.match(cost.out, /\nThe window 2000-08-28T00:00 → 2000-08-28T06:00 UTC \(no sale event in it\) \(6 h\), per policy/);
    assert.doesNotMatch(`${sim.out}${cost.out}`, /Black Friday/);
    const sale = await runScalingCli(['simulate', '--year', '2026', '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-30T02:00:00Z', '--no-db', '--policies', 'hpa']);
    assert.equal(sale.out.split('\n')[0], 'Black Friday 2026 + Cyber Monday 2026: demand vs capacity vs replicas (2026-11-27T10:00 → 2026-11-30T02:00 UTC)');
  });
});
