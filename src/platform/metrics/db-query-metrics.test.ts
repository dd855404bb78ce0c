import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { parsePrometheusText, select, total } from '../../../test/helpers/prometheus-text.ts';
import { getOperation } from './db-query-metrics.ts';

describe('getOperation', () => {
  it('labels statements by their first keyword, never by their text', () => {
    assert.equal(getOperation('select "id" from "products" where "id" = $1'), 'select');
    assert.equal(getOperation('  INSERT INTO outbox VALUES ($1)'), 'insert');
    assert.equal(getOperation('with x as (select 1) select * from x'), 'with');
    assert.equal(getOperation('begin'), 'transaction');
    assert.equal(getOperation('COMMIT'), 'transaction');
    assert.equal(getOperation('VACUUM products'), 'other');
    assert.equal(getOperation(undefined), 'other');
  });
});

describe('DB query metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ DB_SLOW_QUERY_MS: '100' });
  });
  after(() => t?.close());

  // Only these two metrics: a full scrape would run the outbox gauges' own queries.
  const scrape = async () => {
    const registry = t.platform.metrics.registry;
    return parsePrometheusText(`${await registry.getSingleMetricAsString('db_query_duration_seconds')}\n${await registry.getSingleMetricAsString('db_slow_queries_total')}`);
  };

  it('times pool.query, checked-out clients and drizzle, and counts statements over DB_SLOW_QUERY_MS', async () => {
    const { pools, primary } = t.platform.db;
    const before = await scrape();
    const slowBefore = total(before, 'db_slow_queries_total');
    const countBefore = total(before, 'db_query_duration_seconds_count', { pool: 'primary', operation: 'select' });

    await pools.primary.query('SELECT pg_sleep(0.15)');
    const client = await pools.primary.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_sleep($1::float8)', [0.12]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await primary.execute('select 1');
    await pools.primary.query('SELECT 1');

    const samples = await scrape();
    assert.equal(total(samples, 'db_slow_queries_total', { pool: 'primary', operation: 'select' }) - slowBefore, 2);
    assert.equal(total(samples, 'db_query_duration_seconds_count', { pool: 'primary', operation: 'select' }) - countBefore, 4);
    assert.ok(total(samples, 'db_query_duration_seconds_count', { pool: 'primary', operation: 'transaction' }) >= 2);
    const sum = total(samples, 'db_query_duration_seconds_sum', { pool: 'primary', operation: 'select' }) - total(before, 'db_query_duration_seconds_sum', { pool: 'primary', operation: 'select' });
    assert.ok(sum >= 0.27 && sum < 5, `select time ${sum} s`);
    // Buckets reach the 100 ms target and beyond, so averages and percentiles can be compared with it.
    const les = select(samples, 'db_query_duration_seconds_bucket', { pool: 'primary', operation: 'select' }).map((s) => s.labels.le);
    assert.ok(les.includes('0.1') && les.includes('+Inf'));
  });

  it('counts a failed statement too', async () => {
    const before = total(await scrape(), 'db_query_duration_seconds_count', { operation: 'select' });
    await assert.rejects(t.platform.db.pools.primary.query('SELECT * FROM no_such_table'));
    assert.equal(total(await scrape(), 'db_query_duration_seconds_count', { operation: 'select' }) - before, 1);
  });
});
