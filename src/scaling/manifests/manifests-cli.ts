/**
 * `salescale manifests --target k8s|compose|swarm|aws|heroku|do|all [--out dir] [--year yyyy]
 * [--image-tag t] [--check]`: renders the deployment files from the seed spec. Without `--out` the
 * files go where the repository keeps them (deploy/, Procfile, app.json, .do/) relative to the
 * current directory; `--check` writes nothing and exits 1 when a committed file differs. Without
 * `--year` the pre-scaling is planned for the next sale of the spec's event that has not ended yet,
 * as `plan`, `simulate` and `cost` do; once that is past the spec's `prescale.year`, `--check`
 * reports the committed files as stale: re-render them for the coming sale.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ScalingInputError, formatInputError, quoteInput } from '../errors.ts';
import { getNextCalendarEventYear } from '../forecast/calendar.ts';
import { type DeploymentSpec, DeploymentSpecError, SEED_DEPLOYMENT_SPEC, withOverrides } from './deployment-spec.ts';
import { checkScheduleEnd, checkScheduleStart } from '../capacity/schedule-start-check.ts';
import { getAzureProfileSteps, getGceScheduleWindows } from '../schedule/cloud-schedules.ts';
import { describeCappedPrescale, getPrescaleSchedule } from './prescale-plan.ts';
import { MANIFEST_TARGETS, isManifestTarget, renderTargets, writeRenderedFiles, type ManifestTarget } from './manifests.ts';

function targetList(value: string): ManifestTarget[] {
  const names = value.split(',').map((part) => part.trim());
  // all is a target name too, also in a list (all,k8s was refused as the unknown target "all").
  const unknown = names.filter((name) => name !== 'all' && !isManifestTarget(name));
  if (unknown.length > 0) throw new ScalingInputError('INVALID_OPTION', `--target: unknown target ${quoteInput(unknown[0])} (targets are ${MANIFEST_TARGETS.join(', ')} or all)`, { field: '--target', value });
  if (names.includes('all')) return [...MANIFEST_TARGETS];
  // Each once: a target named twice gave every one of its files twice to the all-or-none writer, which refuses a path named twice.
  return [...new Set(names)] as ManifestTarget[];
}

function year(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 2000 || n > 2200) throw new ScalingInputError('INVALID_OPTION', `--year must be a year from 2000 to 2200 (got ${quoteInput(value)})`, { field: '--year', value });
  return n;
}

/** Docker's tag grammar: a word character, then up to 127 word characters, dots and dashes. */
function imageTag(value: string): string {
  if (!/^\w[\w.-]{0,127}$/.test(value)) throw new ScalingInputError('INVALID_OPTION', `--image-tag ${quoteInput(value)} is not a Docker image tag: letters, digits, _ . - (not first), at most 128 characters`, { field: '--image-tag', value });
  return value;
}

/**
 * @param deps.now the clock that picks the default sale. @defaultValue () => new Date()
 * @param deps.spec the spec to render (tests). @defaultValue SEED_DEPLOYMENT_SPEC
 */
