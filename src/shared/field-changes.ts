import { isDeepStrictEqual } from 'node:util';

/**
 * What a write changed, per field: the value before and after, where the code that wrote it had both at hand
 * (returned by the statement or read under the lock it took: never an extra read for the sake of the record).
 */
export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

/**
 * The `fields` a write named whose value differs before → after. A value resent as it was is no change: the audit
 * trail would otherwise show `700 → 700`, a change an auditor looks for and that never happened.
 */
export function getFieldChanges<K extends string>(named: Partial<Record<K, unknown>>, before: Record<K, unknown>, after: Record<K, unknown>, fields: readonly K[]): FieldChanges {
  const change: FieldChanges = {};
  for (const field of fields) {
    if (named[field] !== undefined && !isDeepStrictEqual(before[field], after[field])) change[field] = { before: before[field], after: after[field] };
  }
  return change;
}

/**
 * What a create made: each of `fields`, null → its value (null ones too), as the write returned it. Once an item exists
 * its later changes say only what they changed; the create is where the trail says what it was to begin with.
 */
export function getCreatedFields<K extends string>(after: Record<K, unknown>, fields: readonly K[]): FieldChanges {
  return Object.fromEntries(fields.map((field) => [field, { before: null, after: after[field] }]));
}

/** What a delete removed: each of `fields`, its value (as the delete found it) → null: once the row is gone, the only record of it. */
export function getDeletedFields<K extends string>(before: Record<K, unknown>, fields: readonly K[]): FieldChanges {
  return Object.fromEntries(fields.map((field) => [field, { before: before[field], after: null }]));
}
