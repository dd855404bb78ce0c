import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
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
});
