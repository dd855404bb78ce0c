import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A child process in a process group of its own, so that stopping it stops whatever it started. */
export interface GroupProcess {
  pid: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Signals the leader; once it has exited (SIGKILL after `graceMs`), SIGKILLs what is left of the group. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Signals the leader only (as an orchestrator or an operator would). */
  signal(signal: NodeJS.Signals): void;
  killGroup(): void;
}

const running = new Set<GroupProcess>();

/** Kills every group still running (a failed case must not leave servers behind). */
export function killAllGroups(): void {
  for (const group of running) group.killGroup();
}
process.once('exit', killAllGroups);

export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const group: GroupProcess = {
    pid,
    child,
    output: () => output,
    exited,
    signal(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    killGroup() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        group.signal(signal);
        const timer = setTimeout(() => group.killGroup(), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Stragglers of the group (e.g. backends of a killed postmaster).
      group.killGroup();
      running.delete(group);
    },
  };
  running.add(group);
  return group;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
