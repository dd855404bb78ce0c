// How drizzle-orm's modules are found when a process starts.
//
// Node 24 decides the format of every `.js` module it loads from the nearest package.json, and reads that file's
// `exports` in full each time (the `type` lookup copies every field of the parsed file, the `exports` getter
// included). drizzle-orm lists 447 entry points in 130 kB of `exports`, and a role loads some 110 of its modules:
// 110 parses of the same 130 kB. Importing the web role took 2.1 s and 283 MB here with them, 1.1 s and 160 MB
// without, and every instance the autoscaler adds at a spike pays it before it takes traffic.
//
// This hook answers the lookups whose answer cannot change within a process: a relative `.js` import between two
// of drizzle-orm's own ES modules is a file next to its importer, in the package's own format (`"type": "module"`,
// read once per copy of the package); and a bare `drizzle-orm…` import resolves to the same file from every
// importer whose walk up the directories finds the same node_modules (cached per that directory and the
// conditions). Anything else, and drizzle-orm itself if a release stops being an ES-module package, goes to Node's
// own resolution unchanged. `drizzle-loading.test.ts` checks that every module the CLI and both roles load resolves
// to the same URL and format with and without it; `npx salescale bench startup` measures what it saves.
import { existsSync, readFileSync } from 'node:fs';
import { registerHooks, type ResolveFnOutput, type ResolveHookContext } from 'node:module';

const PACKAGE_DIR = '/node_modules/drizzle-orm/';

/** What the hook answered itself since the process started (the test checks that it still engages). */
export const drizzleLoadingCounts = { relative: 0, bare: 0 };

/** Per copy of drizzle-orm (its directory URL): whether it is an ES-module package. */
const esmPackage = new Map<string, boolean>();
/** Bare `drizzle-orm…` specifiers resolved, per directory holding the node_modules found and conditions. */
const bareResolved = new Map<string, ResolveFnOutput>();

function isEsmPackage(packageUrl: string): boolean {
  let known = esmPackage.get(packageUrl);
  if (known === undefined) {
    try {
      known = (JSON.parse(readFileSync(new URL('package.json', packageUrl), 'utf8')) as { type?: unknown }).type === 'module';
    } catch {
      known = false;
    }
    esmPackage.set(packageUrl, known);
  }
  return known;
}

/** Per directory (URL): the directory whose node_modules holds the drizzle-orm a bare import from there finds. */
const lookupRoot = new Map<string, string | null>();

/** Node's own walk for a bare import: up from the importer's directory to the first holding node_modules/drizzle-orm. */
function rootFor(parentURL: string): string | undefined {
  const visited: string[] = [];
  let dir = new URL('.', parentURL);
  let root: string | null | undefined;
  for (;;) {
    root = lookupRoot.get(dir.href);
    if (root !== undefined) break;
    visited.push(dir.href);
    if (existsSync(new URL('node_modules/drizzle-orm/package.json', dir))) {
      root = dir.href;
      break;
    }
    const up = new URL('..', dir);
    if (up.href === dir.href) {
      root = null;
      break;
    }
    dir = up;
  }
  for (const href of visited) lookupRoot.set(href, root);
  return root ?? undefined;
}

function resolveDrizzle(
  specifier: string,
  context: ResolveHookContext,
  nextResolve: (specifier: string, context?: Partial<ResolveHookContext>) => ResolveFnOutput,
): ResolveFnOutput {
  const parent = context.parentURL;
  if (parent?.endsWith('.js') && (specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js')) {
    const at = parent.indexOf(PACKAGE_DIR);
    if (at !== -1) {
      const packageUrl = parent.slice(0, at + PACKAGE_DIR.length);
      const url = new URL(specifier, parent).href;
      if (url.startsWith(packageUrl) && isEsmPackage(packageUrl)) {
        drizzleLoadingCounts.relative++;
        return { url, format: 'module', shortCircuit: true };
      }
    }
  }
  if (parent !== undefined && (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/'))) {
    const root = parent.startsWith('file:') ? rootFor(parent) : undefined;
    if (root !== undefined) {
      const key = `${root}\0${specifier}\0${context.conditions.join(',')}`;
      let resolved = bareResolved.get(key);
      if (resolved === undefined) {
        resolved = { ...nextResolve(specifier, context), shortCircuit: true };
        bareResolved.set(key, resolved);
      } else drizzleLoadingCounts.bare++;
      return resolved;
    }
  }
  return nextResolve(specifier, context);
}

let registered = false;

/** Registers the hook once per process (`src/platform/start-up.ts`, first thing of the entry point and of the test commands). */
export function registerDrizzleLoading(): void {
  if (registered) return;
  registered = true;
  registerHooks({ resolve: resolveDrizzle });
}

registerDrizzleLoading();
