/**
 * QA: `hpa explain --history` takes the controller's *earlier* recommendations (README: "give earlier
 * recommendations with --history 8@-120s,6@-60s"), yet a recommendation dated after "now" (`8@+60s`, or an
 * absolute time after --at) is accepted and used: on the committed scale-up-unready case it turns the
 * answer from 4 (DesiredWithinRange) into 6 (TooManyReplicas). A value the controller can never hold is bad
 * input: one line `error [CODE]: …`, exit 2, as for every other malformed --history entry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerHpaCommand } from './hpa-cli.ts';

const D = 'src/scaling/simulate/testdata/scale-up-unready';
const BASE = ['--hpa', `${D}/hpa.yaml`, '--pods', `${D}/pods.json`, '--metrics', `${D}/pod-metrics.json`];

async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  registerHpaCommand(program);
  try {
    await program.parseAsync(['node', 'salescale', 'hpa', 'explain', ...args]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

describe('QA: hpa explain --history in the future', () => {
  it('a past recommendation is accepted (baseline)', async () => {
    const r = await run([...BASE, '--history', '8@-60s']);
    assert.equal(r.exitCode, 0, r.err);
  });

  for (const entry of ['8@+60s', '8@2026-11-27T10:05:00Z']) {
    it(`--history ${entry} (after now, 2026-11-27T10:00Z) is refused as bad input`, async () => {
      const r = await run([...BASE, '--history', entry]);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}; stdout: ${r.out.split('\n').find((l) => l.startsWith('DESIRED')) ?? ''}`);
      assert.match(r.err.trim(), /^error \[[A-Z_]+\]: [^\n]+$/);
    });
  }
});
