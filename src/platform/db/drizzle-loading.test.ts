import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const HOOK = path.join(ROOT, 'src/platform/db/drizzle-loading.ts');

// Registered after the hook under test, so it runs first and records what the rest of the chain (the hook, then
// Node's own resolution) answered for every import and require of the process.
const OBSERVER = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    seen.push([specifier, context.parentURL ?? '', context.conditions.join(','), resolved.url, resolved.format ?? null]);
    return resolved;
  },
});
globalThis.__resolutions = seen;
`;

/** Every resolution of a process importing the CLI and both roles (importing runs nothing), and the hook's own counts. */
async function resolutions(dir: string, withHook: boolean): Promise<{ seen: string[][]; counts?: { relative: number; bare: number } }> {
  const observer = path.join(dir, 'observer.mjs');
  await writeFile(observer, OBSERVER);
  const script = `
    for (const m of ['./src/cli/program.ts', './src/web/web-role.ts', './src/worker/worker-role.ts']) await import(m);
    const counts = ${withHook ? `(await import(${JSON.stringify(HOOK)})).drizzleLoadingCounts` : 'undefined'};
    process.stdout.write(JSON.stringify({ seen: globalThis.__resolutions, counts }));`;
  const args = [...(withHook ? ['--import', HOOK] : []), '--import', observer, '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return JSON.parse(stdout);
}

describe("drizzle-orm's modules found by the start-up hook", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'salescale-drizzle-loading-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves every import of the CLI and both roles to the same file and format as Node's own resolution, and answers most of drizzle-orm's itself", async () => {
    const [plain, hooked] = await Promise.all([resolutions(dir, false), resolutions(dir, true)]);
    const key = (entry: string[]) => JSON.stringify(entry);
    const plainSet = new Set(plain.seen.map(key));
    const hookedSet = new Set(hooked.seen.map(key));
    // The hook module itself is imported once more by the hooked process (to read its counts).
    const differing = [...hookedSet].filter((entry) => !plainSet.has(entry) && !entry.includes('drizzle-loading.ts'));
    const missing = [...plainSet].filter((entry) => !hookedSet.has(entry));
    assert.deepEqual({ differing: differing.slice(0, 5), missing: missing.slice(0, 5) }, { differing: [], missing: [] });
    const drizzleModules = plain.seen.filter(([, , , url]) => url!.includes('/node_modules/drizzle-orm/')).length;
    assert.ok(drizzleModules > 50, `the roles load ${drizzleModules} of drizzle-orm's modules`);
    // Most of them answered by the hook (all but the first bare import of each entry point): if a drizzle-orm release
    // changes its layout so that the hook no longer engages, this says so (start-up is then a second slower, not wrong).
    const answered = hooked.counts!.relative + hooked.counts!.bare;
    assert.ok(answered >= drizzleModules * 0.8, `the hook answered ${answered} of ${drizzleModules} resolutions of drizzle-orm's modules`);
  });
});
