import { randomBytes } from 'node:crypto';
import type { Database } from '../../platform/db/client.ts';
import { PG_UNIQUE_VIOLATION, pgError } from '../../platform/db/errors.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import type { PasswordHashParams } from '../../platform/config/customers.config.ts';
import { EmailTakenError, InvalidCredentialsError, NotSignedInError } from './customers.errors.ts';
import type { CustomerRow, CustomersRepository } from './customers.repository.ts';
import type { Customer, LoginBody, RegisterBody } from './customers.schemas.ts';
import { hashPassword, verifyPassword } from './password.ts';
import type { SessionStore } from './sessions.ts';

/** The per-account part of the login limit (the per-address part is the `login` rate limiter). */
export interface LoginGuard {
  /**
   * Counts one sign-in attempt for this account before its password is checked; throws when the
   * account has used its attempts recently, or when that cannot be known.
   */
  begin(email: string): Promise<void>;
  /** The attempt did not guess wrong (it signed in, or failed for another reason): its unit comes back. */
  giveBack(email: string): Promise<void>;
}

export interface CustomerServiceDeps {
  db: Database;
  repo: CustomersRepository;
  sessions: SessionStore;
  passwordHash: PasswordHashParams;
  loginGuard: LoginGuard;
}

function toCustomer(row: CustomerRow): Customer {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.createdAt.toISOString() };
}

export function createCustomerService(deps: CustomerServiceDeps) {
  const { repo } = deps;
  // Unknown emails are checked against this hash, so that "no such account" takes as long as "wrong password".
  let decoy: Promise<string> | undefined;
  const decoyHash = () => (decoy ??= hashPassword(randomBytes(16).toString('hex'), deps.passwordHash));

  return {
    /** Creates the account (the welcome email follows through the outbox) and signs it in. */
    async register(body: RegisterBody): Promise<{ customer: Customer; sessionId: string }> {
      const passwordHash = await hashPassword(body.password, deps.passwordHash);
      let row: CustomerRow;
      try {
        row = await repo.insert(deps.db.primary, { email: body.email.trim(), name: body.name.trim(), passwordHash }, (c) => [
          { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: c.email, name: c.name } },
        ]);
      } catch (error) {
        if (pgError(error)?.code === PG_UNIQUE_VIOLATION) throw new EmailTakenError();
        throw error;
      }
      return { customer: toCustomer(row), sessionId: await deps.sessions.create(row.id) };
    },

    /** Checks the password and starts a new session; the previous one (if any) ends: no fixation. */
    async login(body: LoginBody, previousSessionId: string | undefined): Promise<{ customer: Customer; sessionId: string }> {
      await deps.loginGuard.begin(body.email);
      let row: Awaited<ReturnType<CustomersRepository['findByEmail']>>;
      let ok: boolean;
      try {
        row = await repo.findByEmail(deps.db.primary, body.email.trim());
        ok = await verifyPassword(body.password, row?.passwordHash ?? (await decoyHash()));
      } catch (error) {
        // An outage is not a wrong guess.
        await deps.loginGuard.giveBack(body.email);
        throw error;
      }
      if (!row || !ok) throw new InvalidCredentialsError();
      await deps.loginGuard.giveBack(body.email);
      if (previousSessionId !== undefined) await deps.sessions.destroy(previousSessionId);
      return { customer: toCustomer(row), sessionId: await deps.sessions.create(row.id) };
    },

    /** The guest record for a guest checkout's email (one per email, never signs in). */
    guestId: (email: string) => repo.upsertGuest(deps.db.primary, email.trim()),

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
