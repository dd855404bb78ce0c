import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../src/platform/local/local-stack.ts';

/**
 * `salescale up` as a user runs it: a real process with its own embedded PostgreSQL and redis-server
 * under a private data folder, stopped by a terminal's Ctrl-C (SIGINT to the whole process group) or by
 * a process manager's SIGTERM to `up` alone.
 */
const repo = path.resolve(import.meta.dirname, '..');
const READY_LINE = 'Stop       Ctrl-C';

interface Up {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const started: ChildProcess[] = [];
const dataDirs: string[] = [];

function startUp(dataDir: string, extraEnv: Record<string, string> = {}): Up {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development' };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'DATABASE_READ_URL', 'METRICS_PORT', 'SMTP_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']) delete env[name];
  Object.assign(env, extraEnv);
  // detached: its own process group, as a terminal gives the foreground job.
  const child = spawn(process.execPath, ['src/main.ts', 'up'], { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean, timeoutMs: number, what: string, up?: Up): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms${up ? `; output:\n${up.output()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function processGroupOf(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after the ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** The local servers of `up` by their pid files: postmaster.pid's first line, redis.pid. */
function serverPids(dataDir: string): { postgres: number; redis: number } {
  return {
    postgres: Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
    redis: Number(readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')),
  };
}

/** Every process serving `dataDir`: postgres names it on its command line, redis-server runs in it (--dir). */
async function processesOf(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
      if (commandLine.includes(dataDir) || cwd.startsWith(dataDir)) found.push(`${entry} ${commandLine}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Log lines (pino JSON) at warn (40) or above, and any line that is not JSON, in `text`. */
function warningsIn(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 40;
      } catch {
        return true;
      }
    });
}

async function stopWith(up: Up, signal: NodeJS.Signals, target: 'group' | 'process'): Promise<{ code: number | null; after: string }> {
  const at = up.output().length;
  process.kill(target === 'group' ? -up.child.pid! : up.child.pid!, signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`up did not exit within 60 s of ${signal}; output:\n${up.output()}`)), 60_000);
  });
  try {
    return { code: await Promise.race([up.exited, timeout]), after: up.output().slice(at) };
  } finally {
    clearTimeout(timer);
  }
}

/** Stops `up` with `signal` and asserts a clean stop: exit 0, no warning after the signal, the servers gone. */
async function assertStopsCleanly(up: Up, signal: NodeJS.Signals, target: 'group' | 'process', dataDir: string, servers: number[]): Promise<string> {
  const { code, after: afterSignal } = await stopWith(up, signal, target);
  assert.equal(code, 0, afterSignal);
  assert.deepEqual(warningsIn(afterSignal), []);
  for (const pid of servers) assert.equal(isAlive(pid), false, `server ${pid} stopped`);
  assert.deepEqual(await processesOf(dataDir), []);
  return afterSignal;
}

/** A PostgreSQL ErrorResponse message of severity FATAL (protocol 3: 'E', length, fields each a type byte and a C string). */
function pgFatal(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/** A loopback port free a moment ago (for a variable that takes no 0). */
async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'salescale-up-'));
  await chmod(dir, 0o755); // as root, PostgreSQL runs as the postgres user, which must enter it
  dataDirs.push(dir);
  return dir;
}

