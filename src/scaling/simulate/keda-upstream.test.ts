/** Every ported upstream KEDA case, one test each, named after the upstream test it comes from. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKedaUpstreamCases } from './keda-upstream.harness.ts';

const results = runKedaUpstreamCases();

describe('KEDA operator, scalers and fallback: cases ported from upstream tests', () => {
  for (const r of results) {
    it(`${r.file}: ${r.upstream}`, () => {
      // Error expectations match as upstream asserts them (contained, exact or any); the rest field by field.
      if (r.pass) return;
      assert.deepEqual(r.actual, r.expected);
      assert.fail(`no match: ${JSON.stringify(r.actual)}`);
    });
  }
  it('ports at least 60 cases, all passing', () => {
    assert.ok(results.length >= 60, `only ${results.length} cases`);
    assert.deepEqual(results.filter((r) => !r.pass).map((r) => r.upstream), []);
  });
});
