import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const customers = pgTable(
  'customers',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** As given; uniqueness is case-insensitive (the index on lower(email)). */
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** A PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
    passwordHash: text('password_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** A guest who checked out with an email and no account: never signs in. */
    guest: boolean('guest').notNull().default(false),
  },
  (t) => [
    uniqueIndex('customers_email_lower_idx').on(sql`lower(${t.email})`).where(sql`not ${t.guest}`),
    // Guest checkout: one guest record per email (caps count per email), apart from any account with it.
    uniqueIndex('customers_guest_email_lower_idx').on(sql`lower(${t.email})`).where(sql`${t.guest}`),
    // The guest records of one buyer for purchase caps, tagged or not (buyer_of in orders.sql, inlined: the same
    // expression, so the planner matches it): an account's checkout leaves their unpaid orders out of its counts.
    index('customers_guest_buyer_idx').on(sql`regexp_replace(lower(${t.email}), '^([^+@]+)\\+[^@]*@', '\\1@')`).where(sql`${t.guest}`),
    check('customers_email_shape', sql`position('@' in ${t.email}) > 1`),
  ],
);
