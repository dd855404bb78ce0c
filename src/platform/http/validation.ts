import { Ajv, type Options as AjvOptions, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Compiles a route's schema for one request part the way Salescale validates every request:
 * unknown fields are rejected, never silently stripped (Fastify's default Ajv strips them); query
 * strings, params and headers arrive as strings and are coerced, JSON bodies must have the right
 * types. One Ajv per kind of part, shared by every route of the app that calls this once.
 *
 * The web server adds the unstorable-text check (`input-text.ts`) in front of it; the benchmarks'
 * bare servers use it as it is, on purpose: they price Fastify with Salescale's schemas, not our hooks.
 *
 * `useDefaults` (`createAjv`) is load-bearing: a list's `limit` (`pageLimit`, src/lib/page-limit.ts) is optional in its
 * schema but typed a plain `number`, since ajv fills in its default; without `useDefaults` handlers would see undefined.
 */
export function createSchemaCompiler(): (route: { schema: object; httpPart?: string }) => ValidateFunction {
  const validators = { body: createAjv('body'), other: createAjv('other') };
  return ({ schema, httpPart }) => {
    const validate = withDateTimeMessage((httpPart === 'body' ? validators.body : validators.other).compile(schema));
    return httpPart === 'params' || httpPart === 'querystring' ? withCanonicalNumbers(validate, schema) : validate;
  };
}

/** What a refused `date-time` is told (Ajv's own "must match format" names no rule): see `isUsableDateTime`. */
export const DATE_TIME_RULE =
  'must be an RFC 3339 date-time with an offset or Z, in the years 1000-9999 (UTC), kept to the millisecond: digits of a second past the third must be 0';

/**
 * A string's limit as the field tells it, where `maxLength` only bounds the input: a name counted in NFC (the
 * service counts it) takes more code points as sent, and past that bound the client is told the limit it must meet,
 * not the bound (told "more than 800", a client tried again at 800 and was refused for 200).
 */
export const TOLD_MAX_LENGTH = 'x-told-max-length';

/** The schema node an issue's `schemaPath` (`#/properties/name/maxLength`) names the keyword of, if it resolves. */
function keywordParent(root: unknown, schemaPath: string): Record<string, unknown> | undefined {
  let node = root;
  for (const segment of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

/** Says what a `date-time` must be when one is refused, in the issue's `message` (and what a `not` means, and a told limit). */
function withDateTimeMessage(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    const valid = validate(data);
    check.errors = withChoicesNamed(validate.schema, validate.errors)?.map((error) => {
      if (error.keyword === 'format' && (error.params as { format?: string }).format === 'date-time') return { ...error, message: DATE_TIME_RULE };
      // Ajv's "must NOT be valid" reads as nonsense: a `not` excludes a value (a stock adjustment's `delta` of 0).
      if (error.keyword === 'not') return { ...error, message: 'must not be a value this field excludes (see its description)' };
      if (error.keyword === 'maxLength') {
        const told = keywordParent(validate.schema, error.schemaPath)?.[TOLD_MAX_LENGTH];
        if (typeof told === 'number') return { ...error, params: { limit: told }, message: `must NOT have more than ${told} characters` };
      }
      return error;
    });
    return valid;
  }) as ValidateFunction;
  return check;
}

/** The values a union of literals (TypeBox's `Type.Union([Type.Literal(…), …])`, an `anyOf` of `const`s) allows, else undefined. */
function literalChoices(node: Record<string, unknown> | undefined): unknown[] | undefined {
  const members = node?.anyOf;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  if (!members.every((member) => member !== null && typeof member === 'object' && 'const' in member)) return undefined;
  return members.map((member: { const: unknown }) => member.const);
}

/**
 * A value outside a union of literals (an order `status` filter of `shipped`) as one issue naming the values allowed:
 * Ajv's own answer is one "must be equal to constant" per member and a "must match a schema in anyOf", naming none.
 */
function withChoicesNamed(schema: unknown, errors: ValidateFunction['errors']): ValidateFunction['errors'] {
  if (!errors?.some((error) => error.keyword === 'anyOf')) return errors;
  const named = new Map<string, ErrorObject>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf') continue;
    const choices = literalChoices(keywordParent(schema, error.schemaPath));
    if (choices === undefined) continue;
    named.set(error.schemaPath, { ...error, params: { allowedValues: choices }, message: `must be one of: ${choices.join(', ')}` });
  }
  if (named.size === 0) return errors;
  return errors.flatMap((error) => {
    if (named.has(error.schemaPath)) return [named.get(error.schemaPath)!];
    // A member's own refusal (`#/properties/status/anyOf/2/const`, or `…/type` for a value that is no string, such as
    // a query parameter sent twice) is said by the union's one issue.
    const union = /^(.*\/anyOf)\/\d+\/(?:const|type)$/.exec(error.schemaPath)?.[1];
    return union !== undefined && named.has(union) ? [] : [error];
  });
}

/**
 * A number in a path or query string as people and our own links write it: decimal digits, an optional
 * minus sign and, for a non-integer, a fraction; no leading zero, `+`, exponent, hex/binary/octal prefix
 * or blanks. Ajv's coercion reads the string as JavaScript's `Number()` does, so `/products/0x1`,
 * `/products/+1`, `/products/01`, `1e0`, ` 1` all named product 1 (one resource, many URLs: caches,
 * logs and rate limits keyed by URL told them apart).
 */
const CANONICAL = { integer: /^(?:0|-?[1-9][0-9]*)$/, number: /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/ } as const;

type NumericKind = keyof typeof CANONICAL;

/** The top-level properties of an object schema that are integers or numbers (alone or in a union). */
function numericProperties(schema: object): [string, NumericKind][] {
  const properties = (schema as { properties?: Record<string, { type?: unknown; anyOf?: { type?: unknown }[] }> }).properties ?? {};
  const found: [string, NumericKind][] = [];
  for (const [key, property] of Object.entries(properties)) {
    const types = [property.type, ...(property.anyOf ?? []).map((member) => member.type)];
    if (types.includes('number')) found.push([key, 'number']);
    else if (types.includes('integer')) found.push([key, 'integer']);
  }
  return found;
}

/** Refuses a non-canonical spelling of a number before Ajv coerces it (see `CANONICAL`). */
function withCanonicalNumbers(validate: ValidateFunction, schema: object): ValidateFunction {
  const numeric = numericProperties(schema);
  if (numeric.length === 0) return validate;
  const check = ((data: unknown) => {
    if (data !== null && typeof data === 'object') {
      for (const [key, kind] of numeric) {
        const value = (data as Record<string, unknown>)[key];
        // A repeated query parameter arrives as an array: each of its values is checked.
        for (const text of Array.isArray(value) ? value : [value]) {
          if (typeof text === 'string' && !CANONICAL[kind].test(text)) {
            check.errors = [
              {
                instancePath: `/${key}`,
                schemaPath: `#/properties/${key}/type`,
                keyword: 'type',
                params: { type: kind },
                message: `must be ${kind === 'integer' ? 'an integer' : 'a number'} in plain decimal digits (no '+', leading zero, exponent, 0x/0b/0o prefix or blanks)`,
              },
            ];
            return false;
          }
        }
      }
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return check;
}

/** Ajv-formats' RFC 3339 check (full mode: real calendar dates, offsets within ±23:59). */
const rfc3339DateTime = addFormats.default.get('date-time') as { validate: (text: string) => boolean };

/** Instants a `date-time` may name: years 1000–9999 in UTC (see `isUsableDateTime`). */
const EARLIEST_INSTANT_MS = Date.UTC(1000, 0, 1);
const LATEST_INSTANT_MS = Date.UTC(10_000, 0, 1);

/** The fraction of a second of an RFC 3339 date-time: the digits past the third are below the millisecond. */
const SECOND_FRACTION = /T\d{2}:\d{2}:\d{2}\.(\d+)/i;

/**
 * RFC 3339 `date-time`, narrowed to what the code after the schema can use: routes read it with
 * `new Date(text)` and store it in `timestamptz`. Ajv's format alone admits a leap second
 * (`23:59:60Z`) and an hour-only offset (`+01`), which JavaScript cannot parse (an Invalid Date,
 * which made Drizzle throw: a 500), and years PostgreSQL refuses (0000, 10000 and beyond once the
 * offset is applied) or that come back as another year (Drizzle reads `0001-…` as 2001).
 * Instants are kept to the millisecond (a JavaScript `Date`): more digits of a second are taken only
 * when they are zeros, since `new Date` would silently drop the others (a window `…00.0001Z` to
 * `…00.0009Z` became two equal instants, refused as ending before it starts).
 */
export function isUsableDateTime(text: string): boolean {
  if (!rfc3339DateTime.validate(text)) return false;
  const fraction = SECOND_FRACTION.exec(text)?.[1];
  if (fraction !== undefined && /[1-9]/.test(fraction.slice(3))) return false;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms >= EARLIEST_INSTANT_MS && ms < LATEST_INSTANT_MS;
}

function createAjv(part: 'body' | 'other'): Ajv {
  const options: AjvOptions = { removeAdditional: false, useDefaults: true, coerceTypes: part === 'body' ? false : 'array', allErrors: false, strict: false };
  const ajv = new Ajv(options);
  addFormats.default(ajv, ['email', 'uuid', 'uri']);
  ajv.addFormat('date-time', { type: 'string', validate: isUsableDateTime });
  return ajv;
}
