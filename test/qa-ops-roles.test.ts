/**
 * The `serve` and `worker` roles as an operator starts and stops them (the Procfile's commands): a bad setting is
 * one line and exit 2, SIGTERM stops them with exit 0, whatever state their start-up is in.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../src/platform/local/local-stack.ts';
import { createTestDatabase, deleteRedisKeys, TEST_REDIS_URL, type TestDatabase, testPrefix } from './helpers/db.ts';
import { killGroup } from './helpers/process-group.ts';

const MAIN = join(import.meta.dirname, '../src/main.ts');

interface Role {
  child: ChildProcess;
  /** stdout and stderr as they arrived (two pipes: their relative order is not kept). */
  output: () => string;
  /** stderr alone, where the CLI writes its one-line refusal (the logs go to stdout). */
  errors: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startRole(role: 'serve' | 'worker', env: Record<string, string>): Role {
  const child = spawn(process.execPath, [MAIN, role], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
    errors += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, errors: () => errors, exited };
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < ms; ) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function status(url: string): Promise<number> {
  return fetch(url).then(
    (res) => res.status,
    () => 0,
  );
}

/** The exit of `role`, or a message when it has not exited within `ms`. */
function exitWithin(role: Role, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | string> {
  return Promise.race([role.exited, new Promise<string>((resolve) => setTimeout(() => resolve(`still running after ${ms} ms`), ms).unref())]);
}

describe('qa-ops: the roles started with the documented commands', () => {
  let database: TestDatabase;
  const prefixes: string[] = [];
  const started: Role[] = [];
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    for (const role of started) if (role.child.pid) killGroup(role.child.pid);
    await database.drop();
    for (const prefix of prefixes) await Promise.all([deleteRedisKeys(`${prefix}:*`), deleteRedisKeys(`{${prefix}}:*`)]);
  });

  function envFor(extra: Record<string, string>): Record<string, string> {
    const prefix = testPrefix();
    prefixes.push(prefix);
    return { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, HOST: '127.0.0.1', ...extra };
  }

  it('serve with a HOST that is not an address of this machine: one line and exit 2 (was an EADDRNOTAVAIL stack trace, exit 1)', async () => {
    const role = startRole('serve', envFor({ HOST: '192.0.2.1', PORT: String(await freePort()) }));
    started.push(role);
    const exit = await exitWithin(role, 30_000);
    assert.deepEqual(exit, { code: 2, signal: null }, role.output());
    // The refusal is stderr's last line; the logs on stdout may arrive after it (two pipes).
    const last = role.errors().trim().split('\n').at(-1) ?? '';
    assert.match(last, /^salescale: .*192\.0\.2\.1/, role.output());
    assert.ok(!role.output().includes('    at '), `no stack trace: ${role.output()}`);
  });

  it('serve with a HOST that does not resolve: the line names HOST, not "a required service" (PostgreSQL and Redis were fine)', async () => {
    const role = startRole('serve', envFor({ HOST: 'no-such-host.invalid', PORT: String(await freePort()) }));
    started.push(role);
    const exit = await exitWithin(role, 30_000);
    assert.deepEqual(exit, { code: 2, signal: null }, role.output());
    const last = role.errors().trim().split('\n').at(-1) ?? '';
    assert.match(last, /^salescale: .*\bHOST\b/, `stderr's last line: ${last}`);
  });

  it('serve with SHUTDOWN_TIMEOUT_MS=0 (accepted at start-up): an idle web role stops on SIGTERM with exit 0 (it exited 1, "shutdown timed out", every time)', async () => {
    const port = await freePort();
    const role = startRole('serve', envFor({ SHUTDOWN_TIMEOUT_MS: '0', PORT: String(port) }));
    started.push(role);
    const ready = await waitFor(async () => (await status(`http://127.0.0.1:${port}/ready`)) === 200 || role.child.exitCode !== null, 30_000);
    assert.ok(ready, `serve never became ready: ${role.output()}`);
    if (role.child.exitCode !== null) {
      // Refusing the value at start-up is the other acceptable answer.
      assert.equal(role.child.exitCode, 2, role.output());
      assert.match(role.output(), /configuration error: SHUTDOWN_TIMEOUT_MS/);
      return;
    }
    role.child.kill('SIGTERM');
    const exit = await exitWithin(role, 30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, role.output());
  });

  it('worker whose REDIS_URL points at a closed port (it waits for Redis, as documented): SIGTERM stops it with exit 0 (it died of the signal, 143)', async () => {
    const port = await freePort();
    const closed = await freePort();
    const role = startRole('worker', envFor({ REDIS_URL: `redis://127.0.0.1:${closed}`, WORKER_PORT: String(port) }));
    started.push(role);
    const waiting = await waitFor(() => role.output().includes('queue Redis unreachable at start') || role.child.exitCode !== null, 30_000);
    assert.ok(waiting, `the worker never said it waits for Redis: ${role.output()}`);
    assert.equal(role.child.exitCode, null, `the worker keeps waiting for Redis: ${role.output()}`);
    role.child.kill('SIGTERM');
    const exit = await exitWithin(role, 30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, role.output().slice(-2000));
  });
});
