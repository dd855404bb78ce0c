import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { enqueueInTransaction, type OutboxJob } from '../../platform/outbox/outbox.ts';
import { customers } from './customers.tables.ts';

const columns = { id: customers.id, email: customers.email, name: customers.name, createdAt: customers.createdAt };

export interface CustomerRow {
  id: number;
  email: string;
  name: string;
  createdAt: Date;
}

export function createCustomersRepository() {
  return {
    /** Inserts the customer and its follow-up jobs in one transaction. */
    async insert(db: Db, values: { email: string; name: string; passwordHash: string }, followUps: (customer: CustomerRow) => OutboxJob[]): Promise<CustomerRow> {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(customers).values(values).returning(columns);
        await enqueueInTransaction(tx, followUps(row!));
        return row!;
      });
    },

    /** The guest record of an email if one exists (created by an earlier guest order), without creating it. */
    async findGuestId(db: Db, email: string): Promise<number | undefined> {
      const rows = await db.select({ id: customers.id }).from(customers).where(sql`lower(${customers.email}) = lower(${email}) and ${customers.guest}`);
      return rows[0]?.id;
    },

    async findByEmail(db: Db, email: string): Promise<(CustomerRow & { passwordHash: string }) | undefined> {
      const rows = await db
        .select({ ...columns, passwordHash: customers.passwordHash })
        .from(customers)
        .where(sql`lower(${customers.email}) = lower(${email}) and not ${customers.guest}`);
      return rows[0];
    },

    /** Replaces a password hash, unless it changed since it was read (then the newer one stays). */
    async replacePasswordHash(db: Db, id: number, from: string, to: string): Promise<void> {
      await db
        .update(customers)
        .set({ passwordHash: to, updatedAt: sql`now()` })
        .where(and(eq(customers.id, id), eq(customers.passwordHash, from)));
    },

    async findById(db: Db, id: number): Promise<CustomerRow | undefined> {
      const rows = await db.select(columns).from(customers).where(eq(customers.id, id));
      return rows[0];
    },
  };
}

export type CustomersRepository = ReturnType<typeof createCustomersRepository>;
