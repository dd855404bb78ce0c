/**
 * QA review: `hpa explain` refuses a --history entry dated after the sync time (7bc84d4), but --scale-events
 * takes one (`+4@+60s`): the controller only records rescales it has made, so a future one is bad input too:
 * one line `error [INVALID_OPTION]: …`, exit 2, naming --scale-events.
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

describe('QA review: hpa explain --scale-events in the future', () => {
  it('a past scale event is accepted (baseline)', async () => {
    const r = await run([...BASE, '--scale-events', '+4@-10s']);
    assert.equal(r.exitCode, 0, r.err);
  });
  for (const entry of ['+4@+60s', '-2@2026-11-27T10:05:00Z']) {
    it(`--scale-events ${entry} (after now, 2026-11-27T10:00Z) is refused as bad input`, async () => {
      const r = await run([...BASE, '--scale-events', entry]);
      assert.equal(r.exitCode, 2, r.err);
      assert.match(r.err.trim(), /^error \[INVALID_OPTION\]: --scale-events: [^\n]+ after the sync time[^\n]*$/);
    });
  }
});
