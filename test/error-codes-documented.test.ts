import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * Every stable error code the HTTP API can answer is documented in README.md (as `CODE`), and where the README
 * gives it a status ("409 `CODE`", "403 `A`, `B` or `C`"), that status is the one the code is answered with.
 * Read from the source, no server: domain errors (their kind → status, `STATUS_BY_KIND`), `sendError(reply, NNN,
 * 'CODE')`, the rate limiter's and admin token's codes, and the error handler's own maps.
 */
const ROOT = path.join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The API's source: what the web role answers with, and the shared HTTP helpers its routes use (not the CLI, the scaling tools, the worker, src/platform's config). */
const API_DIRS = ['src/web', 'src/modules', 'src/shared', 'src/platform/http'];
/** Files in those folders that answer no HTTP client: the listener's start-up errors (a port taken, a host that does not resolve). */
const NOT_API_FILES = new Set(['src/platform/http/listen-error.ts']);

/**
 * Codes that never reach a client of the HTTP API, with why. Anything else found is expected in the README.
 */
const EXCLUDED: Record<string, string> = {
  // src/platform/metrics/metrics-server.ts (the METRICS_PORT listener) and src/worker/worker-http.ts answer
  // Prometheus scrapers on an operational port, not the API: their 404/405/500 codes are not part of the API.
  NOT_FOUND: 'metrics listener (METRICS_PORT) / worker health port, not the HTTP API',
  METRICS_FAILED: 'metrics listener (METRICS_PORT) / worker health port, not the HTTP API',
};

/**
 * UPPER_SNAKE string literals in the API's source that are not error codes. PURCHASE_LIMIT: the `details.reason` of an
 * ORDER_NOT_PAYABLE (payments.errors.ts), a refusal's cause, not its code.
 */
const NOT_CODES = new Set(['ADMIN_API_TOKEN', 'EAI_AGAIN', 'METRICS_PORT', 'PURCHASE_LIMIT', 'REDIS_URL']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const rel = path.relative(ROOT, path.join(entry.parentPath, entry.name));
    out.push(rel);
  }
  return out.sort();
}

/** code → statuses it is answered with (a set: one code may be thrown by errors of different kinds). */
type Found = Map<string, { statuses: Set<number>; where: Set<string> }>;

