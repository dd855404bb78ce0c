/**
 * QA review: `hpa explain --history` now refuses an entry dated after the sync time (7bc84d4), but the message
 * prints the float difference of two epoch-second values: `8@+0.1s` is "dated 0.09999990463256836 s after the
 * sync time". The distance should read as the user wrote it (0.1 s).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerHpaCommand } from './hpa-cli.ts';

const D = 'src/scaling/simulate/testdata/scale-up-unready';
const BASE = ['--hpa', `${D}/hpa.yaml`, '--pods', `${D}/pods.json`, '--metrics', `${D}/pod-metrics.json`];

async function run(args: string[]): Promise<{ err: string; exitCode: number }> {
  let err = '';
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
  registerHpaCommand(program);
  try {
    await program.parseAsync(['node', 'salescale', 'hpa', 'explain', ...args]);
    return { err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { err, exitCode: e.exitCode };
    throw e;
  }
}

describe('QA review: hpa explain --history future entry message', () => {
  it('8@+0.1s is refused saying 0.1 s, without float noise', async () => {
    const r = await run([...BASE, '--history', '8@+0.1s']);
    assert.equal(r.exitCode, 2);
    assert.match(r.err, /dated 0\.1 s after/, r.err);
  });
});
