/** Writes KEDA-UPSTREAM-CASES.md beside this file: `node src/scaling/simulate/testdata/write-keda-upstream-table.ts`. */
import { writeFileSync } from 'node:fs';
import { NOT_PORTED } from '../keda-upstream.fixtures.ts';
import { runKedaUpstreamCases } from '../keda-upstream.harness.ts';

const results = runKedaUpstreamCases();
const pass = results.filter((r) => r.pass).length;
const cell = (text: string) => text.replaceAll('|', '\\|');
const lines = [
  "# KEDA cases ported from KEDA's own tests",
  '',
  'Source: kedacore/keda `pkg/scaling/executor/scale_scaledobjects_test.go`, `pkg/scaling/scale_handler_test.go`,',
  '`apis/keda/v1alpha1/scaledobject_types_test.go`, `scaletriggers_types_test.go`, `controllers/keda/scaledobject_controller_test.go`,',
  '`pkg/fallback/fallback_test.go`, `pkg/scalers/cron_scaler_test.go`, `redis_scaler_test.go` (the versions read are listed in',
  '`../keda-upstream.fixtures.ts`). Inputs and expectations are in `../keda-upstream.fixtures.ts`, the harness in',
  '`../keda-upstream.harness.ts`, the assertions in `../keda-upstream.test.ts`. Regenerate with',
  '`node src/scaling/simulate/testdata/write-keda-upstream-table.ts`. An expected `"error": true` is a refusal whose',
  'message upstream does not check; other expected errors are contained in ours (`TestValidateTriggers`: equal).',
  '',
  `**${results.length} cases, ${pass} pass.**`,
  '',
  '| # | upstream test | file | what | upstream expects | this port | pass |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map(
    (r, i) => `| ${i + 1} | ${cell(r.upstream)} | ${r.file} | ${r.family} | \`${cell(JSON.stringify(r.expected))}\` | \`${cell(JSON.stringify(r.actual))}\` | ${r.pass ? 'yes' : '**no**'} |`,
  ),
  '',
  '## Not ported',
  '',
  '| file | tests | why |',
  '| --- | --- | --- |',
  ...NOT_PORTED.map((n) => `| ${n.file} | ${cell(n.tests)} | ${cell(n.reason)} |`),
  '',
];
writeFileSync(new URL('./KEDA-UPSTREAM-CASES.md', import.meta.url), lines.join('\n'));
console.log(`${results.length} cases, ${pass} pass`);
