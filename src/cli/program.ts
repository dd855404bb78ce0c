// The `salescale` CLI: parses the command, loads config, starts one role (loaded by src/main.ts,
// after tracing when it is configured).
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadCapacityCheckConfig, loadConfig, loadMigrationConfig, loadScalingConfig } from '../platform/config/config.ts';
import { ListenError } from '../platform/http/listen-error.ts';
import { LocalStackError } from '../platform/local/local-stack.ts';
import { isQueueName, QUEUE_NAMES, type QueueName } from '../platform/queue/queue-definitions.ts';
import { CLI_CONNECTION_TIMEOUT_MS } from '../platform/db/cli-connection.ts';
import { classifyDatabaseFailure, pgError } from '../platform/db/errors.ts';
import { UnsafeQueueRedisError } from '../platform/queue/redis-policy.ts';
import { RedisUnavailableError } from '../platform/redis/redis-errors.ts';
import { ScalingInputError, formatInputError } from '../scaling/errors.ts';
import { runUntilSignal } from './termination.ts';

/** Decimal digits only: `Number()` also read "" and " " as 0 (`seed --products ""` seeded nothing) and "0x10" as 16. */
function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

function queueList(value: string): QueueName[] {
  const names = value.split(',').map((part) => part.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isQueueName(name));
  if (unknown.length > 0 || names.length === 0) throw new InvalidArgumentError(`queues are ${QUEUE_NAMES.join(', ')}`);
  return names as QueueName[];
}

function queueName(value: string): QueueName {
  if (!isQueueName(value)) throw new InvalidArgumentError(`queues are ${QUEUE_NAMES.join(', ')}`);
  return value;
}

/** Fills `salescale bench`'s help from bench/scenarios.ts: the argument's names, then one line per scenario. */
async function describeBenchScenarios(bench: Command): Promise<void> {
  if (!existsSync(new URL('../../bench/scenarios.ts', import.meta.url))) {
    bench.addHelpText('after', '\nThe benchmarks are not part of this installation (bench/ is left out of the image): run them from a checkout.');
    return;
  }
  const { SCENARIOS } = await import('../../bench/scenarios.ts');
  const names = (optional: boolean) => SCENARIOS.filter((s) => (s.optional ?? false) === optional).map((s) => s.name).join(' | ');
  const [argument] = bench.registeredArguments;
  argument.description = `${names(false)}; diagnostics run only by name: ${names(true)}`;
  bench.addHelpText('after', (context) => {
    const help = bench.createHelp();
    help.prepareContext({ helpWidth: context.error ? bench.configureOutput().getErrHelpWidth?.() : bench.configureOutput().getOutHelpWidth?.() });
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    const lines = SCENARIOS.map((s) => help.formatItem(s.name, width, `${s.optional ? '(diagnostic, run only by name) ' : ''}${s.describe}`, help));
    return `\nScenarios (in run order):\n${lines.join('\n')}`;
  });
}

/**
 * A file or folder option given an empty value (`--out "$OUT"` with OUT unset) is refused before the
 * command runs. Each took it as no option at all, without a word: `alerts --out ""` printed the rules
 * and wrote no file, `simulate --out ""` drew no chart, `manifests --out ""` wrote under the current folder.
 */
function refuseEmptyPaths(_program: Command, command: Command): void {
  for (const option of command.options) {
    const kind = /<(file|path|dir)>/.exec(option.flags)?.[1];
    const value: unknown = command.getOptionValue(option.attributeName());
    if (kind === undefined || typeof value !== 'string' || value.trim() !== '') continue;
    const error = new ScalingInputError('INVALID_OPTION', `${option.long} was given an empty path (an unset shell variable?): name a ${kind === 'dir' ? 'folder' : 'file'}`, { field: option.long });
    command.showHelpAfterError(false).error(formatInputError(error), { exitCode: 2, code: `salescale.${error.code}` });
  }
}

