/**
 * `salescale alerts [--out file] [--tests file] [--recording file] [--dashboard file] [--alertmanager file] [--runbook-url url] [--json]`:
 * the alert table as a Prometheus rules file (stdout or `--out`), its `promtool test rules` file (`--tests`), the
 * Alertmanager configuration that routes and inhibits its alerts (`--alertmanager`, receivers from `--paging-url` and
 * `--chat-url`, placeholders without them), or JSON for other generators (CloudWatch alarms in the AWS template). Each alert's `runbook_url` is `--runbook-url`
 * (default: the deployment spec's `alerts.runbookUrl`, so these files and the rendered manifests agree) plus
 * its anchor in docs/runbook.md.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { ScalingInputError, formatInputError, quoteInput } from '../errors.ts';
import { SEED_DEPLOYMENT_SPEC } from '../manifests/deployment-spec.ts';
import { type OutputFile, writeOutputFiles } from '../output-files.ts';
import { ALERT_RULES } from './alert-rules.ts';
import { ALERT_FIXTURES } from './alert-rules.fixtures.ts';
import { PLACEHOLDER_URLS, renderAlertmanagerConfig } from './alertmanager-config.ts';
import { buildGrafanaDashboard } from './grafana-dashboard.ts';
import { renderPrometheusRules } from './prometheus-rules.ts';
import { renderPromtoolTests } from './promtool-tests.ts';
import { renderRecordingRules } from './recording-rules.ts';
import { findRunbookUrlProblem, getRunbookUrl } from './runbook-links.ts';

export function registerAlertsCommand(program: Command): Command {
  const cmd = program
    .command('alerts')
    .description("render the seed strategy's alert thresholds as Prometheus alerting rules (or --json)")
    .option('--out <file>', 'write the rules to this file instead of stdout')
    .option('--tests <file>', 'also write a `promtool test rules` file covering every rule')
    .option('--recording <file>', 'also write the recording rules (throughput, error ratio, percentiles, checkout rate, …)')
    .option('--dashboard <file>', 'also write the Grafana dashboard JSON')
    .option('--alertmanager <file>', 'also write the Alertmanager configuration: routes by severity, critical alerts inhibiting their warning twins')
    .option('--paging-url <url>', `with --alertmanager: the webhook critical alerts page through (default: a placeholder, ${PLACEHOLDER_URLS.paging})`)
    .option('--chat-url <url>', `with --alertmanager: the webhook warnings go to (default: a placeholder, ${PLACEHOLDER_URLS.chat})`)
    .option(
      '--runbook-url <url>',
      `where docs/runbook.md is served; each alert's runbook_url is this plus #<alert name in lower case> (default: the deployment spec's alerts.runbookUrl, ${SEED_DEPLOYMENT_SPEC.alerts.runbookUrl})`,
    )
    .option('--json', 'print the rule table as JSON (each rule with its runbookUrl)');
  cmd.action(async (options: { out?: string; tests?: string; recording?: string; dashboard?: string; alertmanager?: string; pagingUrl?: string; chatUrl?: string; runbookUrl?: string; json?: boolean }) => {
    const refuse = (e: ScalingInputError): never => cmd.showHelpAfterError(false).error(formatInputError(e), { exitCode: 2, code: `salescale.${e.code}` });
    const runbookUrl = options.runbookUrl ?? SEED_DEPLOYMENT_SPEC.alerts.runbookUrl;
    const problem = findRunbookUrlProblem(runbookUrl);
    if (problem) refuse(new ScalingInputError('INVALID_OPTION', `--runbook-url ${quoteInput(runbookUrl)} ${problem}`, { field: '--runbook-url', value: runbookUrl }));
    for (const [field, url] of [['--paging-url', options.pagingUrl], ['--chat-url', options.chatUrl]] as const) {
      if (url !== undefined && !isHttpUrl(url)) refuse(new ScalingInputError('INVALID_OPTION', `${field} ${quoteInput(url)} must be an http(s) URL`, { field, value: url }));
      // Only the Alertmanager configuration takes receivers: without it the URL was ignored and the command said nothing.
      if (url !== undefined && !options.alertmanager) refuse(new ScalingInputError('INVALID_OPTION', `${field} is a receiver of the Alertmanager configuration: give it with --alertmanager <file>`, { field, value: url }));
    }
    const withLinks = ALERT_RULES.map((rule) => ({ ...rule, runbookUrl: getRunbookUrl(rule.name, runbookUrl) }));
    const text = options.json ? `${JSON.stringify(withLinks, null, 2)}\n` : renderPrometheusRules(ALERT_RULES, { runbookUrl });
    const files: (OutputFile & { written: string })[] = [];
    if (options.out) files.push({ path: options.out, content: text, written: `${ALERT_RULES.length} alert rules written to ${options.out}` });
    if (options.tests) {
      // promtool resolves rule_files relative to the test file.
      const rulesFile = options.out ? path.relative(path.dirname(path.resolve(options.tests)), path.resolve(options.out)) : 'alert-rules.yml';
      files.push({ path: options.tests, content: renderPromtoolTests(ALERT_RULES, ALERT_FIXTURES, rulesFile, { runbookUrl }), written: `promtool tests for ${ALERT_RULES.length} rules written to ${options.tests}` });
    }
    if (options.recording) files.push({ path: options.recording, content: renderRecordingRules(), written: `recording rules written to ${options.recording}` });
    if (options.dashboard) files.push({ path: options.dashboard, content: `${JSON.stringify(buildGrafanaDashboard(), null, 2)}\n`, written: `Grafana dashboard written to ${options.dashboard}` });
    if (options.alertmanager) {
      const urls = { paging: options.pagingUrl ?? PLACEHOLDER_URLS.paging, chat: options.chatUrl ?? PLACEHOLDER_URLS.chat };
      files.push({ path: options.alertmanager, content: renderAlertmanagerConfig(ALERT_RULES, urls), written: `Alertmanager configuration written to ${options.alertmanager}` });
    }
    try {
      await writeOutputFiles(files);
    } catch (e) {
      if (e instanceof ScalingInputError) refuse(e);
      throw e;
    }
    if (!options.out) (cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s)))(text);
    for (const file of files) process.stderr.write(`${file.written}\n`);
  });
  return cmd;
}

function isHttpUrl(url: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
