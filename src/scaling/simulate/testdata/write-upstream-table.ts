/** Writes UPSTREAM-CASES.md beside this file: `node src/scaling/simulate/testdata/write-upstream-table.ts`. */
import { writeFileSync } from 'node:fs';
import { runUpstreamCases } from '../hpa-upstream.harness.ts';

const results = runUpstreamCases();
const pass = results.filter((r) => r.pass).length;
const lines = [
  '# HPA cases ported from the Kubernetes controller\'s unit tests',
  '',
  'Source: kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator_test.go` (v1.35 table layout) and',
  '`horizontal_test.go`. Inputs and expectations are in `../hpa-upstream.fixtures.ts`, the harness in',
  '`../hpa-upstream.harness.ts`, the assertions in `../hpa-upstream.test.ts`. Regenerate with',
  '`node src/scaling/simulate/testdata/write-upstream-table.ts`.',
  '',
  `**${results.length} cases, ${pass} pass.**`,
  '',
  '| # | upstream test | file | what | upstream expects | this port | pass |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r, i) => `| ${i + 1} | ${r.upstream.replaceAll('|', '\\|')} | ${r.file} | ${r.family} | \`${JSON.stringify(r.expected).replaceAll('|', '\\|')}\` | \`${JSON.stringify(r.actual).replaceAll('|', '\\|')}\` | ${r.pass ? 'yes' : '**no**'} |`),
  '',
];
writeFileSync(new URL('./UPSTREAM-CASES.md', import.meta.url), lines.join('\n'));
console.log(`${results.length} cases, ${pass} pass`);
