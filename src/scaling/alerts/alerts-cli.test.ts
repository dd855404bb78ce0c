import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { ALERT_RULES } from './alert-rules.ts';
import { ALERT_FIXTURES } from './alert-rules.fixtures.ts';
import { registerAlertsCommand } from './alerts-cli.ts';
import { findRunbookUrlProblem } from './runbook-links.ts';

async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('salescale').exitOverride().showHelpAfterError().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  registerAlertsCommand(program);
  try {
    await program.parseAsync(['node', 'salescale', 'alerts', ...args]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

describe('salescale alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'salescale-alerts-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the rules, their tests, the recording rules and the dashboard', async () => {
    const files = ['rules.yml', 'rules.test.yml', 'recording.yml', 'dashboard.json'].map((f) => join(dir, 'ok', f));
    mkdirSync(join(dir, 'ok'));
    const r = await run(['--out', files[0], '--tests', files[1], '--recording', files[2], '--dashboard', files[3]]);
    assert.equal(r.exitCode, 0, r.err);
    assert.deepEqual(readdirSync(join(dir, 'ok')).sort(), ['dashboard.json', 'recording.yml', 'rules.test.yml', 'rules.yml'], 'no temporary file is left');
    for (const f of files) assert.ok(existsSync(f), f);
  });

  it('links every alert under --runbook-url, in the rules and in their promtool expectations', async () => {
    mkdirSync(join(dir, 'links'));
    const [rules, tests] = ['rules.yml', 'rules.test.yml'].map((f) => join(dir, 'links', f));
    const url = 'https://docs.example.com/salescale/runbook';
    const r = await run(['--out', rules!, '--tests', tests!, '--runbook-url', url]);
    assert.equal(r.exitCode, 0, r.err);
    const links = [...readFileSync(rules!, 'utf8').matchAll(/runbook_url: (\S+)/g)].map((m) => m[1]);
    assert.equal(links.length, ALERT_RULES.length);
    assert.deepEqual(links.sort(), ALERT_RULES.map((rule) => `${url}#${rule.name.toLowerCase()}`).sort());
    // One firing expectation per rule, plus one per extra firing case of its fixture.
    const firing = ALERT_RULES.length + Object.values(ALERT_FIXTURES).reduce((n, f) => n + (f.cases?.length ?? 0), 0);
    assert.equal([...readFileSync(tests!, 'utf8').matchAll(new RegExp(`runbook_url: ${url}#`, 'g'))].length, firing);
  });

  it('writes the Alertmanager configuration with the receivers given, and refuses a receiver that is not an http(s) URL', async () => {
    mkdirSync(join(dir, 'am'));
    const file = join(dir, 'am', 'alertmanager.yml');
    const r = await run(['--alertmanager', file, '--paging-url', 'https://events.example.com/page', '--chat-url', 'https://hooks.example.com/chat']);
    assert.equal(r.exitCode, 0, r.err);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /url: https:\/\/events\.example\.com\/page/);
    assert.match(text, /url: https:\/\/hooks\.example\.com\/chat/);
    assert.doesNotMatch(text, /PLACEHOLDER|\.invalid/);
    const bad = await run(['--alertmanager', join(dir, 'am', 'bad.yml'), '--paging-url', 'ftp://pager']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.err, /^error \[INVALID_OPTION\]: --paging-url "ftp:\/\/pager" must be an http\(s\) URL/);
    assert.equal(existsSync(join(dir, 'am', 'bad.yml')), false);
  });

  it('refuses --paging-url or --chat-url without --alertmanager, the only file they go into (they were ignored and the rules written, exit 0)', async () => {
    for (const [flag, url] of [['--paging-url', 'https://events.example.com/page'], ['--chat-url', 'https://hooks.example.com/chat']]) {
      const out = join(dir, `no-am${flag}.yml`);
      const r = await run(['--out', out, flag, url]);
      assert.equal(r.exitCode, 2, flag);
      assert.equal(r.err, `error [INVALID_OPTION]: ${flag} is a receiver of the Alertmanager configuration: give it with --alertmanager <file>\n`);
      assert.equal(existsSync(out), false);
    }
  });

  it('refuses a --runbook-url with a fragment: one line, exit 2, nothing written', async () => {
    const out = join(dir, 'fragment.yml');
    const r = await run(['--out', out, '--runbook-url', 'docs/runbook.md#top']);
    assert.equal(r.exitCode, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^error \[INVALID_OPTION\]: --runbook-url "docs\/runbook\.md#top" must not hold a fragment/);
    assert.equal(existsSync(out), false);
  });

  for (const [what, target] of [
    ['a folder that does not exist', () => join(dir, 'missing', 'rules.yml')],
    ['a folder', () => dir],
    ['a path under a file', () => join(dir, 'plain.txt', 'rules.yml')],
  ] as const) {
    it(`an output path into ${what} is one line and exit 2, and no other output file is written`, async () => {
      writeFileSync(join(dir, 'plain.txt'), 'x');
      const partial = join(dir, `partial-${what.length}`);
      mkdirSync(partial);
      // The unwritable path comes last: the files before it must not be left behind.
      const r = await run(['--out', join(partial, 'rules.yml'), '--recording', join(partial, 'recording.yml'), '--dashboard', target()]);
      assert.equal(r.exitCode, 2);
      assert.equal(r.out, '');
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /^error \[UNWRITABLE_OUTPUT\]: cannot write /);
      assert.deepEqual(readdirSync(partial), []);
    });
  }

  it('refuses two outputs named to one file (one would overwrite the other): one line, exit 2, nothing written', async () => {
    const same = join(dir, 'same');
    mkdirSync(same);
    const r = await run(['--out', join(same, 'rules.yml'), '--tests', join(same, '.', 'rules.yml'), '--dashboard', join(same, 'dashboard.json')]);
    assert.equal(r.exitCode, 2, `both were "written" to one file: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^error \[INVALID_OPTION\]: .*rules\.yml.* and .*rules\.yml name the same file/);
    assert.deepEqual(readdirSync(same), []);
  });

  it('through the real program: a missing folder is one line and exit 2, nothing on stdout', async () => {
    const real = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(import.meta.dirname, '../../main.ts'), 'alerts', '--tests', join(dir, 'missing', 't.yml')], (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    assert.equal(real.code, 2, real.stderr);
    assert.equal(real.stdout, '', 'the rules are not printed when a file cannot be written');
    assert.equal(real.stderr.trim().split('\n').length, 1, real.stderr);
    assert.match(real.stderr, /^error \[UNWRITABLE_OUTPUT\]: cannot write .*t\.yml: its folder does not exist/);
  });
});

/**
 * `alerts --runbook-url ::::` was taken as a relative path and written into every rule's runbook_url. A
 * relative reference whose first segment holds a colon is not a path (RFC 3986 §4.2: it reads as a scheme), and
 * `::::` names no scheme either: it is refused like any other unusable URL, while relative paths (the default
 * docs/runbook.md) and absolute http(s) URLs are still taken. The colon is forbidden only in the first path
 * segment: a query may hold one, so `runbook.md?since=10:00` (path "runbook.md") is taken too.
 */
describe('alerts --runbook-url with a colon before any slash', () => {
  for (const url of ['::::', ':runbook', 'docs:runbook.md', '1http://x/runbook']) {
    it(`refuses ${url} with one error line, exit 2`, async () => {
      assert.ok(findRunbookUrlProblem(url), url);
      const r = await run(['--runbook-url', url]);
      assert.equal(r.exitCode, 2, `${url}: exit ${r.exitCode}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^error \[INVALID_OPTION\]: --runbook-url [^\n]+\n$/);
    });
  }

  for (const url of ['docs/runbook.md', '../runbook.md', '/runbook.md', 'docs/a:b.md', 'runbook.md?since=10:00', 'https://docs.example.com/runbook']) {
    it(`still takes ${url}`, () => {
      assert.equal(findRunbookUrlProblem(url), undefined, url);
    });
  }
});
