import { type TInteger, Type } from 'typebox';

/**
 * The `limit` query parameter of a list: an integer from 1 to `maxLimit` a request may omit, `defaultLimit` when it does.
 * One schema for every list so OpenAPI documents each the same way: optional (not `required`, as OpenAPI wants of a
 * parameter with a `default`), and generated clients do not demand it.
 *
 * The schema is optional at run time, yet its static type is a plain `number`: the server's ajv runs with
 * `useDefaults` (src/platform/http/validation.ts), so a handler always sees the limit, the default when the request had
 * none.
 */
export function pageLimit(defaultLimit = 20, maxLimit = 100): TInteger {
  return Type.Optional(Type.Integer({ minimum: 1, maximum: maxLimit, default: defaultLimit })) as unknown as TInteger;
}
