/** Runs the toolkit's commands in-process for tests: output captured, exit codes as numbers. */
import { Command, CommanderError } from 'commander';
import { registerScalingCommands } from './cli.ts';
import type { ScalingCliDeps } from './cli-inputs.ts';

export interface CliRun {
  out: string;
  err: string;
  exitCode: number;
}

/**
 * `salescale <args>` with `deps`; `usage` turns on the usage text after a command-line error, as the
 * real program's root does.
 */
export async function runScalingCli(args: string[], deps: ScalingCliDeps = {}, options: { usage?: boolean } = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  if (options.usage) program.showHelpAfterError();
  registerScalingCommands(program, deps);
  try {
    await program.parseAsync(['node', 'salescale', ...args]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}
