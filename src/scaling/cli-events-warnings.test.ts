import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScalingCli } from './cli.harness.ts';

describe('warnings of a built-in sale that the events left out', () => {
  it('cost warns of a built-in sale in its priced month (10 Nov + 4 weeks) that the file left out: Cyber Monday was priced at ×1 in the sale column without a word', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-costmonth-'));
    try {
      const events = join(dir, 'bf-only.csv');
      writeFileSync(events, 'name,start,end,kind\nBlack Friday,2027-11-26T00:00Z,2027-11-27T00:00Z,black-friday\n');
      const r = await runScalingCli(['cost', '--events-csv', events, '--year', '2027', '--no-db', '--json']);
      assert.equal(r.exitCode, 0, r.err);
      const json = JSON.parse(r.out) as { warnings: string[]; assumptions: { month: { from: string; to: string } } };
      // The priced month holds Cyber Monday 2027 (29 November), which the sale column prices from the file's events.
      assert.equal(json.assumptions.month.from, '2027-11-10T00:00:00.000Z');
      assert.equal(json.assumptions.month.to, '2027-12-08T00:00:00.000Z');
      assert.ok(
        json.warnings.some((w) => w.includes('Cyber Monday 2027')),
        `the sale month prices Cyber Monday at ×1 from a file without it; warnings: ${JSON.stringify(json.warnings)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecast warns when the sale_events table (which replaces the built-in calendar, as a file does) has no event overlapping Black Friday in the window: it is forecast at ×1 without a word', async () => {
    const loadSaleEvents = async () => [{ name: 'Early bird', startsAt: new Date('2027-11-25T21:00:00Z'), endsAt: new Date('2027-11-25T23:00:00Z'), trafficMultiplier: '2' }];
    const r = await runScalingCli(['forecast', '--year', '2027', '--json'], { loadSaleEvents });
    assert.equal(r.exitCode, 0, r.err);
    const json = JSON.parse(r.out) as { eventSource: string; warnings: string[]; hours: { hour: string; eventMultiplier: number }[] };
    assert.match(json.eventSource, /database/);
    // Black Friday's hours carry no uplift: the table replaced the calendar.
    const blackFriday = json.hours.filter((h) => h.hour >= '2027-11-26');
    assert.ok(blackFriday.length === 24 && blackFriday.every((h) => h.eventMultiplier === 1), 'Black Friday at ×1');
    assert.ok(json.warnings.some((w) => w.includes('Black Friday 2027')), `warnings: ${JSON.stringify(json.warnings)}`);
  });

  it('docs/forecasting.md states the warning as the commands give it: per built-in sale that no event of the file overlaps, by forecast, plan, simulate and cost (it still says: when the file has no event in the window, forecast and plan)', () => {
    const doc = readFileSync(new URL('../../docs/forecasting.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    const at = doc.indexOf('a file replaces that calendar');
    assert.ok(at >= 0, 'the paragraph on a file replacing the built-in calendar');
    const paragraph = doc.slice(at, doc.indexOf('A burst of a day or so', at));
    assert.match(paragraph, /overlap/, paragraph);
    assert.match(paragraph, /`simulate`/, paragraph);
    assert.match(paragraph, /`cost`/, paragraph);
  });
});
