import { Type, type Static } from 'typebox';
import { displayName } from '../../lib/display-name.ts';
import { emailAddress } from '../../lib/email-address.ts';
import { PASSWORD_INPUT_MAX_LENGTH } from './password-policy.ts';

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
    // The 8-to-256 length is counted in NFC, the form hashed, by the policy (400 VALIDATION_FAILED as here): not here.
    password: Type.String({
      minLength: 1,
      maxLength: PASSWORD_INPUT_MAX_LENGTH,
      description:
        "8 to 256 characters, counted in NFC (400 VALIDATION_FAILED); not only whitespace or one character repeated, not one of the 10,000 most common passwords, nor mostly the shop's name, the email or the name (422 PASSWORD_TOO_COMMON)",
    }),
    // At least one visible character: the service stores the name trimmed.
    // One line, no bidi overrides: it is an email's subject and greeting, and a line of the admin's order views.
    name: displayName(200, {
      singleLine: true,
      description:
        '1 to 200 characters, at least one visible; one line: no control character (a line break, a tab), line or paragraph separator, nor bidi embedding, override or isolate (U+202A–U+202E, U+2066–U+2069)',
    }),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object({ email: SignInEmail, password: Type.String({ minLength: 1, maxLength: PASSWORD_INPUT_MAX_LENGTH }) }, { additionalProperties: false });
export type LoginBody = Static<typeof LoginBody>;
