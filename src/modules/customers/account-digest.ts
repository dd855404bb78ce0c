import { createHmac, hkdfSync } from 'node:crypto';

/** An account's name where its email must not appear (rate-limit keys, security events in the log). */
export type AccountDigest = (email: string) => string;

const LABEL = 'salescale account digest';

/**
 * HMAC-SHA-256 of the trimmed, lower-cased email (so every letter case of one email is one account), base64url, keyed
 * by a key derived (HKDF-SHA-256, a label of its own) from `secret`: SESSION_SECRET, which every web instance shares,
 * so that all of them name an account alike and its per-account login limit is one. Unkeyed, a digest of an email
 * can be matched to its owner by anyone holding a list of emails (a dictionary); keyed, only by whoever holds the
 * secret. The derived key is used for nothing else.
 */
export function createAccountDigest(secret: string): AccountDigest {
  const key = Buffer.from(hkdfSync('sha256', secret, '', LABEL, 32));
  return (email) => createHmac('sha256', key).update(email.trim().toLowerCase()).digest('base64url');
}
