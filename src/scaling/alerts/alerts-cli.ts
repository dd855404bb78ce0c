/**
 * `salescale alerts [--out file] [--json]`: the alert table as a Prometheus rules file (stdout or
 * `--out`), or as JSON for other generators (CloudWatch alarms in the AWS template).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ALERT_RULES } from './alert-rules.ts';
import { renderPrometheusRules } from './prometheus-rules.ts';

export function registerAlertsCommand(program: Command): Command {
  const cmd = program
    .command('alerts')
    .description('render the seed strategy\'s alert thresholds as Prometheus alerting rules (or --json)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--json', 'print the rule table as JSON');
  cmd.action(async (options: { out?: string; json?: boolean }) => {
    const text = options.json ? `${JSON.stringify(ALERT_RULES, null, 2)}\n` : renderPrometheusRules(ALERT_RULES);
    if (options.out) {
      await writeFile(options.out, text);
      process.stderr.write(`${ALERT_RULES.length} alert rules written to ${options.out}\n`);
    } else {
      const out = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      out(text);
    }
  });
  return cmd;
}
