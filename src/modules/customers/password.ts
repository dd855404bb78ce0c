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

/**
 * An argon2id hash in the PHC string format, parameters included (so they can change later), of the password's NFC
 * form: "café" typed composed (U+00E9) or decomposed (e + U+0301) is one password (NIST SP 800-63B 5.1.1.2).
 */
export async function hashPassword(password: string, params: PasswordHashParams): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password.normalize('NFC'), salt, params);
  return `$argon2id$v=19$m=${params.memoryKib},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(key)}`;
}

/** Constant-time check of `password`, exactly as given, against a PHC string. */
async function verifyForm(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  if (!match) return false;
  const [, m, t, p, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64');
  const key = await derive(password, Buffer.from(salt!, 'base64'), { memoryKib: Number(m), passes: Number(t), parallelism: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * How a password matched a stored hash: `nfc` through its NFC form (as {@link hashPassword} makes them), `raw` only
 * through the form it was typed in, which is not NFC (a hash made before passwords were normalised: make it again
 * from the NFC form), `none` not at all.
 */
export type PasswordMatch = 'nfc' | 'raw' | 'none';

/**
 * Checks `password` against a PHC string, in constant time for a given input: a password that is not in NFC is
 * always checked in both forms, whatever the first answers, so that the work depends only on what was typed — never
 * on whether the account exists (the decoy hash of an unknown email gets the same two checks), nor on the password
 * being right.
 */
export async function matchPassword(password: string, stored: string): Promise<PasswordMatch> {
  const nfc = password.normalize('NFC');
  const nfcMatches = await verifyForm(nfc, stored);
  if (nfc === password) return nfcMatches ? 'nfc' : 'none';
  const rawMatches = await verifyForm(password, stored);
  return nfcMatches ? 'nfc' : rawMatches ? 'raw' : 'none';
}

/**
 * Whether a stored hash was made with other parameters than `params` (the cost was raised since, or lowered):
 * the next successful sign-in hashes the password again with the current ones.
 */
export function needsRehash(stored: string, params: PasswordHashParams): boolean {
  const match = PHC.exec(stored);
  return !match || Number(match[1]) !== params.memoryKib || Number(match[2]) !== params.passes || Number(match[3]) !== params.parallelism;
}
