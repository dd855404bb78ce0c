import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScalingCli } from './cli.harness.ts';

describe('events-file warnings of cost', () => {
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
});
