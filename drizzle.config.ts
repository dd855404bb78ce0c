import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // Every table, wherever its owner keeps it: modules own theirs (`<module>.tables.ts`), platform its own.
  schema: ['./src/modules/*/*.tables.ts', './src/platform/*/*.tables.ts'],
  out: './src/platform/db/migrations',
  strict: true,
});
