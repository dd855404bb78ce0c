import { Type, type Static } from 'typebox';
import { displayName } from '../../lib/display-name.ts';
import { emailAddress } from '../../lib/email-address.ts';
import { PASSWORD_MIN_LENGTH } from './password-policy.ts';

const Email = emailAddress();
/** What registration once accepted (no 64-character local-part limit): accounts made then must still sign in. */
const SignInEmail = emailAddress({ strictLocalPart: false });

export const Customer = Type.Object(
  { id: Type.Integer(), email: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) },
  { $id: 'Customer' },
);
export type Customer = Static<typeof Customer>;

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Type.String({
      minLength: PASSWORD_MIN_LENGTH,
      maxLength: 256,
      description:
        "At least 8 characters; not only whitespace or one character repeated, not one of the 10,000 most common passwords, nor mostly the shop's name, the email or the name (422 PASSWORD_TOO_COMMON)",
    }),
    // At least one visible character: the service stores the name trimmed.
    name: displayName(200),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object({ email: SignInEmail, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
export type LoginBody = Static<typeof LoginBody>;
