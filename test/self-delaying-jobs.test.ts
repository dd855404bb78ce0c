import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.join(import.meta.dirname, '..');
/** The one file allowed to call BullMQ's `moveToDelayed`: `delayJobUntil` records when the job is due again. */
const ALLOWED = path.join('platform', 'queue', 'processing.ts');

/**
 * Source files under `src` (tests aside) that call BullMQ's `job.moveToDelayed` themselves. A job delayed that way
 * keeps no record of when it is due again, so once promoted back to waiting it reads as having waited through its
 * whole delay: `queue_oldest_waiting_job_age_seconds` (src/platform/queue/queue-metrics.ts, and the alerts built on
 * it) calls the queue stuck. Every job that puts itself back must go through `delayJobUntil` (src/platform/queue/processing.ts).
 */
function directDelays(src: string): string[] {
  const offenders: string[] = [];
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!/\.[cm]?[tj]s$/.test(file) || /\.test\.[cm]?[tj]s$/.test(file) || file === ALLOWED) continue;
    // Comments may name it (explaining why delayJobUntil exists); code may not, in any spelling.
    const code = readFileSync(path.join(src, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
    if (/moveToDelayed/.test(code)) offenders.push(file);
  }
  return offenders.sort();
}

describe('jobs that delay themselves (queue age metrics)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'salescale-delays-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('no source file but processing.ts calls job.moveToDelayed: every self-delaying job goes through delayJobUntil', () => {
    assert.deepEqual(directDelays(path.join(ROOT, 'src')), [], 'call delayJobUntil (src/platform/queue/processing.ts) instead of job.moveToDelayed');
  });

  it('the scan finds a direct call, in any spelling, and lets processing.ts, tests and comments name it', () => {
    const files: Record<string, string> = {
      'platform/queue/processing.ts': 'export async function delayJobUntil(job, token, at) { await job.moveToDelayed(at, token); }\n',
      'modules/orders/orders.jobs.ts': 'export async function expire(job, token) {\n  await job.moveToDelayed(Date.now() + 1000, token);\n}\n',
      'modules/mail/mail.jobs.ts': "export const later = (job, token) => job['moveToDelayed'](Date.now(), token);\n",
      'modules/catalog/catalog.jobs.ts': '// a job that waits must not call job.moveToDelayed: see delayJobUntil\n/** nor job.moveToDelayed here */\nexport const x = 1;\n',
      'modules/catalog/catalog.jobs.test.ts': 'await job.moveToDelayed(Date.now(), token);\n',
    };
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    assert.deepEqual(directDelays(dir), [path.join('modules', 'mail', 'mail.jobs.ts'), path.join('modules', 'orders', 'orders.jobs.ts')]);
  });
});
