/**
 * QA review: `manifests --target gcp --year 2037` is refused (767ca9e: no one-off GCE cron past 2036), but so is
 * `--target all --year 2037`: every other target (k8s, aws, azure, …) renders fine for 2037 and nothing is
 * written. `all` now renders every other target and skips gcp with one warning line; an explicit gcp still exits 2.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerManifestsCommand } from './manifests/manifests-cli.ts';

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

const exists = (path: string) => access(path).then(() => true, () => false);

describe('QA review: manifests --target all --year 2037', () => {
  it('renders every target but gcp and warns that gcp was skipped', async () => {
    const out = await mkdtemp(join(tmpdir(), 'qa-all-2037-'));
    try {
      const r = await runManifests('--target', 'all', '--year', '2037', '--out', out);
      assert.equal(r.exitCode, 0, r.err);
      assert.match(r.err, /^warning: [^\n]*gcp[^\n]*skipped[^\n]*$/m);
      assert.ok(await exists(join(out, 'deploy/aws/salescale.yaml')));
      assert.ok(!(await exists(join(out, 'deploy/gcp/main.tf'))));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
  it('--target gcp --year 2037 still exits 2 with one error line', async () => {
    const out = await mkdtemp(join(tmpdir(), 'qa-gcp-2037-'));
    try {
      const r = await runManifests('--target', 'gcp', '--year', '2037', '--out', out);
      assert.equal(r.exitCode, 2, r.err);
      assert.match(r.err.trim(), /^error \[INVALID_OPTION\]: [^\n]+$/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
