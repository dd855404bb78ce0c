import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { freePort } from '../local/local-stack.ts';
import { createDatabase } from '../db/client.ts';
import { createLogger } from './logger.ts';

describe('logger', () => {
  it('logs an idle database connection killed by the server in one short line, without the client and its password', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split('\n'));
        done();
      },
    });
    const url = new URL(TEST_PG_ADMIN_URL);
    url.password = 'never-in-a-log-line';
    const application = `logger-test-${process.pid}`;
    const db = createDatabase({ url: url.toString(), poolMin: 0, poolMax: 1, statementTimeoutMs: 0, applicationName: application, logger: createLogger({ level: 'info', destination }) });
    const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    await admin.connect();
    try {
      await db.pools.primary.query('SELECT 1'); // leaves one idle client in the pool
      const lost = new Promise((resolve) => db.pools.primary.once('error', resolve));
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [application]);
      await lost;
      const line = lines.find((l) => l.includes('idle database connection lost'));
      assert.ok(line, `no log line in ${JSON.stringify(lines)}`);
      const entry = JSON.parse(line);
      assert.equal(entry.err.code, '57P01');
      assert.equal(entry.err.client, undefined);
      assert.equal(line.includes('never-in-a-log-line'), false);
      assert.ok(line.length < 1000, `${line.length} characters`);
    } finally {
      await admin.end();
      await db.close();
    }
  });

  it('keeps the parameters of a failed statement out (emails, password hashes, addresses), and its parameterised SQL in', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(...String(chunk).trim().split('\n'));
          done();
        },
      }),
    });
    const email = 'alice.private@example.com';
    const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0';
    const down = new URL(TEST_PG_ADMIN_URL);
    down.port = String(await freePort());
    const unreachable = createDatabase({ url: down.toString(), poolMin: 0, poolMax: 1, statementTimeoutMs: 0, applicationName: 'logger-test', logger });
    const reachable = createDatabase({ url: TEST_PG_ADMIN_URL, poolMin: 0, poolMax: 1, statementTimeoutMs: 0, applicationName: 'logger-test', logger });
    try {
      // A dependency failure (logged as a warning, without its stack) and a bug (logged with it).
      await unreachable.primary.execute(sql`INSERT INTO customers (email, password_hash) VALUES (${email}, ${hash})`).catch((error: unknown) => logger.warn({ err: error }, 'dependency unavailable'));
      await reachable.primary.execute(sql`SELECT * FROM no_such_table WHERE email = ${email}`).catch((error: unknown) => logger.error({ err: error }, 'unhandled error'));
      const logged = lines.filter((l) => /dependency unavailable|unhandled error/.test(l));
      assert.equal(logged.length, 2, JSON.stringify(lines));
      for (const line of logged) {
        assert.equal(line.includes(email), false, `the email is in ${line}`);
        assert.equal(line.includes('c2VjcmV0'), false, `the password hash is in ${line}`);
      }
      const [warning, error] = logged.map((l) => JSON.parse(l).err);
      assert.equal(warning.query, 'INSERT INTO customers (email, password_hash) VALUES ($1, $2)', 'the statement is still there to read');
      assert.match(error.stack, /no_such_table/);
    } finally {
      await unreachable.close();
      await reachable.close();
    }
  });
});
