/**
 * The real `salescale` program when a service it needs cannot be reached: one line on stderr and
 * exit 2, soon, whatever the way the service is missing (no stack trace, no hang).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL, createEmptyDatabase, testPrefix } from '../../test/helpers/db.ts';

const MAIN = join(import.meta.dirname, '../main.ts');

function salescale(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, ms: Date.now() - started }),
    );
  });
}

function assertOneLine(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: ${r.stderr}`);
  assert.equal(r.stdout, '', what);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what} prints one line: ${r.stderr}`);
  assert.match(lines[0], pattern, what);
}

describe('salescale bench --help', () => {
  it('lists every scenario of the runner, from the runner\'s own list, with its description (forecast and waiting-room were missing)', async () => {
    const { SCENARIOS } = await import('../../bench/scenarios.ts');
    const r = await salescale(['bench', '--help'], {});
    assert.equal(r.code, 0, r.stderr);
    const section = r.stdout.split(/^Scenarios\b.*$/m)[1] ?? '';
    const listed = [...section.matchAll(/^ {2}(\S+) {2,}(.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(listed, SCENARIOS.map((s) => s.name), r.stdout);
    for (const s of SCENARIOS) assert.ok(section.replace(/\s+/g, ' ').includes(s.describe.slice(0, 30)), `${s.name} is described`);
    // The argument's own line: what runs by default, and the diagnostics that run only by name.
    const usage = r.stdout.replace(/\s+/g, ' ');
    assert.ok(usage.includes(SCENARIOS.filter((s) => !s.optional).map((s) => s.name).join(' | ')), usage);
    assert.ok(usage.includes(`only by name: ${SCENARIOS.filter((s) => s.optional).map((s) => s.name).join(' | ')}`), usage);
  });
});

describe('salescale seed, its counts', () => {
  it('a count that is empty or not decimal is a mistyped command line (usage, exit 1), not 0 or a hex number', async () => {
    for (const value of ['', ' ', '0x10']) {
      const r = await salescale(['seed', '--products', value], {});
      assert.equal(r.code, 1, `--products ${JSON.stringify(value)}: ${r.stderr}`);
      assert.match(r.stderr, /^error: option '--products <n>' argument '.*' is invalid\. must be a whole number ≥ 0\n/, value);
      assert.match(r.stderr, /Usage: salescale seed/, value);
    }
  });
});

describe('salescale with its output piped', () => {
  it('stops quietly when the reader goes away (| head): no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [MAIN, 'forecast', '--year', '2026', '--no-db', '--json', '--from', '2026-10-20T00:00:00Z', '--to', '2026-12-01T00:00:00Z'], { env: { PATH: process.env.PATH ?? '' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('salescale given an empty file or folder (an unset shell variable)', () => {
  it('refuses it with one line and exit 2 instead of ignoring it', async () => {
    // alerts --out "" printed the rules and wrote no file; simulate --out "" drew no chart; manifests --out "" wrote
    // under the current folder; --recording "" and the like were dropped. Each said nothing.
    for (const args of [
      ['alerts', '--out', ''],
      ['alerts', '--recording', ' '],
      ['alerts', '--dashboard', ''],
      ['manifests', '--target', 'k8s', '--out', '', '--check'],
      ['simulate', '--no-db', '--out', ''],
      ['forecast', '--no-db', '--out', ''],
      ['hpa', 'explain', '--hpa', '', '--pods', 'pods.json'],
    ]) {
      const r = await salescale(args, {});
      assertOneLine(r, /^error \[INVALID_OPTION\]: --[a-z]+ was given an empty path \(an unset shell variable\?\)/, args.join(' '));
    }
  });
});

describe('salescale without a database', () => {
  it('--learn without DATABASE_URL says that it needs one (it read as an empty history: "got 0 hours")', async () => {
    for (const args of [['forecast', '--learn', '--year', '2026', '--no-progress'], ['backtest', '--learn']]) {
      const r = await salescale(args, {});
      assertOneLine(r, /^error \[INVALID_OPTION\]: --learn reads the analytics rollups from the database: set DATABASE_URL, or give --history <csv>$/, args[0]);
    }
  });
});

describe('salescale when PostgreSQL or Redis cannot be reached', () => {
  // A server that accepts connections and never answers: a firewall that drops packets, a wrong port
  // forwarded to something else. Without a connection timeout pg waits for ever.
  let silent: Server;
  const sockets: Socket[] = [];
  let silentUrl = '';
  before(async () => {
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    assert.ok(address && typeof address === 'object');
    silentUrl = `postgres://postgres@127.0.0.1:${address.port}/salescale`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  const toolkit = ['forecast', '--year', '2026', '--json', '--no-progress'];

  it('a server that never answers: migrate, seed and the toolkit give up with one line and exit 2', async () => {
    const runs = await Promise.all([salescale(['migrate'], { DATABASE_URL: silentUrl }), salescale(['seed', '--products', '1'], { DATABASE_URL: silentUrl }), salescale(toolkit, { DATABASE_URL: silentUrl })]);
    for (const [i, r] of runs.entries()) {
      assertOneLine(r, /^salescale: cannot reach a required service: .*timeout/i, ['migrate', 'seed', 'forecast'][i]);
      assert.ok(r.ms < 40_000, `gave up after ${r.ms} ms`);
    }
  });

  it('a host that does not resolve and a role that does not exist: one line and exit 2', async () => {
    const unknownRole = new URL(TEST_PG_ADMIN_URL);
    unknownRole.username = 'no_such_role_salescale';
    const runs = await Promise.all([
      salescale(['migrate'], { DATABASE_URL: 'postgres://postgres@no-such-host.invalid:5432/salescale' }),
      salescale(toolkit, { DATABASE_URL: 'postgres://postgres@no-such-host.invalid:5432/salescale' }),
      salescale(['migrate'], { DATABASE_URL: unknownRole.toString() }),
      salescale(toolkit, { DATABASE_URL: unknownRole.toString() }),
    ]);
    assertOneLine(runs[0], /^salescale: cannot reach a required service: .*no-such-host\.invalid/, 'migrate, unresolvable host');
    assertOneLine(runs[1], /^salescale: cannot reach a required service: .*no-such-host\.invalid/, 'forecast, unresolvable host');
    assertOneLine(runs[2], /^salescale: cannot reach a required service: .*no_such_role_salescale/, 'migrate, unknown role');
    assertOneLine(runs[3], /^salescale: cannot reach a required service: .*no_such_role_salescale/, 'forecast, unknown role');
  });

  it('queues with a Redis that does not answer: one line and exit 2', async () => {
    const r = await salescale(['queues'], { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1' });
    assertOneLine(r, /^salescale: cannot reach a required service: redis not ready/, 'queues');
  });

  it('queues and seed on a database that was never migrated: one line naming migrate, exit 2 (was a stack trace)', async () => {
    const empty = await createEmptyDatabase('salescale_unmigrated');
    try {
      const env = { DATABASE_URL: empty.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix() };
      const runs = await Promise.all([salescale(['queues'], env), salescale(['seed', '--products', '1'], env)]);
      for (const [i, r] of runs.entries()) assertOneLine(r, /^salescale: the database is not migrated \(relation "\w+" does not exist\): run `salescale migrate` first$/, ['queues', 'seed'][i]!);
    } finally {
      await empty.drop();
    }
  });

  it('queues in production without the secrets only the web role reads: it runs (it refused before)', async () => {
    const r = await salescale(['queues'], { NODE_ENV: 'production', DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1' });
    // It gets as far as Redis (none on port 1), past the configuration.
    assertOneLine(r, /^salescale: cannot reach a required service: redis not ready/, 'queues in production');
  });
});
