import { ConflictError, DomainError, InvalidInputError, UnprocessableError } from '../../shared/errors.ts';

export class EmailTakenError extends ConflictError {
  constructor() {
    super('EMAIL_TAKEN', 'an account with this email already exists');
  }
}

/** Wrong email or wrong password: deliberately the same answer for both. */
export class InvalidCredentialsError extends DomainError {
  constructor() {
    super('INVALID_CREDENTIALS', 'unauthenticated', 'email or password is wrong');
  }
}

export class NotSignedInError extends DomainError {
  constructor() {
    super('NOT_SIGNED_IN', 'unauthenticated', 'sign in first (POST /api/v1/sessions)');
  }
}

/**
 * A sign-in refused by the login guard: `account` when the account's shared budget (untrusted clients) ran out,
 * `device` when only the presenting trusted device's own budget did (other devices and clients still sign in).
 * One code for both; the message says which.
 */
export class LoginLockedError extends DomainError {
  constructor(retryAfterSeconds: number, budget: 'account' | 'device') {
    const message =
      budget === 'device'
        ? 'too many failed sign-in attempts from this device, please retry later or sign in from another device'
        : 'too many failed sign-in attempts for this account, please retry later';
    super('LOGIN_RATE_LIMITED', 'rate_limited', message, { retryAfterSeconds });
  }
}

export class LoginUnavailableError extends DomainError {
  constructor() {
    super('LOGIN_UNAVAILABLE', 'unavailable', 'signing in is temporarily unavailable, please retry shortly');
  }
}

/** More password checks waiting on this instance than PASSWORD_HASH_QUEUE_MAX: refused before any hashing. */
export class PasswordCheckBusyError extends DomainError {
  constructor() {
    super('PASSWORD_CHECK_BUSY', 'unavailable', 'too many sign-ins and registrations at once, please retry in a moment');
  }
}

/**
 * A new password too short or too long once in NFC (see `checkNewPassword`): the schema cannot count it in that form,
 * so the policy refuses it with the answer the schema gives (400 `VALIDATION_FAILED`, `details.in` `body`, one issue
 * at `/password` worded as Ajv words it).
 */
export class PasswordLengthError extends InvalidInputError {
  constructor(bound: 'min' | 'max', limit: number) {
    const message = bound === 'min' ? `must NOT have fewer than ${limit} characters` : `must NOT have more than ${limit} characters`;
    super('VALIDATION_FAILED', 'request body is invalid', { in: 'body', issues: [{ path: '/password', message }] });
  }
}

const PASSWORD_TOO_COMMON_MESSAGES = {
  common: 'this password is one of the most common passwords; choose another',
  context: "this password is mostly the shop's name, your email or your name; choose another",
  repetitive: 'this password is only spaces or one character repeated; choose another',
} as const;

/**
 * A new password a guesser tries first (see `checkNewPassword`): `reason` is `common` (on the list of the 10,000
 * most common passwords), `context` (made of the shop's name, the email or the customer's name) or `repetitive`
 * (only whitespace or one character repeated). Never carries the password, nor the word found in it.
 */
export class PasswordTooCommonError extends UnprocessableError {
  constructor(reason: keyof typeof PASSWORD_TOO_COMMON_MESSAGES) {
    super('PASSWORD_TOO_COMMON', PASSWORD_TOO_COMMON_MESSAGES[reason], { reason });
  }
}
