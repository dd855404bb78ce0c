import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { traceQueries } from './query-spans.ts';

type SpanProcessor = NonNullable<NodeSDKConfiguration['spanProcessors']>[number];
type EndedSpan = Parameters<SpanProcessor['onEnd']>[0];

describe('traceQueries (real PostgreSQL)', () => {
  const ended: EndedSpan[] = [];
  const collector: SpanProcessor = { onStart: () => {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} };
  let sdk: NodeSDK;
  let pool: pg.Pool;

  before(() => {
    process.env.OTEL_METRICS_EXPORTER = 'none';
    process.env.OTEL_LOGS_EXPORTER = 'none';
    sdk = new NodeSDK({ spanProcessors: [collector], instrumentations: [] });
    sdk.start();
    pool = new pg.Pool({ connectionString: TEST_PG_ADMIN_URL, max: 1 });
    traceQueries(pool);
  });
  after(async () => {
    await pool?.end();
    await sdk?.shutdown();
  });

  const inTrace = async <T>(run: () => Promise<T>): Promise<{ result: T; parentId: string }> => {
    const parent = trace.getTracer('test').startSpan('parent');
    try {
      const result = await context.with(trace.setSpan(context.active(), parent), run);
      return { result, parentId: parent.spanContext().spanId };
    } finally {
      parent.end();
    }
  };

  it('records a statement inside a trace as a child span with its parameterised text', async () => {
    ended.length = 0;
    const { result, parentId } = await inTrace(() => pool.query('select $1::int as n', [7]));
    assert.equal(result.rows[0].n, 7);
    const span = ended.find((s) => s.name === 'pg select');
    assert.ok(span, ended.map((s) => s.name).join(', '));
    assert.equal(span.parentSpanContext?.spanId, parentId);
    assert.equal(span.attributes['db.system.name'], 'postgresql');
    assert.equal(span.attributes['db.query.text'], 'select $1::int as n');
    assert.equal(span.attributes['db.namespace'], 'postgres');
  });

  it('records a failed statement with its error status', async () => {
    ended.length = 0;
    await assert.rejects(inTrace(() => pool.query('select * from no_such_table')));
    const span = ended.find((s) => s.name === 'pg select');
    assert.equal(span?.status.code, 2);
    assert.equal(span?.attributes['error.type'], '42P01');
  });

  it('records nothing outside a trace', async () => {
    ended.length = 0;
    await pool.query('select 1');
    assert.deepEqual(ended.map((s) => s.name), []);
  });
});