after(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  for (const dir of dataDirs) {
    // Servers left by a failed test: stop them as `up` would (fast shutdown for postgres), then remove the data.
    for (const [file, signal] of [
      [path.join(dir, 'postgres', 'postmaster.pid'), 'SIGINT'],
      [path.join(dir, 'redis', 'redis.pid'), 'SIGTERM'],
    ] as const) {
      if (!existsSync(file)) continue;
      const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
      if (pid > 0 && isAlive(pid)) process.kill(pid, signal);
      await until(() => !(pid > 0 && isAlive(pid)), 15_000, `pid ${pid} stopped`).catch(() => process.kill(pid, 'SIGKILL'));
    }
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * As root, PostgreSQL runs as the `postgres` user, which must enter every folder above the checkout's
 * binaries; `up` refuses to start otherwise (its own test of that is the message it prints).
 */
function checkoutClosedToOthers(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let dir = repo; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `as root, embedded PostgreSQL cannot run from this checkout: ${dir} is closed to other users`;
  }
  return undefined;
}

describe('salescale up', { skip: checkoutClosedToOthers() }, () => {
  it('on Ctrl-C (SIGINT to its process group) stops the app before its local services, without a warning, and leaves no process', async () => {
    // With METRICS_PORT, /metrics is served there alone: the printed Metrics address named PORT's (404). The port is
    // found free here and bound by `up` later: taken meanwhile by another test file's server, `up` exits (cannot
    // listen … EADDRINUSE), and it is started again on another port.
    let dataDir = '';
    let metricsPort = 0;
    let up!: Up;
    for (let attempt = 1; ; attempt++) {
      dataDir = await newDataDir();
      metricsPort = await freePort();
      const started = startUp(dataDir, { METRICS_PORT: String(metricsPort) });
      up = started;
      await until(() => started.output().includes(READY_LINE) || started.child.exitCode !== null || started.child.signalCode !== null, 120_000, 'up ready', started);
      if (started.output().includes(READY_LINE)) break;
      await started.exited;
      if (attempt >= 5 || !started.output().includes('EADDRINUSE')) throw new Error(`up exited (${started.child.exitCode ?? started.child.signalCode}) before it was ready:\n${started.output()}`);
    }
    const metricsUrl = /Metrics\s+(\S+)/.exec(up.output())?.[1];
    assert.equal(metricsUrl, `http://127.0.0.1:${metricsPort}/metrics`, up.output());
    assert.equal((await fetch(metricsUrl)).status, 200);
    // The admin token is not printed (output that lands in a shipped log would carry it): the line names its file.
    const secrets = path.join(dataDir, 'secrets.json');
    const token = (JSON.parse(readFileSync(secrets, 'utf8')) as { ADMIN_API_TOKEN: string }).ADMIN_API_TOKEN;
    assert.equal(up.output().includes(token), false, 'the admin token is not in the output');
    assert.ok(up.output().split('\n').some((line) => /^\s+Admin\s/.test(line) && line.includes(secrets)), up.output());
    const pids = serverPids(dataDir);
    // The root of the fix: the local services are not in the terminal's foreground group, so Ctrl-C reaches `up` alone.
    assert.notEqual(processGroupOf(pids.postgres), up.child.pid);
    assert.notEqual(processGroupOf(pids.redis), up.child.pid);

    // Each role's log lines carry its own name, though both run in this one process. The worker role may log that it
    // runs a moment after the ready line.
    await until(() => up.output().includes('worker role running'), 30_000, 'worker role running', up);
    const lines = up.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { name?: string; msg?: string });
    assert.equal(lines.find((line) => line.msg === 'web role listening')?.name, 'web');
    assert.equal(lines.find((line) => line.msg === 'worker role running')?.name, 'worker');

    assert.match(await assertStopsCleanly(up, 'SIGINT', 'group', dataDir, [pids.postgres, pids.redis]), /web role stopped/);
  });

  it('on Ctrl-C during startup, once PostgreSQL runs, stops what it started and leaves no process', async () => {
    const dataDir = await newDataDir();
    const up = startUp(dataDir);
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').split('\n').length > 1, 120_000, 'postgres started', up);
    const postgres = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    await assertStopsCleanly(up, 'SIGINT', 'group', dataDir, [postgres]);
  });

  it('with PORT taken, says so in one line and exits 2 before starting PostgreSQL or Redis', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const dataDir = await newDataDir();
      const up = startUp(dataDir, { PORT: String(port) });
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([up.exited, new Promise((resolve) => (timer = setTimeout(resolve, 120_000, 'still running')))]).finally(() => clearTimeout(timer));
      assert.equal(code, 2, up.output());
      assert.deepEqual(up.output().trim().split('\n'), [`salescale: cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port} (choose another PORT)`]);
      assert.equal(existsSync(path.join(dataDir, 'postgres')), false, 'PostgreSQL was not started');
      assert.deepEqual(await processesOf(dataDir), []);
    } finally {
      holder.close();
    }
  });

  it('a start-up step failing after Ctrl-C (migrations refused) is still said in one line with exit 2, not exit 0 without a word', async () => {
    // A PostgreSQL that takes the connection, holds it until the test says, then refuses it as a server would:
    // the signal is sent while the migration step is under way, and acknowledged by `up` before the step fails.
    const sockets: Socket[] = [];
    const fake = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = fake.address() as AddressInfo;
      const dataDir = await newDataDir();
      const up = startUp(dataDir, { DATABASE_URL: `postgres://salescale@127.0.0.1:${port}/up_interrupted`, REDIS_URL: 'redis://127.0.0.1:6379' });
      await until(() => sockets.length > 0, 60_000, 'the migration step connecting', up);
      process.kill(-up.child.pid!, 'SIGINT');
      await until(() => up.output().includes('start-up interrupted'), 30_000, 'the signal acknowledged', up);
      sockets[0].end(pgFatal('3D000', 'database "up_interrupted" does not exist'));
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([up.exited, new Promise((resolve) => (timer = setTimeout(resolve, 60_000, 'still running')))]).finally(() => clearTimeout(timer));
      assert.equal(code, 2, up.output());
      assert.deepEqual(
        up.output().trim().split('\n').filter((line) => !line.startsWith('{')),
        ['salescale: cannot reach a required service: database "up_interrupted" does not exist'],
      );
      assert.deepEqual(await processesOf(dataDir), []);
    } finally {
      for (const socket of sockets) socket.destroy();
      fake.close();
    }
  });

  it('with DATA_DIR unusable, says so in one line naming DATA_DIR and exits 2, starting nothing', async () => {
    const parent = await newDataDir();
    const file = path.join(parent, 'a-file');
    await writeFile(file, '');
    const up = startUp(path.join(file, 'data')); // ENOTDIR, as EACCES for a folder the user cannot write
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([up.exited, new Promise((resolve) => (timer = setTimeout(resolve, 60_000, 'still running')))]).finally(() => clearTimeout(timer));
    assert.equal(code, 2, up.output());
    const lines = up.output().trim().split('\n');
    assert.equal(lines.length, 1, up.output());
    assert.match(lines[0], /^salescale: DATA_DIR .*a-file\/data cannot be used: ENOTDIR/);
    assert.deepEqual(await processesOf(parent), []);
  });

  it('with a broken DATA_DIR/secrets.json, says which file in one line and exits 2, starting nothing', async () => {
    for (const content of ['{', 'null']) {
      const dataDir = await newDataDir();
      await writeFile(path.join(dataDir, 'secrets.json'), content);
      const up = startUp(dataDir);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([up.exited, new Promise((resolve) => (timer = setTimeout(resolve, 60_000, 'still running')))]).finally(() => clearTimeout(timer));
      assert.equal(code, 2, up.output());
      const lines = up.output().trim().split('\n');
      assert.equal(lines.length, 1, up.output());
      assert.match(lines[0], new RegExp(`^salescale: ${path.join(dataDir, 'secrets.json')} is not a JSON object of secrets .*: fix it, or remove it`), content);
      assert.equal(existsSync(path.join(dataDir, 'postgres')), false, 'PostgreSQL was not started');
    }
  });

  it('a DATA_DIR/secrets.json without the admin token (edited by hand) gets one written into it, and the Admin line names the file', async () => {
    const dataDir = await newDataDir();
    const secrets = path.join(dataDir, 'secrets.json');
    // Edited by hand and left readable by everyone (as an editor or a copy may leave it).
    await writeFile(secrets, JSON.stringify({ SESSION_SECRET: 'kept-session-secret-of-at-least-32-characters' }));
    await chmod(secrets, 0o644);
    const up = startUp(dataDir);
    await until(() => up.output().includes(READY_LINE), 120_000, 'up ready', up);
    assert.equal((statSync(secrets).mode & 0o777).toString(8), '600', 'the file holding the admin token is the owner\'s alone');
    const stored = JSON.parse(readFileSync(secrets, 'utf8')) as { ADMIN_API_TOKEN?: string; SESSION_SECRET?: string };
    assert.equal(stored.SESSION_SECRET, 'kept-session-secret-of-at-least-32-characters', 'the secret in the file is kept');
    assert.ok(typeof stored.ADMIN_API_TOKEN === 'string' && stored.ADMIN_API_TOKEN.length >= 16, `a token was written: ${JSON.stringify(stored)}`);
    assert.ok(up.output().split('\n').some((line) => /^\s+Admin\s/.test(line) && line.includes(secrets)), up.output());
    const port = new URL(/Storefront\s+(\S+)/.exec(up.output())![1]!).port;
    const admin = await fetch(`http://127.0.0.1:${port}/api/v1/admin/mode`, { headers: { authorization: `Bearer ${stored.ADMIN_API_TOKEN}` } });
    assert.equal(admin.status, 200, 'the token written into the file is the one the admin API takes');
    const pids = serverPids(dataDir);
    await assertStopsCleanly(up, 'SIGINT', 'group', dataDir, [pids.postgres, pids.redis]);
  });

  it('without redis-server on PATH, says so in one line and exits 2 before initialising PostgreSQL', async () => {
    const dataDir = await newDataDir();
    const bin = path.join(dataDir, 'bin'); // a PATH with a shell and nothing else
    await mkdir(bin);
    await symlink('/bin/sh', path.join(bin, 'sh'));
    const up = startUp(path.join(dataDir, 'data'), { PATH: bin });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([up.exited, new Promise((resolve) => (timer = setTimeout(resolve, 60_000, 'still running')))]).finally(() => clearTimeout(timer));
    assert.equal(code, 2, up.output());
    assert.match(up.output(), /^salescale: redis-server was not found on PATH\./m);
    assert.equal(existsSync(path.join(dataDir, 'data', 'postgres')), false, 'PostgreSQL was not initialised');
  });

  it('a second up on the same DATA_DIR (another PORT) refuses in one line and leaves the first one serving', async () => {
    const dataDir = await newDataDir();
    const first = startUp(dataDir);
    await until(() => first.output().includes(READY_LINE), 120_000, 'first up ready', first);
    const pids = serverPids(dataDir);
    const second = startUp(dataDir);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([second.exited, new Promise((resolve) => (timer = setTimeout(resolve, 60_000, 'still running')))]).finally(() => clearTimeout(timer));
    assert.equal(code, 2, second.output());
    assert.deepEqual(second.output().trim().split('\n'), [
      `salescale: another salescale up (pid ${first.child.pid}) is running on DATA_DIR ${dataDir}: stop it first, or set DATA_DIR to another folder`,
    ]);
    assert.equal(isAlive(pids.postgres), true, "the first up's postgres still runs");
    assert.equal(isAlive(pids.redis), true, "the first up's redis-server still runs");
    const url = /Health\s+(\S+)/.exec(first.output())?.[1];
    assert.equal((await fetch(url!)).status, 200);
    await assertStopsCleanly(first, 'SIGTERM', 'process', dataDir, [pids.postgres, pids.redis]);
  });

  it('after a SIGKILL of up, the next up stops the servers it left running, and SIGTERM stops it cleanly', async () => {
    const dataDir = await newDataDir();
    const first = startUp(dataDir);
    await until(() => first.output().includes(READY_LINE), 120_000, 'first up ready', first);
    const leftover = serverPids(dataDir);
    process.kill(first.child.pid!, 'SIGKILL'); // `up` alone: nothing of it runs on the way out
    await first.exited;
    assert.equal(isAlive(leftover.postgres), true, 'the detached postgres outlives a SIGKILL of up');
    assert.equal(isAlive(leftover.redis), true, 'the detached redis-server outlives a SIGKILL of up');

    const second = startUp(dataDir);
    await until(() => second.output().includes(READY_LINE), 120_000, 'second up ready', second);
    assert.equal(isAlive(leftover.postgres), false);
    assert.equal(isAlive(leftover.redis), false);
    const pids = serverPids(dataDir);

    assert.match(await assertStopsCleanly(second, 'SIGTERM', 'process', dataDir, [pids.postgres, pids.redis]), /web role stopped/);
  });
});
