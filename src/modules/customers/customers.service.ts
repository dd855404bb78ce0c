import { randomBytes } from 'node:crypto';
import type { Database } from '../../platform/db/client.ts';
import { PG_UNIQUE_VIOLATION, pgError } from '../../platform/db/errors.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import type { PasswordHashParams } from '../../platform/config/customers.config.ts';
import { EmailTakenError, InvalidCredentialsError, NotSignedInError } from './customers.errors.ts';
import type { CustomerRow, CustomersRepository } from './customers.repository.ts';
import type { Customer, LoginBody, RegisterBody } from './customers.schemas.ts';
import type { PasswordGate } from './password-gate.ts';
import { checkNewPassword } from './password-policy.ts';
import { hashPassword, matchPassword, needsRehash, type PasswordMatch } from './password.ts';
import type { SessionStore } from './sessions.ts';

/** The per-account part of the login limit (the per-address part is the `login` rate limiter). */
export interface LoginGuard {
  /**
   * Counts one sign-in attempt before its password is checked: against the trusted device's own budget when
   * `device` (the id of a valid device cookie for this account) is given, else against the account's budget
   * shared by all untrusted clients. Throws when that budget was used up recently, or when that cannot be known.
   */
  begin(email: string, device: string | undefined): Promise<void>;
  /** The attempt did not guess wrong (it signed in, or failed for another reason): its unit comes back. */
  giveBack(email: string, device: string | undefined): Promise<void>;
}

export interface CustomerServiceDeps {
  db: Database;
  repo: CustomersRepository;
  sessions: SessionStore;
  passwordHash: PasswordHashParams;
  /** Every hash and verification goes through it: a bounded number at once, a bounded number waiting. */
  passwordGate: PasswordGate;
  loginGuard: LoginGuard;
}

function toCustomer(row: CustomerRow): Customer {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.createdAt.toISOString() };
}

export function createCustomerService(deps: CustomerServiceDeps) {
  const { repo, passwordGate } = deps;
  // Unknown emails are checked against this hash, so that "no such account" takes as long as "wrong password". It is
  // made now, off the event loop, not at the first unknown email: that one sign-in would cost a hash more than any
  // other and tell an observer, once per process, that the email has no account.
  const decoy = hashPassword(randomBytes(16).toString('hex'), deps.passwordHash);
  // Awaited by every sign-in of an unknown email (which fails while it does) and by ready(); never an unhandled rejection.
  decoy.catch(() => undefined);

  return {
    /** Settles once the decoy hash exists: the web role waits for it (alongside its other start-up) before it listens. */
    ready: async (): Promise<void> => {
      await decoy;
    },

    /**
     * Creates the account (the welcome email follows through the outbox) and signs it in; a session this browser
     * held (another account's) ends, as at login. A password a guesser tries first is refused before any hashing.
     */
    async register(body: RegisterBody, previousSessionId: string | undefined): Promise<{ customer: Customer; sessionId: string }> {
      checkNewPassword(body.password, body);
      const passwordHash = await passwordGate.run(() => hashPassword(body.password, deps.passwordHash));
      let row: CustomerRow;
      try {
        row = await repo.insert(deps.db.primary, { email: body.email.trim(), name: body.name.trim(), passwordHash }, (c) => [
          { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: c.email, name: c.name } },
        ]);
      } catch (error) {
        if (pgError(error)?.code === PG_UNIQUE_VIOLATION) throw new EmailTakenError();
        throw error;
      }
      if (previousSessionId !== undefined) await deps.sessions.destroy(previousSessionId);
      return { customer: toCustomer(row), sessionId: await deps.sessions.create(row.id) };
    },

    /**
     * Checks the password and starts a new session; the previous one (if any) ends: no fixation. `device` is the id
     * of the client's valid device cookie for this email, if it has one (see {@link LoginGuard.begin}).
     */
    async login(body: LoginBody, previousSessionId: string | undefined, device?: string): Promise<{ customer: Customer; sessionId: string }> {
      await deps.loginGuard.begin(body.email, device);
      let row: Awaited<ReturnType<CustomersRepository['findByEmail']>>;
      let match: PasswordMatch;
      try {
        row = await repo.findByEmail(deps.db.primary, body.email.trim());
        const stored = row?.passwordHash ?? (await decoy);
        // The same check for the decoy: a password not in NFC costs two verifications, known account or not.
        match = await passwordGate.run(() => matchPassword(body.password, stored));
      } catch (error) {
        // An outage is not a wrong guess.
        await deps.loginGuard.giveBack(body.email, device);
        throw error;
      }
      if (!row || match === 'none') throw new InvalidCredentialsError();
      await deps.loginGuard.giveBack(body.email, device);
      // The password is known only now: a hash made with an older cost (PASSWORD_HASH_* raised since) is made
      // again with the current one, or raising the cost would protect only accounts made afterwards (and a sign-in
      // to an old account would answer faster than one to an unknown email, whose decoy has the current cost).
      // So is a hash made from a password's raw, non-NFC form before passwords were normalised: made again from
      // the NFC form, it signs in whichever form the customer's next keyboard sends.
      // Best effort: a busy gate or a failed write leaves the old hash for the next sign-in, never fails this one.
      if (match === 'raw' || needsRehash(row.passwordHash, deps.passwordHash)) {
        const stored = row.passwordHash;
        await passwordGate
          .run(() => hashPassword(body.password, deps.passwordHash))
          .then((upgraded) => repo.replacePasswordHash(deps.db.primary, row.id, stored, upgraded))
          .catch(() => undefined);
      }
      if (previousSessionId !== undefined) await deps.sessions.destroy(previousSessionId);
      return { customer: toCustomer(row), sessionId: await deps.sessions.create(row.id) };
    },

    /** The guest record of an email if an earlier guest order created it; none is created. */
    existingGuestId: (email: string) => repo.findGuestId(deps.db.primary, email.trim()),

    async logout(sessionId: string | undefined): Promise<void> {
      if (sessionId !== undefined) await deps.sessions.destroy(sessionId);
    },

    async me(customerId: number | undefined): Promise<Customer> {
      const row = customerId === undefined ? undefined : await repo.findById(deps.db.primary, customerId);
      if (!row) throw new NotSignedInError();
      return toCustomer(row);
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;
