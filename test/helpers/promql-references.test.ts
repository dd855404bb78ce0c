import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getQueryReferences, getRunbookQueries, PromqlSyntaxError } from './promql-references.ts';

describe('PromQL references', () => {
  it('reads metric names and equality matchers, never function names, grouping labels or string arguments', () => {
    const refs = getQueryReferences(
      'sum by (provider, payment_action) (label_replace(increase(salescale_payment_provider_calls_total{outcome="failed",action!="void"}[5m]), "payment_action", "$1", "action", "(.*)")) / on () group_left {__name__="x_total", state="idle"}',
    );
    assert.deepEqual(refs.metrics.sort(), ['salescale_payment_provider_calls_total', 'x_total']);
    assert.deepEqual(refs.matchers, [
      { metric: 'salescale_payment_provider_calls_total', label: 'outcome', value: 'failed' },
      { metric: 'salescale_payment_provider_calls_total', label: 'action', value: 'void' },
      { metric: 'x_total', label: 'state', value: 'idle' },
    ]);
    assert.deepEqual(refs.groupings, [{ labels: ['provider', 'payment_action'], metrics: ['salescale_payment_provider_calls_total'], created: ['payment_action'] }]);
  });

  it('refuses what is not one PromQL expression', () => {
    assert.throws(() => getQueryReferences('sum(rate(x[5m])'), PromqlSyntaxError);
    assert.throws(() => getQueryReferences('role="worker"'), PromqlSyntaxError);
  });

  it("takes the runbook's queries from inline code, wrapped lines joined, and leaves routes, commands and variables out", () => {
    const markdown = [
      '# Title',
      '',
      'Check `sum by (queue) (rate(queue_jobs_processed_total{status="failed"}[5m]))` and `queue_dead_letters`, then',
      '`max by (instance_id, path) (1 - data_dir_filesystem_available_bytes /',
      'data_dir_filesystem_size_bytes)`; not `GET /health`, `redis-cli`, `DB_POOL_MAX`, `pending_payment` or `web-1`.',
      '',
      '```sh',
      'sum(rate(in_a_fence_total[5m]))',
      '```',
      'A typo: `sum(rate(queue_jobs_total[5m])`.',
    ].join('\n');
    const { queries, unparsed } = getRunbookQueries(markdown, new Set(['queue', 'data']));
    assert.deepEqual(
      queries.map((q) => [q.line, q.query]),
      [
        [3, 'sum by (queue) (rate(queue_jobs_processed_total{status="failed"}[5m]))'],
        [3, 'queue_dead_letters'],
        [4, 'max by (instance_id, path) (1 - data_dir_filesystem_available_bytes / data_dir_filesystem_size_bytes)'],
      ],
    );
    assert.deepEqual(unparsed, [{ line: 10, query: 'sum(rate(queue_jobs_total[5m])' }]);
  });
});