function collect(): Found {
  const found: Found = new Map();
  const add = (code: string, status: number | undefined, where: string) => {
    const entry = found.get(code) ?? { statuses: new Set<number>(), where: new Set<string>() };
    if (status !== undefined) entry.statuses.add(status);
    entry.where.add(where);
    found.set(code, entry);
  };

  // The kinds' statuses, from the one place that knows them.
  const handler = read('src/web/error-handler.ts');
  const kindTable = /const STATUS_BY_KIND[^{]*\{([^}]*)\}/.exec(read('src/platform/http/error-reply.ts'))?.[1];
  assert.ok(kindTable, 'STATUS_BY_KIND not found in src/platform/http/error-reply.ts');
  const statusByKind = new Map([...kindTable.matchAll(/(\w+):\s*(\d{3})/g)].map((m) => [m[1]!, Number(m[2])]));
  assert.ok(statusByKind.size >= 10, 'STATUS_BY_KIND parsed');

  // The metrics listener is read too, so that its codes are seen and excluded by name (EXCLUDED), not by accident.
  const files = [...API_DIRS.flatMap(sourceFiles).filter((file) => !NOT_API_FILES.has(file)), 'src/platform/metrics/metrics-server.ts'];
  const texts = new Map(files.map((f) => [f, read(f)]));

  // Domain error classes: name → kind, and the code(s) each one's constructor passes to super.
  const baseKinds = new Map<string, string>([
    ['ConflictError', 'conflict'],
    ['UnprocessableError', 'unprocessable'],
    ['InvalidInputError', 'invalid'],
    ['NotFoundError', 'not_found'],
  ]);
  const classes: { name: string; parent: string; file: string; superCall: string }[] = [];
  for (const [file, text] of texts) {
    for (const m of text.matchAll(/class (\w+) extends (\w+) \{/g)) {
      const body = text.slice(m.index);
      const superAt = body.indexOf('super(');
      const nextClass = body.slice(1).search(/\n(export )?class /);
      if (superAt < 0 || (nextClass >= 0 && superAt > nextClass)) continue;
      const end = body.indexOf(');\n', superAt);
      classes.push({ name: m[1]!, parent: m[2]!, file, superCall: body.slice(superAt, end + 2) });
    }
  }
  const kindOf = new Map(baseKinds);
  for (let pass = 0; pass < 5; pass++) {
    for (const c of classes) {
      const direct = c.parent === 'DomainError' ? /^super\(\s*'[A-Z0-9_]+',\s*'(\w+)'/.exec(c.superCall)?.[1] : undefined;
      const kind = direct ?? kindOf.get(c.parent);
      if (kind !== undefined && !kindOf.has(c.name)) kindOf.set(c.name, kind);
    }
  }
  for (const c of classes) {
    const kind = kindOf.get(c.name);
    if (kind === undefined) continue; // not a domain error
    const status = statusByKind.get(kind);
    assert.ok(status, `${c.name} (${c.file}): kind ${kind} has no status`);
    if (c.parent === 'NotFoundError') {
      const resource = /^super\(\s*'([a-z_]+)'/.exec(c.superCall)?.[1];
      assert.ok(resource, `${c.name}: NotFoundError's resource`);
      add(`${resource.toUpperCase()}_NOT_FOUND`, status, c.file);
      continue;
    }
    const codes = [...c.superCall.matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!);
    if (c.name === 'IdempotencyKeyRequiredError' || codes.length > 0) for (const code of codes) add(code, status, c.file);
  }
  // Domain errors made inline: `new ConflictError('CODE', …)`, `new DomainError('CODE', 'kind', …)`.
  for (const [file, text] of texts) {
    for (const m of text.matchAll(/new (ConflictError|UnprocessableError|InvalidInputError)\(\s*'([A-Z0-9_]+)'/g)) add(m[2]!, statusByKind.get(baseKinds.get(m[1]!)!), file);
    for (const m of text.matchAll(/new DomainError\(\s*'([A-Z0-9_]+)',\s*'(\w+)'/g)) add(m[1]!, statusByKind.get(m[2]!), file);
    // Replies sent directly.
    for (const m of text.matchAll(/sendError\(\s*reply,\s*(\d{3}),\s*'([A-Z0-9_]+)'/g)) add(m[2]!, Number(m[1]), file);
  }

  // The rate limiter's refusals: 429 with the code given to `reserve` (its fail-closed 503 is a sendError above).
  const rateLimit = read('src/web/plugins/rate-limit.ts');
  assert.match(rateLimit, /sendError\(reply, 429, code,/);
  for (const m of rateLimit.matchAll(/reserve\([^;]*?'([A-Z0-9_]+)'/g)) add(m[1]!, 429, 'src/web/plugins/rate-limit.ts');
  // The admin token: 401 with either code.
  const adminAuth = read('src/web/plugins/admin-auth.ts');
  assert.match(adminAuth, /sendError\(reply, 401, code,/);
  for (const m of /const code = ([^;]*);/.exec(adminAuth)![1]!.matchAll(/'([A-Z0-9_]+)'/g)) add(m[1]!, 401, 'src/web/plugins/admin-auth.ts');

  // The error handler: Fastify's own 4xx (their status is Fastify's), dependency failures (503), the rest.
  const table = (name: string) => /const NAME[^{]*\{([^}]*)\}/.source.replace('NAME', name);
  const fastify = new RegExp(table('FASTIFY_CODES')).exec(handler)?.[1];
  assert.ok(fastify, 'FASTIFY_CODES');
  const fastifyStatus: Record<string, number> = { PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, URI_TOO_LONG: 414 };
  for (const m of fastify.matchAll(/'([A-Z0-9_]+)'/g)) add(m[1]!, fastifyStatus[m[1]!], 'src/web/error-handler.ts (FASTIFY_CODES)');
  add('BAD_REQUEST', 400, 'src/web/error-handler.ts');
  assert.match(handler, /sendError\(reply, 503, dependency\.code,/);
  const database = new RegExp(table('DATABASE_CODES')).exec(handler)?.[1];
  assert.ok(database, 'DATABASE_CODES');
  for (const m of database.matchAll(/'([A-Z0-9_]+)'/g)) add(m[1]!, 503, 'src/web/error-handler.ts (DATABASE_CODES)');
  for (const m of handler.matchAll(/return \{ code: '([A-Z0-9_]+)'/g)) add(m[1]!, 503, 'src/web/error-handler.ts (dependencyFailure)');
  for (const m of handler.matchAll(/status:\s*(\d{3}),\s*code:\s*'([A-Z0-9_]+)'/g)) add(m[2]!, Number(m[1]), 'src/web/error-handler.ts (client errors)');
  assert.match(handler, /errorBody\('EXPECTATION_FAILED'[\s\S]*?writeHead\(417,/);
  add('EXPECTATION_FAILED', 417, 'src/web/error-handler.ts');

  // The net: every UPPER_SNAKE literal of the API's source is a code found above, or named as not one.
  for (const [file, text] of texts) {
    for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) {
      const literal = m[1]!;
      if (found.has(literal) || NOT_CODES.has(literal) || literal in EXCLUDED) continue;
      assert.fail(`${file}: '${literal}' is neither a code this test knows how it is answered nor in NOT_CODES/EXCLUDED: teach the test`);
    }
  }
  for (const code of Object.keys(EXCLUDED)) found.delete(code);
  return found;
}

/**
 * The statuses the README gives codes: in prose, "409 `A`" or "403 `A`, `B` or `C`" (a list after one status) and
 * "`A` (409"; in the catalogue ("Codes used so far:", up to its blank line), each list of codes before its "(NNN"
 * (codes inside a parenthesised note are not part of the list).
 */
function readmeStatuses(readme: string): { stated: Map<string, Set<number>>; catalogued: Map<string, Set<number>> } {
  const stated = new Map<string, Set<number>>();
  const catalogued = new Map<string, Set<number>>();
  const state = (code: string, status: number, into = stated) => {
    const set = into.get(code) ?? new Set<number>();
    set.add(status);
    into.set(code, set);
  };
  for (const m of readme.matchAll(/\b([1-5]\d\d)\s+((?:`[A-Z][A-Z0-9_]+`(?:(?:,\s+|\s+or\s+|\s+and\s+|\/)(?=`))?)+)/g)) {
    for (const c of m[2]!.matchAll(/`([A-Z0-9_]+)`/g)) state(c[1]!, Number(m[1]));
  }
  for (const m of readme.matchAll(/`([A-Z][A-Z0-9_]+)`\s+\(([1-5]\d\d)\b/g)) state(m[1]!, Number(m[2]));
  const at = readme.indexOf('Codes used so far:');
  assert.ok(at >= 0, 'the README\'s catalogue of codes ("Codes used so far:")');
  const catalogue = readme.slice(at, readme.indexOf('\n\n', at));
  let depth = 0;
  let pending: string[] = [];
  for (const m of catalogue.matchAll(/\(([1-5]\d\d)\b|`([A-Z][A-Z0-9_]+)`|[()]/g)) {
    if (m[1] !== undefined) {
      if (depth === 0) {
        for (const code of pending) {
          state(code, Number(m[1]), catalogued);
          state(code, Number(m[1]));
        }
      }
      pending = [];
      depth++;
    } else if (m[2] !== undefined) {
      if (depth === 0) pending.push(m[2]);
    } else depth += m[0] === '(' ? 1 : -1;
  }
  return { stated, catalogued };
}

describe('error codes documented in README.md', () => {
  const found = collect();
  const readme = read('README.md');

  it('finds the codes (the collector still reads the source)', () => {
    for (const code of ['PAYMENT_DECLINED', 'PASS_REPLACED', 'ORDER_NOT_FOUND', 'VALIDATION_FAILED', 'RATE_LIMITED', 'INVALID_TOKEN', 'DATABASE_UNAVAILABLE', 'PAYMENT_PROVIDER_ERROR']) {
      assert.ok(found.has(code), `${code} not collected`);
    }
    assert.deepEqual([...found.get('PAYMENT_DECLINED')!.statuses], [402]);
    assert.deepEqual([...found.get('ORDER_ALREADY_PAID')!.statuses], [409]);
  });

  const { stated, catalogued } = readmeStatuses(readme);

  it('documents every code', () => {
    const missing = [...found].filter(([code]) => !readme.includes(`\`${code}\``)).map(([code, e]) => `${code} (${[...e.statuses].join('/')}; ${[...e.where].join(', ')})`);
    assert.deepEqual(missing, [], `codes the README does not name:\n${missing.join('\n')}`);
  });

  it('lists every code in the catalogue ("Codes used so far"), under a status', () => {
    // BAD_REQUEST is the catalogue's note on the 400s: "for another 4xx Fastify raises itself", whatever its status.
    const missing = [...found]
      .filter(([code]) => !catalogued.has(code) && code !== 'BAD_REQUEST')
      .map(([code, e]) => `${code} (${[...e.statuses].join('/')}; ${[...e.where].join(', ')})`);
    assert.deepEqual(missing, [], `codes missing from the catalogue:\n${missing.join('\n')}`);
  });

  it('states each code with the status it is answered with', () => {
    const wrong: string[] = [];
    for (const [code, statuses] of stated) {
      const entry = found.get(code);
      if (!entry || entry.statuses.size === 0) continue;
      for (const status of statuses) if (!entry.statuses.has(status)) wrong.push(`README says ${status} \`${code}\`, the API answers ${[...entry.statuses].join('/')} (${[...entry.where].join(', ')})`);
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });
});
