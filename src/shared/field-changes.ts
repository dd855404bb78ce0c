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
