import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { freePort } from '../local/local-stack.ts';
import { closeRedis, createRedis } from '../redis/redis.ts';
import { isRedisUnavailable } from '../redis/errors.ts';
import { classifyDatabaseFailure, isInvalidValueError } from './errors.ts';
import { failureOf } from '../../../test/helpers/failures.ts';

describe('database failures, from real pg and Drizzle errors', () => {
  let pool: pg.Pool;
  before(() => {
    pool = new pg.Pool({ connectionString: TEST_PG_ADMIN_URL, max: 1, connectionTimeoutMillis: 300 });
  });
  after(async () => {
    await pool.end();
  });

  it('a refused connection, wrapped by Drizzle, is `unavailable`', async () => {
    const url = new URL(TEST_PG_ADMIN_URL);
    url.port = String(await freePort());
    const closed = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const error = await failureOf(() => drizzle({ client: closed }).execute(sql`SELECT 1`));
      assert.notEqual((error as { code?: string }).code, 'ECONNREFUSED', 'Drizzle hides the code in its cause');
      assert.equal(classifyDatabaseFailure(error), 'unavailable');
    } finally {
      await closed.end();
    }
  });

  it('a pool checkout timeout is `busy`', async () => {
    const held = await pool.connect();
    try {
      const error = await failureOf(() => drizzle({ client: pool }).execute(sql`SELECT 1`));
      assert.equal(classifyDatabaseFailure(error), 'busy');
    } finally {
      held.release();
    }
  });

  it('a backend terminated by the server (57P01 / connection terminated) is `unavailable`', async () => {
    const victim = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    const errors: unknown[] = [];
    victim.on('error', (error) => errors.push(error));
    await victim.connect();
    try {
      const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await failureOf(() => victim.query('SELECT 1'));
      assert.equal(classifyDatabaseFailure(error), 'unavailable', String(error));
      for (const emitted of errors) assert.equal(classifyDatabaseFailure(emitted), 'unavailable', String(emitted));
    } finally {
      await victim.end().catch(() => {});
    }
  });

  it('a statement cancelled by its timeout is `timeout`; a NUL byte is an invalid value, not an outage', async () => {
    const db = drizzle({ client: pool });
    const timeout = await failureOf(() => db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL statement_timeout = 50`);
      await tx.execute(sql`SELECT pg_sleep(1)`);
    }));
    assert.equal(classifyDatabaseFailure(timeout), 'timeout');
    const nul = await failureOf(() => db.execute(sql`SELECT ${'a\u0000b'}::text`));
    assert.equal(classifyDatabaseFailure(nul), undefined);
    assert.equal(isInvalidValueError(nul), true);
    const divideByZero = await failureOf(() => db.execute(sql`SELECT 1/0`));
    assert.equal(classifyDatabaseFailure(divideByZero), undefined);
  });
});

describe('Redis failures, from a real ioredis client', () => {
  it('a fast-fail connection to a closed port is unavailable; a command error is not', async () => {
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, { name: 'salescale-test-closed', role: 'fast-fail' });
    redis.on('error', () => {});
    try {
      const error = await failureOf(() => redis.get('k'));
      assert.equal(isRedisUnavailable(error), true, String(error));
      assert.equal(classifyDatabaseFailure(error), undefined);
    } finally {
      await closeRedis(redis);
    }
    assert.equal(isRedisUnavailable(new Error('ERR wrong number of arguments')), false);
  });
});
