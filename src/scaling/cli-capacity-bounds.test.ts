/**
 * `plan --capacity 1e-300` (and a bench file saying so) was accepted and planned with every hour at --max: a web
 * pod serving less than one request per 100 s is no measurement. Both are refused with the bound named, exit 2,
 * one error line; the smallest figure accepted still plans.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const window = ['--year', '2026', '--no-db', '--from', '2026-11-27T09:00:00Z', '--to', '2026-11-27T10:00:00Z'];

describe('a capacity per instance too small to be a measurement', () => {
  for (const value of ['1e-300', '0.001']) {
    it(`plan --capacity ${value} is refused, naming the bound`, async () => {
      const r = await runScalingCli(['plan', ...window, '--capacity', value]);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[[A-Z_]+\]: [^\n]*--capacity[^\n]*0\.01[^\n]*\n$/);
    });
  }

  it('a --bench file with 1e-300 req/s is refused, naming the bound', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'capacity-bounds-'));
    try {
      const file = join(dir, 'capacity.json');
      await writeFile(file, JSON.stringify({ requestsPerSecondPerInstance: 1e-300, measuredAt: '2026-11-01T00:00:00Z' }));
      const r = await runScalingCli(['plan', ...window, '--bench', file]);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}`);
      assert.match(r.err, /^error \[[A-Z_]+\]: [^\n]*requestsPerSecondPerInstance[^\n]*0\.01[^\n]*\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('plan --capacity 0.01 (the bound) is accepted', async () => {
    const r = await runScalingCli(['plan', ...window, '--capacity', '0.01', '--json']);
    assert.equal(r.exitCode, 0, r.err);
  });
});

describe('a target utilization given as a fraction', () => {
  // `--target-util 0.7` meant 70 % but planned at 0.7 %: every hour needed 100 times the pods (capped at --max, with
  // a warning past the spec's maximum). The HPA's averageUtilization is a whole percent from 1, so under 1 is no target.
  for (const command of ['plan', 'cost']) {
    it(`${command} --target-util 0.7 is refused, naming the percentage it may have meant`, async () => {
      const r = await runScalingCli([command, ...window, '--target-util', '0.7']);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[INVALID_OPTION\]: [^\n]*--target-util[^\n]*0\.7[^\n]*\b70\b[^\n]*\n$/);
    });
  }

  it('plan --target-util 1 (the bound) is accepted', async () => {
    const r = await runScalingCli(['plan', ...window, '--target-util', '1', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    assert.equal(JSON.parse(r.out).plan.web.targetUtilization, 0.01);
  });
});
