#!/usr/bin/env node
// The `salescale` entry point. Tracing, when the OTEL_* variables ask for it, has to be registered
// before the modules it instruments are loaded, so the CLI (and through it every role) is imported
// only after it (src/platform/telemetry/tracing.ts). The first import sets up how modules load (Node's compile
// cache, and drizzle-orm's modules found without re-reading its package.json: src/platform/start-up.ts).
import './platform/start-up.ts';
import { tracingConfigProblem, tracingSettings } from './platform/telemetry/tracing.config.ts';

const TRACED_COMMANDS: Record<string, string> = { serve: 'web', worker: 'worker', up: 'all' };

if (import.meta.main) {
  const role = TRACED_COMMANDS[process.argv[2] ?? ''];
  const problem = role ? tracingConfigProblem(process.env) : undefined;
  if (problem) {
    process.stderr.write(`salescale: configuration error: ${problem}\n`);
    process.exit(2);
  }
  const tracing = role ? tracingSettings(process.env, role) : undefined;
  if (tracing?.enabled) {
    const { startTracing } = await import('./platform/telemetry/tracing.ts');
    await startTracing(tracing);
  }
  const { runCli } = await import('./cli/program.ts');
  await runCli();
}
