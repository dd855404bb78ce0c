import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { classifyDatabaseFailure } from '../db/errors.ts';
import { limitJobTransaction } from './job-transaction.ts';
import { failureOf } from '../../../test/helpers/failures.ts';

describe('job transaction limits, on a real PostgreSQL', () => {
  let pool: pg.Pool;
  let other: pg.Pool;
  before(() => {
    // One connection: the statement after the transaction runs on the same session.
    pool = new pg.Pool({ connectionString: TEST_PG_ADMIN_URL, max: 1 });
    other = new pg.Pool({ connectionString: TEST_PG_ADMIN_URL, max: 2 });
  });
  after(async () => {
    await pool.end();
    await other.end();
  });

  it('a lock wait past the lock timeout fails fast as `busy` (put back for later), and the setting ends with the transaction', async () => {
    const key = randomInt(1, 2 ** 31);
    const holder = await other.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [key]);
      const started = performance.now();
      const error = await failureOf(() =>
        drizzle({ client: pool }).transaction(async (tx) => {
          await limitJobTransaction(tx, { lockTimeoutMs: 200, idleTimeoutMs: 5000 });
          await tx.execute(sql`SELECT pg_advisory_xact_lock(${key})`);
        }),
      );
      const waitedMs = performance.now() - started;
      assert.equal(classifyDatabaseFailure(error), 'busy', String(error));
      assert.ok(waitedMs < 2000, `gave up after ${Math.round(waitedMs)} ms`);
      const { rows } = await pool.query(`SELECT current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle`);
      assert.deepEqual(rows[0], { lock: '0', idle: '0' }, 'local to the transaction: the pooled session keeps its own settings');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('a transaction left idle past the idle timeout is ended by the server, its work rolled back, its locks freed', async () => {
    const key = randomInt(1, 2 ** 31);
    const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    client.on('error', () => {});
    await client.connect();
    try {
      const db = drizzle({ client });
      const frozen = db.transaction(async (tx) => {
        await limitJobTransaction(tx, { idleTimeoutMs: 300 });
        await tx.execute(sql`SELECT pg_advisory_xact_lock(${key})`);
        // Frozen here (as a stopped process): the server ends the session, the next statement fails.
        const pid = (await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
        await waitFor('the server to end the idle session', async () => (await other.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, 10_000);
        await tx.execute(sql`SELECT 1`);
      });
      const error = await failureOf(() => frozen);
      assert.equal(classifyDatabaseFailure(error), 'unavailable', String(error));
      const { rows } = await other.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1`, [key]);
      assert.equal(rows[0].n, 0, 'the lock was freed');
    } finally {
      await client.end().catch(() => {});
    }
  });

  it('sets only what it is given', async () => {
    await drizzle({ client: pool }).transaction(async (tx) => {
      await limitJobTransaction(tx, { lockTimeoutMs: 1234 });
      const { rows } = await tx.execute(sql`SELECT current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle`);
      assert.deepEqual(rows[0], { lock: '1234ms', idle: '0' });
    });
  });
});