export function registerManifestsCommand(program: Command, deps: { now?: () => Date; spec?: DeploymentSpec } = {}): Command {
  const base = deps.spec ?? SEED_DEPLOYMENT_SPEC;
  const { event, timeZone } = base.prescale;
  const nextYear = () => getNextCalendarEventYear(event, deps.now?.() ?? new Date(), timeZone);
  const cmd = program
    .command('manifests')
    .description('render deployment files (Kubernetes, compose, swarm, CloudFormation, Google Cloud Terraform, Azure ARM, Heroku, DigitalOcean) from the deployment spec')
    .requiredOption('--target <names>', `${MANIFEST_TARGETS.join(' | ')} | all (comma-separated allowed)`)
    .option('--out <dir>', 'root folder to write under (default: the current directory, i.e. the repository)', '.')
    .option('--year <yyyy>', `year of the sale whose plan gives the pre-scaling windows (default: the next ${event} that has not ended yet, ${nextYear()})`)
    .option('--image-tag <tag>', `image tag (default ${base.image.tag})`)
    .option('--check', 'write nothing; exit 1 if a file on disk differs from the rendering');
  // Values are checked here, not by commander's argument parsers: a bad value is input (one line, exit 2), not a mistyped command line.
  const refuse = (error: ScalingInputError): never => cmd.showHelpAfterError(false).error(formatInputError(error), { exitCode: 2, code: `salescale.${error.code}` });
  cmd.action(async (o: { target: string; out: string; year?: string; imageTag?: string; check?: boolean }) => {
    const print = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
    let targets: ManifestTarget[];
    let spec: DeploymentSpec;
    try {
      targets = targetList(o.target);
      spec = withOverrides(base, {
        prescale: { year: o.year !== undefined ? year(o.year) : nextYear() },
        ...(o.imageTag !== undefined ? { image: { tag: imageTag(o.imageTag) } } : {}),
      });
    } catch (error) {
      if (error instanceof ScalingInputError) refuse(error);
      throw error;
    }
    const warn = cmd.configureOutput().writeErr ?? ((t: string) => process.stderr.write(t));
    let files: ReturnType<typeof renderTargets>;
    try {
      try {
        files = renderTargets(targets, spec);
      } catch (error) {
        // Past 2036 gcp has no one-off schedule (GCE's cron years): `all` renders the other targets and says so; a named gcp is refused.
        const gcpNamed = o.target.split(',').some((name) => name.trim() === 'gcp');
        if (!(error instanceof ScalingInputError && error.details.limit !== undefined && targets.includes('gcp') && !gcpNamed)) throw error;
        targets = targets.filter((t) => t !== 'gcp');
        files = renderTargets(targets, spec);
        warn(`warning: gcp skipped: ${error.message}\n`);
      }
    } catch (error) {
      if (error instanceof DeploymentSpecError) cmd.showHelpAfterError(false).error(`salescale: ${error.message}`, { exitCode: 2 });
      if (error instanceof ScalingInputError) refuse(error);
      throw error;
    }
    // The files are right for what the spec says; a sale they cannot pre-scale in full is said, not refused.
    const capped = describeCappedPrescale(spec);
    if (capped) warn(`warning: ${capped}\n`);
    // The CloudFormation template carries the sale's scheduled actions: EC2 refuses those in the past, as plan warns.
    const schedule = getPrescaleSchedule(spec);
    const now = deps.now?.() ?? new Date();
    if (targets.includes('aws')) {
      const started = checkScheduleStart({ actions: [...schedule.web.awsActions, ...schedule.worker.awsActions], now });
      if (started.level !== 'ok') warn(`warning: ${started.message}; plan a window that has not started (--year)\n`);
    }
    // Google Cloud and Azure take one-off schedules in the past without an error, and never run them.
    const ended = [
      ...(targets.includes('gcp') ? [checkScheduleEnd({ engine: 'gcp', intervals: [...getGceScheduleWindows(schedule.web.windows), ...getGceScheduleWindows(schedule.worker.windows)], now })] : []),
      ...(targets.includes('azure') ? [checkScheduleEnd({ engine: 'azure', intervals: [...getAzureProfileSteps(schedule.web.windows, spec.web.replicas.min), ...getAzureProfileSteps(schedule.worker.windows, spec.worker.replicas.min)], now })] : []),
    ];
    for (const c of ended) if (c.level !== 'ok') warn(`warning: ${c.message}; ${c.fix}\n`);
    if (o.check) {
      const stale: string[] = [];
      for (const file of files) {
        const current = await readFile(join(o.out, file.path), 'utf8').catch(() => undefined);
        if (current !== file.content) stale.push(file.path);
      }
      // Files that differ are not a mistyped command line: no usage after the list.
      if (stale.length > 0) cmd.showHelpAfterError(false).error(`stale or missing (run salescale manifests --target ${targets.join(',')}):\n  ${stale.join('\n  ')}`, { exitCode: 1 });
      print(`${files.length} files up to date\n`);
      return;
    }
    let written: string[];
    try {
      written = await writeRenderedFiles(files, o.out);
    } catch (error) {
      if (error instanceof ScalingInputError) refuse(error);
      throw error;
    }
    print(`${written.length} files written under ${o.out}:\n  ${written.join('\n  ')}\n`);
  });
  return cmd;
}
