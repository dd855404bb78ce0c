/**
 * What a write changed, per field: the value before and after, where the code that wrote it had both at hand
 * (returned by the statement or read under the lock it took: never an extra read for the sake of the record).
 */
export type FieldChanges = Record<string, { before: unknown; after: unknown }>;
