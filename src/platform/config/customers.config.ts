import { int } from './env-schema.ts';

const DAY_S = 86_400;

/**
 * Sessions and password hashing. Password hashes are argon2id (RFC 9106) with OWASP's baseline
 * parameters by default: 19 MiB of memory, 2 passes, 1 lane (about 80 ms on one core here).
 */
export const customersEnv = {
  SESSION_TTL_S: int({ default: 7 * DAY_S, min: 60 }),
  SESSION_MAX_AGE_S: int({ default: 30 * DAY_S, min: 60 }),
  PASSWORD_HASH_MEMORY_KIB: int({ default: 19_456, min: 1024, max: 4_194_304 }),
  PASSWORD_HASH_PASSES: int({ default: 2, min: 1, max: 64 }),
  PASSWORD_HASH_PARALLELISM: int({ default: 1, min: 1, max: 16 }),
};

type CustomersEnv = { [K in keyof typeof customersEnv]: ReturnType<(typeof customersEnv)[K]['parse']> };

export interface PasswordHashParams {
  memoryKib: number;
  passes: number;
  parallelism: number;
}

export interface CustomersConfig {
  /** Idle lifetime of a session; each use within the second half of it extends it. */
  sessionTtlS: number;
  /** Absolute lifetime of a session from its sign-in, however often it is used. */
  sessionMaxAgeS: number;
  passwordHash: PasswordHashParams;
}

export function customersConfigFrom(e: CustomersEnv): CustomersConfig {
  return {
    sessionTtlS: e.SESSION_TTL_S,
    sessionMaxAgeS: e.SESSION_MAX_AGE_S,
    passwordHash: { memoryKib: e.PASSWORD_HASH_MEMORY_KIB, passes: e.PASSWORD_HASH_PASSES, parallelism: e.PASSWORD_HASH_PARALLELISM },
  };
}