/**
 * The queue commands' bad input (an unknown queue, a missing argument or option): one line `salescale: …` and exit 2,
 * as every refused input of the CLI, instead of commander's usage text and exit 1. An on-call engineer's script tells
 * "the command was wrong" (2) from "it ran and some jobs were not retried" (1). Set before the subcommands are added:
 * they inherit it. `--help` still prints the usage, exit 0.
 */
function oneLineInputErrors(command: Command): Command {
  return command
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'salescale: ')) })
    .exitOverride((error) => process.exit(error.exitCode === 1 && error.code.startsWith('commander.') ? 2 : error.exitCode));
}

/** Long-running processes, as opposed to the commands that print a result and exit. */
const ROLE_COMMANDS = new Set(['up', 'serve', 'worker']);

/** For the commands that read neither secret (the queue commands, seed, the toolkit). */
const NO_SECRETS = { secrets: [] } as const;
/** The worker signs the guest order links of its confirmation emails: it needs the web role's SESSION_SECRET. */
const WORKER_SECRETS = { secrets: ['SESSION_SECRET'] } as const;

/** The user running the CLI, recorded as who discarded letters when `--actor` is not given (none in some containers). */
function getOperatingSystemUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

export function buildCli(): Command {
  const program = new Command('salescale').description('A sale-ready e-commerce backend and its scaling toolkit').showHelpAfterError();
  program.hook('preAction', (_program, command) => {
    // `salescale forecast … | head` closes the pipe before the output ends: with no reader left the rest
    // is not wanted, which is no error (it printed an EPIPE stack trace). The roles keep failing loudly:
    // a server whose log pipe is gone must not exit 0.
    if (ROLE_COMMANDS.has(command.name())) return;
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  });

  program
    .command('up')
    .description('Run everything locally: embedded PostgreSQL and redis-server unless DATABASE_URL / REDIS_URL are set, migrate, seed a demo catalog into an empty database, run the web and worker roles until Ctrl-C')
    .action(async () => {
      await runUntilSignal(async (interrupted) => (await import('./up.ts')).runUp(process.env, interrupted), ['SIGTERM', 'SIGINT', 'SIGHUP']);
    });

  program
    .command('serve')
    .description('Run the web role (HTTP API) against DATABASE_URL and REDIS_URL')
    .action(async () => {
      // Roles load on demand: the toolkit commands (forecast, plan, …) must not pay for Fastify and BullMQ.
      await runUntilSignal(async () => (await import('../web/web-role.ts')).startWeb(loadConfig()));
    });

  program
    .command('worker')
    .description('Run the worker role: queue processors and the outbox relay, /health and /metrics on WORKER_PORT')
    .option('--queues <names>', `comma-separated subset of ${QUEUE_NAMES.join(',')} (default WORKER_QUEUES, else all)`, queueList)
    .action(async (options: { queues?: QueueName[] }) => {
      await runUntilSignal(async () => (await import('../worker/worker-role.ts')).startWorker(loadConfig(process.env, WORKER_SECRETS), { queues: options.queues }));
    });

  const queues = oneLineInputErrors(program.command('queues'))
    .description('Show queue depths, paused queues, failed jobs, dead letters and the outbox backlog')
    .option('--json', 'the report as JSON')
    .hook('preAction', (_queues, command) => {
      // Commander reads the parent's options anywhere on the line: `queues retry-failed email --json` printed text.
      if (command !== queues && queues.opts<{ json?: boolean }>().json) {
        command.error(`salescale: --json is an option of \`salescale queues\` (the report), not of \`queues ${command.name()}\``, { exitCode: 2, code: 'salescale.INVALID_OPTION' });
      }
    })
    .action(async (options: { json?: boolean }) => {
      const { formatQueueReport, getQueueReport } = await import('./queues.ts');
      const report = await getQueueReport(loadConfig(process.env, NO_SECRETS));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatQueueReport(report));
    });
  for (const [name, paused] of [['pause', true], ['resume', false]] as const) {
    queues
      .command(name)
      .description(paused ? 'Pause a queue for every worker (its jobs wait; running ones finish)' : 'Resume a paused queue (paused here or from the dashboard)')
      .argument('<queue>', QUEUE_NAMES.join(' | '), queueName)
      .action(async (queue: QueueName) => {
        const { setQueuePaused } = await import('./queues.ts');
        const result = await setQueuePaused(loadConfig(process.env, NO_SECRETS), queue, paused);
        const state = result.paused ? 'paused' : 'running';
        process.stdout.write(`${queue}: ${result.wasPaused === result.paused ? `already ${state}` : state}\n`);
      });
  }
  queues
    .command('retry-failed')
    .description('Retry a queue\'s failed jobs and its dead letters')
    .argument('<queue>', QUEUE_NAMES.join(' | '), queueName)
    .action(async (queue: QueueName) => {
      const { retryFailed } = await import('./queues.ts');
      const result = await retryFailed(loadConfig(process.env, NO_SECRETS), queue);
      process.stdout.write(
        `${queue}: ${result.retriedFailed} failed jobs retried, ${result.requeuedDeadLetters} dead letters enqueued again, ${result.closedCompleted} dead letters of completed jobs closed\n`,
      );
      for (const { jobId, newJobId } of result.renamed ?? []) process.stdout.write(`${queue}: dead letter ${jobId} enqueued again as job ${newJobId}\n`);
      // Each job that could not be retried, after the others were: the run as a whole failed.
      for (const failure of result.failures) process.stderr.write(`${queue}: job ${failure.jobId} not retried: ${failure.reason}\n`);
      if (result.failures.length > 0) process.exitCode = 1;
    });
  queues
    .command('discard')
    .description('Close dead letters that will never succeed without running them, recording why and who')
    .argument('<queue>', QUEUE_NAMES.join(' | '), queueName)
    .argument('[job-ids...]', 'the letters to discard, by job id (as in dead_letters.job_id)')
    .option('--all', "every open dead letter of the queue")
    .requiredOption('--reason <text>', 'why they are given up (recorded on each letter)')
    .option('--actor <name>', 'who discards them (recorded; default: the operating-system user)')
    .action(async (queue: QueueName, jobIds: string[], options: { all?: boolean; reason: string; actor?: string }, command: Command) => {
      if ((jobIds.length > 0) === Boolean(options.all)) command.error('salescale: name the letters to discard (job ids) or pass --all, not both', { exitCode: 2, code: 'salescale.INVALID_ARGUMENT' });
      const { checkDiscardReason, discardDeadLetters } = await import('./queues.ts');
      // Bad input, not a mistyped command line: one line, exit 2, before anything connects.
      const refused = checkDiscardReason(options.reason);
      if (refused) command.error(`salescale: ${refused}`, { exitCode: 2, code: 'salescale.INVALID_REASON' });
      const result = await discardDeadLetters(loadConfig(process.env, NO_SECRETS), queue, {
        jobIds: options.all ? undefined : jobIds,
        all: options.all,
        reason: options.reason,
        actor: options.actor ?? getOperatingSystemUser(),
      });
      process.stdout.write(`${queue}: ${result.discarded.length} dead letters discarded\n`);
      for (const left of result.notDiscarded) process.stderr.write(`${queue}: dead letter ${left.jobId} not discarded: ${left.reason}\n`);
      if (result.notDiscarded.length > 0) process.exitCode = 1;
    });

  program
    .command('migrate')
    .description('Apply pending database migrations (safe to run from several instances at once)')
    .action(async () => {
      const { migrateWithOutcome } = await import('../platform/db/migrate.ts');
      const { SQL_DEFINITIONS } = await import('../modules/sql-definitions.ts');
      const { databaseUrl, caCert } = loadMigrationConfig();
      const { applied, unknown } = await migrateWithOutcome(databaseUrl, SQL_DEFINITIONS, caCert);
      const ahead = unknown > 0 ? ` (the database is ahead of this release: ${unknown} migration${unknown === 1 ? '' : 's'} it does not know; its SQL functions were left as they are)` : '';
      process.stdout.write(`migrations applied: ${applied}${ahead}\n`);
    });

  program
    .command('seed')
    .description('Insert a deterministic demo catalog (existing SKUs are kept)')
    .option('--products <n>', 'number of products', positiveInt, 1000)
    .option('--categories <n>', 'number of categories', positiveInt, 24)
    .option('--seed <n>', 'random seed (same seed, same catalog)', positiveInt, 42)
    .action(async (options: { products: number; categories: number; seed: number }) => {
      const config = loadConfig(process.env, NO_SECRETS);
      if (!config.db.url) throw new ConfigError('DATABASE_URL', 'is required for seed');
      const { runSeed } = await import('./seed.ts');
      await runSeed(config.db.url, { ...options, stockShards: config.checkout.stockShards }, config.db.caCert);
    });

  const bench = program
    .command('bench')
    .description('Run benchmark scenarios against the local PostgreSQL and Redis (all when none is named); results in bench/results/')
    .argument('[scenarios...]', 'scenario names (salescale bench --help lists them)')
    .action(async (scenarios: string[], _options: unknown, command: Command) => {
      // Loaded on demand: the benchmarks are a development tool, not part of a serving process.
      const { runBench, SCENARIOS } = await import('../../bench/run.ts');
      const unknown = scenarios.filter((name) => !SCENARIOS.some((s) => s.name === name));
      if (unknown.length > 0) command.error(`unknown scenario ${unknown.join(', ')} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`);
      const outcome = await runBench(scenarios);
      process.exitCode = outcome.failed ? 1 : 0;
    });
  // The help lists the runner's own scenario list, so it cannot drift from it (a hand-written copy missed
  // forecast and waiting-room). That list loads the load generators, about a second, and bench/ is not in
  // the image: it is read only when `bench` itself is about to parse (its --help, a run, an unknown name).
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand === bench) await describeBenchScenarios(bench);
  });

  // forecast, plan, simulate, cost, backtest: sale events (and history) come from the database when
  // DATABASE_URL is set, otherwise from files and the built-in calendar; SHOP_TIME_ZONE is the default of --tz.
  program.hook('preAction', refuseEmptyPaths);
  return program;
}

