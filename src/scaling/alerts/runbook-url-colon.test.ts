/**
 * `alerts --runbook-url ::::` was taken as a relative path and written into every rule's runbook_url. A
 * relative reference whose first segment holds a colon is not a path (RFC 3986 §4.2: it reads as a scheme), and
 * `::::` names no scheme either: it is refused like any other unusable URL, while relative paths (the default
 * docs/runbook.md) and absolute http(s) URLs are still taken. The colon is forbidden only in the first path
 * segment: a query may hold one, so `runbook.md?since=10:00` (path "runbook.md") is taken too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerAlertsCommand } from './alerts-cli.ts';
import { findRunbookUrlProblem } from './runbook-links.ts';

async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  registerAlertsCommand(program);
  try {
    await program.parseAsync(['node', 'salescale', 'alerts', ...args]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

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
