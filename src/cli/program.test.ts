/**
 * The real `salescale` program when a service it needs cannot be reached: one line on stderr and
 * exit 2, soon, whatever the way the service is missing (no stack trace, no hang).
 *
 * The tests of a suite run at once where they share nothing one could change under another (each its own database,
 * Redis prefix or service, or none): most of a case's time is a CLI starting, or waiting out a connection timeout
 * (10 s against a server that never answers), which overlaps with the others'.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freePort } from '../platform/local/local-stack.ts';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL, createEmptyDatabase, createTestDatabase, deleteRedisKeys, testPrefix, type TestDatabase } from '../../test/helpers/db.ts';
import { startInstance } from '../../test/helpers/instances.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../../test/helpers/private-postgres.ts';
import { waitFor } from '../../test/helpers/queues.ts';

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

// First and outside the suites that run at once below: its first case says how soon the program gives up on a server
// that never answers (its 10 s connect timeout plus the start of three CLIs), which CLIs starting beside it would slow.
describe('salescale when PostgreSQL or Redis cannot be reached', { concurrency: 3 }, () => {
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

  it('worker in production without SESSION_SECRET: one line naming it and exit 2 (it signs the guest order links its emails carry, which a generated secret would break)', async () => {
    const r = await salescale(['worker'], { NODE_ENV: 'production', DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1' });
    assertOneLine(r, /^salescale: configuration error: SESSION_SECRET: is required in production/, 'worker in production without SESSION_SECRET');
  });
});

// The other suites run two at a time (as do the tests within several of them): each has its own databases, Redis
// prefixes, servers and private PostgreSQL, and most of their time is CLI processes starting or waiting on a service.
describe('the salescale program', { concurrency: 2 }, () => {
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

  describe('salescale seed, its counts', { concurrency: true }, () => {
    it('a count that is empty or not decimal is a mistyped command line (usage, exit 1), not 0 or a hex number', async () => {
      const values = ['', ' ', '0x10'];
      const runs = await Promise.all(values.map((value) => salescale(['seed', '--products', value], {})));
      for (const [i, r] of runs.entries()) {
        const value = values[i]!;
        assert.equal(r.code, 1, `--products ${JSON.stringify(value)}: ${r.stderr}`);
        assert.match(r.stderr, /^error: option '--products <n>' argument '.*' is invalid\. must be a whole number ≥ 0\n/, value);
        assert.match(r.stderr, /Usage: salescale seed/, value);
      }
    });
    // Seeding again keeps existing SKUs and slugs: the second run's line said "and 24 categories" as if it had seeded them.
    it('a second seed says it added nothing: 0 new products and 0 new categories, each beside the count requested', async () => {
      const database = await createTestDatabase();
      try {
        const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix() };
        const first = await salescale(['seed', '--products', '3', '--categories', '2'], env);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^seeded 3 new products \(3 requested\) and 2 new categories \(2 requested\) in /, first.stdout);
        const second = await salescale(['seed', '--products', '3', '--categories', '2'], env);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /^seeded 0 new products \(3 requested\) and 0 new categories \(2 requested\) in /, second.stdout);
      } finally {
        await database.drop();
      }
    });
    // The queue commands are an on-call tool: a wrong queue name or a missing argument is bad input, said in one line
    // with exit 2 as everywhere else (the toolkit's values, discard's reason), not the usage text and exit 1 that a
    // script reads as the command having run and failed.
    it('queues: an unknown queue, a missing argument or option, both letters and --all, or --json where it means nothing: one line, exit 2', async () => {
      const cases = [
        [['queues', 'retry-failed', 'nosuch'], /^salescale: .*argument 'queue'\. queues are email, order, inventory, notifications$/],
        [['queues', 'discard', 'email', '--all'], /^salescale: required option '--reason <text>' not specified$/],
        [['queues', 'discard', 'email', 'j-1', '--all', '--reason', 'gone'], /^salescale: name the letters to discard \(job ids\) or pass --all, not both$/],
        [['queues', 'pause', 'nosuch'], /^salescale: .*argument 'queue'\. queues are email, order, inventory, notifications$/],
        [['queues', 'resume'], /^salescale: missing required argument 'queue'$/],
        // --json is the report's option: retry-failed printed its text and exit 0, as if it had been honoured.
        [['queues', 'retry-failed', 'email', '--json'], /^salescale: --json is an option of `salescale queues` \(the report\), not of `queues retry-failed`$/],
      ] as const;
      const runs = await Promise.all(cases.map(([args]) => salescale([...args], {})));
      for (const [i, r] of runs.entries()) assertOneLine(r, cases[i]![1], cases[i]![0].join(' '));
    });
    it('worker --queues naming an unknown queue is a mistyped command line (usage, exit 1)', async () => {
      const r = await salescale(['worker', '--queues', 'nope'], {});
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /option '--queues <names>' argument 'nope' is invalid/);
      assert.match(r.stderr, /Usage: salescale worker/);
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
      const cases = [
        ['alerts', '--out', ''],
        ['alerts', '--recording', ' '],
        ['alerts', '--dashboard', ''],
        ['manifests', '--target', 'k8s', '--out', '', '--check'],
        ['simulate', '--no-db', '--out', ''],
        ['forecast', '--no-db', '--out', ''],
        ['hpa', 'explain', '--hpa', '', '--pods', 'pods.json'],
      ];
      const runs = await Promise.all(cases.map((args) => salescale(args, {})));
      for (const [i, r] of runs.entries()) {
        assertOneLine(r, /^error \[INVALID_OPTION\]: --[a-z]+ was given an empty path \(an unset shell variable\?\)/, cases[i]!.join(' '));
      }
    });
  });

  describe('salescale without a database', () => {
    it('--learn without DATABASE_URL says that it needs one (it read as an empty history: "got 0 hours")', async () => {
      const cases = [['forecast', '--learn', '--year', '2026', '--no-progress'], ['backtest', '--learn']];
      const runs = await Promise.all(cases.map((args) => salescale(args, {})));
      for (const [i, r] of runs.entries()) {
        assertOneLine(r, /^error \[INVALID_OPTION\]: --learn reads the analytics rollups from the database: set DATABASE_URL, or give --history <csv>$/, cases[i]![0]!);
      }
    });
  });

  describe('salescale and the TLS settings a platform puts in DATABASE_URL', { concurrency: true }, () => {
    const withPassword = (query: string) => {
      const url = new URL(TEST_PG_ADMIN_URL);
      url.password = 'pa$$w0rd-secret';
      return `${url.toString()}${query}`;
    };

    it('TLS asked of a server that has none: one line and exit 2, without the password (was a stack trace, exit 1)', async () => {
      const r = await salescale(['migrate'], { DATABASE_URL: withPassword('?sslmode=no-verify') });
      assertOneLine(r, /^salescale: cannot reach a required service: .*SSL/, 'migrate, sslmode=no-verify against a server without TLS');
      assert.ok(!r.stderr.includes('pa$$w0rd'), r.stderr);
    });

    it('an sslmode pg does not know, a certificate file that cannot be read: a configuration error naming the variable (was verify-full without a word, or a stack trace)', async () => {
      const runs = await Promise.all([
        salescale(['migrate'], { DATABASE_URL: withPassword('?sslmode=requried') }),
        salescale(['migrate'], { DATABASE_URL: withPassword('?sslmode=verify-full&sslrootcert=/nonexistent/rds-ca.pem') }),
        salescale(['seed', '--products', '1'], { DATABASE_URL: TEST_PG_ADMIN_URL, DATABASE_REPLICA_URL: withPassword('?sslmode=verify-full&sslcert=/nonexistent/client.crt') }),
      ]);
      assertOneLine(runs[0], /^salescale: configuration error: DATABASE_URL: sslmode must be one of disable, prefer, require, verify-ca, verify-full, no-verify, got "requried"$/, 'unknown sslmode');
      assertOneLine(runs[1], /^salescale: configuration error: DATABASE_URL: sslrootcert "\/nonexistent\/rds-ca\.pem" cannot be read \(ENOENT\)$/, 'missing sslrootcert');
      assertOneLine(runs[2], /^salescale: configuration error: DATABASE_REPLICA_URL: sslcert "\/nonexistent\/client\.crt" cannot be read \(ENOENT\)$/, 'missing sslcert of the replica');
      for (const r of runs) assert.ok(!r.stderr.includes('pa$$w0rd'), r.stderr);
    });
  });

  describe('salescale serve and a TRUST_PROXY hop count', () => {
    it('a hop count that is not a small positive integer: a configuration error naming the variable, one line and exit 2', async () => {
      const env = { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix() };
      const runs = await Promise.all([salescale(['serve'], { ...env, TRUST_PROXY: '0' }), salescale(['serve'], { ...env, TRUST_PROXY: '1,10.0.0.0/8' })]);
      assertOneLine(runs[0], /^salescale: configuration error: TRUST_PROXY: a hop count must be between 1 and 5, got "0"/, 'TRUST_PROXY=0');
      assertOneLine(runs[1], /^salescale: configuration error: TRUST_PROXY: a hop count stands alone/, 'TRUST_PROXY=1,10.0.0.0/8');
    });
  });

  describe('salescale and a REDIS_URL that ioredis cannot read', () => {
    it('a password with a bare % and a database that is not a number: a configuration error naming the variable, without the password (was a stack trace, exit 1)', async () => {
      const env = { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_PREFIX: testPrefix() };
      const runs = await Promise.all([
        salescale(['queues'], { ...env, REDIS_URL: 'redis://:50%off-secret@127.0.0.1:6379' }),
        salescale(['queues'], { ...env, REDIS_URL: 'redis://127.0.0.1:6379/sessions' }),
        salescale(['queues'], { ...env, REDIS_URL: TEST_REDIS_URL, CACHE_REDIS_URL: 'rediss://default:50%off-secret@127.0.0.1:6380/0' }),
      ]);
      assertOneLine(runs[0], /^salescale: configuration error: REDIS_URL: the password is not percent-encoded \(a % must be written %25\)$/, 'bare % in the password');
      assertOneLine(runs[1], /^salescale: configuration error: REDIS_URL: the path must be a database number \(\/0, \/1, …\), got "\/sessions"$/, 'database name');
      assertOneLine(runs[2], /^salescale: configuration error: CACHE_REDIS_URL: the password is not percent-encoded \(a % must be written %25\)$/, 'bare % in the cache password');
      for (const r of runs) assert.ok(!r.stderr.includes('off-secret'), r.stderr);
    });

    it('a database number the server does not have: one line naming it, exit 2, nothing read or retried in database 0', async () => {
      const url = new URL(TEST_REDIS_URL);
      url.pathname = '/99999';
      const database = await createTestDatabase();
      try {
        const env = { DATABASE_URL: database.url, REDIS_PREFIX: testPrefix(), REDIS_URL: url.href };
        const runs = await Promise.all([salescale(['queues'], env), salescale(['queues', 'retry-failed', 'email'], env)]);
        for (const [i, r] of runs.entries()) assertOneLine(r, /^salescale: configuration error: REDIS_URL: names database 99999, which this Redis server does not have /, ['queues', 'queues retry-failed'][i]!);
      } finally {
        await database.drop();
      }
    });

    it('serve and worker given a database number the server does not have: they do not start (exit 2, one line naming the variable), instead of running in database 0', async () => {
      const missing = new URL(TEST_REDIS_URL);
      missing.pathname = '/99999';
      const database = await createTestDatabase();
      try {
        // PORT 0: a role that started anyway (in database 0) listens on a free port until the run's timeout kills it.
        const env = { DATABASE_URL: database.url, REDIS_PREFIX: testPrefix(), REDIS_URL: TEST_REDIS_URL, PORT: '0', WORKER_PORT: '0', LOG_LEVEL: 'warn' };
        const cases = [
          { args: ['serve'], env: { ...env, REDIS_URL: missing.href }, variable: 'REDIS_URL' },
          { args: ['worker'], env: { ...env, REDIS_URL: missing.href }, variable: 'REDIS_URL' },
          // The cache's own Redis: the web role's cache reads and writes would land in database 0 of that server.
          { args: ['serve'], env: { ...env, CACHE_REDIS_URL: missing.href }, variable: 'CACHE_REDIS_URL' },
        ];
        const runs = await Promise.all(cases.map((c) => salescale(c.args, c.env)));
        for (const [i, r] of runs.entries()) {
          const { args, variable } = cases[i]!;
          const what = `${args[0]} with ${variable} naming database 99999`;
          // The logs go to stdout; stderr holds the refusal alone.
          assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
          const lines = r.stderr.trim().split('\n');
          assert.equal(lines.length, 1, `${what} prints one line: ${r.stderr}`);
          assert.match(lines[0]!, new RegExp(`^salescale: configuration error: ${variable}: names database 99999, which this Redis server does not have `), what);
        }
      } finally {
        await database.drop();
      }
    });
  });

  describe('salescale and a decimal variable that is blank or not decimal', () => {
    it('refuses it with one line naming it, exit 2 (a blank WAITING_ROOM_CAPACITY_RPS read as 0: the derived rate, without a word)', async () => {
      const env = { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1' };
      const runs = await Promise.all([
        salescale(['queues'], { ...env, WAITING_ROOM_CAPACITY_RPS: ' ' }),
        salescale(['queues'], { ...env, WAITING_ROOM_SAFETY_FACTOR: '0x1' }),
        salescale(['queues'], { ...env, CLUSTER_INSTANCE_HOUR_COST_USD: '1e400' }),
      ]);
      assertOneLine(runs[0], /^salescale: configuration error: WAITING_ROOM_CAPACITY_RPS: must be a number, got " "$/, 'blank');
      assertOneLine(runs[1], /^salescale: configuration error: WAITING_ROOM_SAFETY_FACTOR: must be a number, got "0x1"$/, 'hex');
      assertOneLine(runs[2], /^salescale: configuration error: CLUSTER_INSTANCE_HOUR_COST_USD: must be a number, got "1e400"$/, 'infinite');
    });
  });

  describe('salescale migrate from a release older than the database (a rollback)', () => {
    it('applies nothing, leaves the newer release\'s SQL functions as they are and says so, exit 0, however many run at once', async () => {
      const database = await createTestDatabase();
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        // What a newer release left: a migration this release does not know, and its own text of a function.
        await db.query(`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) SELECT 'newer-release', max(created_at) + 86400000 FROM drizzle.__drizzle_migrations`);
        const [{ def }] = (await db.query(`SELECT pg_get_functiondef('take_stock'::regproc) AS def`)).rows;
        await db.query(def.replace('AS $function$', 'AS $function$ /* newer release */'));

        const runs = await Promise.all(Array.from({ length: 5 }, () => salescale(['migrate'], { DATABASE_URL: database.url })));
        for (const r of runs) {
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, 'migrations applied: 0 (the database is ahead of this release: 1 migration it does not know; its SQL functions were left as they are)\n');
        }
        const [{ src }] = (await db.query(`SELECT prosrc AS src FROM pg_proc WHERE oid = 'take_stock'::regproc`)).rows;
        assert.match(src, /newer release/, 'the newer release\'s take_stock was replaced by this older one\'s');
      } finally {
        await db.end();
        await database.drop();
      }
    });
  });

  describe('salescale and a Redis that speaks TLS with a self-signed certificate (Heroku Redis)', { concurrency: true }, () => {
    let dir = '';
    let server: ReturnType<typeof spawn> | undefined;
    let port = 0;
    let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    before(async () => {
      database = await createTestDatabase();
      const { mkdtemp } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { freePort } = await import('../platform/local/local-stack.ts');
      const { promisify } = await import('node:util');
      dir = await mkdtemp(join(tmpdir(), 'salescale-tls-redis-'));
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=redis.example', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir });
      const { connect: tlsConnect } = await import('node:tls');
      const { X509Certificate } = await import('node:crypto');
      const { readFile } = await import('node:fs/promises');
      const ours = new X509Certificate(await readFile(join(dir, 'cert.pem'))).fingerprint256;
      // Listening once it answers a TLS handshake with our certificate (not after a fixed pause a loaded machine can
      // outlast; and not some other process's server: the port found free may be bound by another test file's process
      // before redis-server binds it, which then exits, EADDRINUSE: another port, then).
      const ourServerAnswers = () =>
        new Promise<boolean>((resolve) => {
          const probe = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
          probe.once('secureConnect', () => {
            const theirs = probe.getPeerX509Certificate()?.fingerprint256;
            probe.destroy();
            resolve(theirs === ours);
          });
          probe.once('error', () => resolve(false));
          // Another process's server that takes the connection and never answers (or closes it) is not ours: the probe
          // settles within a second, so waitFor's deadline still applies.
          probe.once('close', () => resolve(false));
          probe.setTimeout(1000, () => {
            probe.destroy();
            resolve(false);
          });
        });
      for (let attempt = 1; ; attempt++) {
        port = await freePort();
        const started = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no', '--save', '', '--dir', dir], { stdio: 'ignore' });
        server = started;
        const outcome = await waitFor('the TLS redis-server to listen', async () => {
          if (started.exitCode !== null || started.signalCode !== null) return `exited (${started.exitCode ?? started.signalCode}) before listening on ${port}`;
          return (await ourServerAnswers()) ? 'listening' : null;
        });
        if (outcome === 'listening') break;
        if (attempt === 5) throw new Error(`redis-server ${outcome}, ${attempt} times`);
      }
    });
    after(async () => {
      if (server && server.exitCode === null) {
        const exited = new Promise((resolve) => server?.once('exit', resolve));
        server.kill('SIGKILL');
        await exited;
      }
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
      await database?.drop();
    });

    it('connects with REDIS_TLS_VERIFY=false, and refuses the certificate by default (Heroku Redis was never reached)', async () => {
      const env = { DATABASE_URL: database?.url ?? '', REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_PREFIX: testPrefix() };
      const [unverified, verified] = await Promise.all([salescale(['queues'], { ...env, REDIS_TLS_VERIFY: 'false' }), salescale(['queues'], env)]);
      assert.equal(unverified.code, 0, unverified.stderr);
      assert.match(unverified.stdout, /^queue +waiting/);
      assertOneLine(verified, /^salescale: cannot reach a required service: redis not ready/, 'a self-signed certificate, verified');
    });

    it('speaks TLS to a REDISS:// URL written in capitals (ioredis took it for plain redis:, the password in clear)', async () => {
      // The certificate verifies here (its CA trusted through NODE_EXTRA_CA_CERTS), so only the scheme is in question.
      const r = await salescale(['queues'], { DATABASE_URL: database?.url ?? '', REDIS_URL: `REDISS://127.0.0.1:${port}`, REDIS_PREFIX: testPrefix(), NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^queue +waiting/);
    });
  });

  describe('salescale and PGSSLMODE (TLS to PostgreSQL when the platform\'s DATABASE_URL says nothing: Heroku Postgres)', () => {
    it('is honoured, and a value pg does not know is a configuration error (it was ignored: no TLS, without a word)', async () => {
      const runs = await Promise.all([
        salescale(['migrate'], { DATABASE_URL: TEST_PG_ADMIN_URL, PGSSLMODE: 'no-verify' }),
        salescale(['migrate'], { DATABASE_URL: TEST_PG_ADMIN_URL, PGSSLMODE: 'requried' }),
        salescale(['queues'], { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1', PGSSLMODE: 'on' }),
      ]);
      assertOneLine(runs[0], /^salescale: cannot reach a required service: The server does not support SSL connections$/, 'PGSSLMODE=no-verify asks for TLS');
      assertOneLine(runs[1], /^salescale: configuration error: PGSSLMODE: must be one of disable, prefer, require, verify-ca, verify-full, no-verify, got "requried"$/, 'migrate');
      assertOneLine(runs[2], /^salescale: configuration error: PGSSLMODE: must be one of disable, prefer, require, verify-ca, verify-full, no-verify, got "on"$/, 'queues');
    });
  });

  describe('salescale serve and a HOST it cannot listen on (PostgreSQL and Redis are fine)', { concurrency: true }, () => {
    let database: TestDatabase | undefined;
    const prefixes: string[] = [];
    before(async () => {
      database = await createTestDatabase();
    });
    after(async () => {
      await database?.drop();
      for (const prefix of prefixes) await Promise.all([deleteRedisKeys(`${prefix}:*`), deleteRedisKeys(`{${prefix}}:*`)]);
    });

    async function serve(host: string): ReturnType<typeof salescale> {
      const prefix = testPrefix();
      prefixes.push(prefix);
      return salescale(['serve'], { DATABASE_URL: database!.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, HOST: host, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    }

    it('a HOST that is not an address of this machine: one line and exit 2 (was an EADDRNOTAVAIL stack trace, exit 1)', async () => {
      const r = await serve('192.0.2.1');
      assert.equal(r.code, 2, r.stdout + r.stderr);
      // The refusal is stderr's last line; the logs go to stdout.
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(last, /^salescale: .*192\.0\.2\.1/, r.stdout + r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes('    at '), `no stack trace: ${r.stdout + r.stderr}`);
    });

    it('a HOST that does not resolve: the line names HOST, not "a required service"', async () => {
      const r = await serve('no-such-host.invalid');
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(last, /^salescale: .*\bHOST\b/, `stderr's last line: ${last}`);
    });
  });

  describe('salescale with several bad variables', () => {
    it('names every one on one line, exit 2 (a line per variable came out as separate, unattributed log events)', async () => {
      const r = await salescale(['queues'], { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1', PORT: 'x', DB_POOL_MAX: '-1' });
      assertOneLine(r, /^salescale: configuration error: PORT: must be an integer, got "x"; DB_POOL_MAX: must be between 1 and 1000, got -1$/, 'two bad variables');
    });
  });

  describe('salescale serve and worker with an OTEL_* value the SDK would ignore', { concurrency: true }, () => {
    it('refuses it with one line naming it, exit 2 (tracing stayed off, or went nowhere, without a word)', async () => {
      const env = { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1' };
      const runs = await Promise.all([
        salescale(['serve'], { ...env, OTEL_TRACES_EXPORTER: 'otpl' }),
        salescale(['worker'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
        salescale(['serve'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }),
      ]);
      assertOneLine(runs[0], /^salescale: configuration error: OTEL_TRACES_EXPORTER: unknown exporter "otpl" \(otlp, zipkin, console, none\)$/, 'exporter');
      assertOneLine(runs[1], /^salescale: configuration error: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http: or https: URL$/, 'endpoint');
      assertOneLine(runs[2], /^salescale: configuration error: OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http\/protobuf, http\/json, grpc, got "http"$/, 'protocol');
    });

    it('refuses a sampler or a ratio the SDK would replace by sampling every trace (a sale traced whole, at a quarter of the CPU per checkout)', async () => {
      const env = { DATABASE_URL: TEST_PG_ADMIN_URL, REDIS_URL: 'redis://127.0.0.1:1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
      const runs = await Promise.all([
        salescale(['serve'], { ...env, OTEL_TRACES_SAMPLER: 'parentbased_traceidration', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
        salescale(['serve'], { ...env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' }),
        salescale(['worker'], { ...env, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0,1' }),
        salescale(['serve'], { ...env, OTEL_TRACES_SAMPLER_ARG: '0.1' }),
      ]);
      assertOneLine(runs[0], /^salescale: configuration error: OTEL_TRACES_SAMPLER: unknown sampler "parentbased_traceidration" \(always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio\)$/, 'sampler');
      assertOneLine(runs[1], /^salescale: configuration error: OTEL_TRACES_SAMPLER_ARG: must be a ratio between 0 and 1 \(0\.1 samples one trace in ten\), got "10"$/, 'ratio over 1');
      assertOneLine(runs[2], /^salescale: configuration error: OTEL_TRACES_SAMPLER_ARG: must be a ratio between 0 and 1 \(0\.1 samples one trace in ten\), got "0,1"$/, 'ratio not a number');
      assertOneLine(runs[3], /^salescale: configuration error: OTEL_TRACES_SAMPLER_ARG: is read only with OTEL_TRACES_SAMPLER=traceidratio or parentbased_traceidratio \(unset: every trace is sampled\)$/, 'ratio without a sampler');
    });
  });

  describe('salescale and a PostgreSQL whose certificate is signed by the provider\'s own CA (DigitalOcean: DATABASE_CA_CERT)', { concurrency: true }, () => {
    // A private PostgreSQL speaking TLS with a certificate from a throwaway CA, as DigitalOcean's managed
    // PostgreSQL does with its own: `${db.DATABASE_URL}` says sslmode=require, which pg verifies in full.
    let postgres: PrivatePostgres | undefined;
    let url = '';
    let ca = '';
    let otherCa = '';
    before(async () => {
      const { chmod, readFile, writeFile } = await import('node:fs/promises');
      const { promisify } = await import('node:util');
      const run = promisify(execFile);
      postgres = await startPrivatePostgres({
        prefix: 'salescale-tls-pg-',
        async setUp(dir, own) {
          const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
          for (const name of ['ca', 'other-ca']) {
            await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=Salescale test ${name}`]);
          }
          await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
          await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
          await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
          ca = await readFile(join(dir, 'ca.pem'), 'utf8');
          otherCa = await readFile(join(dir, 'other-ca.pem'), 'utf8');
          for (const file of ['server.key', 'server.crt']) await own(file);
          await chmod(join(dir, 'server.key'), 0o600);
        },
        initdbArgs: ['--auth=trust'],
        conf: ['ssl = on', "ssl_cert_file = '../server.crt'", "ssl_key_file = '../server.key'"],
        client: () => ({ user: 'postgres', database: 'postgres', ssl: { ca } }),
      });
      url = `postgres://postgres@127.0.0.1:${postgres.port}/postgres?sslmode=require`;
    });
    after(() => postgres?.stop());

    it('without the CA: one line and exit 2 (pg verifies sslmode=require in full and does not know the CA)', async () => {
      const r = await salescale(['migrate'], { DATABASE_URL: url });
      assertOneLine(r, /^salescale: cannot reach a required service: .*(self-signed|unable to verify)/i, 'migrate, sslmode=require, CA unknown');
    });

    it('with DATABASE_CA_CERT: migrate applies the migrations and serve answers /ready (each failed to reach the database)', async () => {
      const migrated = await salescale(['migrate'], { DATABASE_URL: url, DATABASE_CA_CERT: ca });
      assert.equal(migrated.code, 0, `migrate: ${migrated.stderr}`);
      assert.match(migrated.stdout, /^migrations applied: [1-9]/);
      assert.ok(!migrated.stderr.includes(ca.split('\n')[1] ?? ''), migrated.stderr);

      // Its port is found by startInstance, which starts it again on another if another process took it first.
      const web = await startInstance({
        env: { DATABASE_URL: url, DATABASE_REPLICA_URL: url, DATABASE_CA_CERT: ca, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix(), LOG_LEVEL: 'warn' },
        detached: true,
        timeoutMs: 30_000,
      });
      try {
        // A catalog read goes to the replica pool, which trusts the same CA.
        assert.equal((await fetch(`${web.url}/api/v1/products`)).status, 200, web.output());
        assert.ok(!web.output().includes('read replica unreachable'), web.output());
      } finally {
        if (web.process.pid && web.process.exitCode === null) process.kill(-web.process.pid, 'SIGKILL');
        await web.exited;
      }
    });

    it('with the wrong CA: refused, one line and exit 2; a value that is not a PEM certificate: a configuration error that does not repeat it', async () => {
      const runs = await Promise.all([
        salescale(['migrate'], { DATABASE_URL: url, DATABASE_CA_CERT: otherCa }),
        salescale(['migrate'], { DATABASE_URL: url, DATABASE_CA_CERT: 'not-a-certificate-secret' }),
        salescale(['migrate'], { DATABASE_URL: url, DATABASE_CA_CERT: ca.split('\n').filter((_, i) => i !== 5).join('\n') }), // a line lost in a copy
        salescale(['migrate'], { DATABASE_URL: url.replace('sslmode=require', 'sslmode=no-verify'), DATABASE_CA_CERT: ca }),
      ]);
      assertOneLine(runs[0], /^salescale: cannot reach a required service: .*(self-signed|unable to verify)/i, 'the wrong CA');
      assertOneLine(runs[1], /^salescale: configuration error: DATABASE_CA_CERT: is not a PEM certificate/, 'not PEM');
      assertOneLine(runs[2], /^salescale: configuration error: DATABASE_CA_CERT: /, 'a damaged certificate');
      assertOneLine(runs[3], /^salescale: configuration error: DATABASE_CA_CERT: DATABASE_URL turns certificate verification off \(sslmode=no-verify\)/, 'sslmode=no-verify with a CA');
      for (const r of runs) assert.ok(!r.stderr.includes('not-a-certificate-secret') && !r.stderr.includes(ca.split('\n')[1] ?? '') && !r.stderr.includes(otherCa.split('\n')[1] ?? ''), r.stderr);
    });
  });

  describe('salescale and pg\'s own PG* variables (what DATABASE_URL leaves out)', { concurrency: true }, () => {
    // A private PostgreSQL that requires a password (the shared one trusts every local connection), so a wrong
    // PGPASSWORD is refused for real.
    const PASSWORD = 'right-Pg-pa55word';
    const WRONG = 'wrong-Pg-pa55word-8d1f';
    let postgres: PrivatePostgres | undefined;
    let port = 0;
    before(async () => {
      const { writeFile } = await import('node:fs/promises');
      postgres = await startPrivatePostgres({
        prefix: 'salescale-password-pg-',
        async setUp(dir, own) {
          await writeFile(join(dir, 'pwfile'), `${PASSWORD}\n`);
          await own('pwfile');
        },
        initdbArgs: ['--auth=scram-sha-256', '--pwfile=pwfile'],
        client: () => ({ user: 'postgres', password: PASSWORD, database: 'postgres' }),
        async onReady(client) {
          await client.query('CREATE DATABASE shop_a');
          await client.query('CREATE DATABASE shop_b');
        },
      });
      port = postgres.port;
    });
    after(() => postgres?.stop());

    async function tablesIn(database: string): Promise<number> {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database });
      await client.connect();
      try {
        return (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]?.n ?? -1;
      } finally {
        await client.end();
      }
    }

    it('fill in only what DATABASE_URL leaves out: a URL without user, password and database name takes PGUSER, PGPASSWORD, PGDATABASE; a URL\'s own parts win', async () => {
      const bare = await salescale(['migrate'], { DATABASE_URL: `postgres://127.0.0.1:${port}`, PGUSER: 'postgres', PGPASSWORD: PASSWORD, PGDATABASE: 'shop_a' });
      assert.equal(bare.code, 0, bare.stderr);
      assert.match(bare.stdout, /^migrations applied: [1-9]/);
      assert.ok((await tablesIn('shop_a')) > 0, 'PGDATABASE named the database the URL left out');
      assert.equal(await tablesIn('shop_b'), 0);
      // The URL's database, user and password win over PGDATABASE, PGUSER and PGPASSWORD.
      const full = await salescale(['migrate'], {
        DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/shop_b`,
        PGUSER: 'no_such_role_salescale',
        PGPASSWORD: WRONG,
        PGDATABASE: 'no_such_database_salescale',
      });
      assert.equal(full.code, 0, full.stderr);
      assert.match(full.stdout, /^migrations applied: [1-9]/);
      assert.ok((await tablesIn('shop_b')) > 0, 'the URL\'s database was migrated');
    });

    it('a wrong PGPASSWORD, or one beside an unreachable host: one line and exit 2, never repeating the password', async () => {
      const refused = { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/shop_a`, PGPASSWORD: WRONG };
      const unreachable = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/shop_a', PGPASSWORD: WRONG };
      const unresolvable = { DATABASE_URL: 'postgres://postgres@no-such-host.invalid:5432/shop_a', PGPASSWORD: WRONG };
      const toolkit = ['forecast', '--year', '2026', '--json', '--no-progress'];
      const runs = await Promise.all([
        salescale(['migrate'], refused),
        salescale(toolkit, refused),
        salescale(['seed', '--products', '1'], refused),
        salescale(['queues'], { ...refused, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix() }),
        salescale(['migrate'], unreachable),
        salescale(['migrate'], unresolvable),
        salescale(toolkit, unresolvable),
      ]);
      for (const [i, r] of runs.entries()) {
        assertOneLine(r, i < 4 ? /^salescale: cannot reach a required service: .*password authentication failed for user "postgres"/ : /^salescale: cannot reach a required service: /, `run ${i}`);
        assert.ok(!r.stderr.includes(WRONG), `run ${i}: ${r.stderr}`);
      }
    });

    it('serve with a wrong PGPASSWORD: its log lines (debug and up) never hold the password', async () => {
      const { freePort } = await import('../platform/local/local-stack.ts');
      const web = spawn(process.execPath, [MAIN, 'serve'], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/shop_a`, PGPASSWORD: WRONG, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: testPrefix(), PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'debug' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      web.stdout?.on('data', (chunk) => { output += chunk; });
      web.stderr?.on('data', (chunk) => { output += chunk; });
      try {
        for (const started = Date.now(); !output.includes('password authentication failed') && Date.now() - started < 30_000; ) await new Promise((resolve) => setTimeout(resolve, 200));
        assert.match(output, /password authentication failed for user \\"postgres\\"/);
        assert.ok(!output.includes(WRONG), output);
      } finally {
        const exited = new Promise((resolve) => web.once('exit', resolve));
        if (web.pid) process.kill(-web.pid, 'SIGKILL');
        await exited;
      }
    });
  });
});
