import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PasswordHashParams } from '../../platform/config/customers.config.ts';

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function derive(password: string, salt: Buffer, params: PasswordHashParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Runs on libuv's thread pool: the event loop keeps serving while a hash is computed.
    argon2(
      'argon2id',
      { message: password, nonce: salt, parallelism: params.parallelism, tagLength: TAG_BYTES, memory: params.memoryKib, passes: params.passes },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

/** An argon2id hash in the PHC string format, parameters included (so they can change later). */
export async function hashPassword(password: string, params: PasswordHashParams): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `$argon2id$v=19$m=${params.memoryKib},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(key)}`;
}

/** Constant-time check of `password` against a PHC string made by {@link hashPassword}. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  if (!match) return false;
  const [, m, t, p, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64');
  const key = await derive(password, Buffer.from(salt!, 'base64'), { memoryKib: Number(m), passes: Number(t), parallelism: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Whether a stored hash was made with other parameters than `params` (the cost was raised since, or lowered):
 * the next successful sign-in hashes the password again with the current ones.
 */
export function needsRehash(stored: string, params: PasswordHashParams): boolean {
  const match = PHC.exec(stored);
  return !match || Number(match[1]) !== params.memoryKib || Number(match[2]) !== params.passes || Number(match[3]) !== params.parallelism;
}
