/**
 * A structural check of the Dockerfile (no Docker engine or hadolint here): what matters for
 * running it in production, i.e. multi-stage, Node 24 base, non-root user, a HEALTHCHECK on /health,
 * production dependencies only, the role command of the manifests, and a .dockerignore that keeps
 * secrets, node_modules and tests out of the build context.
 */

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 });
  }
  return out;
}

function execForm(args: string): string[] | undefined {
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
}

export interface DockerfileExpectations {
  /** argv of the default role, e.g. `node src/main.ts serve`. */
  defaultCommand: string[];
  /** Port the HEALTHCHECK's default must use (the web port). */
  webPort: number;
}

/** Problems found (empty when the Dockerfile is fine). */
export function checkDockerfile(text: string, dockerignore: string, expect: DockerfileExpectations): string[] {
  const problems: string[] = [];
  const all = parseDockerfile(text);
  const args = new Map<string, string>();
  for (const ins of all) {
    if (ins.op !== 'ARG') continue;
    const [name, value] = ins.args.split('=');
    if (value !== undefined) args.set(name.trim(), value.trim());
  }
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? '');
  const stages: Instruction[][] = [];
  for (const ins of all) {
    if (ins.op === 'FROM') stages.push([ins]);
    else stages.at(-1)?.push(ins);
  }
  if (stages.length < 2) problems.push('not multi-stage: dependencies should be installed in a stage of their own');
  const final = stages.at(-1) ?? [];
  const base = expand(final[0]?.args.split(/\s+/)[0] ?? '');
  if (!/^node:24([.-]|$)/.test(base)) problems.push(`final stage must be based on node:24 (got "${base}")`);

  const user = final.filter((i) => i.op === 'USER').at(-1);
  if (!user) problems.push('no USER in the final stage: the app would run as root');
  else if (/^(root|0)(:|$)/.test(user.args)) problems.push(`final stage runs as ${user.args}`);
  const cmd = final.filter((i) => i.op === 'CMD').at(-1);
  if (user && cmd && user.line > cmd.line) problems.push('USER comes after CMD');

  const health = final.filter((i) => i.op === 'HEALTHCHECK').at(-1);
  if (!health) problems.push('no HEALTHCHECK in the final stage');
  else {
    if (/^NONE$/i.test(health.args)) problems.push('HEALTHCHECK is disabled');
    if (!health.args.includes('/health')) problems.push('HEALTHCHECK does not probe /health');
    if (!health.args.includes(String(expect.webPort))) problems.push(`HEALTHCHECK does not default to the web port ${expect.webPort}`);
  }

  for (const ins of all.filter((i) => i.op === 'RUN')) {
    for (const m of ins.args.matchAll(/npm\s+(ci|install|i)\b([^&|;]*)/g)) {
      if (!/--omit=dev|--omit dev|--production|--only=prod/.test(m[2])) problems.push(`line ${ins.line}: "npm ${m[1]}" installs dev dependencies (add --omit=dev)`);
    }
  }
  for (const ins of final.filter((i) => i.op === 'COPY')) {
    if (/^(--\S+\s+)*\.\s+\S+$/.test(ins.args)) problems.push(`line ${ins.line}: COPY of the whole build context into the final stage`);
  }
  const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
  if (!/NODE_ENV=production/.test(env)) problems.push('final stage does not set NODE_ENV=production');
  if (final.some((i) => i.op === 'ENTRYPOINT')) problems.push('ENTRYPOINT is set: the manifests give each role its whole argv as the command');
  const argv = cmd ? execForm(cmd.args) : undefined;
  if (!argv) problems.push('CMD must be in exec form (JSON array), so that node is PID 1 and receives SIGTERM');
  else if (argv.join(' ') !== expect.defaultCommand.join(' ')) problems.push(`CMD is ${argv.join(' ')}, expected ${expect.defaultCommand.join(' ')}`);

  const ignored = new Set(dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  for (const entry of ['node_modules', '.git', '.env']) if (!ignored.has(entry)) problems.push(`.dockerignore does not exclude ${entry}`);
  return problems;
}
