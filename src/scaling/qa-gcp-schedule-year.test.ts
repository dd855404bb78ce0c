/**
 * QA: `manifests --target gcp --year 2037` (accepted: --year runs to 2200) writes Compute Engine scaling
 * schedules whose cron year is 2037, outside the 2000–2036 the scaling-schedule cron allows
 * (SCALING-ENGINES.md, [sch]) and that the toolkit's own parser (`parseGceCron`) refuses.
 * Either the command refuses the year (exit 2, one `error [CODE]` line) or every rendered schedule must parse.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerManifestsCommand } from './manifests/manifests-cli.ts';
import { parseGceCron } from './simulate/gce-schedules.ts';

async function runManifests(...args: string[]): Promise<{ exitCode: number; err: string }> {
  let err = '';
  const program = new Command('salescale').exitOverride().showHelpAfterError().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
  registerManifestsCommand(program, { now: () => new Date('2026-12-06T12:00:00Z') }).exitOverride();
  try {
    await program.parseAsync(['node', 'salescale', 'manifests', ...args]);
    return { exitCode: 0, err };
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode, err };
    throw e;
  }
}

describe('QA: GCP scaling schedules for a --year past 2036', () => {
  it('manifests --target gcp --year 2037 either refuses the year or writes only schedules Compute Engine accepts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'qa-gcp-year-'));
    try {
      const r = await runManifests('--target', 'gcp', '--year', '2037', '--out', out);
      if (r.exitCode !== 0) {
        assert.equal(r.exitCode, 2, r.err);
        assert.match(r.err.trim(), /^error \[[A-Z_]+\]: [^\n]+$/);
        return;
      }
      const tf = await readFile(join(out, 'deploy/gcp/main.tf'), 'utf8');
      const schedules = [...tf.matchAll(/^\s*schedule = "([^"]+)"/gm)].map((m) => m[1]);
      assert.ok(schedules.length > 0, 'no scaling_schedules rendered');
      const refused = schedules.filter((s) => {
        try {
          parseGceCron(s);
          return false;
        } catch {
          return true;
        }
      });
      assert.deepEqual(refused, [], `exit 0 but these GCE schedules have a year outside 2000–2036: ${refused.join('; ')}`);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
