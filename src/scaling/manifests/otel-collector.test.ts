import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../../..');

interface Policy {
  name: string;
  type: string;
  [key: string]: unknown;
}

describe('the OpenTelemetry Collector tail-sampling configuration', () => {
  const config = parse(readFileSync(join(ROOT, 'deploy/otel-collector/otel-collector.yaml'), 'utf8'));
  const policies: Policy[] = config.processors.tail_sampling.policies;

  it('keeps every trace with a 5xx, a failed job or a slow request, and a baseline share of the rest', () => {
    assert.deepEqual(
      policies.find((p) => p.type === 'numeric_attribute'),
      { name: 'server-faults', type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', min_value: 500, max_value: 599 } },
    );
    const conditions = policies.filter((p) => p.type === 'ottl_condition').flatMap((p) => (p.ottl_condition as { span: string[] }).span);
    assert.ok(conditions.includes('attributes["bullmq.job.failed.reason"] != nil'), 'BullMQ marks a failed job by this attribute, not by an ERROR status');
    assert.ok(conditions.some((c) => c.startsWith('kind == SPAN_KIND_SERVER and end_time_unix_nano - start_time_unix_nano > ')));
    assert.ok(policies.some((p) => p.type === 'probabilistic'));
  });

  it('does not keep on an ERROR status (every refused checkout has one) nor on the trace’s length (a paid order’s holds its follow-up jobs)', () => {
    assert.deepEqual(policies.filter((p) => p.type === 'status_code' || p.type === 'latency'), []);
  });

  it('limits memory before sampling and batches after it', () => {
    assert.deepEqual(config.service.pipelines.traces.processors, ['memory_limiter', 'tail_sampling', 'batch']);
  });
});
