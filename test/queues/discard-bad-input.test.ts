import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { TEST_REDIS_URL, testPrefix } from '../helpers/db.ts';
import { runSalescale } from '../helpers/queue-cli.ts';

/** Refused before it connects: no database is opened. */
const ENV = {
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'test',
  DATABASE_URL: 'postgres://127.0.0.1:5432/test',
  REDIS_URL: TEST_REDIS_URL,
  REDIS_PREFIX: testPrefix(),
  ADMIN_API_TOKEN: ADMIN_TOKEN,
  SESSION_SECRET: 'test-session-secret-0123456789abcdef',
};

const salescale = (args: string[]) => runSalescale(ENV, args);

describe('`queues discard` with a blank reason', () => {
  it('is bad input: one line on stderr and exit 2, as the README says of every command', async () => {
    for (const reason of ['', '   ']) {
      const run = await salescale(['queues', 'discard', 'email', '--all', '--reason', reason]);
      assert.deepEqual(
        { code: run.code, lines: run.stderr.trimEnd().split('\n').length },
        { code: 2, lines: 1 },
        `--reason ${JSON.stringify(reason)}: ${run.stderr}`,
      );
    }
  });
});

describe('`queues discard` with a reason longer than a letter keeps', () => {
  it('is bad input: one line on stderr and exit 2, before anything is discarded', async () => {
    // A job id no letter has: were the reason taken, nothing would be closed.
    const run = await salescale(['queues', 'discard', 'email', 'no-such-letter', '--reason', 'x'.repeat(2001)]);
    assert.deepEqual({ code: run.code, lines: run.stderr.trimEnd().split('\n').length }, { code: 2, lines: 1 }, run.stderr);
    assert.match(run.stderr, /2000/);
  });
});
