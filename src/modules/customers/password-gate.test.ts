import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordCheckBusyError } from './customers.errors.ts';
import { createPasswordGate } from './password-gate.ts';

describe('password gate', () => {
  it('runs at most `concurrency` tasks at once, queues `queueMax` more and refuses the next', async () => {
    const gate = createPasswordGate({ concurrency: 2, queueMax: 1 });
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const task = () =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return 'done';
      });
    const accepted = [task(), task(), task()];
    await assert.rejects(task(), PasswordCheckBusyError);
    while (releases.length < 2) await new Promise((resolve) => setImmediate(resolve));
    releases.shift()!();
    while (releases.length < 2) await new Promise((resolve) => setImmediate(resolve));
    for (const release of releases.splice(0)) release();
    assert.deepEqual(await Promise.all(accepted), ['done', 'done', 'done']);
    assert.equal(peak, 2);
  });

  it('frees its slot when a task fails', async () => {
    const gate = createPasswordGate({ concurrency: 1, queueMax: 0 });
    await assert.rejects(gate.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await gate.run(async () => 1), 1);
  });
});
