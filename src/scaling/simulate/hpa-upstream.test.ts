/** Every ported upstream HPA case, one test each, named after the upstream test it comes from. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runUpstreamCases } from './hpa-upstream.harness.ts';

const results = runUpstreamCases();

describe('Kubernetes HPA controller: cases ported from upstream unit tests', () => {
  for (const r of results) {
    it(`${r.file}: ${r.upstream}`, () => {
      const expected = r.expected as { error?: string };
      // Upstream asserts error cases with ErrorContains; everything else field by field.
      if (expected.error !== undefined) assert.ok(String((r.actual as { error?: string }).error).includes(expected.error), JSON.stringify(r.actual));
      else assert.deepEqual(r.actual, r.expected);
    });
  }
  it('ports at least 40 cases, all passing', () => {
    assert.ok(results.length >= 40, `only ${results.length} cases`);
    assert.deepEqual(results.filter((r) => !r.pass).map((r) => r.upstream), []);
  });
});
