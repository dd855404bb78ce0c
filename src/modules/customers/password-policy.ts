import { readFileSync } from 'node:fs';
import { PasswordLengthError, PasswordTooCommonError } from './customers.errors.ts';

/**
 * The fewest and most characters (code points) of a new password, counted in its NFC form, the one hashed
 * (OWASP ASVS 5.0 6.2.1): "ábćdé" typed decomposed is 8 code points but 5 characters. Checked by
 * {@link checkNewPassword}, not by the schema, which sees only the form typed.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * The most code points a request's password may have as typed (sign-in and registration schemas): a password of
 * {@link PASSWORD_MAX_LENGTH} characters in NFC typed fully decomposed, each character at most 4 code points in NFD.
 * Only bounds the work; the length that counts is the NFC one.
 */
export const PASSWORD_INPUT_MAX_LENGTH = 4 * PASSWORD_MAX_LENGTH;

/** Words every guesser of this shop tries first, whoever the customer is (OWASP ASVS 5.0 6.2.11). */
const SHOP_WORDS = ['salescale'];

/**
 * What separates the words of an email or a name: anything but letters, digits and combining marks (a mark with no
 * precomposed form stays combining in NFC, and splitting there would cut the word it belongs to).
 */
const NOT_WORD = /[^\p{L}\p{M}\p{N}]+/u;

/** Shorter parts of an email or a name ("al", "jo") are left in: taking them out would refuse ordinary words. */
const MIN_CONTEXT_WORD = 3;

/**
 * The 10,000 most common passwords, lower-cased, read once when this module loads (a Set of about 1 MB).
 * Source and licence: common-passwords/README.md.
 */
const COMMON = new Set(
  readFileSync(new URL('./common-passwords/top-10000.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.toLowerCase()),
);

/** Whether `password` is on the common list, in any letter case. */
export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}

/**
 * The shop's name, the whole email address, its local part and domain, and the name, whole and split into words, longest
 * first (so the whole address goes before its parts). The address is the account's username: the first word a guesser
 * tries against it (NIST SP 800-63B 3.1.1.2, "context-specific words, such as the name of the service, the username").
 */
function contextWords(who: { email: string; name: string }): string[] {
  // In NFC, as the password is: a name typed decomposed ("Zoe\u0308") must still match the password typed either way.
  const email = who.email.normalize('NFC').trim().toLowerCase();
  const at = email.lastIndexOf('@');
  const local = at === -1 ? email : email.slice(0, at);
  const domain = at === -1 ? '' : email.slice(at + 1);
  const name = who.name.normalize('NFC').trim().toLowerCase();
  const words = [...SHOP_WORDS, email, local, ...local.split(NOT_WORD), domain, name, ...name.split(NOT_WORD)];
  return [...new Set(words)].filter((word) => word.length >= MIN_CONTEXT_WORD).sort((a, b) => b.length - a.length);
}

/** Only whitespace ("        ", tabs, no-break spaces) or one character repeated ("aaaaaaaa", "ZzZzZzZz", "🙂🙂🙂🙂🙂🙂🙂🙂"). */
function isRepetitive(nfc: string): boolean {
  return /^\p{White_Space}+$/u.test(nfc) || new Set(nfc.toLowerCase()).size === 1;
}

/**
 * Refuses a new password, before any hashing and in its NFC form (the one hashed), that is shorter than
 * {@link PASSWORD_MIN_LENGTH} or longer than {@link PASSWORD_MAX_LENGTH} characters (`PasswordLengthError`, answered as
 * the schema's refusals are), or that a guesser tries first (OWASP ASVS 5.0 6.2.4 and 6.2.11): only whitespace or one character repeated in any letter case
 * (`reason: 'repetitive'`, NIST SP 800-63B 3.1.1.2), one of the 10,000 most common passwords in any letter case (`reason: 'common'`), or one that is not long
 * enough or is common once the shop's name, the email (whole, its local part, its domain) and the customer's name are
 * taken out of it, in any letter case, with the separators then left at its ends (`reason: 'context'`: "salescale123",
 * "jane.doejane.doe", "janepassword1", "Jane.Doe@Example.com"). A context word inside a password
 * that is long enough without it ("jane likes long walks") is kept: refusing any password that contains a name
 * would refuse good ones. Only for passwords being set: sign-in never checks, so existing accounts keep working.
 * @throws PasswordLengthError
 * @throws PasswordTooCommonError
 */
export function checkNewPassword(typed: string, who: { email: string; name: string }): void {
  const password = typed.normalize('NFC');
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) throw new PasswordLengthError('min', PASSWORD_MIN_LENGTH);
  if (length > PASSWORD_MAX_LENGTH) throw new PasswordLengthError('max', PASSWORD_MAX_LENGTH);
  if (isRepetitive(password)) throw new PasswordTooCommonError('repetitive');
  if (isCommonPassword(password)) throw new PasswordTooCommonError('common');
  const lower = password.toLowerCase();
  let rest = lower;
  for (const word of contextWords(who)) rest = rest.replaceAll(word, '');
  if (rest === lower) return;
  // The separators left at the ends ("jane.doe.password" → ".password") add nothing either.
  rest = rest.replace(/^[^\p{L}\p{M}\p{N}]+|[^\p{L}\p{M}\p{N}]+$/gu, '');
  if ([...rest].length < PASSWORD_MIN_LENGTH || isCommonPassword(rest)) throw new PasswordTooCommonError('context');
}
