import path from 'node:path';

/**
 * The modules' SQL definition files (functions), in the order `migrate` applies them after the table
 * migrations: each is `CREATE OR REPLACE`, so applying one again is harmless and the file is the one
 * current text of what it defines.
 */
export const SQL_DEFINITIONS: readonly string[] = [
  path.join(import.meta.dirname, 'inventory', 'inventory.sql'),
  path.join(import.meta.dirname, 'customers', 'customers.sql'),
  path.join(import.meta.dirname, 'orders', 'orders.sql'),
];
