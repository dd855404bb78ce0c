/**
 * QA: docs/deploy-k8s.md ("Size the pool for the peak") says `salescale plan` gives the seed's Black Friday as
 * "17 web + 1 worker pods, 3 nodes at the peak", but `plan` prints 17 web + 4 worker pods needing 4 nodes
 * (README.md agrees with plan: "the plan needs 17 web pods and 4 workers"). An operator sizing the node
 * group from the doc is one node short at the peak (and two for a release at it).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

describe('QA: docs/deploy-k8s.md node-pool figures vs plan', () => {
  it('the doc quotes the pods and nodes that plan prints for the seed Black Friday', async () => {
    const doc = (await readFile('docs/deploy-k8s.md', 'utf8')).replace(/\s+/g, ' ');
    const m = /The seed's Black Friday: (\d+) web \+ (\d+) worker pods, (\d+) nodes at the peak/.exec(doc);
    assert.ok(m, 'the sentence is gone from docs/deploy-k8s.md');
    const r = await runScalingCli(['plan', '--year', '2026', '--no-db', '--json'], { now: () => new Date('2026-11-01T00:00:00Z') });
    assert.equal(r.exitCode, 0, r.err);
    const findings = (JSON.parse(r.out) as { findings: { id: string; message: string }[] }).findings;
    const pool = findings.find((f) => f.id === 'node-pool');
    assert.ok(pool, 'no node-pool finding');
    const p = /peak: (\d+) web .*?\+ (\d+) worker .*?pods need (\d+) node/.exec(pool.message);
    assert.ok(p, pool.message);
    assert.deepEqual(
      { web: Number(m[1]), worker: Number(m[2]), nodes: Number(m[3]) },
      { web: Number(p[1]), worker: Number(p[2]), nodes: Number(p[3]) },
      'docs/deploy-k8s.md vs plan',
    );
  });
});
