// The web role as `salescale serve` builds it, plus one CPU-bound browse route (`GET /bench/cpu`,
// ~BENCH_CPU_MS of synchronous work), so a load generator can saturate the event loop on purpose.
// Started by bench/shedding.ts; configured through the environment like `serve`.
import { loadConfig } from '../src/platform/config/config.ts';
import { createPlatform } from '../src/platform/platform.ts';
import { composeWeb } from '../src/web/compose.ts';
import { buildServer } from '../src/web/server.ts';

const CPU_MS = Number(process.env.BENCH_CPU_MS ?? 5);

function burn(ms: number): number {
  let x = 0;
  for (const end = performance.now() + ms; performance.now() < end; ) x += Math.sqrt(x + 1);
  return x;
}

const config = loadConfig();
const platform = createPlatform(config, 'web');
const app = await buildServer(await composeWeb(platform));
app.get('/bench/cpu', async () => ({ work: burn(CPU_MS) > 0 }));
await app.listen({ host: config.http.host, port: config.http.port });
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => platform.close())
    .then(() => process.exit(0));
});
