import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.join(import.meta.dirname, '..');
const MAIN = path.join(ROOT, 'src/main.ts');

// Preloaded into the child: records every module URL it loads and prints the list to stderr at exit.
const RECORD_LOADS = `data:text/javascript,${encodeURIComponent(
  `import { registerHooks } from 'node:module';
   const loaded = [];
   registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
   process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(loaded) + '\\n'));`,
)}`;

/** Every URL a fresh process loads importing `modules` (files under src/), without running anything. */
function loadedBy(modules: string[]): string[] {
  const code = modules.map((m) => `await import(${JSON.stringify(new URL(`../src/${m}`, import.meta.url).href)});`).join('');
  const child = spawnSync(process.execPath, ['--import', RECORD_LOADS, '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  const line = /\nLOADED (.*)\n/.exec(child.stderr)?.[1];
  assert.ok(line, `no module list: ${child.stderr}`);
  return JSON.parse(line) as string[];
}

/** Runs `salescale <args>` and returns its stdout and the source files (relative to the checkout) it loaded. */
function run(args: string[]): { stdout: string; sources: string[] } {
  const child = spawnSync(process.execPath, ['--import', RECORD_LOADS, MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OTEL_SDK_DISABLED: 'true' } });
  const line = /\nLOADED (.*)\n/.exec(child.stderr)?.[1];
  assert.ok(line, `no module list: ${child.stderr}`);
  const sources = (JSON.parse(line) as string[]).filter((url) => url.startsWith('file:') && !url.includes('/node_modules/')).map((url) => path.relative(ROOT, new URL(url).pathname));
  return { stdout: child.stdout, sources };
}

describe('what a role command loads before it runs', () => {
  it('loads none of the scaling toolkit for `serve` and `worker` (its command definitions load only for the other commands)', () => {
    for (const command of ['serve', 'worker']) {
      const { sources } = run([command, '--help']);
      assert.ok(sources.includes('src/cli/program.ts'), `${command}: the CLI itself was not loaded`);
      const toolkit = sources.filter((file) => file.startsWith('src/scaling/') && file !== 'src/scaling/errors.ts');
      assert.deepEqual(toolkit, [], `${command} loaded the scaling toolkit`);
    }
  });

  it('still lists and runs the toolkit commands', () => {
    const { stdout } = run(['--help']);
    for (const command of ['forecast', 'plan', 'simulate', 'alerts', 'manifests', 'hpa']) assert.match(stdout, new RegExp(`^  ${command}\\b`, 'm'), `--help lacks ${command}`);
    const forecast = run(['forecast', '--help']);
    assert.match(forecast.stdout, /--history/);
    assert.ok(forecast.sources.includes('src/scaling/cli.ts'));
  });

  it('loads the Stripe SDK only when PAYMENT_PROVIDER=stripe: not with the roles\' composition roots', () => {
    const stripe = loadedBy(['web/web-role.ts', 'worker/worker-role.ts']).filter((url) => url.includes('/node_modules/stripe/'));
    assert.deepEqual(stripe.slice(0, 3), [], 'the roles loaded the Stripe SDK');
  });

  it('the worker role loads no HTTP routes and no request schemas (typebox)', () => {
    const loaded = loadedBy(['worker/worker-role.ts']);
    const http = loaded.filter((url) => /\/src\/(modules\/[^/]+\/[^/]+\.routes\.ts|web\/)/.test(url) || url.includes('/node_modules/typebox/'));
    assert.deepEqual(http.slice(0, 5), [], 'the worker role loaded routes or typebox');
  });

  it('loads nodemailer at the first mail, not with the worker role', () => {
    const mail = loadedBy(['worker/worker-role.ts']).filter((url) => url.includes('/node_modules/nodemailer/'));
    assert.deepEqual(mail.slice(0, 3), [], 'the worker role loaded nodemailer at start');
  });

  it('the web role loads no job processors (they are the worker\'s: each module\'s processors.ts entry)', () => {
    const processors = loadedBy(['web/web-role.ts']).filter((url) => /\/src\/.*processors\.ts$/.test(url));
    assert.deepEqual(processors, [], 'the web role loaded job processors');
  });

  it('the worker role still loads every module\'s job processors', () => {
    const processors = loadedBy(['worker/worker-role.ts'])
      .filter((url) => /\/src\/.*processors\.ts$/.test(url))
      .map((url) => path.basename(new URL(url).pathname));
    for (const file of ['orders.processors.ts', 'payments.processors.ts', 'inventory.processors.ts', 'notifications.processors.ts', 'analytics.processors.ts', 'degrade-mode.processors.ts']) {
      assert.ok(processors.includes(file), `the worker role did not load ${file}`);
    }
  });

  it('the web role loads Bull Board at the dashboard\'s first request, not at start-up', () => {
    const board = loadedBy(['web/web-role.ts', 'web/server.ts']).filter((url) => url.includes('/node_modules/@bull-board/'));
    assert.deepEqual(board.slice(0, 3), [], 'the web role loaded Bull Board at start');
  });
});