/**
 * Adds the scaling toolkit's commands (forecast, plan, simulate, cost, backtest, alerts, manifests, hpa) after
 * the ones `buildCli` defines, in that order. Their definitions import the whole toolkit (forecast models,
 * simulators, report charts: about 0.3 s of a role's start-up on 2 cores), so `runCli` loads them only when the
 * command line does not name one of the commands above: a role's start-up does not pay for them.
 */
export async function registerToolkitCommands(program: Command): Promise<void> {
  const [{ scalingDataSources }, { registerScalingCommands }, { registerAlertsCommand }, { registerManifestsCommand }, { registerHpaCommand }] = await Promise.all([
    import('./scaling-data.ts'),
    import('../scaling/cli.ts'),
    import('../scaling/alerts/alerts-cli.ts'),
    import('../scaling/manifests/manifests-cli.ts'),
    import('../scaling/hpa-cli.ts'),
  ]);
  registerScalingCommands(program, { ...scalingDataSources(() => loadScalingConfig()), capacityChecks: () => loadCapacityCheckConfig() });
  // alerts: the seed's alert thresholds as Prometheus rules (no config needed).
  registerAlertsCommand(program);
  // manifests: deployment files for every platform from one typed spec (no config needed).
  registerManifestsCommand(program);
  // hpa explain: why the HPA wants its replica count, from kubectl output (no config needed).
  registerHpaCommand(program);
}

