import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../platform/logger/logger.ts';
import { SEED_DEPLOYMENT_SPEC } from '../scaling/manifests/deployment-spec.ts';
import { CAPACITY_FILE, readCapacityRps } from './capacity.ts';

describe('readCapacityRps', () => {
  it('reads the measured capacity from a results file saved with a UTF-8 byte-order mark (it fell back to the assumed 200/s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'salescale-capacity-'));
    try {
      const measured = JSON.parse(readFileSync(CAPACITY_FILE, 'utf8')) as { requestsPerSecondPerInstance: number };
      const file = join(dir, 'capacity.json');
      writeFileSync(file, `\uFEFF${readFileSync(CAPACITY_FILE, 'utf8')}`);
      assert.equal(await readCapacityRps(0, createLogger({ level: 'silent' }), file), measured.requestsPerSecondPerInstance);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without WAITING_ROOM_CAPACITY_RPS and without the file (the image) takes the deployment spec\'s per-pod figure, the one the plan sizes pods with (it took a guess of 200)', async () => {
    const missing = join(tmpdir(), 'salescale-no-such-capacity.json');
    assert.equal(await readCapacityRps(0, createLogger({ level: 'silent' }), missing), SEED_DEPLOYMENT_SPEC.web.capacityPerInstanceRps);
    assert.equal(await readCapacityRps(320, createLogger({ level: 'silent' }), missing), 320);
  });

  it('finds the file next to the sources, not in the current folder', () => {
    assert.equal(CAPACITY_FILE, join(import.meta.dirname, '../../bench/results/capacity.json'));
  });
});
