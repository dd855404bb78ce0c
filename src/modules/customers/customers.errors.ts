import { ConflictError, DomainError } from '../../shared/errors.ts';

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

export class LoginLockedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('LOGIN_RATE_LIMITED', 'rate_limited', 'too many failed sign-in attempts for this account, please retry later', { retryAfterSeconds });
  }
}

export class LoginUnavailableError extends DomainError {
  constructor() {
    super('LOGIN_UNAVAILABLE', 'unavailable', 'signing in is temporarily unavailable, please retry shortly');
  }
}