/** Whether `argv` names one of `program`'s commands as its first argument (then commander dispatches to it alone). */
function namesCommandOf(program: Command, argv: readonly string[]): boolean {
  const first = argv[2];
  return first !== undefined && program.commands.some((command) => command.name() === first || command.aliases().includes(first));
}

/** PostgreSQL refused who we are or where we asked to go: invalid_authorization_specification (an unknown role), invalid_password, invalid_catalog_name. */
const PG_REFUSED_LOGIN = new Set(['28000', '28P01', '3D000']);

/**
 * PostgreSQL or Redis could not be reached or refused the login: an operator's problem (a wrong URL, a
 * server down, a firewall), said in one line. Failures once connected are bugs and keep their stack.
 */
function isUnreachableService(error: unknown): boolean {
  if (error instanceof RedisUnavailableError || isPgConnectTimeout(error) || isTlsFailure(error)) return true;
  const failure = classifyDatabaseFailure(error);
  if (failure === 'unavailable' || failure === 'busy') return true;
  const code = pgError(error)?.code;
  return code !== undefined && PG_REFUSED_LOGIN.has(code);
}

/**
 * The TLS a DATABASE_URL's `sslmode` asks for could not be set up: the server speaks none (pg's own messages,
 * no code), or its certificate was refused (node's codes: self-signed, unknown CA, wrong host name, expired).
 * A setting to fix, said in one line like an unreachable server (it was a stack trace and exit 1).
 */
