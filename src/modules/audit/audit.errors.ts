import { InvalidInputError } from '../../shared/errors.ts';

/** The longest `X-Admin-Actor` label accepted. */
export const ADMIN_ACTOR_MAX_LENGTH = 64;

export class InvalidAdminActorError extends InvalidInputError {
  constructor() {
    super('INVALID_ADMIN_ACTOR', `X-Admin-Actor must be 1–${ADMIN_ACTOR_MAX_LENGTH} printable ASCII characters`, { maxLength: ADMIN_ACTOR_MAX_LENGTH });
  }
}
