/**
 * Debian tools the validation uses when present: `yamllint` (YAML syntax and style) and `promtool`
 * (from the `prometheus` package: alerting rules). Each returns `skipped` with a reason when the
 * tool is not installed, so that a machine without them still runs every other check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ToolResult {
  skipped?: string;
  problems: string[];
}

/** Long lines are normal in generated files (PromQL, user data); everything else is yamllint's default. */
export const YAMLLINT_CONFIG = '{extends: default, rules: {line-length: disable, document-start: disable}}';

function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0;
}

function withFiles<T>(files: readonly { path: string; content: string }[], fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'salescale-manifests-'));
  try {
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** yamllint in strict mode (warnings count) over the given files. */
export function runYamllint(files: readonly { path: string; content: string }[]): ToolResult {
  if (!hasTool('yamllint')) return { skipped: 'yamllint is not installed (Debian: apt-get install -y yamllint)', problems: [] };
  return withFiles(files, (dir) => {
    const r = spawnSync('yamllint', ['-s', '-f', 'parsable', '-d', YAMLLINT_CONFIG, ...files.map((f) => f.path)], { cwd: dir, encoding: 'utf8' });
    const problems = r.stdout.split('\n').filter(Boolean);
    if (r.status !== 0 && problems.length === 0) problems.push(`yamllint exited ${r.status}: ${r.stderr}`);
    return { problems };
  });
}

/** `promtool check rules` on a Prometheus rules file (YAML with `groups:`). */
export function runPromtoolCheckRules(rulesYaml: string): ToolResult {
  if (!hasTool('promtool')) return { skipped: 'promtool is not installed (Debian: apt-get install -y prometheus)', problems: [] };
  return withFiles([{ path: 'rules.yml', content: rulesYaml }], (dir) => {
    const r = spawnSync('promtool', ['check', 'rules', 'rules.yml'], { cwd: dir, encoding: 'utf8' });
    return { problems: r.status === 0 ? [] : [`${r.stdout}${r.stderr}`.trim()] };
  });
}

/**
 * `promtool check config` on a Prometheus configuration, with the rule files it names (by base name)
 * written beside it.
 */
export function runPromtoolCheckConfig(configYaml: string, ruleFiles: readonly { path: string; content: string }[]): ToolResult {
  if (!hasTool('promtool')) return { skipped: 'promtool is not installed (Debian: apt-get install -y prometheus)', problems: [] };
  const local = configYaml.replace(/\/etc\/prometheus\//g, '');
  const files = [{ path: 'prometheus.yml', content: local }, ...ruleFiles.map((f) => ({ path: f.path.split('/').pop() ?? f.path, content: f.content }))];
  return withFiles(files, (dir) => {
    const r = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    return { problems: r.status === 0 ? [] : [`${r.stdout}${r.stderr}`.trim()] };
  });
}