function isTlsFailure(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.message === 'string' && /^(The server does not support SSL connections|There was an error establishing an SSL connection)/.test(e.message)) return true;
    if (typeof e.code === 'string' && (/^ERR_(TLS|SSL)_/.test(e.code) || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(e.code))) return true;
  }
  return false;
}

/** pg.Client's own connection timeout (`connectionTimeoutMillis`): a plain Error, no code (pg.Pool wraps it in one the classifier knows). */
function isPgConnectTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout expired';
}

/** The message on one line; under Drizzle's wrapper (`Failed query: …` and its parameters), pg's own. */
function getRootMessage(error: unknown): string {
  let e = error as { message?: unknown; cause?: unknown };
  for (let depth = 0; String(e.message).startsWith('Failed query:') && e.cause && typeof e.cause === 'object' && depth < 4; depth++) e = e.cause as typeof e;
  if (isPgConnectTimeout(e)) return `PostgreSQL did not answer within ${CLI_CONNECTION_TIMEOUT_MS / 1000} s (connection timeout expired)`;
  const message = typeof e.message === 'string' && e.message ? e.message : String(error);
  return message.split('\n')[0];
}

export async function runCli(): Promise<void> {
  try {
    const program = buildCli();
    // `help`, `--help`, no command, a toolkit command or a mistyped one (whose suggestion needs every name): all of them.
    if (!namesCommandOf(program, process.argv)) await registerToolkitCommands(program);
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`salescale: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof LocalStackError || error instanceof UnsafeQueueRedisError) {
      process.stderr.write(`salescale: ${error.message}\n`);
      process.exit(2);
    }
    // A port taken or privileged, a HOST not of this machine: each listener names the variable to change.
    if (error instanceof ListenError) {
      process.stderr.write(`salescale: cannot listen: ${error.message}\n`);
      process.exit(2);
    }
    // undefined_table: the schema is not there (a new database, or the wrong one); not a bug to trace.
    if (pgError(error)?.code === '42P01') {
      process.stderr.write(`salescale: the database is not migrated (${getRootMessage(error)}): run \`salescale migrate\` first\n`);
      process.exit(2);
    }
    if (isUnreachableService(error)) {
      process.stderr.write(`salescale: cannot reach a required service: ${getRootMessage(error)}\n`);
      process.exit(2);
    }
    throw error;
  }
}

