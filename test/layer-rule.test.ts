import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..');
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

/**
 * The layer rule is held by `biome.json` (what `npm run check` runs). Each case lints a small tree laid
 * out like `src/` with the project's own configuration, in a temporary folder so that the real tree is
 * never touched.
 */
describe('layer rule (npm run check)', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'salescale-layers-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function lint(files: Record<string, string>): Promise<{ ok: boolean; output: string }> {
    const caseDir = mkdtempSync(path.join(dir, 'case-'));
    cpSync(path.join(ROOT, 'biome.json'), path.join(caseDir, 'biome.json'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(caseDir, file)), { recursive: true });
      writeFileSync(path.join(caseDir, file), text);
    }
    try {
      const { stdout, stderr } = await run(BIOME, ['lint', '--vcs-enabled=false', '--error-on-warnings', '--max-diagnostics=50', 'src'], { cwd: caseDir });
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  const exporting = (name: string) => `export const ${name} = 1;\n`;

  it('fails when a module imports the web role', async () => {
    const result = await lint({
      'src/web/error-handler.ts': exporting('handler'),
      'src/modules/orders/orders.service.ts': `import { handler } from '../../web/error-handler.ts';\nexport const service = handler;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /noRestrictedImports/);
    assert.match(result.output, /orders\.service\.ts/);
  });

  it('fails when platform imports a module', async () => {
    const result = await lint({
      'src/modules/orders/orders.tables.ts': exporting('orders'),
      'src/platform/db/schema.ts': `import { orders } from '../../modules/orders/orders.tables.ts';\nexport const schema = orders;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /platform\/ holds adapters/);
  });

  it('fails when the kernel imports anything of ours', async () => {
    const result = await lint({
      'src/platform/db/errors.ts': exporting('pgError'),
      'src/shared/errors.ts': `import { pgError } from '../platform/db/errors.ts';\nexport const e = pgError;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /kernel/);
  });

  it('fails when a module route imports the web role', async () => {
    const result = await lint({
      'src/web/server.ts': exporting('buildServer'),
      'src/modules/orders/orders.routes.ts': `import { buildServer } from '../../web/server.ts';\nexport const routes = buildServer;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /noRestrictedImports/);
  });

  it('fails when the scaling toolkit imports a role', async () => {
    const result = await lint({
      'src/cli/program.ts': exporting('program'),
      'src/scaling/cli.ts': `import { program } from '../cli/program.ts';\nexport const cli = program;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /scaling toolkit is a library/);
  });

  it('fails on an import cycle', async () => {
    const result = await lint({
      'src/modules/orders/a.ts': `import { b } from './b.ts';\nexport const a = () => b;\n`,
      'src/modules/orders/b.ts': `import { a } from './a.ts';\nexport const b = () => a;\n`,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /noImportCycles/);
  });

  it('passes imports that point down (routes → platform/http, modules → platform → shared)', async () => {
    const result = await lint({
      'src/shared/errors.ts': exporting('DomainError'),
      'src/platform/db/client.ts': `import { DomainError } from '../../shared/errors.ts';\nexport const client = DomainError;\n`,
      'src/platform/http/schemas.ts': exporting('IdParams'),
      'src/modules/orders/orders.service.ts': `import { client } from '../../platform/db/client.ts';\nexport const service = client;\n`,
      'src/modules/orders/orders.routes.ts': `import { IdParams } from '../../platform/http/schemas.ts';\nimport { service } from './orders.service.ts';\nexport const routes = [IdParams, service];\n`,
      'src/web/server.ts': `import { routes } from '../modules/orders/orders.routes.ts';\nexport const server = routes;\n`,
    });
    assert.equal(result.ok, true, result.output);
  });
});
