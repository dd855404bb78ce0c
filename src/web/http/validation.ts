import { Ajv, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Compiles a route's schema for one request part the way Salescale validates every request:
 * unknown fields are rejected, never silently stripped (Fastify's default Ajv strips them); query
 * strings, params and headers arrive as strings and are coerced, JSON bodies must have the right
 * types. One Ajv per kind of part, shared by every route of the app that calls this once.
 *
 * The web server adds the unstorable-text check (`input-text.ts`) in front of it; the benchmarks'
 * bare servers use it as it is, on purpose: they price Fastify with Salescale's schemas, not our hooks.
 */
export function createSchemaCompiler(): (route: { schema: object; httpPart?: string }) => ValidateFunction {
  const validators = { body: createAjv('body'), other: createAjv('other') };
  return ({ schema, httpPart }) => (httpPart === 'body' ? validators.body : validators.other).compile(schema);
}

function createAjv(part: 'body' | 'other'): Ajv {
  const options: AjvOptions = { removeAdditional: false, useDefaults: true, coerceTypes: part === 'body' ? false : 'array', allErrors: false, strict: false };
  const ajv = new Ajv(options);
  addFormats.default(ajv, ['date-time', 'email', 'uuid', 'uri']);
  return ajv;
}
