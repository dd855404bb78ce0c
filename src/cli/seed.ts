import cliProgress from 'cli-progress';
import pg from 'pg';
import { getCliConnectionConfig, survivingLostConnections } from '../platform/db/cli-connection.ts';
import { seedCatalog } from '../modules/catalog/index.ts';

export async function runSeed(databaseUrl: string, options: { products: number; categories: number; seed: number; stockShards: number }, caCert?: string): Promise<void> {
  const pool = survivingLostConnections(new pg.Pool({ ...getCliConnectionConfig(databaseUrl, 'salescale-seed', caCert), max: 2 }));
  const bar = new cliProgress.SingleBar(
    { format: 'seeding products [{bar}] {percentage}% | {value}/{total} | {duration}s', stream: process.stderr, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(options.products, 0);
  try {
    const result = await seedCatalog(pool, { ...options, onProgress: (done) => bar.update(done) });
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `seeded ${result.products} new products (${options.products} requested) and ${result.newCategories} new categories (${options.categories} requested)` +
        ` in ${seconds.toFixed(2)} s (${Math.round(result.products / seconds)} new products/s)\n`,
    );
  } finally {
    bar.stop();
    await pool.end();
  }
}
