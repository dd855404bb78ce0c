/** PostgreSQL SQLSTATE codes the services translate into domain errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export const PG_CHECK_VIOLATION = '23514';

export interface PgError {
  code: string;
  constraint?: string;
  message?: string;
  /** DETAIL of the error; our functions put a refusal's data there as JSON. */
  detail?: string;
}

/** SQLSTATE of `RAISE EXCEPTION` without an explicit code: our functions' refusals. */
export const PG_RAISE_EXCEPTION = 'P0001';

/** The PostgreSQL error behind an error thrown by pg or wrapped by Drizzle, if any. */
export function pgError(error: unknown): PgError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const candidate = e as { code?: unknown; constraint?: unknown; severity?: unknown; message?: unknown; detail?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code) && candidate.severity !== undefined) {
      return {
        code: candidate.code,
        constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined,
        message: typeof candidate.message === 'string' ? candidate.message : undefined,
        detail: typeof candidate.detail === 'string' ? candidate.detail : undefined,
      };
    }
  }
  return undefined;
}
