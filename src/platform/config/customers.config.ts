import { int } from './env-schema.ts';

const DAY_S = 86_400;

/**
 * Sessions and password hashing. Password hashes are argon2id (RFC 9106) with OWASP's baseline
 * parameters by default: 19 MiB of memory, 2 passes, 1 lane (about 80 ms on one core here).
 */
export const customersEnv = {
  SESSION_TTL_S: int({ default: 7 * DAY_S, min: 60 }),
  SESSION_MAX_AGE_S: int({ default: 30 * DAY_S, min: 60 }),
  LOGIN_DEVICE_TTL_S: int({ default: 365 * DAY_S, min: 60 }),
  PASSWORD_HASH_MEMORY_KIB: int({ default: 19_456, min: 1024, max: 4_194_304 }),
  PASSWORD_HASH_PASSES: int({ default: 2, min: 1, max: 64 }),
  PASSWORD_HASH_PARALLELISM: int({ default: 1, min: 1, max: 16 }),
  PASSWORD_HASH_CONCURRENCY: int({ default: 2, min: 1, max: 64 }),
  PASSWORD_HASH_QUEUE_MAX: int({ default: 32, min: 0, max: 100_000 }),
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
  /**
   * How long a browser stays a trusted device for an account after its last sign-in there: its sign-ins count
   * against its own lockout budget, not the account's (see `modules/customers/device-cookie.ts`).
   * @defaultValue 365 days
   */
  loginDeviceTtlS: number;
  passwordHash: PasswordHashParams;
  /**
   * Password hashes computed at once per process (libuv's thread pool, shared with DNS and file I/O) and waiting
   * beyond those; one more is refused (503 `PASSWORD_CHECK_BUSY`).
   * @defaultValue `{ concurrency: 2, queueMax: 32 }`
   */
  passwordGate: { concurrency: number; queueMax: number };
}

export function customersConfigFrom(e: CustomersEnv): CustomersConfig {
  return {
    sessionTtlS: e.SESSION_TTL_S,
    sessionMaxAgeS: e.SESSION_MAX_AGE_S,
    loginDeviceTtlS: e.LOGIN_DEVICE_TTL_S,
    passwordHash: { memoryKib: e.PASSWORD_HASH_MEMORY_KIB, passes: e.PASSWORD_HASH_PASSES, parallelism: e.PASSWORD_HASH_PARALLELISM },
    passwordGate: { concurrency: e.PASSWORD_HASH_CONCURRENCY, queueMax: e.PASSWORD_HASH_QUEUE_MAX },
  };
}
